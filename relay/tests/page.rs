//! The visualiser in headless Chromium, against a real relay: a person's
//! clicks on Step, and what the page then shows.
//!
//! It needs the page served (by `trunk serve`) and chromedriver, so
//! `cargo xtask test` runs it, passing the page's address in TCPSTEP_PAGE_URL.

mod support;

use std::path::PathBuf;

use support::{webdriver::Browser, Relay};

/// A real run of `scenario`, recorded with capture and saved as a trace
/// file the page can open: the file, and how many events it holds.
fn saved_trace(scenario: protocol::Scenario) -> (Trace, usize) {
    sandboxed();
    let capture = tcpstep_relay::sandbox::capture_status();
    assert!(
        capture.enabled,
        "this test checks the wire: {}",
        capture.reason
    );
    let name = scenario.name.clone();
    let rec = tcpstep_relay::record::record(scenario, true, std::time::Duration::from_secs(180))
        .expect("record a session");
    let dir = std::env::temp_dir().join(format!("tcpstep-page-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, rec.json_lines()).expect("write the trace");
    (Trace { dir, path }, rec.events.len())
}

/// A saved trace, removed with its folder when dropped.
struct Trace {
    dir: PathBuf,
    path: PathBuf,
}

impl Trace {
    /// Opens the trace in `browser`'s page (at `page`, with no relay: nothing
    /// listens on port 1), as a reader with the file would, and waits for it.
    fn open_in(&self, browser: &Browser, page: &str) {
        browser.goto(&format!("{page}?relay=ws://127.0.0.1:1/ws"));
        browser.type_into(".open-trace input", &self.path.display().to_string());
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        browser.wait_for("the trace to open", |b| {
            b.text(".trace-name").contains(&name)
        });
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Presses the page's Step button, whenever it is enabled, until `done`.
fn press_step_until(browser: &Browser, what: &str, done: impl Fn(&Browser) -> bool) {
    let mut presses = 0;
    while !done(browser) {
        assert!(presses < 200, "after {presses} steps, not yet: {what}");
        let enabled = browser
            .run(
                "return !document.querySelector('.controls button').disabled;",
                serde_json::json!([]),
            )
            .as_bool()
            .unwrap_or(false);
        if enabled {
            browser.click(".controls button");
            presses += 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
}

/// Runs this process's sessions as `relay serve` does: each in a sandbox
/// of its own.
fn sandboxed() {
    let sandbox = tcpstep_relay::sandbox::use_worker(support::RELAY.into());
    assert!(
        sandbox.enabled,
        "the page tests run sandboxed sessions: {sandbox:?}"
    );
}

/// A real relay that the served page may connect to, with capture on (the
/// page tests check the wire): the relay, and the page's URL pointed at it.
async fn relay_for_the_page() -> (Relay, String) {
    sandboxed();
    let page = page_url();
    let origin = page.trim_end_matches('/').to_owned();
    let relay = Relay::start_with(tcpstep_relay::feed::LIVE_BUFFER, &[&origin]).await;
    let capture = relay.host.hello(relay.host.feed().session()).capture;
    assert!(
        capture.enabled,
        "the page tests check the wire, which needs capture: {}",
        capture.reason
    );
    let url = format!("{page}?relay={}", relay.url);
    (relay, url)
}

fn page_url() -> String {
    std::env::var("TCPSTEP_PAGE_URL")
        .expect("TCPSTEP_PAGE_URL names the served page: run this through cargo xtask test")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn stepping_the_classic_exchange_in_the_browser() {
    let (relay, url) = relay_for_the_page().await;
    let server_addr = relay.host.feed().session().server_addr;

    // The browser is blocking; give it its own thread.
    let shot = tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");

        // Press Step until the client has its reply and the server waits again.
        press_step_until(&browser, "the client has its reply and the server waits again", |b| {
            let server_back = b
                .texts(".terminal.server .line")
                .iter()
                .filter(|l| *l == "Waiting for a new connection")
                .count()
                == 2;
            b.text(".terminals").contains("Server:  b'Goodbye, client!'") && server_back
        });

        // The handshake, as captured, drawn on the ladder.
        let labels = browser.texts(".seg .seg-label");
        assert!(labels.len() >= 3, "{labels:?}");
        assert_eq!(labels[0], "SYN  seq=0");
        assert_eq!(labels[1], "SYN, ACK  seq=0 ack=1");
        assert_eq!(labels[2], "ACK  seq=1 ack=1");
        assert!(
            labels
                .iter()
                .any(|l| l.contains("PSH, ACK") && l.contains("len=17")),
            "{labels:?}"
        );
        assert!(labels.iter().any(|l| l.contains("len=16")), "{labels:?}");

        // Blocked calls are spans: accept() went in above the SYN, slept,
        // and its result is written below the handshake's last ACK; the
        // server's recv returns below the greeting's data segment.
        let places = browser.run(
            "const y = g => parseFloat(g.querySelector('circle, line').getAttribute(g.matches('.seg') ? 'y2' : 'cy')); \
             const seg = p => [...document.querySelectorAll('.seg')].find(g => g.querySelector('.seg-label').textContent.startsWith(p)); \
             const call = p => [...document.querySelectorAll('.call.server')].find(g => g.querySelector('text').textContent.startsWith(p)); \
             const bar = [...document.querySelectorAll('rect.span.server')].find(r => r.querySelector('title').textContent.includes('accept()')); \
             return { syn: y(seg('SYN  seq=0')), ack: y(seg('ACK  seq=1 ack=1')), \
                      acceptIn: y(call('accept() called')), acceptOut: y(call('accept() → fd')), \
                      barTop: parseFloat(bar.getAttribute('y')), barEnd: parseFloat(bar.getAttribute('y')) + parseFloat(bar.getAttribute('height')), \
                      data: y([...document.querySelectorAll('.seg')].find(g => g.textContent.includes('len=17'))), \
                      recvOut: y(call('recv(16) → 16 bytes')) };",
            serde_json::json!([]),
        );
        let at = |key: &str| {
            places[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} is not on the ladder: {places}"))
        };
        assert!(at("acceptIn") < at("syn"), "{places}");
        assert!(at("ack") < at("acceptOut"), "{places}");
        assert_eq!(at("barTop"), at("acceptIn"), "{places}");
        assert_eq!(at("barEnd"), at("acceptOut"), "{places}");
        assert!(at("data") < at("recvOut"), "{places}");

        // The listener and the connection socket accept() returned, with its 4-tuple.
        let sockets = browser.texts(".socket");
        let listener = sockets
            .iter()
            .find(|s| s.contains("listening socket"))
            .expect("a listening socket card");
        assert!(
            listener.contains(&server_addr) && listener.contains("LISTEN"),
            "{listener}"
        );
        let accepted = sockets
            .iter()
            .find(|s| s.contains("connection socket (from accept)"))
            .expect("an accepted socket card");
        let client_line = browser
            .texts(".terminal.client .line")
            .first()
            .cloned()
            .unwrap_or_default();
        let client_addr = client_line
            .strip_prefix("Client has been assigned the socket:  ")
            .and_then(tcpstep_relay::pair::PyAddr::parse)
            .expect("the client's first line")
            .to_string();
        assert!(
            accepted.contains(&format!("{server_addr} → {client_addr}")),
            "{accepted}"
        );

        // recv_all's turns, and the reply.
        let recv = browser.text(".recv-all");
        assert!(recv.contains("server: recv_all(16)"), "{recv}");
        assert!(recv.contains("16 of 16 bytes"), "{recv}");
        assert!(browser
            .text(".terminals")
            .contains("Server:  b'Goodbye, client!'"));
        browser.screenshot()
    })
    .await
    .expect("the browser thread");

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts/page.png");
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("artifacts dir");
    std::fs::write(&path, shot).expect("save the screenshot");
    println!("screenshot: {}", path.display());
}

/// A trace saved from a real session, opened in the page with no relay
/// running: the same ladder, time travel over it, and the inspector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn a_saved_trace_opens_with_no_relay() {
    let page = page_url();
    let (trace, events) = saved_trace(protocol::Scenario::classic());

    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        // Nothing listens on port 1: no relay at all.
        browser.goto(&format!("{page}?relay=ws://127.0.0.1:1/ws"));
        browser.wait_for("the page to give up on the relay", |b| {
            b.text(".link").contains("Relay gone")
        });
        browser.type_into(".open-trace input", &trace.path.display().to_string());
        browser.wait_for("the trace to open", |b| {
            b.text(".trace-name").contains("classic.jsonl")
        });
        let labels = browser.texts(".seg .seg-label");
        assert_eq!(
            labels.first().map(String::as_str),
            Some("SYN  seq=0"),
            "{labels:?}"
        );
        assert!(browser
            .text(".position")
            .contains(&format!("{events} events")));

        // Time travel: the very start shows nothing; one event on, the server's first call.
        browser.click(".timeline button"); // ◀◀, the first
        browser.wait_for("the start", |b| {
            b.texts(".call").is_empty() && b.texts(".seg").is_empty()
        });
        assert!(browser
            .text(".position")
            .contains(&format!("0 of {events} events")));
        assert!(browser.text(".sockets").contains("No socket yet"));
        for _ in 0..3 {
            browser.run(
                "document.querySelectorAll('.timeline button')[2].click();",
                serde_json::json!([]),
            );
        }
        browser.wait_for("three events in", |b| {
            b.text(".position")
                .contains(&format!("3 of {events} events: up to event 2"))
        });
        assert!(browser
            .texts(".call.server")
            .iter()
            .any(|c| c.contains("socket()")));
        // Back in time, the source shows where the server was then: in the
        // Python first, and in the Rust that ran, a click away.
        let then = browser.text(".source-block.server figcaption");
        assert!(then.contains("tcp_pair.py"), "{then:?}");
        browser.click("#source-tab-rust");
        browser.wait_for("the Rust", |b| {
            b.text(".source-block.server figcaption")
                .contains("server.rs")
        });
        browser.click("#source-tab-python");
        browser.run(
            "document.querySelectorAll('.timeline button')[3].click();",
            serde_json::json!([]),
        ); // ▶▶, the last
        browser.wait_for("the end again", |b| b.text(".position").contains("live"));

        // The inspector, reached from the keyboard: the SYN's header fields and options.
        browser.run(
            "const syn = document.querySelector('.seg.syn'); syn.focus(); \
             syn.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));",
            serde_json::json!([]),
        );
        browser.wait_for("the inspector", |b| {
            b.text(".inspector").contains("sequence number")
        });
        let inspector = browser.text(".inspector");
        assert!(
            inspector.contains("flags") && inspector.contains("SYN"),
            "{inspector}"
        );
        assert!(inspector.contains("(relative 0)"), "{inspector}");
        assert!(
            inspector.contains("MSS") && inspector.contains("SACK permitted"),
            "{inspector}"
        );
    })
    .await
    .expect("the browser thread");
}

/// The expert panel, the stream and the exports, on a trace recorded from a
/// real run of unread-close (the server reads 16 of 51 bytes and closes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn findings_the_stream_and_the_exports_of_a_real_trace() {
    let page = page_url();
    let (trace, _) = saved_trace(protocol::Scenario::preset("unread-close").expect("a preset"));

    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        trace.open_in(&browser, &page);

        // The findings, each with its severity in words.
        let findings = browser.text(".expert");
        for expected in ["data left unread at close", "connection reset", "error"] {
            assert!(findings.contains(expected), "{expected}: {findings}");
        }
        // A finding leads to its event: the moment after it, inspected.
        browser.run(
            "[...document.querySelectorAll('.finding')].find(f => f.textContent.includes('unread at close')).querySelector('button').click();",
            serde_json::json!([]),
        );
        browser.wait_for("the finding's event inspected", |b| {
            b.text(".inspector").contains("close") && b.text(".position").contains("looking back")
        });

        // The stream: the greeting, 16 bytes read and 35 never read.
        // Clicked from script: WebDriver's click scrolls back up to the
        // timeline and clicks at a point, and panels coming into view for
        // the first time (content-visibility: auto) can move it meanwhile.
        browser.run(
            "document.querySelectorAll('.timeline button')[3].click();",
            serde_json::json!([]),
        ); // ▶▶, the end
        browser.wait_for("the end", |b| b.text(".position").contains("live"));
        let chunks = browser.texts(".direction.client .chunk");
        assert_eq!(chunks.first().map(String::as_str), Some("Greetings, serve"), "{chunks:?}");
        let unread = browser.texts(".direction.client .chunk.unread");
        assert_eq!(unread.len(), 1, "{chunks:?}");
        assert_eq!(unread[0].len(), 35, "{unread:?}");
        // Selecting the read piece names the segment that carried it and the recv that consumed it.
        browser.run(
            "document.querySelector('.direction.client .chunk').click();",
            serde_json::json!([]),
        );
        browser.wait_for("the chunk's carriers", |b| b.text(".chunk-detail").contains("Consumed by"));
        let detail = browser.text(".chunk-detail");
        assert!(detail.contains("segment (event"), "{detail}");
        assert!(detail.contains("server's recv(16)"), "{detail}");
        // ...and back: the recv, selected, marks the same piece.
        assert_eq!(browser.texts(".chunk.selected"), ["Greetings, serve"]);

        // The exports: what the page would save, caught at the link it clicks.
        let saved = |button: &str| {
            browser
                .run(
                    &format!(
                        "let url = null; const click = HTMLAnchorElement.prototype.click; \
                         HTMLAnchorElement.prototype.click = function () {{ url = [this.download, decodeURIComponent(this.href.split(',').slice(1).join(','))]; }}; \
                         [...document.querySelectorAll('.exports button')].find(b => b.textContent == '{button}').click(); \
                         HTMLAnchorElement.prototype.click = click; return url;"
                    ),
                    serde_json::json!([]),
                )
        };
        let svg = saved("SVG");
        assert!(svg[0].as_str().is_some_and(|n| n.ends_with(".svg")), "{svg}");
        let svg_text = svg[1].as_str().unwrap_or_default();
        assert!(svg_text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg_text}");
        assert!(svg_text.contains("RST, ACK"), "{svg_text}");
        // The browser reads the file as a picture.
        let parsed = browser.run(
            "return new DOMParser().parseFromString(arguments[0], 'image/svg+xml').querySelector('parsererror') === null;",
            serde_json::json!([svg_text]),
        );
        assert_eq!(parsed, serde_json::json!(true));
        let mermaid = saved("Mermaid");
        let mermaid_text = mermaid[1].as_str().unwrap_or_default();
        assert!(mermaid_text.starts_with("sequenceDiagram\n"), "{mermaid_text}");
        assert!(mermaid_text.contains("client0->>server: SYN"), "{mermaid_text}");
    })
    .await
    .expect("the browser thread");
}

