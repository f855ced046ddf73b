//! Just enough of the W3C WebDriver protocol to drive headless Chromium
//! through chromedriver: open a page, run a script, click, take a screenshot.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// Chromium as root in a sandbox with no network (see DESIGN.md).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1500,1300",
];

pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Browser {
        Browser::start_with(json!({}))
    }

    /// A session whose performance log records Chromium's trace of frames
    /// (read with [`Browser::performance_log`]).
    #[allow(dead_code)] // used by the benchmarks only
    pub fn start_traced() -> Browser {
        Browser::start_with(json!({
            "goog:loggingPrefs": {"performance": "ALL"},
            "perfLoggingPrefs": {
                "enableNetwork": false,
                "enablePage": false,
                "traceCategories": "devtools.timeline,disabled-by-default-devtools.timeline.frame"
            }
        }))
    }

    /// `extra` goes into goog:chromeOptions (perfLoggingPrefs) or the
    /// capabilities (goog:loggingPrefs).
    fn start_with(extra: Value) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (cargo xtask setup installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            thread::sleep(Duration::from_millis(50));
        }
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
        };
        let mut options = json!({"binary": "/usr/bin/chromium", "args": CHROMIUM_ARGS});
        let mut always = json!({"browserName": "chrome"});
        if let Some(perf) = extra.get("perfLoggingPrefs") {
            options["perfLoggingPrefs"] = perf.clone();
        }
        if let Some(logging) = extra.get("goog:loggingPrefs") {
            always["goog:loggingPrefs"] = logging.clone();
        }
        always["goog:chromeOptions"] = options;
        let caps = json!({"capabilities": {"alwaysMatch": always}});
        let created = browser.call("POST", "/session", Some(caps));
        browser.session = created["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("reach chromedriver");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .expect("send to chromedriver");
        let json = read_response(&mut stream);
        let value: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        if let Some(error) = value["value"].get("error") {
            panic!(
                "WebDriver {method} {path}: {error}: {}",
                value["value"]["message"]
            );
        }
        value
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` asynchronously: it ends by calling
    /// `arguments[arguments.length - 1](result)`. Waits up to 10 minutes.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.session_call("POST", "/timeouts", Some(json!({ "script": 600_000 })));
        self.session_call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The performance log's entries since the last read: Chromium's trace
    /// events, each entry's `message` a JSON text.
    #[allow(dead_code)] // used by the benchmarks only
    pub fn performance_log(&self) -> Vec<Value> {
        self.session_call("POST", "/se/log", Some(json!({ "type": "performance" })))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The text of the first element matching `css`, or "" if there is none.
    pub fn text(&self, css: &str) -> String {
        self.run(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The texts of every element matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.run(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);",
            json!([css]),
        )
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
    }

    fn element(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("an element id")
            .to_owned()
    }

    /// Clicks the first element matching `css`, as a person would.
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.session_call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Presses and releases one key on the keyboard, as a person would
    /// (WebDriver's key codes: "\u{E004}" is Tab, "\u{E007}" Enter).
    pub fn press(&self, key: &str) {
        let actions = json!({"actions": [{
            "type": "key",
            "id": "keyboard",
            "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        }]});
        self.session_call("POST", "/actions", Some(actions));
    }

    /// Emulates the reader's colour-scheme preference (`"dark"` or
    /// `"light"`), through Chromium's DevTools protocol.
    pub fn prefer_color_scheme(&self, scheme: &str) {
        let media = json!({
            "cmd": "Emulation.setEmulatedMedia",
            "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
        });
        self.session_call("POST", "/goog/cdp/execute", Some(media));
    }

    /// The role and the name a screen reader is given for the first element
    /// matching `css`, as the browser computes them.
    pub fn accessible(&self, css: &str) -> (String, String) {
        let id = self.element(css);
        let get = |what: &str| {
            self.session_call("GET", &format!("/element/{id}/{what}"), None)
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        (get("computedrole"), get("computedlabel"))
    }

    /// Types `text` into the element (for a file input: the file's path).
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Waits until `condition` holds, checking every 50 ms.
    pub fn wait_for(&self, what: &str, condition: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !condition(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.session_call("GET", "/screenshot", None);
        decode_base64(b64.as_str().expect("base64 PNG"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(|| {
                self.call("DELETE", &format!("/session/{}", self.session), None)
            });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An HTTP response's body, read by its Content-Length (chromedriver keeps
/// connections open, so reading to the end would wait forever).
fn read_response(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a read timeout");
    let mut data = Vec::new();
    let mut buf = [0; 8192];
    loop {
        let n = stream.read(&mut buf).expect("read chromedriver's answer");
        assert!(n > 0, "chromedriver closed the connection mid-answer");
        data.extend_from_slice(&buf[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a Content-Length");
        let body_start = end + 4;
        while data.len() < body_start + length {
            let n = stream.read(&mut buf).expect("read chromedriver's answer");
            assert!(n > 0, "chromedriver closed the connection mid-answer");
            data.extend_from_slice(&buf[..n]);
        }
        return String::from_utf8_lossy(&data[body_start..body_start + length]).into_owned();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    digits
        .chunks(4)
        .flat_map(|chunk| {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
            let bytes = n.to_be_bytes();
            bytes[1..chunk.len()].to_vec()
        })
        .collect()
}
