//! What the programs printed, as a terminal shows it.

use protocol::Actor;
use yew::prelude::*;

use super::actor_class;
use crate::app::Snapshot;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
}

#[component]
pub fn Terminal(props: &Props) -> Html {
    let model = props.model.get();
    let view = model.shown();
    // The programs that printed most recently, in order.
    let mut actors: Vec<Actor> = Vec::new();
    for line in view.lines.iter().rev() {
        if !actors.contains(&line.actor) {
            actors.push(line.actor);
            if actors.len() > super::MOST_SHOWN {
                break;
            }
        }
    }
    let hidden = {
        let mut all: Vec<Actor> = view.lines.iter().map(|l| l.actor).collect();
        all.sort();
        all.dedup();
        all.len().saturating_sub(super::MOST_SHOWN)
    };
    actors.truncate(super::MOST_SHOWN);
    actors.sort();
    html! {
        <section class="panel terminals" aria-label="Terminal output">
            <h2>{ "Terminal" }</h2>
            { for actors.into_iter().map(|actor| html! {
                <figure key={actor.to_string()} class={classes!("terminal", actor_class(actor))}>
                    <figcaption>{ format!("$ relay {}", if actor == Actor::Server { "server" } else { "client" }) }
                        <span class="who">{ format!(" ({actor})") }</span></figcaption>
                    <pre>{ for view.lines.iter().filter(|l| l.actor == actor).map(|l| html! {
                        <div class="line">{ l.text.clone() }</div>
                    }) }</pre>
                </figure>
            }) }
            { super::more(hidden, "programs' output") }
        </section>
    }
}
