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
