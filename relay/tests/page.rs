//! The visualiser in headless Chromium, against a real relay: a person's
//! clicks on Step, and what the page then shows.
//!
//! It needs the page served (by `trunk serve`) and chromedriver, so
//! `cargo xtask test` runs it, passing the page's address in TCPSTEP_PAGE_URL.

mod support;

use std::path::PathBuf;

use support::{webdriver::Browser, Relay};

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
            accepted.contains(&format!("{server_addr} ⇄ {client_addr}")),
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
    let capture = tcpstep_relay::capture::status();
    assert!(
        capture.enabled,
        "this test checks the wire: {}",
        capture.reason
    );
    let rec = tcpstep_relay::record::record(
        protocol::Scenario::classic(),
        true,
        std::time::Duration::from_secs(60),
    )
    .expect("record a session");
    let dir = std::env::temp_dir().join(format!("tcpstep-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let trace = dir.join("classic.jsonl");
    std::fs::write(&trace, rec.json_lines()).expect("write the trace");
    let events = rec.events.len();

    tokio::task::spawn_blocking(move || {
        let browser = Browser::start();
        // Nothing listens on port 1: no relay at all.
        browser.goto(&format!("{page}?relay=ws://127.0.0.1:1/ws"));
        browser.wait_for("the page to give up on the relay", |b| {
            b.text(".link").contains("Relay gone")
        });
        browser.type_into(".open-trace input", &trace.display().to_string());
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
    let _ = std::fs::remove_dir_all(dir);
}
