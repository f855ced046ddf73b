//! Every field of the selected event; for a segment, its TCP header, its
//! options, and its payload as hex and as text.

use protocol::{EventKind, TcpOption};
use yew::prelude::*;

use super::printable;
use crate::{
    app::Snapshot,
    model::{
        numbers::{initial, port_origin, receiver, relative_numbers, sender},
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
            let isn = initial(s);
            let ack = match isn.receiver {
                Some(receiver) => format!(
                    "{} (relative {}): {} − ISN {receiver}",
                    s.ack, s.rel_ack, s.ack
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
                    ("sequence number", format!("{} (relative {}): {} − ISN {}", s.seq, s.rel_seq, s.seq, isn.sender)),
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
                { super::note_html(&relative_numbers(s)) }
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