/// The classic exchange stepped in the page, read as the chapter's reader
/// reads it: the Python tab first, its lines marked as each program gets
/// to them (the server's accept while it waits and while it sleeps, the
/// client's connect), and the terminals showing the textbook's lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn the_python_tab_and_the_textbooks_lines() {
    use tcpstep_relay::pair::PyAddr;

    let (relay, url) = relay_for_the_page().await;
    let server_addr: std::net::SocketAddr = relay
        .host
        .feed()
        .session()
        .server_addr
        .parse()
        .expect("the session's server address");
    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");
        browser.wait_for("the server's first call", |b| {
            !b.texts(".source-block.server").is_empty()
        });

        // Python is the first tab, and the one shown.
        let tabs = browser.texts(".source [role=tab]");
        assert_eq!(tabs, ["Python", "Rust (what really runs)"]);
        let selected = browser.run(
            "return [...document.querySelectorAll('.source [role=tab]')].map(t => t.getAttribute('aria-selected'));",
            serde_json::json!([]),
        );
        assert_eq!(selected, serde_json::json!(["true", "false"]));

        // A program's caption, and its marked line without the line number.
        let at = |b: &Browser, program: &str| -> (String, String) {
            let caption = b.text(&format!(".source-block.{program} figcaption"));
            let line = b
                .run(
                    "const l = document.querySelector(arguments[0]); \
                     return l ? [...l.childNodes].filter(n => !(n.classList && n.classList.contains('ln'))).map(n => n.textContent).join('') : '';",
                    serde_json::json!([format!(".source-block.{program} .src-line.current")]),
                )
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned();
            (caption, line)
        };
        // Presses `Step PROGRAM` until `done` holds, each press waiting
        // for the page to show that program's next call.
        let step_until = |program: &str, actor: &str, what: &str, done: &dyn Fn(&(String, String)) -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let mut presses = 0;
            loop {
                let now = at(&browser, program);
                if done(&now) {
                    return now;
                }
                assert!(
                    presses < 20 && std::time::Instant::now() < deadline,
                    "{actor} never got to {what}: at {now:?}"
                );
                let pressed = browser.run(
                    "const b = [...document.querySelectorAll('.controls button')].find(b => b.textContent.trim() == arguments[0]); \
                     if (!b || b.disabled) return false; b.click(); return true;",
                    serde_json::json!([format!("Step {actor}")]),
                );
                if pressed == serde_json::json!(true) {
                    presses += 1;
                    browser.wait_for("the step to show", |b| at(b, program) != now);
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
        };
        let accept = "sc, sockname = sock.accept()";
        let (caption, _) = step_until("server", "server", "accept", &|(c, l): &(String, String)| {
            l == accept && c.contains("waits before this call")
        });
        assert!(caption.starts_with("server waits before this call (tcp_pair.py:"), "{caption}");
        // Released, accept() sleeps in the kernel: the same line, marked asleep.
        let (caption, line) = step_until("server", "server", "accept asleep", &|(c, _): &(String, String)| {
            c.contains("is asleep in this call")
        });
        assert_eq!(line, accept, "{caption}");
        // The client, at its connect.
        let (caption, _) = step_until("client", "client 0", "connect", &|(c, l): &(String, String)| {
            l == "sock.connect((host, port))" && c.contains("waits before this call")
        });
        assert!(caption.starts_with("client 0 waits before this call (tcp_pair.py:"), "{caption}");
        // Connected: accept() has returned, and the server moved on.
        step_until("client", "client 0", "its send", &|(_, l): &(String, String)| l == "sock.sendall(message)");
        browser.wait_for("accept to return", |b| at(b, "server").1 != accept);

        // Press Step until the client has its reply and the server waits again.
        let mut presses = 0;
        loop {
            let server = browser.texts(".terminal.server .line");
            let client = browser.texts(".terminal.client .line");
            if client.len() == 2 && server.len() == 8 {
                break;
            }
            assert!(presses < 100, "the exchange did not finish: {server:?} {client:?}");
            let pressed = browser.run(
                "const b = document.querySelector('.controls button'); \
                 if (b.disabled) return false; b.click(); return true;",
                serde_json::json!([]),
            );
            if pressed == serde_json::json!(true) {
                presses += 1;
            }
            std::thread::sleep(std::time::Duration::from_millis(60));
        }

        // The terminals: the textbook's lines exactly, addresses as Python prints them.
        let client = browser.texts(".terminal.client .line");
        let client_addr = client[0]
            .strip_prefix("Client has been assigned the socket:  ")
            .and_then(PyAddr::parse)
            .unwrap_or_else(|| panic!("the client's first line: {client:?}"));
        let (server, from) = (PyAddr(server_addr), PyAddr(client_addr));
        assert_eq!(
            client,
            [
                format!("Client has been assigned the socket:  {from}"),
                "Server:  b'Goodbye, client!'".to_owned(),
            ]
        );
        assert_eq!(
            browser.texts(".terminal.server .line"),
            [
                format!("Listening at {server}"),
                "Waiting for a new connection".to_owned(),
                format!("Connection from {from}"),
                format!("  Socket name: {server}"),
                format!("  Socket peer: {from}"),
                "  message from client: b'Greetings, serve'".to_owned(),
                "  Closing socket".to_owned(),
                "Waiting for a new connection".to_owned(),
            ]
        );
        // The server is back in accept, asleep: marked so in the Python.
        let (caption, line) = at(&browser, "server");
        assert_eq!(line, accept, "{caption}");

        // The Rust that really runs, one click away, marks the same moment.
        browser.click("#source-tab-rust");
        browser.wait_for("the Rust", |b| {
            b.text(".source-block.server figcaption").contains("server.rs")
        });
        assert!(at(&browser, "server").1.contains("accept"), "{:?}", at(&browser, "server"));
    })
    .await
    .expect("the browser thread");
}

