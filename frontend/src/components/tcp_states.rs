//! The TCP state diagram (RFC 9293 §3.3.2), with one socket's path through
//! it as the kernel reported it, and where it is now.

use protocol::{SocketId, TcpState};
use yew::prelude::*;

use super::actor_class;
use crate::{
    app::Snapshot,
    model::{
        words::{linux_state, rfc_state, state_aside, state_text},
        SocketView,
    },
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
}

/// Where each state sits, laid out as RFC 9293 draws it.
fn place(state: TcpState) -> (f64, f64) {
    use TcpState::*;
    match state {
        Close => (300.0, 30.0),
        Listen => (150.0, 95.0),
        SynSent => (450.0, 95.0),
        SynRecv | NewSynRecv => (150.0, 160.0),
        Established => (300.0, 225.0),
        FinWait1 => (120.0, 290.0),
        CloseWait => (480.0, 290.0),
        FinWait2 => (60.0, 355.0),
        Closing => (220.0, 355.0),
        LastAck => (480.0, 355.0),
        TimeWait => (140.0, 420.0),
    }
}

/// The RFC's transitions, each with what causes it.
const EDGES: &[(TcpState, TcpState, &str)] = &[
    (TcpState::Close, TcpState::Listen, "listen()"),
    (TcpState::Close, TcpState::SynSent, "connect(): send SYN"),
    (TcpState::Listen, TcpState::SynRecv, "rcv SYN: send SYN,ACK"),
    (
        TcpState::SynSent,
        TcpState::Established,
        "rcv SYN,ACK: send ACK",
    ),
    (TcpState::SynRecv, TcpState::Established, "rcv ACK"),
    (
        TcpState::Established,
        TcpState::FinWait1,
        "close(): send FIN",
    ),
    (
        TcpState::Established,
        TcpState::CloseWait,
        "rcv FIN: send ACK",
    ),
    (TcpState::FinWait1, TcpState::FinWait2, "rcv ACK of FIN"),
    (TcpState::FinWait1, TcpState::Closing, "rcv FIN"),
    (TcpState::FinWait2, TcpState::TimeWait, "rcv FIN: send ACK"),
    (TcpState::Closing, TcpState::TimeWait, "rcv ACK of FIN"),
    (TcpState::CloseWait, TcpState::LastAck, "close(): send FIN"),
    (TcpState::LastAck, TcpState::Close, "rcv ACK of FIN"),
    (TcpState::TimeWait, TcpState::Close, "2 MSL timeout"),
];

const STATES: &[TcpState] = &[
    TcpState::Close,
    TcpState::Listen,
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::Established,
    TcpState::FinWait1,
    TcpState::CloseWait,
    TcpState::FinWait2,
    TcpState::Closing,
    TcpState::LastAck,
    TcpState::TimeWait,
];

fn label(socket: &SocketView) -> String {
    let role = match socket.role {
        protocol::SocketRole::Listener => "listener",
        protocol::SocketRole::Accepted => "accepted",
        protocol::SocketRole::Connected => "client",
        protocol::SocketRole::Fresh => "new",
    };
    format!("{} {role}", socket.id)
}

#[component]
pub fn TcpStates(props: &Props) -> Html {
    let model = props.model.get();
    let view = model.shown();
    let chosen = use_state(|| None::<SocketId>);
    let sockets: Vec<&SocketView> = view
        .sockets
        .values()
        .filter(|s| !s.states.is_empty())
        .collect();
    let Some(socket) = chosen
        .and_then(|id| view.sockets.get(&id))
        .or_else(|| sockets.last().copied())
    else {
        return html! {};
    };
    let path = &socket.states;
    let now = path.last().copied();
    let visited = |s: TcpState| {
        path.iter()
            .position(|&p| p == s || (s == TcpState::SynRecv && p == TcpState::NewSynRecv))
    };
    let walked = |a: TcpState, b: TcpState| path.windows(2).any(|w| w[0] == a && w[1] == b);
    let edges = EDGES.iter().map(|&(a, b, why)| {
        let ((x1, y1), (x2, y2)) = (place(a), place(b));
        html! {
            <g class={classes!("edge", walked(a, b).then_some("walked"))}>
                <title>{ format!("{} → {}: {why}", rfc_state(a), rfc_state(b)) }</title>
                <line x1={x1.to_string()} y1={(y1 + 12.0).to_string()} x2={x2.to_string()} y2={(y2 - 12.0).to_string()} marker-end="url(#state-arrow)" />
            </g>
        }
    });
    let nodes = STATES.iter().map(|&s| {
        let (x, y) = place(s);
        let step = visited(s);
        let current = now == Some(s);
        let linux = linux_state(s).map(|l| format!(" (Linux: {l})")).unwrap_or_default();
        html! {
            <g class={classes!("state", step.map(|_| "visited"), current.then_some("current"))}
               aria-current={current.then_some("true")}>
                <title>{ format!("{}{linux}", rfc_state(s)) }</title>
                <rect x={(x - 58.0).to_string()} y={(y - 12.0).to_string()} width="116" height="24" rx="6" />
                <text x={x.to_string()} y={(y + 4.0).to_string()} text-anchor="middle">
                    { rfc_state(s) }{ step.map(|i| format!(" ({})", i + 1)).unwrap_or_default() }
                </text>
            </g>
        }
    });
    let (sockets, hidden) = super::latest(sockets);
    let pick = sockets.iter().map(|s| {
        let id = s.id;
        let chosen = chosen.clone();
        let onclick = Callback::from(move |_: MouseEvent| chosen.set(Some(id)));
        let pressed = s.id == socket.id;
        html! {
            <button key={s.id.0} class={classes!(actor_class(s.owner))} aria-pressed={pressed.to_string()} {onclick}>{ label(s) }</button>
        }
    });
    let names: Vec<String> = path.iter().map(|&s| state_text(s)).collect();
    let asides: Vec<&str> = {
        let mut seen = Vec::new();
        for &s in path {
            if let Some(a) = state_aside(s).filter(|a| !seen.contains(a)) {
                seen.push(a);
            }
        }
        seen
    };
    html! {
        <section class="panel tcp-states" aria-label="TCP states">
            <h2>{ "TCP states" }</h2>
            <div class="pick">{ for pick }</div>
            { super::more(hidden, "sockets (the latest are listed)") }
            <p class="path">{ format!("{}: {}", label(socket), names.join(" → ")) }
                { " " }<a href="https://www.rfc-editor.org/rfc/rfc9293#section-3.3.2" target="_blank" rel="noopener">{ "RFC 9293 §3.3.2" }</a></p>
            <p class="aside">{ "The diagram names states as RFC 9293 does; Linux (and ss, and the relay's events) spells most of them with underscores, and calls CLOSED \"CLOSE\"." }</p>
            { for asides.into_iter().map(|a| html! { <p class="aside">{ a }</p> }) }
            <svg viewBox="0 0 560 450" role="img" aria-label={format!("TCP state diagram; {} is in {}", label(socket), now.map_or_else(|| "no state".to_owned(), state_text))}>
                <defs>
                    <marker id="state-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                </defs>
                { for edges }
                { for nodes }
            </svg>
        </section>
    }
}
