//! tcpstep's benchmarks. `cargo xtask bench` builds and runs this in
//! release mode and saves the report to target/artifacts/bench.md.
//!
//! Every figure is printed beside a baseline measured in the same run, as
//! a ratio: machines differ, ratios travel. Nothing here asserts a time.
//! `--quick` runs smaller sessions; `--model` only the page's model;
//! `--viewers` only the viewers' table.

mod kernel;
mod memory;
mod model;
mod relay;
mod sandbox;
mod stats;
mod viewers;

use std::fmt::Write as _;

use stats::{human, ratio, Samples};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let model_only = std::env::args().any(|a| a == "--model");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut report = String::new();
    let capture = tcpstep_relay::capture::status();
    let _ = writeln!(
        report,
        "# tcpstep benchmarks\n\ncapture: {}\n",
        if capture.enabled { "on" } else { "off" }
    );

    // `--model`: only the page's model, for work on the page.
    if !model_only {
        // Viewers connect and leave: upgrade and close in each session state.
        let section = viewers_section(&rt, if quick { 20 } else { 200 });
        print!("{section}");
        report.push_str(&section);
        // `--viewers`: only that (the rest takes minutes).
        if std::env::args().any(|a| a == "--viewers") {
            return;
        }

        // 1. The classic exchange: plain pair against a played, captured, watched session.
        let n = if quick { 20 } else { 200 };
        for _ in 0..5 {
            relay::plain_exchange(); // warm up
        }
        let plain = Samples::of(n, relay::plain_exchange);
        let instrumented = relay::instrumented_exchanges(&rt, if quick { 10 } else { 50 });
        let _ = writeln!(report, "## Exchange latency (median)\n");
        let _ = writeln!(
            report,
            "| run | samples | median | ratio |\n|---|---|---|---|"
        );
        let _ = writeln!(
            report,
            "| plain pair (baseline) | {} | {} | 1.00x |",
            plain.len(),
            human(plain.median())
        );
        let _ = writeln!(
            report,
            "| instrumented: play at 0 ms, capture, 1 viewer | {} | {} | {} |\n",
            instrumented.len(),
            human(instrumented.median()),
            ratio(
                instrumented.median().as_secs_f64(),
                plain.median().as_secs_f64()
            )
        );
        print!("{report}");

        // 2. Events per second to viewers, from a real crowd in play mode.
        let clients = if quick { 100 } else { 1000 };
        let mut section = format!("## A crowd of {clients} clients, play at 0 ms\n\n| viewers | time to the end | events | events/s | ratio of events/s |\n|---|---|---|---|---|\n");
        let mut base = 0.0;
        for viewers in [0, 1, 100] {
            let (time, events) = relay::crowd(&rt, clients, viewers);
            let rate = events as f64 / time.as_secs_f64();
            if viewers == 0 {
                base = rate;
            }
            let _ = writeln!(
                section,
                "| {} | {} | {events} | {rate:.0} | {} |",
                if viewers == 0 {
                    "0 (baseline: in-process watcher)".to_owned()
                } else {
                    viewers.to_string()
                },
                human(time),
                ratio(rate, base)
            );
            print!(
                "{}",
                section
                    .lines()
                    .last()
                    .map(|l| format!("{l}\n"))
                    .unwrap_or_default()
            );
        }
        report.push_str(&section);
        report.push('\n');

        // 3. Sessions in sandboxes.
        report.push_str(&sandbox_section(capture.enabled, quick));
    }

    // 4. The page's model on a large real session: 1,000 clients (100 with
    // --quick), each sending its greeting in 9 pieces.
    let clients = if quick { 100 } else { 1000 };
    let large = protocol::Scenario {
        name: "custom".into(),
        clients,
        backlog: 1024,
        chunk: Some(2),
        ..protocol::Scenario::classic()
    };
    let recording =
        tcpstep_relay::record::record(large, capture.enabled, std::time::Duration::from_secs(600))
            .expect("record the large session");
    let m = model::measure(&recording.events);
    let per = |d: std::time::Duration| human(d / m.events.max(1) as u32);
    let section = report.len();
    let _ = writeln!(
        report,
        "## The page's model, natively, on a session of {clients} clients sending in 9 pieces: {} events\n",
        m.events
    );
    let _ = writeln!(
        report,
        "| work | total | per event | ratio |\n|---|---|---|---|"
    );
    let base = m.parse.as_secs_f64();
    // (what, how long, whether per event means anything for it)
    let rows = [
        ("parse the JSON (baseline)".to_owned(), m.parse, true),
        ("fold into the view".to_owned(), m.fold, true),
        ("live: notes, findings and view".to_owned(), m.live, true),
        (
            format!("jump to a scattered moment (median of {})", m.seek.len()),
            m.seek.median(),
            false,
        ),
        (
            format!("◀ one back from the middle (median of {})", m.back.len()),
            m.back.median(),
            false,
        ),
        (
            format!(
                "◀ one back from a kept view's moment, the most folding (median of {})",
                m.back_worst.len()
            ),
            m.back_worst.median(),
            false,
        ),
        (
            format!("▶ one on from the middle (median of {})", m.on.len()),
            m.on.median(),
            false,
        ),
    ];
    for (what, time, per_event) in rows {
        let _ = writeln!(
            report,
            "| {what} | {} | {} | {} |",
            human(time),
            if per_event { per(time) } else { String::new() },
            ratio(time.as_secs_f64(), base)
        );
    }
    let mb = |b: isize| format!("{:.1} MB", b as f64 / 1e6);
    let _ = writeln!(
        report,
        "\nTime travel keeps {} views of the session, every {} events: they hold {} \
         ({} each) that the live view does not share. The live view holds {}; the \
         whole model (events, notes, findings, view and kept views) {}.",
        m.kept,
        m.spacing,
        mb(m.kept_bytes),
        mb(m.kept_bytes / m.kept.max(1) as isize),
        mb(m.view_bytes),
        mb(m.model_bytes)
    );
    println!("{}", &report[section..]);

    // 4. The kernel's account: on against off, and what polling missed.
    let kernel = kernel::section(capture.enabled);
    println!("{kernel}");
    report.push_str(&kernel);

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("bench.md");
    match std::fs::write(&path, &report) {
        Ok(()) => println!("report: {}", path.display()),
        Err(e) => eprintln!("bench: cannot write {}: {e}", path.display()),
    }
}