/// Whether the classic exchange is over, by the relay's own events: the
/// client has ended and the server sleeps in its second accept().
fn classic_exchange_done(events: &[protocol::Event]) -> bool {
    use protocol::{Actor, EventKind};
    let client_ended = events.iter().any(|e| {
        matches!(e.actor, Actor::Client(_)) && matches!(e.kind, EventKind::ActorEnded { .. })
    });
    let accepts_asleep = events
        .iter()
        .filter(|e| e.actor == Actor::Server)
        .filter(|e| matches!(&e.kind, EventKind::CallBlocked { call } if call.name() == "accept"))
        .count();
    client_ended && accepts_asleep >= 2
}

/// Every learner, not only a sighted one with a mouse: axe-core finds no
/// serious or critical violation on the page stepped through the classic
/// exchange, nor with a segment inspected, nor looking back at the middle,
/// nor in dark colours; and the ladder's rows are reached with Tab, named to
/// a screen reader as buttons, and opened with Enter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served, chromedriver and axe-core: cargo xtask test runs it"]
async fn the_page_passes_axe_core_through_the_classic_exchange() {
    let axe = support::axe::script();
    let (relay, url) = relay_for_the_page().await;
    let feed = relay.host.feed().clone();

    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");

        // Step until the relay says the exchange is over, then until the page has it all.
        press_step_until(&browser, "the relay says the exchange is over", |_| {
            classic_exchange_done(&feed.events())
        });
        let total = feed.events().len();
        browser.wait_for("the page to show every event", |b| {
            b.text(".timeline .position")
                .split(' ')
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n >= total)
        });
        support::axe::assert_accessible(&browser, &axe, "after the classic exchange");

        // Tab from the last control before the ladder's rows lands on its first row...
        browser.run(
            "document.querySelector('.ladder .exports button:last-of-type').focus();",
            serde_json::json!([]),
        );
        browser.press("\u{E004}"); // Tab
        let focused = browser.run(
            "const e = document.activeElement; \
             return [!!e.closest('.ladder svg'), e.getAttribute('role'), \
             e.getAttribute('aria-label')];",
            serde_json::json!([]),
        );
        assert_eq!(
            focused[0],
            serde_json::json!(true),
            "Tab did not reach the ladder: {focused}"
        );
        assert_eq!(focused[1], "button", "{focused}");
        // ...which a screen reader is given as a button with a name, inside a
        // group (an image's insides would be hidden from it)...
        let (role, name) = browser.accessible(".ladder svg");
        assert_eq!(role, "group", "the ladder's computed role (named {name:?})");
        assert!(
            name.starts_with("Ladder"),
            "the ladder's computed name: {name:?}"
        );
        let (role, name) = browser.accessible(".ladder svg [role=button]");
        assert_eq!(
            role, "button",
            "the first row's computed role (named {name:?})"
        );
        assert!(
            name.starts_with("Inspect "),
            "the first row's computed name: {name:?}"
        );
        // ...and Enter, from the keyboard, inspects.
        browser.press("\u{E007}"); // Enter
        browser.wait_for("the inspector, opened by Enter", |b| {
            !b.text(".inspector").is_empty()
        });

        // A segment inspected, reached from the keyboard: the inspector's fields.
        browser.run(
            "document.querySelector('.seg.syn').focus();",
            serde_json::json!([]),
        );
        browser.press("\u{E007}");
        browser.wait_for("the SYN inspected", |b| {
            b.text(".inspector").contains("sequence number")
        });
        support::axe::assert_accessible(&browser, &axe, "with the SYN inspected");

        // Looking back at the middle of the exchange.
        let middle = total / 2;
        browser.run(
            "const i = document.querySelector('.timeline .goto input'); \
             i.value = String(arguments[0]); \
             i.dispatchEvent(new Event('change', {bubbles: true}));",
            serde_json::json!([middle]),
        );
        browser.wait_for("the middle", |b| {
            b.text(".timeline .position")
                .starts_with(&format!("{middle} of "))
        });
        support::axe::assert_accessible(&browser, &axe, &format!("looking back at event {middle}"));

        // The whole exchange again, for a reader whose system asks for dark colours.
        browser.prefer_color_scheme("dark");
        let dark = browser.run(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            serde_json::json!([]),
        );
        assert_eq!(
            dark,
            serde_json::json!(true),
            "the dark scheme is not in effect"
        );
        browser.run(
            "document.querySelectorAll('.timeline button')[3].click();",
            serde_json::json!([]),
        ); // ▶▶, the end
        browser.wait_for("the end again", |b| {
            b.text(".timeline .position").contains("live")
        });
        support::axe::assert_accessible(
            &browser,
            &axe,
            "after the classic exchange, in dark colours",
        );
    })
    .await
    .expect("the browser thread");
}

