//! The programs' real source, as the relay runs it (it sends it in its
//! hello), with the line each program is at.

use protocol::Actor;
use yew::prelude::*;

use super::actor_class;
use crate::{app::Snapshot, model::ActorStatus};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
}

/// Lines shown around the current one.
const CONTEXT: usize = 6;

/// The lines of the statement starting at `first` (0-based): a call that
/// rustfmt spread over several lines is highlighted whole.
fn statement(lines: &[&str], first: usize) -> std::ops::RangeInclusive<usize> {
    let end = (first..lines.len())
        .take(9)
        .find(|&i| {
            let l = lines[i].trim_end();
            l.ends_with(';') || l.ends_with('{') || l.ends_with(',')
        })
        .unwrap_or(first);
    first..=end
}

/// How many clients' current lines are shown beside the server's.
const CLIENTS_SHOWN: usize = 3;

#[component]
pub fn SourcePanel(props: &Props) -> Html {
    let model = props.model.get();
    let view = model.shown();
    let Some(sources) = model
        .hello
        .as_ref()
        .map(|h| &h.sources)
        .filter(|s| !s.is_empty())
    else {
        return html! {};
    };
    // The server and the clients that called most recently: a crowd's
    // thousand would bury the page in copies of the same few lines.
    let mut clients: Vec<(u64, Actor)> = view
        .latest_call
        .iter()
        .filter(|(actor, _)| matches!(actor, Actor::Client(_)))
        .filter_map(|(&actor, &i)| Some((view.calls.get(i)?.first_seq, actor)))
        .collect();
    clients.sort_unstable_by(|a, b| b.cmp(a));
    let hidden = clients.len().saturating_sub(CLIENTS_SHOWN);
    let mut shown: Vec<Actor> = clients
        .into_iter()
        .take(CLIENTS_SHOWN)
        .map(|(_, a)| a)
        .collect();
    shown.push(Actor::Server);
    let programs = view.at.iter().filter(|(actor, _)| shown.contains(actor));
    let blocks = programs.filter_map(|(&actor, at)| {
        let file = sources.iter().find(|f| f.path == at.file)?;
        let lines: Vec<&str> = file.text.lines().collect();
        let first = (at.line as usize)
            .checked_sub(1)
            .filter(|&i| i < lines.len())?;
        let current = statement(&lines, first);
        let from = first.saturating_sub(CONTEXT);
        let to = (*current.end() + CONTEXT).min(lines.len() - 1);
        let state = match view.actors.get(&actor) {
            Some(ActorStatus::Waiting(_)) => "waits before this call",
            Some(ActorStatus::InCall(_)) => "is in this call",
            Some(ActorStatus::Blocked(_)) => "is asleep in this call",
            Some(ActorStatus::Ended(_)) => "ended after this call",
            _ => "was last here",
        };
        let short = at.file.rsplit('/').next().unwrap_or(&at.file).to_owned();
        Some(html! {
            <figure key={actor.to_string()} class={classes!("source-block", actor_class(actor))}>
                <figcaption>{ format!("{actor} {state} ({short}:{})", at.line) }</figcaption>
                <pre>
                    { for (from..=to).map(|i| {
                        let here = current.contains(&i);
                        html! {
                            <div class={classes!("src-line", here.then_some("current"))}
                                 aria-current={here.then_some("step")}>
                                <span class="ln">{ i + 1 }</span>{ lines[i] }
                            </div>
                        }
                    }) }
                </pre>
            </figure>
        })
    });
    html! {
        <section class="panel source" aria-label="Source">
            <h2>{ "Source" }</h2>
            { for blocks }
            { super::more(hidden, "clients at their lines (the latest to call are shown)") }
        </section>
    }
}
