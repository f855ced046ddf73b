//! The custom scenario's settings: edit, then start a session with them.

use protocol::{Command, Scenario};
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// Where the form starts from: the running session's settings.
    pub start: Scenario,
    pub send: Callback<Command>,
    pub disabled: bool,
}

/// An optional number as a field shows it: empty for none.
fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn input_of(e: &Event) -> Option<HtmlInputElement> {
    e.target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
}

#[component]
pub fn ScenarioForm(props: &Props) -> Html {
    let draft = use_state(|| Scenario {
        name: "custom".to_owned(),
        ..props.start.clone()
    });

    // One field: a label, an input, and how its text becomes a setting.
    let field = |label: &'static str,
                 kind: &'static str,
                 value: String,
                 help: &'static str,
                 set: fn(&mut Scenario, &str)| {
        let draft = draft.clone();
        let onchange = Callback::from(move |e: Event| {
            if let Some(input) = input_of(&e) {
                let mut next = (*draft).clone();
                set(&mut next, &input.value());
                draft.set(next);
            }
        });
        html! {
            <label class="field" title={help}>
                <span>{ label }</span>
                <input type={kind} value={value} {onchange} aria-label={format!("{label}: {help}")} />
            </label>
        }
    };
    let check =
        |label: &'static str, value: bool, help: &'static str, set: fn(&mut Scenario, bool)| {
            let draft = draft.clone();
            let onchange = Callback::from(move |e: Event| {
                if let Some(input) = input_of(&e) {
                    let mut next = (*draft).clone();
                    set(&mut next, input.checked());
                    draft.set(next);
                }
            });
            html! {
                <label class="field check" title={help}>
                    <input type="checkbox" checked={value} {onchange} />
                    <span>{ label }</span>
                </label>
            }
        };
    let d = (*draft).clone();
    let start = {
        let send = props.send.clone();
        let draft = draft.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            send.emit(Command::Reset {
                scenario: Some((*draft).clone()),
            });
        })
    };
    html! {
        <form class="scenario-form" onsubmit={start} aria-label="Custom scenario">
            { field("message", "text", d.message.clone(), "What each client sends", |s, v| s.message = v.to_owned()) }
            { field("server reads", "number", d.expected.to_string(), "How many bytes the server's recv_all waits for", |s, v| s.expected = v.parse().unwrap_or(s.expected)) }
            { field("reply", "text", d.reply.clone(), "What the server sends back", |s, v| s.reply = v.to_owned()) }
            { field("chunk", "number", opt(d.chunk), "Send in pieces of this many bytes (empty: all at once)", |s, v| s.chunk = v.parse().ok()) }
            { field("pause ms", "number", d.pause_ms.to_string(), "Milliseconds between pieces", |s, v| s.pause_ms = v.parse().unwrap_or(s.pause_ms)) }
            { field("clients", "number", d.clients.to_string(), "How many clients connect", |s, v| s.clients = v.parse().unwrap_or(s.clients)) }
            { field("backlog", "number", d.backlog.to_string(), "The server's listen() backlog", |s, v| s.backlog = v.parse().unwrap_or(s.backlog)) }
            { field("SO_RCVBUF", "number", opt(d.rcvbuf), "Receive buffer size for every socket (empty: the kernel's default)", |s, v| s.rcvbuf = v.parse().ok()) }
            { field("SO_SNDBUF", "number", opt(d.sndbuf), "Send buffer size for every socket (empty: the kernel's default)", |s, v| s.sndbuf = v.parse().ok()) }
            { field("server port", "number", opt(d.port), "Where the server listens (empty: a free port)", |s, v| s.port = v.parse().ok()) }
            { check("clients read the reply", d.reads_reply, "If not, each client hangs up right after sending", |s, v| s.reads_reply = v) }
            { check("a server listens", d.server, "If not, the clients connect to a port where nothing listens", |s, v| s.server = v) }
            <button type="submit" disabled={props.disabled}
                    title={if props.disabled { "Not connected to the relay" } else { "Close every socket and start a session with these settings" }}>
                { "Start custom session" }
            </button>
        </form>
    }
}