/// Predict, then step, on a real relay: the page asks before each step,
/// the learner's answer releases it, and the verdict shown is what the
/// relay's own events say happened, with the score kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn predicting_the_steps_of_the_classic_exchange() {
    use protocol::{Actor, Call, EventKind, TcpFlag, TcpState};

    let page = page_url();
    let origin = page.trim_end_matches('/').to_owned();
    let relay = Relay::start_with(tcpstep_relay::feed::LIVE_BUFFER, &[&origin]).await;
    let capture = relay.host.hello(relay.host.feed().session()).capture;
    assert!(
        capture.enabled,
        "this test checks the wire: {}",
        capture.reason
    );
    let host = relay.host.clone();
    let url = format!("{page}?relay={}&predict=1", relay.url);

    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");
        let checked = browser.run(
            "return document.querySelector('.predict-toggle input').checked;",
            serde_json::json!([]),
        );
        assert_eq!(checked, serde_json::json!(true), "predict=1 turns the mode on");
        // The events a verdict names ("events N–M"), as the relay recorded them.
        let step_of = |verdict: &str| {
            let range = verdict
                .rsplit("events ")
                .next()
                .and_then(|r| r.strip_suffix(')'))
                .expect("the verdict names its events");
            let (from, to) = range.split_once('–').expect("a range of events");
            let (from, to): (usize, usize) = (
                from.parse().expect("a first event"),
                to.parse().expect("a last event"),
            );
            host.feed().events()[from..=to].to_vec()
        };

        let (mut answered, mut right) = (0, 0);
        let mut judged = Vec::new();
        while !judged.contains(&"connect") {
            assert!(answered < 40, "no question about connect() after {answered} answers");
            browser.wait_for("a question", |b| {
                !b.text(".predict .question legend").is_empty()
            });
            let question = browser.text(".predict .question legend");
            let (call, choice) = if question.contains("listen(") {
                ("listen", "LISTEN".to_owned())
            } else if question.contains("accept()") {
                ("accept", "It returns at once".to_owned())
            } else if question.contains("connect(") {
                ("connect", "Nothing: no segment".to_owned())
            } else {
                ("other", browser.text(".predict .question button"))
            };
            let clicked = browser.run(
                "const b = [...document.querySelectorAll('.predict .question button')] \
                 .find(b => b.textContent === arguments[0]); if (b) b.click(); return !!b;",
                serde_json::json!([choice]),
            );
            assert_eq!(clicked, serde_json::json!(true), "{choice:?} among the choices of {question:?}");
            answered += 1;
            // The step sent with the answer is released at once: the relay
            // announces a call only once its program is in line.
            browser.wait_for("the verdict", |b| {
                b.text(".predict .score").ends_with(&format!("of {answered} asked"))
            });
            assert_eq!(
                browser.text(".status .notice"),
                "",
                "the relay refused no step"
            );
            let verdict = browser.text(".predict .verdicts li");
            if browser.run(
                "return document.querySelector('.predict .verdicts li').classList.contains('right');",
                serde_json::json!([]),
            ) == serde_json::json!(true)
            {
                right += 1;
            }
            assert_eq!(
                browser.text(".predict .score"),
                format!("Score: {right} right of {answered} asked")
            );
            let step = step_of(&verdict);
            match call {
                "listen" => {
                    assert!(verdict.starts_with("✔ Right"), "{verdict}");
                    assert!(verdict.contains("the kernel reported LISTEN"), "{verdict}");
                    assert!(step.iter().any(|e| matches!(&e.kind,
                        EventKind::SocketState { state } if state.state == TcpState::Listen)));
                }
                "accept" if !judged.contains(&"accept") => {
                    assert!(
                        verdict.starts_with("✘ Not so — you said “It returns at once”; the server's accept()"),
                        "{verdict}"
                    );
                    assert!(verdict.contains("It sleeps in the kernel first"), "{verdict}");
                    assert!(step.iter().any(|e| e.actor == Actor::Server
                        && matches!(&e.kind, EventKind::CallBlocked { call: Call::Accept })));
                }
                "connect" => {
                    assert!(verdict.starts_with("✘ Not so"), "{verdict}");
                    assert!(verdict.contains("The handshake: SYN, SYN-ACK, ACK"), "{verdict}");
                    assert!(verdict.contains("SYN · SYN, ACK · ACK"), "{verdict}");
                    let flags: Vec<Vec<TcpFlag>> = step
                        .iter()
                        .filter_map(|e| match &e.kind {
                            EventKind::Segment { segment } => Some(segment.flags.clone()),
                            _ => None,
                        })
                        .collect();
                    assert_eq!(
                        flags,
                        [vec![TcpFlag::Syn], vec![TcpFlag::Syn, TcpFlag::Ack], vec![TcpFlag::Ack]]
                    );
                }
                _ => {}
            }
            judged.push(call);
        }
        assert!(judged.contains(&"listen") && judged.contains(&"accept"), "{judged:?}");
    })
    .await
    .expect("the browser thread");
}

