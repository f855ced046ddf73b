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
    let capture = tcpstep_relay::capture::status();
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

impl Drop for Trace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn page_url() -> String {
    std::env::var("TCPSTEP_PAGE_URL")
        .expect("TCPSTEP_PAGE_URL names the served page: run this through cargo xtask test")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn stepping_the_classic_exchange_in_the_browser() {
    let page = page_url();
    let origin = page.trim_end_matches('/').to_owned();
    let relay = Relay::start_with(tcpstep_relay::feed::LIVE_BUFFER, &[&origin]).await;
    let capture = relay.host.hello(relay.host.feed().session()).capture;
    assert!(
        capture.enabled,
        "this test checks the wire, which needs capture: {}",
        capture.reason
    );
    let server_addr = relay.host.feed().session().server_addr;

    // The browser is blocking; give it its own thread.
    let url = format!("{page}?relay={}", relay.url);
    let shot = tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        browser.goto(&url);
        browser.wait_for("the page to connect", |b| b.text(".link") == "Live");

        // Press Step until the client has its reply and the server waits again.
        let mut presses = 0;
        loop {
            let terminal = browser.text(".terminals");
            let server_back = browser
                .texts(".terminal.server .line")
                .iter()
                .filter(|l| *l == "Waiting to accept a new connection")
                .count()
                == 2;
            if terminal.contains("The server said b'Goodbye, client!'") && server_back {
                break;
            }
            assert!(presses < 200, "the exchange did not finish: {terminal}");
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
            .strip_prefix("Client has been assigned socket name ")
            .expect("the client's first line")
            .to_owned();
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
            .contains("The server said b'Goodbye, client!'"));
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
            .contains(&format!("after event 0 of {events}")));
        assert!(browser.text(".sockets").contains("No socket yet"));
        for _ in 0..3 {
            browser.run(
                "document.querySelectorAll('.timeline button')[2].click();",
                serde_json::json!([]),
            );
        }
        browser.wait_for("three events in", |b| {
            b.text(".position")
                .contains(&format!("after event 3 of {events}"))
        });
        assert!(browser
            .texts(".call.server")
            .iter()
            .any(|c| c.contains("socket()")));
        // Back in time, the source shows where the server was then.
        let then = browser.text(".source-block.server figcaption");
        assert!(then.contains("server.rs"), "{then:?}");
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
        browser.goto(&format!("{page}?relay=ws://127.0.0.1:1/ws"));
        browser.type_into(".open-trace input", &trace.path.display().to_string());
        browser.wait_for("the trace to open", |b| {
            b.text(".trace-name").contains("unread-close.jsonl")
        });

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

/// What a step is, and everything one step caused: stepping the classic
/// exchange by program, as a person would, the client's connect() step
/// lists the handshake in order and the server waking up from accept();
/// the sockets say their states in RFC 9293's words, `local → remote`, and
/// where the client's port and the fd numbers come from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page served and chromedriver: cargo xtask test runs it"]
async fn one_step_lists_everything_it_caused() {
    let page = page_url();
    let origin = page.trim_end_matches('/').to_owned();
    let relay = Relay::start_with(tcpstep_relay::feed::LIVE_BUFFER, &[&origin]).await;
    let capture = relay.host.hello(relay.host.feed().session()).capture;
    assert!(
        capture.enabled,
        "this test checks the wire: {}",
        capture.reason
    );
    let url = format!("{page}?relay={}", relay.url);
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
