//! Every socket of the session: the listener, and each connection socket
//! `accept()` hands out, each with its 4-tuple, TCP state and queues.

use protocol::{PortRange, TcpState};
use yew::prelude::*;

use super::actor_class;
use crate::{
    app::Snapshot,
    model::{
        kernel::{reason_words, KernelAccount},
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
    let account = view.kernel.get(&s.id);
    let path = (s.states.len() > 1).then(|| {
        let names: Vec<String> = s.states.iter().map(|&st| state_text(st)).collect();
        // Whose account: the kernel's tracepoints (every change, as it
        // made it) or the prober's samples (which miss the fleeting ones).
        let source = if account.is_some_and(|a| a.has_states()) {
            "Every state the kernel put the socket in, as its tracepoints said"
        } else {
            "Every state the relay's prober saw, in order (it samples, so states that last microseconds may be missing)"
        };
        html! { <p class="path" title={source}>{ names.join(" → ") }</p> }
    });
    let kernel_said = account.map(kernel_badges).unwrap_or_default();
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
            { kernel_said }
            { for closed }
        </article>
    }
}

/// The kernel's reasons for what it did to a socket: the reset it sent, the
/// segments it dropped, each a badge with its plain words.
fn kernel_badges(account: &KernelAccount) -> Html {
    let mut reasons: Vec<(&str, &str, usize)> = Vec::new();
    if let Some(reason) = account.reset_reason() {
        reasons.push(("reset", reason, 1));
    }
    for (_, reason) in account.drops() {
        match reasons
            .iter_mut()
            .find(|r| r.0 == "dropped" && r.1 == reason)
        {
            Some(r) => r.2 += 1,
            None => reasons.push(("dropped", reason, 1)),
        }
    }
    let resent = account.retransmissions();
    if reasons.is_empty() && resent == 0 {
        return Html::default();
    }
    let badges = reasons.into_iter().map(|(what, reason, n)| {
        let count = if n > 1 {
            format!(" ×{n}")
        } else {
            String::new()
        };
        let words = reason_words(reason).unwrap_or("The kernel's own name for its reason.");
        html! {
            <li class="kernel-badge">
                <span class="what">{ format!("{what}: ") }</span>
                <code class="kernel-reason" title={words}>{ reason.to_owned() }</code>{ count }
                <p class="aside">{ words }</p>
            </li>
        }
    });
    html! {
        <ul class="kernel-said" aria-label="What the kernel says it did">
            { for badges }
            if resent > 0 {
                <li class="kernel-badge">{ format!("sent again by the kernel ×{resent} (retransmission)") }</li>
            }
        </ul>
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