/// A course page: `?trace=URL&embed=1` opens a trace recorded by `relay
/// record` and served beside the page (here, put in the folder `trunk
/// serve` serves), in the compact layout, with no relay; a trace from
/// another origin is refused, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn an_embedded_course_page_opens_a_trace_served_beside_it() {
    let page = page_url();
    // Recorded here rather than by saved_trace, whose file another test
    // of the classic exchange may be writing at the same moment.
    let capture = tcpstep_relay::capture::status();
    assert!(
        capture.enabled,
        "this test checks the wire: {}",
        capture.reason
    );
    let rec = tcpstep_relay::record::record(
        protocol::Scenario::classic(),
        true,
        std::time::Duration::from_secs(180),
    )
    .expect("record a session");
    let events = rec.events.len();
    // The folder trunk serves: the page's own origin.
    let dist = std::env::var("TCPSTEP_PAGE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    let name = format!("embed-test-{}.jsonl", std::process::id());
    /// The trace beside the page, taken away when the test ends.
    struct Served(PathBuf);
    impl Drop for Served {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let served = Served(dist.join(&name));
    std::fs::write(&served.0, rec.json_lines()).expect("put the trace beside the page");

    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&format!("{page}?trace={name}&embed=1"));
        browser.wait_for("the trace to open", |b| {
            b.text(".status .link").contains(&name)
        });
        let labels = browser.texts(".seg .seg-label");
        assert_eq!(labels.first().map(String::as_str), Some("SYN  seq=0"), "{labels:?}");
        assert!(browser.text(".position").contains(&format!("{events} events")));
        // Shown: the ladder, the sockets, the step controls, what happened.
        let visible = |css: &str| {
            browser.run(
                "return [...document.querySelectorAll(arguments[0])].some(e => e.offsetParent !== null);",
                serde_json::json!([css]),
            ) == serde_json::json!(true)
        };
        for shown in [".page.embed", ".ladder", ".sockets", ".timeline button", ".happened"] {
            assert!(visible(shown), "{shown} is shown");
        }
        assert!(browser.text(".sockets").contains("listening socket"));
        // Hidden: every other panel, and what needs a relay.
        for hidden in [
            ".masthead", ".stream", ".source", ".expert", ".terminals", ".tcp-states",
            ".recv-all", ".inspector", ".controls", ".predict", ".open-trace",
        ] {
            assert!(!visible(hidden), "{hidden} is hidden");
        }
        assert!(!browser.text(".status").contains("Relay"), "no relay is contacted");
        // The step controls move over the trace.
        browser.click(".timeline button"); // ◀◀
        browser.wait_for("the start", |b| b.texts(".seg").is_empty());
        for _ in 0..3 {
            browser.run(
                "document.querySelectorAll('.timeline button')[2].click();",
                serde_json::json!([]),
            ); // ▶
        }
        browser.wait_for("three events in", |b| {
            b.text(".position").contains(&format!("3 of {events} events: up to event 2"))
        });
        assert!(browser.texts(".call.server").iter().any(|c| c.contains("socket()")));

        // A trace on another origin is refused, with what to do instead.
        browser.goto(&format!("{page}?trace=http://127.0.0.1:1/{name}&embed=1"));
        browser.wait_for("the refusal", |b| {
            b.text(".status .notice").contains("not on this page's origin")
        });
        assert!(browser.text(".status .notice").contains("?trace=traces/classic.jsonl"));
        assert!(browser.texts(".seg").is_empty());
    })
    .await
    .expect("the browser thread");
    drop(served);
}

