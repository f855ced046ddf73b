//! The connection, the capture, the session, and anything the relay refused.

use yew::prelude::*;

use crate::{app::Snapshot, model::Link};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub on_dismiss: Callback<()>,
}

/// This page's origin, as the relay's --allow-origin wants it.
fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_else(|| "ORIGIN".to_owned())
}

#[component]
pub fn StatusBar(props: &Props) -> Html {
    let model = props.model.get();
    let (class, text) = match &model.link {
        Link::Connecting { attempt: 0 } => ("connecting", "Connecting to the relay…".to_owned()),
        Link::Connecting { attempt } => (
            "connecting",
            format!("Reconnecting (attempt {})…", attempt + 1),
        ),
        Link::Live => ("live", "Live".to_owned()),
        Link::Lost {
            retry_ms, reason, ..
        } => (
            "lost",
            format!(
                "Relay gone ({reason}); retrying in {:.1} s. Is `relay serve` running at {}? \
                 If it is, it refuses pages from origins it does not know: start it with --allow-origin {}",
                f64::from(*retry_ms) / 1000.0,
                model.relay_url,
                page_origin()
            ),
        ),
    };
    let capture = model.hello.as_ref().map(|h| {
        let (class, label) = if h.capture.enabled {
            ("capture on", "wire: captured")
        } else {
            ("capture off", "wire: not captured")
        };
        html! { <span class={class} title={h.capture.reason.clone()}>{ label }</span> }
    });
    let sandbox = model.hello.as_ref().map(|h| {
        let (class, label) = if h.sandbox.enabled {
            ("sandbox on", "sandboxed: own network")
        } else {
            ("sandbox off", "not sandboxed")
        };
        html! { <span class={class} title={h.sandbox.reason.clone()}>{ label }</span> }
    });
    let capture_reason = model
        .hello
        .as_ref()
        .filter(|h| !h.capture.enabled)
        .map(|h| html! { <p class="capture-reason">{ h.capture.reason.clone() }</p> });
    let session = model.session.as_ref().map(|s| {
        html! {
            <span class="session">
                { format!("session {} · {} · server at {}", s.id, s.scenario.name, s.server_addr) }
            </span>
        }
    });
    let watching = model.viewers.filter(|_| model.is_live()).map(|n| {
        let text = match n {
            1 => "1 watching (you)".to_owned(),
            n => format!("{n} watching: everyone sees every step"),
        };
        html! { <span class="watching">{ text }</span> }
    });
    let full = model.view.history_full.map(|limit| html! {
        <div class="notice" role="alert">
            { format!("This session reached the relay's limit of {limit} recorded events: nothing more is recorded and its programs stop. Reset to start a new session.") }
        </div>
    });
    let lost = model.view.lost.as_ref().map(|reason| html! {
        <div class="notice" role="alert">
            { format!("This session ended on its own: {reason}. Nothing more comes from it; reset to start a new session.") }
        </div>
    });
    let notice = super::notice_html(model.notice.as_ref(), &props.on_dismiss);
    html! {
        <section class="status" aria-label="Connection">
            <div class="status-line">
                <span class={classes!("link", class)} role="status" aria-live="polite">
                    <span class="dot" aria-hidden="true"></span>{ text }
                </span>
                { for capture }
                { for sandbox }
                { for session }
                { for watching }
            </div>
            { for capture_reason }
            { for full }
            { for lost }
            { notice }
        </section>
    }
}
