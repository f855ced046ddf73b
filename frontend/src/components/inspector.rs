//! Every field of the selected event; for a segment, its TCP header, its
//! options, and its payload as hex and as text.

use protocol::{EventKind, TcpOption};
use yew::prelude::*;

use super::printable;
use crate::{
    app::Snapshot,
    model::{
        numbers::{initial, port_origin, receiver, relative_numbers, sender, Base},
        words::{state_aside, state_text},
        Action,
    },
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub act: Callback<Action>,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let cells: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "{:04x}  {:<47}  {}",
                i * 16,
                cells.join(" "),
                printable(row)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn option_text(o: &TcpOption) -> String {
    match o {
        TcpOption::Mss { bytes } => format!("MSS {bytes} bytes"),
        TcpOption::WindowScale { shift } => {
            format!("window scale ×{} (shift {shift})", 1u32 << shift.min(&30))
        }
        TcpOption::SackPermitted => "SACK permitted".into(),
        TcpOption::Sack { blocks } => format!("SACK {blocks:?}"),
        TcpOption::Timestamps { value, echo } => format!("timestamps value {value}, echo {echo}"),
        TcpOption::Nop => "NOP (padding)".into(),
    }
}

/// How a relative number follows from the absolute one: `absolute − ISN
/// base`, or `absolute − base, the first seen from whom` when the page saw
/// no SYN that way (so no ISN).
fn minus(absolute: u32, base: Base, whom: &str) -> String {
    match base {
        Base::Isn(isn) => format!("{absolute} − ISN {isn}"),
        Base::FirstSeen(first) => {
            format!(
                "{absolute} − {first}, the first sequence number seen from {whom} (no SYN seen)"
            )
        }
        Base::Unseen => format!("{absolute}: nothing seen from {whom} to count from"),
    }
}

#[component]
pub fn Inspector(props: &Props) -> Html {
    let model = props.model.get();
    let Some(event) = model.selected_event() else {
        return html! {
            <section class="panel inspector" aria-label="Inspector">
                <h2>{ "Inspector" }</h2>
                <p class="empty">{ "Select a segment or a call on the ladder to see every field." }</p>
            </section>
        };
    };
    let close = props.act.reform(|_: MouseEvent| Action::Select(None));
    let rows = |pairs: Vec<(&str, String)>| {
        html! {
            <table class="fields"><tbody>
                { for pairs.into_iter().map(|(k, v)| html! { <tr><th>{ k }</th><td><code>{ v }</code></td></tr> }) }
            </tbody></table>
        }
    };
    let ports = model.hello.as_ref().and_then(|h| h.ephemeral_ports);
    let view = model.shown();
    let detail = match &event.kind {
        EventKind::Segment { segment: s } => {
            let counted = initial(view, event.seq, s);
            let seq = format!(
                "{} (relative {}): {}",
                s.seq,
                s.rel_seq,
                minus(s.seq, counted.sender, &s.from)
            );
            let ack = match counted.receiver {
                Some(Base::Unseen) => {
                    format!("{} (nothing seen from {} yet to count from)", s.ack, s.to)
                }
                Some(base) => format!(
                    "{} (relative {}): {}",
                    s.ack,
                    s.rel_ack,
                    minus(s.ack, base, &s.to)
                ),
                None => format!("{} (no ACK flag: not used)", s.ack),
            };
            let origins: Vec<String> = [sender(view, s), receiver(view, s)]
                .into_iter()
                .flatten()
                .filter_map(|id| port_origin(view, id, ports))
                .collect();
            html! {
            <>
                { rows(vec![
                    ("from", s.from.clone()),
                    ("to", s.to.clone()),
                    ("flags", s.flags.iter().map(|f| f.name()).collect::<Vec<_>>().join(" ")),
                    ("sequence number", seq),
                    ("acknowledgment number", ack),
                    ("window", format!("{} (before scaling)", s.window)),
                    ("payload length", format!("{} bytes", s.len)),
                    ("seen on the wire", format!("{} µs into the session", s.wire_us)),
                ]) }
                <h3>{ "Options" }</h3>
                if s.options.is_empty() { <p class="empty">{ "none" }</p> }
                <ul>{ for s.options.iter().map(|o| html! { <li>{ option_text(o) }</li> }) }</ul>
                if !s.payload.is_empty() {
                    <h3>{ "Payload" }</h3>
                    <pre class="hex">{ hex(&s.payload) }</pre>
                }
                <h3>{ "Where the numbers come from" }</h3>
                { super::note_html(&relative_numbers(view, event.seq, s)) }
                { for origins.into_iter().map(|o| html! { <p class="port-origin">{ o }</p> }) }
            </>
            }
        }
        EventKind::SocketState { state } => html! {
            <>
                <p>{ "TCP state: " }<strong>{ state_text(state.state) }</strong></p>
                if let Some(aside) = state_aside(state.state) {
                    <p class="aside">{ aside }</p>
                }
                <pre class="json">{ serde_json::to_string_pretty(&event.kind).unwrap_or_default() }</pre>
            </>
        },
        _ => html! {
            <pre class="json">{ serde_json::to_string_pretty(&event.kind).unwrap_or_default() }</pre>
        },
    };
    let explained = model.selected_note().map(super::note_html);
    // Where the socket's port came from, for a call or a socket event.
    let origin = (!matches!(event.kind, EventKind::Segment { .. }))
        .then(|| event.socket.and_then(|id| port_origin(view, id, ports)))
        .flatten()
        .map(|o| html! { <p class="port-origin">{ o }</p> });
    html! {
        <section class="panel inspector" aria-label="Inspector">
            <h2>{ format!("Inspector: event {} ({})", event.seq, event.actor) }
                <button class="close" onclick={close} aria-label="Close the inspector">{ "×" }</button></h2>
            <p class="when">{ format!("{} µs into the session", event.t_us) }
                { event.tuple.as_ref().map(|t| format!(" · socket {} {}", event.socket.map(|s| s.to_string()).unwrap_or_default(), t.local)).unwrap_or_default() }</p>
            { for explained }
            { for origin }
            { detail }
        </section>
    }
}