/// What a step is, and everything one step caused: stepping the classic
/// exchange by program, as a person would, the client's connect() step
/// lists the handshake in order and the server waking up from accept();
/// the sockets say their states in RFC 9293's words, `local → remote`, and
/// where the client's port and the fd numbers come from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn one_step_lists_everything_it_caused() {
    let (_relay, url) = relay_for_the_page().await;
    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");
        let help = browser.text(".what-is-a-step");
        assert!(
            help.contains("A step releases one program's next socket call into the kernel")
                && help.contains("An event is one thing the relay observed"),
            "{help}"
        );
        // Presses "Step {who}" once it can be pressed, then waits for `until`.
        let step_until = |who: &str, until: &dyn Fn(&str) -> bool| {
            for _ in 0..100 {
                if until(&browser.text(".happened")) {
                    return;
                }
                browser.run(
                    "const b = [...document.querySelectorAll('.controls button')]\
                       .find(b => b.textContent === arguments[0]); \
                     if (b && !b.disabled) b.click();",
                    serde_json::json!([format!("Step {who}")]),
                );
                std::thread::sleep(std::time::Duration::from_millis(150));
            }
            panic!(
                "stepping the {who} never got there: {}",
                browser.text(".happened")
            );
        };
        step_until("server", &|h| h.contains("accept() blocks"));
        step_until("client 0", &|h| h.contains("client 0's connect("));
        browser.wait_for("the connect step to settle", |b| {
            let h = b.text(".happened");
            h.contains("The server wakes up: its accept() returns fd")
                && h.contains("stops before its next call, send(17 bytes)")
        });
        let items = browser.texts(".happening");
        let at = |needle: &str| {
            items
                .iter()
                .position(|i| i.contains(needle))
                .unwrap_or_else(|| panic!("no {needle:?} in {items:#?}"))
        };
        assert!(items[0].contains("Step: client 0's connect("), "{items:#?}");
        assert!(at("sends SYN on the wire") < at("sends SYN, ACK on the wire"));
        assert!(at("sends SYN, ACK on the wire") < at("sends ACK on the wire"));
        assert!(at("sends ACK on the wire") < at("The server wakes up"));
        at("ESTABLISHED");

        let sockets = browser.text(".sockets");
        assert!(sockets.contains(" → "), "{sockets}");
        assert!(!sockets.contains('⇄'), "{sockets}");
        assert!(sockets.contains("never called bind()"), "{sockets}");
        assert!(sockets.contains("threads of one process"), "{sockets}");
        assert!(!sockets.contains("SYN_SENT") || sockets.contains("(Linux: SYN_SENT)"));
    })
    .await
    .expect("the browser thread");
}

