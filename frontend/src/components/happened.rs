//! "What happened": everything the step shown caused, in order and in plain
//! words (the call, its segments, the state changes, the other program
//! waking up, the printed lines), each with its note where the event means
//! something, and a way to inspect it. The model says what a step caused
//! (`model::step`); this only draws it.

use yew::prelude::*;

use crate::{
    app::Snapshot,
    model::{
        shown_step,
        words::{call_text, named},
        Action, What,
    },
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub act: Callback<Action>,
}

/// A CSS class per kind of happening.
fn what_class(what: What) -> &'static str {
    match what {
        What::Step => "h-step",
        What::Call | What::Returned => "h-call",
        What::Blocked => "h-blocked",
        What::Woke => "h-woke",
        What::Segment => "h-segment",
        What::State | What::Queue => "h-state",
        What::Printed => "h-printed",
        What::Socket => "h-socket",
        What::Waiting => "h-waiting",
        What::Ended => "h-ended",
    }
}

#[component]
pub fn Happened(props: &Props) -> Html {
    let model = props.model.get();
    let Some(step) = shown_step(&model) else {
        // Before the first step: what the programs did on their own.
        return match model.latest_note() {
            Some((seq, note)) => html! {
                <div class="happened" aria-live="polite">
                    <span class="label">{ format!("What happened (event {seq}): ") }</span>
                    { super::note_html(note) }
                </div>
            },
            None => html! {},
        };
    };
    let last = step.happenings.last().map_or(step.seq, |h| h.seq);
    let items = step.happenings.iter().map(|h| {
        let seq = h.seq;
        let act = props.act.clone();
        let onclick = Callback::from(move |_: MouseEvent| act.emit(Action::Select(Some(seq))));
        let note = usize::try_from(seq)
            .ok()
            .and_then(|i| model.notes.get(i))
            .and_then(Option::as_ref)
            .map(super::note_html);
        html! {
            <li key={seq} class={classes!("happening", what_class(h.what))}>
                <button class="seq" {onclick} title={format!("Inspect event {seq}")}>{ format!("event {seq}") }</button>
                <span class="text">{ h.text.clone() }</span>
                { for note }
            </li>
        }
    });
    let heading = format!(
        "What happened in this step, {}'s {}: events {}–{}",
        named(step.actor),
        call_text(&step.call),
        step.seq,
        last
    );
    html! {
        <div class="happened steps" role="group" aria-label="What happened in this step">
            <p class="label" aria-live="polite">{ heading }</p>
            <ol class="happenings">{ for items }</ol>
            if step.unlisted > 0 {
                <p class="more">{ format!("… and {} more events of this step, not listed here (the ladder and the timeline have them all)", step.unlisted) }</p>
            }
            if step.later > 0 {
                <p class="later">{ format!("{} more event(s) of this step come after the moment shown: ▶ moves on to them.", step.later) }</p>
            }
        </div>
    }
}
