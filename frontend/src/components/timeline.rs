//! Time travel: move over everything recorded; every panel shows that
//! moment. And opening a saved trace, with or without a relay.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::{
    app::Snapshot,
    model::{Action, Source},
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub act: Callback<Action>,
}

#[component]
pub fn Timeline(props: &Props) -> Html {
    let model = props.model.get();
    let total = model.events.len();
    let at = model.shown_len();
    let live = model.scrubbed.is_none();
    let act = props.act.clone();
    let seek = move |to: usize| act.emit(Action::Seek(if to >= total { None } else { Some(to) }));
    // The slider and the "Go to" field both name a moment by number.
    let seek_to_input = {
        let seek = seek.clone();
        move |e: &Event| {
            let value = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .and_then(|i| i.value().parse::<usize>().ok());
            if let Some(to) = value {
                seek(to);
            }
        }
    };
    let on_range = {
        let seek_to_input = seek_to_input.clone();
        Callback::from(move |e: InputEvent| seek_to_input(&e))
    };
    let button = |label: &'static str, title: String, to: Option<usize>| {
        let seek = seek.clone();
        let disabled = to.is_none();
        let onclick = Callback::from(move |_: MouseEvent| {
            if let Some(to) = to {
                seek(to);
            }
        });
        html! { <button {onclick} {disabled} title={title.clone()} aria-label={title}>{ label }</button> }
    };
    let on_goto = Callback::from(move |e: Event| seek_to_input(&e));
    let on_file = {
        let act = props.act.clone();
        Callback::from(move |e: Event| {
            let Some(file) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .and_then(|i| i.files())
                .and_then(|files| files.get(0))
            else {
                return;
            };
            let act = act.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let name = file.name();
                match JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|t| t.as_string())
                {
                    Some(text) => act.emit(Action::OpenTrace { name, text }),
                    None => act.emit(Action::Garbled(format!("cannot read {name}"))),
                }
            });
        })
    };
    let source = match &model.source {
        Source::Relay => html! {},
        Source::Trace { name } => html! {
            <span class="trace-name">{ format!("Trace file {name}: reload the page to go back to the relay") }</span>
        },
    };
    html! {
        <section class="timeline" aria-label="Timeline">
            { button("◀◀", "First: before anything happened".into(), (at > 0).then_some(0)) }
            { button("◀", "Back one event".into(), at.checked_sub(1)) }
            <input type="range" min="0" max={total.to_string()} value={at.to_string()} oninput={on_range}
                   aria-label="Moment of the session to show" aria-valuetext={looking_back(at, total)} />
            { button("▶", "Forward one event".into(), (at < total).then_some(at + 1)) }
            { button("▶▶", "Last: the latest event (live)".into(), (!live).then_some(total)) }
            <label class="goto" title="Show the moment after this many events">
                { "Go to " }
                <input type="number" min="0" max={total.to_string()} value={at.to_string()} onchange={on_goto}
                       aria-label="Go to the moment after this many events" />
            </label>
            <span class="position">{
                if live { format!("{total} events · live") } else { looking_back(at, total) }
            }</span>
            { source }
            <super::happened::Happened model={props.model.clone()} act={props.act.clone()} />
            <label class="open-trace" title="Open a trace saved with Download or relay record">
                { "Open trace… " }
                <input type="file" accept=".jsonl,.json,application/x-ndjson" onchange={on_file} />
            </label>
        </section>
    }
}

/// Where the timeline stands when it is not live. Events are numbered from
/// 0, so the moment after `at` of them shows events 0 to `at - 1`.
fn looking_back(at: usize, total: usize) -> String {
    match at {
        0 => format!("0 of {total} events: before the first · looking back"),
        n => format!(
            "{n} of {total} events: up to event {} · looking back",
            n - 1
        ),
    }
}