/// The wire in hand, as a learner sees it: in lost-greeting, the greeting's
/// segment stops part of the way with a cross, and below it the same 17
/// bytes cross again, sent by the client's kernel after its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn a_dropped_segment_and_its_retransmission_on_the_ladder() {
    let page = page_url();
    let (trace, _) = saved_trace(protocol::Scenario::preset("lost-greeting").expect("a preset"));
    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        trace.open_in(&browser, &page);
        let labels = browser.texts(".seg .seg-label");
        let dropped = labels
            .iter()
            .position(|l| l.contains("len=17") && l.contains("✕ dropped"))
            .unwrap_or_else(|| panic!("the dropped greeting: {labels:?}"));
        // The one that crossed says it was sent again, and how much later.
        let again = labels
            .iter()
            .position(|l| l.contains("len=17") && l.contains("↻ again, +"))
            .unwrap_or_else(|| panic!("the greeting sent again: {labels:?}"));
        assert!(dropped < again, "{labels:?}");
        let (_, name) = browser.accessible(".seg.dropped");
        assert!(name.starts_with("Dropped by the wire"), "{name}");
    })
    .await
    .expect("the browser thread");
}

/// The kernel's own account on the page: with the relay reading the
/// tracepoints (as `relay serve` does), the classic exchange's RST arrow
/// carries the kernel's reason, the sockets' cards show the handshake's
/// SYN-SENT and SYN-RECEIVED, the findings name the kernel as their
/// source, and the page stays accessible with all of it shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served, chromedriver, axe-core and tracefs: cargo xtask test runs it"]
async fn the_kernels_own_words_on_the_page() {
    let trace = match tcpstep_relay::tracepoints::KernelTrace::start() {
        Ok(trace) => std::sync::Arc::new(trace),
        Err(reason) => {
            let required = std::env::var("TCPSTEP_REQUIRE_TRACEFS").is_ok_and(|v| v.trim() == "1");
            assert!(!required, "TCPSTEP_REQUIRE_TRACEFS=1, but: {reason}");
            eprintln!("SKIPPED: the kernel's words on the page, as {reason}");
            return;
        }
    };
    let axe = support::axe::script();
    let (relay, url) = relay_for_the_page().await;
    let feed = relay.host.feed().clone();
    let _follower = tcpstep_relay::tracepoints::follow(trace, &feed).expect("follow");

    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");
        press_step_until(&browser, "the relay says the exchange is over", |_| {
            classic_exchange_done(&feed.events())
        });
        browser.wait_for("the RST's badge: the kernel's reason", |b| {
            b.texts(".seg.rst .kernel-reason")
                .iter()
                .any(|t| t.trim() == "TCP_ABORT_ON_CLOSE")
        });
        let sockets = browser.texts(".socket");
        let card = |role: &str| {
            sockets
                .iter()
                .find(|s| s.contains(role))
                .unwrap_or_else(|| panic!("a {role} card in {sockets:?}"))
                .clone()
        };
        let handshake = "SYN-SENT (Linux: SYN_SENT) → ESTABLISHED";
        let seen = std::time::Instant::now();
        while !browser
            .texts(".socket .path")
            .iter()
            .any(|p| p.contains(handshake))
        {
            assert!(
                seen.elapsed() < std::time::Duration::from_secs(20),
                "no card shows {handshake}: {:?}",
                browser.texts(".socket")
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let accepted = card("connection socket (from accept)");
        assert!(
            accepted.contains("SYN-RECEIVED (Linux: SYN_RECV) → ESTABLISHED"),
            "{accepted}"
        );
        assert!(accepted.contains("TCP_ABORT_ON_CLOSE"), "{accepted}");
        assert!(
            accepted.contains("unread"),
            "the reason's plain words: {accepted}"
        );
        let findings = browser.text(".expert");
        assert!(
            findings.contains("reset, in the kernel's words")
                && findings.contains("from the kernel's tracepoints"),
            "{findings}"
        );
        support::axe::assert_accessible(&browser, &axe, "with the kernel's words shown");
        browser.prefer_color_scheme("dark");
        support::axe::assert_accessible(&browser, &axe, "with the kernel's words, dark");
    })
    .await
    .expect("the browser thread");
}

/// A real relay for the page whose rooms run under `config`: the relay and
/// the page's URL pointed at its class session.
async fn rooms_for_the_page(config: tcpstep_relay::rooms::RoomsConfig) -> (Relay, String) {
    sandboxed();
    let page = page_url();
    let origin = page.trim_end_matches('/').to_owned();
    let relay = Relay::start_rooms(
        protocol::Mode::Paused,
        tcpstep_relay::feed::LIVE_BUFFER,
        &[&origin],
        config,
    )
    .await;
    let url = format!("{page}?relay={}", relay.url);
    (relay, url)
}

/// How many stepped calls of a room's session have entered the kernel.
fn entered(room: &tcpstep_relay::rooms::Room) -> usize {
    room.feed()
        .events()
        .iter()
        .filter(
            |e| matches!(&e.kind, protocol::EventKind::CallEntered { call } if call.is_stepped()),
        )
        .count()
}

/// The page's `?session=` value, once it has one.
fn session_in_url(browser: &Browser) -> Option<String> {
    let search = browser
        .run("return location.search;", serde_json::json!([]))
        .as_str()
        .unwrap_or_default()
        .to_owned();
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|p| p.strip_prefix("session="))
        .map(str::to_owned)
}

