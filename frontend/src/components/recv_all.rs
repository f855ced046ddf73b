//! `recv_all`: the buffer's slots filling, one `recv` at a time.

use yew::prelude::*;

use super::{actor_class, printable};
use crate::app::Snapshot;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
}

/// The most byte slots drawn for one `recv_all`.
const SLOTS_DRAWN: usize = 64;

#[component]
pub fn RecvAllPanel(props: &Props) -> Html {
    let model = props.model.get();
    let view = model.shown();
    let (recv_alls, hidden) = super::latest(view.recv_alls.values().collect());
    html! {
        <section class="panel recv-all" aria-label="recv_all">
            <h2><code>{ "recv_all" }</code></h2>
            if view.recv_alls.is_empty() {
                <p class="empty">{ "No program has called recv_all yet." }</p>
            }
            { for recv_alls.into_iter().map(|r| {
                // A slot per byte, up to a few lines of them; a long message's
                // rest is counted, and the turns table has every recv.
                let drawn = r.expected.min(SLOTS_DRAWN);
                let slots = (0..drawn).map(|i| {
                    let byte = r.buffer.get(i);
                    // Which turn brought this byte, for its shade.
                    let mut turn = 0;
                    let mut upto = 0;
                    for t in &r.turns {
                        upto += t.got;
                        if i < upto { turn = t.number; break; }
                    }
                    html! {
                        <span class={classes!("slot", byte.map(|_| "filled"), (turn > 0).then(|| format!("turn{}", (turn - 1) % 4 + 1)))}
                              title={byte.map(|b| format!("byte {i}: {b:#04x}, from recv #{turn}")).unwrap_or_else(|| format!("byte {i}: not yet received"))}>
                            { byte.map(|b| printable(&[*b])).unwrap_or_default() }
                        </span>
                    }
                });
                html! {
                    <div key={r.actor.to_string()} class={classes!("recv", actor_class(r.actor))}>
                        <h3>{ format!("{}: recv_all({})", r.actor, r.expected) }
                            <span class="count">{ format!(" {} of {} bytes", r.buffer.len().min(r.expected), r.expected) }</span></h3>
                        <div class="slots" role="img" aria-label={format!("{} of {} bytes received", r.buffer.len(), r.expected)}>{ for slots }</div>
                        if r.expected > drawn {
                            <p class="more">{ format!("… and {} more bytes, not drawn one by one", r.expected - drawn) }</p>
                        }
                        <table class="turns">
                            <thead><tr><th>{ "recv #" }</th><th>{ "asked" }</th><th>{ "got" }</th><th>{ "total" }</th><th>{ "bytes" }</th></tr></thead>
                            <tbody>
                                { for r.turns.iter().map(|t| html! {
                                    <tr class={classes!((t.got < t.asked).then_some("short"))}>
                                        <td>{ t.number }</td><td>{ t.asked }</td><td>{ t.got }</td><td>{ t.total }</td>
                                        <td><code>{ printable(&t.bytes) }</code></td>
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                        if let Some(err) = &r.eof_error {
                            <p class="error" role="alert">{ format!("EOFError: {err}") }</p>
                        }
                    </div>
                }
            }) }
            { super::more(hidden, "programs' recv_all") }
        </section>
    }
}
