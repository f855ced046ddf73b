//! The panels of the page, one component each. Each reads the model it is
//! given and sends commands up; none holds truth of its own.

pub mod controls;
pub mod expert;
pub mod inspector;
pub mod ladder;
pub mod recv_all;
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
