//! The panels of the page, one component each. Each reads the model it is
//! given and sends commands up; none holds truth of its own.

pub mod controls;
pub mod inspector;
pub mod ladder;
pub mod recv_all;
pub mod scenario_form;
pub mod sockets;
pub mod source;
pub mod status;
pub mod tcp_states;
pub mod terminal;
pub mod timeline;

pub use crate::model::words::{call_text, printable, result_text};
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
