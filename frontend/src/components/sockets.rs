//! Every socket of the session: the listener, and each connection socket
//! `accept()` hands out, each with its 4-tuple, TCP state and queues.

use protocol::{PortRange, TcpState};
use yew::prelude::*;

use super::actor_class;
use crate::{
    app::Snapshot,
    model::{
        numbers::{port_origin, shared_fd_table},
        words::{named, role_text, state_aside, state_text},
        SocketView, View,
    },
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
}

fn state_class(state: TcpState) -> &'static str {
    match state {
        TcpState::Listen => "st-listen",
        TcpState::Established => "st-established",
        TcpState::SynSent | TcpState::SynRecv | TcpState::NewSynRecv => "st-opening",
        TcpState::Close => "st-close",
        _ => "st-closing",
    }
}

fn card(view: &View, s: &SocketView, ports: Option<PortRange>) -> Html {
    let tuple = match &s.tuple {
        Some(t) => match &t.remote {
            Some(remote) => {
                html! { <p class="tuple" title="local address → remote address"><code>{ t.local.clone() }</code>{ " → " }<code>{ remote.clone() }</code></p> }
            }
            None => html! { <p class="tuple"><code>{ t.local.clone() }</code>{ " (no peer)" }</p> },
        },
        None => html! { <p class="tuple unbound">{ "no address yet" }</p> },
    };
    let state = s.kernel.as_ref().map(|k| {
        let queues = match (k.accept_queue, k.backlog) {
            (Some(queued), Some(backlog)) => html! {
                <p class="queues">
                    { format!("accept queue {queued} / backlog {backlog}") }
                    <span class="queue-boxes" aria-hidden="true">
                        { for (0..backlog.max(queued)).map(|i| html! {
                            <span class={classes!("qbox", (i < queued).then_some("full"))}></span>
                        }) }
                    </span>
                </p>
            },
            _ => html! {
                <p class="queues">{ format!("receive queue {} B · send queue {} B", k.recv_queue, k.send_queue) }</p>
            },
        };
        // Once the program has closed it, the socket has no descriptor to
        // ask the kernel through: what it showed last is all we know.
        let prefix = (!s.is_open()).then_some("last seen ");
        html! {
            <>
                <p>
                    { for prefix }
                    <span class={classes!("tcp-state", state_class(k.state))}>{ state_text(k.state) }</span>
                </p>
                if let Some(aside) = state_aside(k.state) {
                    <p class="aside">{ aside }</p>
                }
                { queues }
            </>
        }
    });
    let path = (s.states.len() > 1).then(|| {
        let names: Vec<String> = s.states.iter().map(|&st| state_text(st)).collect();
        html! { <p class="path" title="Every state the kernel reported, in order">{ names.join(" → ") }</p> }
    });
    let closed = s.closed_seq.map(|seq| {
        html! {
            <p class="closed-note">{ format!("closed by {} (event {seq})", named(s.owner)) }</p>
        }
    });
    let port =
        port_origin(view, s.id, ports).map(|text| html! { <p class="port-origin">{ text }</p> });
    html! {
        <article key={s.id.0} class={classes!("socket", actor_class(s.owner), (!s.is_open()).then_some("closed"))}
                 aria-label={format!("socket {} of the {}", s.id, s.owner)}>
            <header>
                <span class="sid">{ format!("{}", s.id) }</span>
                <span class="role">{ role_text(s.role) }</span>
                <span class="fd">{ format!("fd {}", s.fd) }</span>
            </header>
            { tuple }
            { for port }
            { for state }
            { for path }
            { for closed }
        </article>
    }
}

#[component]
pub fn SocketsBoard(props: &Props) -> Html {
    let model = props.model.get();
    let view = model.shown();
    let (open, closed): (Vec<&SocketView>, Vec<&SocketView>) =
        view.sockets.values().partition(|s| s.is_open());
    // Open sockets first; then the latest closed ones, as many as there is room for.
    let (open, hidden_open) = super::latest(open);
    let room = super::MOST_SHOWN.saturating_sub(open.len());
    let hidden_closed = closed.len().saturating_sub(room);
    let closed: Vec<&SocketView> = closed.into_iter().skip(hidden_closed).collect();
    let ports = model.hello.as_ref().and_then(|h| h.ephemeral_ports);
    let fds = shared_fd_table(view);
    html! {
        <section class="panel sockets" aria-label="Sockets">
            <h2>{ "Sockets" }</h2>
            if view.sockets.is_empty() {
                <p class="empty">{ "No socket yet: the programs wait for their first step." }</p>
            }
            <div class="socket-grid">
                { for open.into_iter().map(|s| card(view, s, ports)) }
                { for closed.into_iter().map(|s| card(view, s, ports)) }
            </div>
            if let Some(why) = fds {
                <p class="aside fd-table">{ why }</p>
            }
            { super::more(hidden_open + hidden_closed, "sockets") }
        </section>
    }
}
