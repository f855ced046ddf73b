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
    // A fault: a setting shown with what to expect from it, in words.
    let fault = |expect: &'static str, control: Html| {
        html! {
            <div class="fault">
                { control }
                <p class="expect">{ expect }</p>
            </div>
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
            { field("send times", "number", d.repeat.to_string(), "The client sends its message this many times over, in one send_all", |s, v| s.repeat = v.parse().unwrap_or(s.repeat)) }
            <fieldset class="faults">
                <legend>{ "Faults on demand (the kernel does the rest, for real)" }</legend>
                { fault("close() sends RST instead of FIN; the client's socket skips TIME_WAIT; a server still reading gets ECONNRESET.",
                    check("abortive close: SO_LINGER {on, 0}", d.abort, "Each client sets SO_LINGER to {on, 0} before close()", |s, v| s.abort = v)) }
                { fault("Its FIN leaves at once and the server sees end of stream, yet the server can still reply and the client still reads it (FIN_WAIT_2).",
                    check("half-close: shutdown(SHUT_WR) after sending", d.half_close, "Each client shuts down its sending side once it has sent", |s, v| s.half_close = v)) }
                { fault("With a small SO_RCVBUF and a big message, the server's window falls to 0, the sender's send blocks, and each recv opens the window again.",
                    field("server read pause ms", "number", d.read_pause_ms.to_string(), "The server pauses this long before each recv after its first", |s, v| s.read_pause_ms = v.parse().unwrap_or(s.read_pause_ms))) }
                { fault("If the server reads less than was sent (server reads < message), its close() finds bytes unread: the kernel resets the connection, and a client waiting for the reply gets ECONNRESET.",
                    check("server replies", d.replies, "If not, the server closes as soon as recv_all is done", |s, v| s.replies = v)) }
                { fault("With more clients than backlog + 1 and a server busy before accept(), the kernel drops the extra SYNs: those connect() calls wait for the retries, 1 s and 3 s later.",
                    field("server accept pause ms", "number", d.accept_pause_ms.to_string(), "The server pauses this long before each accept()", |s, v| s.accept_pause_ms = v.parse().unwrap_or(s.accept_pause_ms))) }
            </fieldset>
            <button type="submit" disabled={props.disabled}
                    title={if props.disabled { "Not connected to the relay" } else { "Close every socket and start a session with these settings" }}>
                { "Start custom session" }
            </button>
        </form>
    }
}
