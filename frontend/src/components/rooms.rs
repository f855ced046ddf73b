//! Which session the page is on, who drives it, and the sessions it can
//! join: the class session and the private ones this browser started or
//! opened. A button starts a session of one's own ("Try it myself" when
//! only a presenter drives the class session).

use protocol::{RoomInfo, RoomSummary};
use yew::prelude::*;

use crate::url::with_session;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The room the relay's hello named; `None` before it (or from an old relay).
    pub room: Option<RoomInfo>,
    /// The sessions the relay last listed for this page.
    pub rooms: Vec<RoomSummary>,
    /// Asks the relay for a private session.
    pub on_open: Callback<()>,
    /// The private session the page's URL asks for (`session=`), if any:
    /// until the relay says hello, the way back is offered from there.
    pub asked: Option<String>,
}

/// The page's address for session `id` (`None`: the class session).
fn link(id: Option<&str>) -> String {
    let location = web_sys::window().map(|w| w.location());
    let path = location
        .as_ref()
        .and_then(|l| l.pathname().ok())
        .unwrap_or_else(|| "/".to_owned());
    let search = location
        .as_ref()
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    format!("{path}{}", with_session(&search, id))
}

/// A session's name as the page shows it.
fn name(id: &str) -> String {
    if id == RoomInfo::CLASS {
        "the class session".to_owned()
    } else {
        format!("session {id}")
    }
}

#[component]
pub fn SessionBar(props: &Props) -> Html {
    let Some(room) = &props.room else {
        // Not in a session (yet): one that has ended or never was, or the
        // limit reached, is said in the notice; the way back is here.
        return match &props.asked {
            Some(id) => html! {
                <section class="rooms" aria-label="Sessions">
                    <p class="room-here">{ format!("Joining session {id}…") }</p>
                    <a class="to-class" href={link(None)}>{ "Back to the class session" }</a>
                </section>
            },
            None => html! {},
        };
    };
    let here = if room.is_class() {
        "You are in the class session".to_owned()
    } else {
        format!(
            "You are in your own session {}: its link opens it for whoever you give it to",
            room.id
        )
    };
    let who = match (room.is_class(), room.drives, room.presenter) {
        (true, false, _) => {
            "The presenter steps it; move through its history on the timeline yourself"
        }
        (true, true, true) => "You present it: only you step it",
        (true, true, false) => "Everyone here steps it",
        (false, _, _) => "Whoever has its link steps it",
    };
    let open = {
        let on_open = props.on_open.clone();
        Callback::from(move |_: MouseEvent| on_open.emit(()))
    };
    let (label, title) = if room.drives {
        (
            "Start a session of my own",
            "A new session of this scenario that only you (and whoever you give its link) step",
        )
    } else {
        (
            "Try it myself",
            "A session of your own with the same scenario, to step yourself",
        )
    };
    let title = format!(
        "{title}. At most {} sessions run at once; one nobody watches ends after {} min.",
        room.max_sessions,
        room.idle_end_s.div_ceil(60)
    );
    let back = (!room.is_class()).then(|| {
        html! { <a class="to-class" href={link(None)}>{ "Back to the class session" }</a> }
    });
    let list = props.rooms.iter().map(|r| {
        let current = r.id == room.id;
        let href = link((r.id != RoomInfo::CLASS).then_some(r.id.as_str()));
        let watching = match r.viewers {
            1 => "1 watching".to_owned(),
            n => format!("{n} watching"),
        };
        html! {
            <li>
                <a {href} aria-current={current.then_some("page")}>{ name(&r.id) }</a>
                { format!(" · {} · {watching}", r.scenario) }
            </li>
        }
    });
    html! {
        <section class="rooms" aria-label="Sessions">
            <p class="room-here">
                <strong class="room-name">{ here }</strong>{ ". " }{ who }{ "." }
            </p>
            <div class="room-actions">
                <button class="open-room" {title} onclick={open}>{ label }</button>
                { for back }
            </div>
            if props.rooms.len() > 1 {
                <nav aria-label="Sessions you can join">
                    <ul class="room-list">{ for list }</ul>
                </nav>
            }
        </section>
    }
}
