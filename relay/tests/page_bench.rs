//! The page's benchmarks in headless Chromium, run by `cargo xtask bench`
//! (ignored otherwise): opening and moving through a large real trace, and
//! the frame rate while a live crowd of 1,000 clients plays. Each figure is
//! printed beside a baseline from the same run; nothing is asserted of a
//! time. The report goes to target/artifacts/bench-page.md.

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use protocol::Scenario;
use serde_json::{json, Value};
use support::webdriver::Browser;
use tcpstep_relay::{capture, record};

fn page_url() -> String {
    std::env::var("TCPSTEP_PAGE_URL")
        .expect("TCPSTEP_PAGE_URL names the served page: run this through cargo xtask bench")
}

/// A large session: 1,000 clients, each sending its greeting in 9 pieces
/// (over 100,000 events).
fn large() -> Scenario {
    Scenario {
        name: "custom".into(),
        clients: 1000,
        backlog: 1024,
        chunk: Some(2),
        ..Scenario::classic()
    }
}

/// Milliseconds from opening `trace` (as a person would, with the file
/// input) until the page shows all `events` of it.
fn open_trace(browser: &Browser, trace: &std::path::Path, events: usize) -> f64 {
    browser.run(
        "window.__opened = null; document.addEventListener('change', e => { \
           if (e.target.type === 'file') window.__opened = performance.now(); }, {capture: true, once: true});",
        json!([]),
    );
    browser.type_into(".open-trace input", &trace.display().to_string());
    browser
        .run_async(
            "const [n, done] = arguments; \
             const poll = () => { \
               const p = document.querySelector('.position'); \
               if (window.__opened !== null && p && p.textContent.startsWith(n + ' events')) done(performance.now() - window.__opened); \
               else setTimeout(poll, 2); }; poll();",
            json!([events]),
        )
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// Where the page's time travel keeps views of a session of `n` events
/// (`tcpstep_frontend::model::travel`): every 1,024 events, doubled while
/// that would be more than 32 views. ◀ from a kept view's moment folds
/// the most: the spacing less one.
fn spacing(n: usize) -> usize {
    let mut spacing = 1024;
    while n / spacing > 32 {
        spacing *= 2;
    }
    spacing
}

/// Samples of each move through a trace; the median is reported.
const MOVES: usize = 5;

/// Milliseconds for the page to show the moment after `k` of the trace's
/// `n` events, reached by `how`: the Go-to field, or the ◀ / ▶ buttons.
fn move_to(browser: &Browser, k: usize, n: usize, how: &str) -> f64 {
    browser
        .run_async(
            "const [k, n, how, done] = arguments; const t0 = performance.now(); \
             if (how === 'goto') { const i = document.querySelector('.goto input'); i.value = k; \
               i.dispatchEvent(new Event('change', {bubbles: true})); } \
             else { document.querySelectorAll('.timeline button')[how === 'back' ? 1 : 2].click(); } \
             const poll = () => { \
               if (document.querySelector('.position').textContent.startsWith(k + ' of ' + n + ' events')) done(performance.now() - t0); \
               else setTimeout(poll, 1); }; poll();",
            json!([k, n, how]),
        )
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// The median of `samples` (NaN for none).
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Each move through a trace of `n` events, timed [`MOVES`] times:
/// jumping to scattered moments, ◀ and ▶ from the middle, and ◀ from
/// just past a kept view (the most folding), in milliseconds (medians).
fn moves(browser: &Browser, n: usize) -> [f64; 4] {
    let middle = n / 2;
    let goto = (1..=MOVES)
        .map(|i| move_to(browser, n * i / (MOVES + 2), n, "goto"))
        .collect();
    let mut back = Vec::new();
    let mut on = Vec::new();
    for i in 0..MOVES {
        move_to(browser, middle + i, n, "goto");
        back.push(move_to(browser, middle + i - 1, n, "back"));
        on.push(move_to(browser, middle + i, n, "on"));
    }
    // On a trace too short for any kept view, none.
    let spacing = spacing(n);
    let kept = (middle / spacing).max(1) * spacing;
    let worst = (0..MOVES)
        .filter_map(|i| {
            let at = kept + i * spacing;
            (at < n).then(|| {
                move_to(browser, at, n, "goto");
                move_to(browser, at - 1, n, "back")
            })
        })
        .collect();
    [median(goto), median(back), median(worst), median(on)]
}

/// When Chromium drew each frame (`DrawFrame` trace events), in seconds.
fn frame_times(log: &[Value]) -> Vec<f64> {
    log.iter()
        .filter_map(|entry| entry["message"].as_str())
        .filter_map(|m| serde_json::from_str::<Value>(m).ok())
        .map(|m| m["message"]["params"].clone())
        .filter(|event| event["name"] == "DrawFrame")
        .filter_map(|event| event["ts"].as_f64())
        .map(|us| us / 1e6)
        .collect()
}

/// Frames per second over the last `seconds` of what the page is doing:
/// chromedriver traces from the start of the session and hands the whole
/// trace over when its log is first read, so this reads it once, after
/// waiting, and keeps the frames of the window.
fn frame_rate(browser: &Browser, seconds: u64) -> f64 {
    std::thread::sleep(Duration::from_secs(seconds));
    let times = frame_times(&browser.performance_log());
    let Some(end) = times.iter().copied().reduce(f64::max) else {
        return 0.0;
    };
    let mut window: Vec<f64> = times
        .into_iter()
        .filter(|&t| t >= end - seconds as f64)
        .collect();
    window.sort_by(f64::total_cmp);
    match (window.first(), window.last()) {
        (Some(first), Some(last)) if last > first => (window.len() - 1) as f64 / (last - first),
        _ => 0.0,
    }
}

/// `relay serve` (this build's) with `args`, on a free port; its WebSocket URL.
fn serve(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start relay serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("viewers connect to ").map(str::to_owned))
        .expect("the banner names the WebSocket URL");
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

#[test]
#[ignore = "a benchmark: cargo xtask bench runs it"]
fn page_benchmarks() {
    let page = page_url();
    let origin = page.trim_end_matches('/').to_owned();
    let capture = capture::status().enabled;
    let dir = std::env::temp_dir().join(format!("tcpstep-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut report = String::from("## The page in headless Chromium\n\n");

    // Traces: the classic exchange (the baseline) and a large real session.
    let mut traces = Vec::new();
    for (name, scenario) in [("classic", Scenario::classic()), ("large", large())] {
        let rec = record::record(scenario, capture, Duration::from_secs(600)).expect("recorded");
        let path = dir.join(format!("{name}.jsonl"));
        std::fs::write(&path, rec.json_lines()).expect("write the trace");
        traces.push((name, path, rec.events.len()));
    }
    report.push_str(&format!(
        "Medians of {MOVES} (opening: of 3, each in a fresh page).\n\n\
         | trace | events | open (ms) | go to a scattered moment (ms) | ◀ one back from the middle (ms) | ◀ one back from a kept view's moment (ms) | ▶ one on (ms) |\n\
         |---|---|---|---|---|---|---|\n"
    ));
    for (name, path, events) in &traces {
        let mut opens = Vec::new();
        for _ in 0..3 {
            let browser = Browser::start();
            browser.goto(&format!("{page}?relay=ws://127.0.0.1:1/ws"));
            opens.push(open_trace(&browser, path, *events));
        }
        let open = median(opens);
        let browser = Browser::start();
        browser.goto(&format!("{page}?relay=ws://127.0.0.1:1/ws"));
        open_trace(&browser, path, *events);
        let [goto, back, worst, on] = moves(&browser, *events);
        let worst = if worst.is_nan() {
            "none kept".to_owned()
        } else {
            format!("{worst:.1}")
        };
        let line = format!(
            "| {name} | {events} | {open:.0} | {goto:.1} | {back:.1} | {worst} | {on:.1} |\n"
        );
        print!("{line}");
        report.push_str(&line);
    }

    // Frames per second: a bare page animating (what this Chromium draws at
    // most, the baseline), then the page while a crowd of 1,000 plays live.
    let browser = Browser::start_traced();
    browser.goto("about:blank");
    browser.run(
        "const d = document.body.appendChild(document.createElement('div')); let i = 0; \
         const tick = () => { d.textContent = i++; requestAnimationFrame(tick); }; tick();",
        json!([]),
    );
    let bare = frame_rate(&browser, 5);
    drop(browser);
    let (mut relay, url) = serve(&[
        "--scenario",
        "custom",
        "--clients",
        "1000",
        "--backlog",
        "1024",
        "--allow-origin",
        &origin,
    ]);
    let browser = Browser::start_traced();
    browser.goto(&format!("{page}?relay={url}&autoplay=1&speed=1"));
    browser.wait_for("the crowd to get going", |b| {
        b.text(".position")
            .split(' ')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n > 2000)
    });
    let events_before = browser.text(".position");
    let live = frame_rate(&browser, 5);
    let events_after = browser.text(".position");
    let sockets = browser.text(".sockets .more");
    let _ = relay.kill();
    let _ = relay.wait();
    let fps = format!(
        "\n| page | frames per second | ratio |\n|---|---|---|\n\
         | bare page animating (baseline) | {bare:.1} | 1.00x |\n\
         | crowd of 1,000 playing at 1 ms, live | {live:.1} | {:.2}x |\n\n\
         During the 5 s measured the page went from \"{events_before}\" to \"{events_after}\"; {sockets}\n",
        live / bare
    );
    print!("{fps}");
    report.push_str(&fps);

    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts");
    std::fs::create_dir_all(&out).expect("artifacts dir");
    std::fs::write(out.join("bench-page.md"), report).expect("write the report");
    let _ = std::fs::remove_dir_all(dir);
}