/// A session of one's own: the button starts it, the URL carries its id,
/// and another browser given the link sees the same session, steps and all,
/// while the class session has not moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn a_session_of_ones_own_is_shared_by_its_link() {
    let (relay, url) = rooms_for_the_page(Default::default()).await;
    let rooms = relay.rooms.clone();
    let class = relay.host.clone();
    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");
        browser.wait_for("the class session named", |b| {
            b.text(".rooms").contains("You are in the class session")
        });
        assert_eq!(session_in_url(&browser), None);
        assert_eq!(browser.text(".open-room"), "Start a session of my own");
        browser.click(".open-room");
        browser.wait_for("the page to move to its own session", |b| {
            session_in_url(b).is_some() && b.text(".link") == "Live"
        });
        let id = session_in_url(&browser).expect("an id in the URL");
        browser.wait_for("its own session named", |b| {
            b.text(".room-name")
                .contains(&format!("your own session {id}"))
        });
        let own = rooms.find(Some(&id)).expect("the relay runs it");
        // Its downloads are its own.
        let downloads = browser.run(
            "return [...document.querySelectorAll('.downloads a')].map(a => a.getAttribute('href'));",
            serde_json::json!([]),
        );
        let downloads: Vec<String> = serde_json::from_value(downloads).expect("links");
        assert!(!downloads.is_empty());
        for href in &downloads {
            assert!(href.ends_with(&format!("?session={id}")), "{href}");
        }
        // Step it: the server's first calls.
        press_step_until(&browser, "the server listens", |_| entered(&own) >= 4);
        browser.wait_for("the server's first line", |b| {
            b.text(".terminal.server").contains("Listening at")
        });
        assert_eq!(entered(&class), 0, "the class session moved");

        // Another browser, given only the link, is in the same session.
        let link = browser
            .run("return location.href;", serde_json::json!([]))
            .as_str()
            .expect("the page's address")
            .to_owned();
        assert!(!link.contains("open="), "the link passed on only joins: {link}");
        let other = Browser::start();
        other.goto(&link);
        other.wait_for("the second browser to connect", |b| {
            b.text(".link") == "Live"
        });
        other.wait_for("the same session named", |b| {
            b.text(".room-name").contains(&id)
        });
        let server_addr = own.feed().session().server_addr;
        other.wait_for("the same server, with its steps", |b| {
            b.text(".status").contains(&server_addr)
                && b.text(".terminal.server").contains("Listening at")
        });
        // Both count each other, and a step in one reaches the other.
        other.wait_for("two watching", |b| {
            b.text(".room-list").contains("2 watching") || b.text(".watching").contains('2')
        });
        let before = entered(&own);
        other.click(".controls button");
        browser.wait_for("the other browser's step", |_| entered(&own) > before);
        // The way back to the class session.
        browser.click(".to-class");
        browser.wait_for("the class session again", |b| {
            session_in_url(b).is_none()
                && b.text(".link") == "Live"
                && b.text(".rooms").contains("You are in the class session")
        });
        // Which lists the session this browser started.
        browser.wait_for("its own session listed", |b| {
            b.text(".room-list").contains(&format!("session {id}"))
        });
        // A link to a session that does not run says so, and leads back.
        let class_url = browser
            .run("return location.href;", serde_json::json!([]))
            .as_str()
            .expect("the page's address")
            .to_owned();
        let sep = if class_url.contains('?') { '&' } else { '?' };
        browser.goto(&format!("{class_url}{sep}session=m7x4bdk3v9q2"));
        browser.wait_for("the relay's words", |b| {
            b.text(".notice").contains("there is no session m7x4bdk3v9q2")
        });
        browser.click(".to-class");
        browser.wait_for("the class session once more", |b| {
            session_in_url(b).is_none()
                && b.text(".link") == "Live"
                && b.text(".rooms").contains("You are in the class session")
        });
    })
    .await
    .expect("the browser thread");
}

/// With a presenter: a viewer without the key cannot step the class
/// session (the page says why), the presenter's link can, and the watcher
/// sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn only_the_presenter_steps_the_class_session_in_the_browser() {
    let key = tcpstep_relay::rooms::secret::random_name(24).expect("a key");
    let config = tcpstep_relay::rooms::RoomsConfig {
        presenter: Some(key.clone()),
        ..Default::default()
    };
    let (relay, url) = rooms_for_the_page(config).await;
    let class = relay.host.clone();
    tokio::task::spawn_blocking(move || {
        let watcher = Browser::start();
        watcher.goto(&url);
        watcher.wait_for("the page to connect", |b| b.text(".link") == "Live");
        watcher.wait_for("who steps it said", |b| {
            b.text(".rooms").contains("The presenter steps it")
        });
        assert_eq!(watcher.text(".open-room"), "Try it myself");
        watcher.wait_for("Step to be offered", |b| {
            b.run(
                "return !document.querySelector('.controls button').disabled;",
                serde_json::json!([]),
            )
            .as_bool()
                == Some(true)
        });
        watcher.click(".controls button");
        watcher.wait_for("the relay's refusal", |b| {
            b.text(".notice").contains("only the presenter")
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(entered(&class), 0, "a viewer without the key stepped");

        let presenter = Browser::start();
        presenter.goto(&format!("{url}&key={key}"));
        presenter.wait_for("the presenter's page", |b| {
            b.text(".link") == "Live" && b.text(".rooms").contains("You present it")
        });
        press_step_until(&presenter, "the presenter's steps", |_| {
            entered(&class) >= 4
        });
        watcher.wait_for("the watcher sees the presenter's steps", |b| {
            b.text(".terminal.server").contains("Listening at")
        });
    })
    .await
    .expect("the browser thread");
}

/// "Try it myself": a watcher of a presented class session gets a private
/// session of the same scenario, which it steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn try_it_myself_opens_a_session_of_the_same_scenario() {
    let key = tcpstep_relay::rooms::secret::random_name(24).expect("a key");
    let config = tcpstep_relay::rooms::RoomsConfig {
        presenter: Some(key),
        ..Default::default()
    };
    let (relay, url) = rooms_for_the_page(config).await;
    // The presenter has chosen another scenario for the class.
    relay
        .host
        .command(protocol::Command::Reset {
            scenario: protocol::Scenario::preset("half-close"),
        })
        .expect("the presenter's reset");
    let rooms = relay.rooms.clone();
    let class = relay.host.clone();
    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| {
            b.text(".link") == "Live" && b.text(".open-room") == "Try it myself"
        });
        browser.click(".open-room");
        browser.wait_for("a session of its own", |b| {
            session_in_url(b).is_some()
                && b.text(".link") == "Live"
                && b.text(".rooms").contains("your own session")
        });
        let id = session_in_url(&browser).expect("an id in the URL");
        let own = rooms.find(Some(&id)).expect("the relay runs it");
        assert_eq!(own.feed().session().scenario.name, "half-close");
        assert_eq!(
            own.feed().session().scenario,
            class.feed().session().scenario
        );
        browser.wait_for("the scenario shown", |b| {
            b.text(".status").contains("half-close")
        });
        press_step_until(&browser, "its own steps", |_| entered(&own) >= 2);
        assert_eq!(entered(&class), 0, "the class session moved");
    })
    .await
    .expect("the browser thread");
}