/// Sandboxed sessions against in-process ones, and many sandboxed sessions at once.
fn sandbox_section(capture: bool, quick: bool) -> String {
    let mut section = String::from("## Sessions in sandboxes\n\n");
    let Some(relay) = sandbox::relay_binary() else {
        section.push_str("not measured: the relay binary is not built beside this one (`cargo xtask bench` builds it)\n\n");
        print!("{section}");
        return section;
    };
    let n = if quick { 10 } else { 50 };
    let apart = std::time::Duration::from_millis(200);
    let local = sandbox::start_to_first_event(None, capture, n, apart);
    let _ = writeln!(
        section,
        "Session start to its first event in the relay's feed (median of {n}):\n\n| where | median | ratio |\n|---|---|---|\n| in the relay's process, 200 ms apart (baseline) | {} | 1.00x |",
        human(local.median()),
    );
    for (what, apart) in [
        ("200 ms apart: the spare worker is ready", apart),
        (
            "back to back: each waits for its worker's namespace",
            std::time::Duration::ZERO,
        ),
    ] {
        let sandboxed = sandbox::start_to_first_event(Some(&relay), capture, n, apart);
        let _ = writeln!(
            section,
            "| sandboxed (worker process, user + network namespace), {what} | {} | {} |",
            human(sandboxed.median()),
            ratio(
                sandboxed.median().as_secs_f64(),
                local.median().as_secs_f64()
            )
        );
    }
    section.push('\n');
    let window = std::time::Duration::from_secs(if quick { 3 } else { 10 });
    let _ = writeln!(
        section,
        "Sandboxed sessions playing the classic exchange in a loop at once for {window:?}, while one more, paused, is stepped (every 5 ms) by a viewer:\n\n| sessions | exchanges/s overall | per session | ratio per session | step to event p50 | p99 | ratio p50 |\n|---|---|---|---|---|---|---|"
    );
    let (mut base_rate, mut base_p50) = (0.0, 0.0);
    for sessions in [1, 50] {
        let m = sandbox::many(&relay, capture, sessions, window);
        let rate = m.exchanges as f64 / m.window.as_secs_f64();
        let per = rate / sessions as f64;
        let p50 = m.step_to_event.quantile(0.5);
        if sessions == 1 {
            (base_rate, base_p50) = (per, p50.as_secs_f64());
        }
        let _ = writeln!(
            section,
            "| {sessions}{} | {rate:.1} | {per:.2} | {} | {} | {} | {} |",
            if sessions == 1 { " (baseline)" } else { "" },
            ratio(per, base_rate),
            human(p50),
            human(m.step_to_event.quantile(0.99)),
            ratio(p50.as_secs_f64(), base_p50)
        );
    }
    section.push('\n');
    section.push_str(&wire_section(&relay, capture, quick));
    print!("{section}");
    section
}

