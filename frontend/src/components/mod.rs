//! The panels of the page, one component each. Each reads the model it is
//! given and sends commands up; none holds truth of its own.

pub mod controls;
pub mod expert;
pub mod happened;
pub mod inspector;
pub mod ladder;
pub mod predict;
pub mod recv_all;
pub mod rooms;
pub mod scenario_form;
pub mod sockets;
pub mod source;
pub mod status;
pub mod stream;
pub mod tcp_states;
pub mod terminal;
pub mod timeline;

pub use crate::model::words::{call_text, printable};
use protocol::Actor;

/// A CSS class per program, for its colour (always paired with its name).
pub fn actor_class(actor: Actor) -> &'static str {
    match actor {
        Actor::Server => "server",
        Actor::Client(_) => "client",
        Actor::Kernel => "kernel",
        Actor::Wire => "wire",
        Actor::Relay => "relay",
    }
}

/// A note on an event, with its RFC link where one applies.
pub fn note_html(note: &crate::model::Note) -> yew::Html {
    yew::html! {
        <p class="note">
            { note.text.clone() }
            if let Some((label, href)) = note.rfc {
                { " " }<a href={href} target="_blank" rel="noopener">{ label }</a>
            }
        </p>
    }
}

/// The page's one notice (a refused command, a trace that did not open),
/// with the button that dismisses it.
pub fn notice_html(notice: Option<&String>, on_dismiss: &yew::Callback<()>) -> yew::Html {
    let Some(text) = notice else {
        return yew::Html::default();
    };
    let dismiss = on_dismiss.reform(|_: yew::MouseEvent| ());
    yew::html! {
        <div class="notice" role="alert">
            <span>{ text.clone() }</span>
            <button onclick={dismiss} aria-label="Dismiss this message">{ "×" }</button>
        </div>
    }
}

/// Offers `text` to the person as a file called `name`: a data URL on a
/// link that is clicked at once, so nothing is built until it is asked for.
pub fn download(name: &str, mime: &str, text: &str) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(link) = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    else {
        return;
    };
    let encoded = String::from(js_sys::encode_uri_component(text));
    link.set_href(&format!("data:{mime};charset=utf-8,{encoded}"));
    link.set_download(name);
    link.click();
}

/// The most items of one kind (sockets, programs, streams, findings) a panel
/// draws. A crowd of 1,000 clients has thousands of each; a page that drew
/// them all would stop being a page. What is left out is said, with how many.
pub const MOST_SHOWN: usize = 8;

/// The last `MOST_SHOWN` of `items`, and how many were left out.
pub fn latest<T>(items: Vec<T>) -> (Vec<T>, usize) {
    let hidden = items.len().saturating_sub(MOST_SHOWN);
    (items.into_iter().skip(hidden).collect(), hidden)
}

/// "… and 976 more sockets" for what a panel leaves out.
pub fn more(hidden: usize, what: &str) -> yew::Html {
    if hidden == 0 {
        return yew::html! {};
    }
    yew::html! { <p class="more">{ format!("… and {hidden} more {what}, not drawn here (the timeline and the downloads have them all)") }</p> }
}