/// The wire in hand: what passing every segment through the netfilter
/// queue costs, against the same sandbox without it.
fn wire_section(relay: &std::path::Path, capture: bool, quick: bool) -> String {
    use protocol::wire::{Matching, WireRule};
    let n = if quick { 10 } else { 40 };
    let none = protocol::WireRules::default();
    // A rule no segment of the exchange matches (SYN, FIN and RST at once):
    // every segment goes through the queue and is passed.
    let pass = protocol::WireRules {
        rules: vec![WireRule::Drop {
            matching: Matching {
                flags: vec![
                    protocol::TcpFlag::Syn,
                    protocol::TcpFlag::Fin,
                    protocol::TcpFlag::Rst,
                ],
                ..Matching::default()
            },
            nth: 1,
            times: 0,
        }],
        seed: 0,
    };
    let (base, base_rate) = sandbox::wire_exchanges(relay, capture, none, n);
    let (queued, queued_rate) = sandbox::wire_exchanges(relay, capture, pass, n);
    format!(
        "The classic exchange in a sandbox, played at 0 ms, from session start to its end (median of {n}):\n\n| wire | median | ratio | events/s | ratio |\n|---|---|---|---|---|\n| no queue (baseline) | {} | 1.00x | {base_rate:.0} | 1.00x |\n| every segment through the netfilter queue, passed | {} | {} | {queued_rate:.0} | {} |\n\n",
        human(base.median()),
        human(queued.median()),
        ratio(queued.median().as_secs_f64(), base.median().as_secs_f64()),
        ratio(queued_rate, base_rate)
    )
}

/// The "viewers connect and leave" table: for each session state, the
/// median and p99 of a WebSocket upgrade and of a polite close's answer,
/// against a bare TCP connect to the same relay in the same state.
fn viewers_section(rt: &tokio::runtime::Runtime, n: usize) -> String {
    let mut section = format!(
        "## Viewers connect and leave ({n} of each per state, loopback)\n\n\
         | session state | TCP connect (baseline) | upgrade median | p99 | ratio | close answered median | p99 | ratio |\n\
         |---|---|---|---|---|---|---|---|\n"
    );
    for state in viewers::State::ALL {
        let f = viewers::measure(rt, state, n);
        let base = f.tcp_connect.median().as_secs_f64();
        let _ = writeln!(
            section,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            state.label(),
            human(f.tcp_connect.median()),
            human(f.upgrade.median()),
            human(f.upgrade.quantile(0.99)),
            ratio(f.upgrade.median().as_secs_f64(), base),
            human(f.close.median()),
            human(f.close.quantile(0.99)),
            ratio(f.close.median().as_secs_f64(), base),
        );
    }
    section.push('\n');
    section
}
