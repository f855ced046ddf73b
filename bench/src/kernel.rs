//! The kernel's account (its tracepoints, read by the relay): what it
//! costs, as events and time per exchange with the reader on against the
//! same preset with it off, one run each in the same process; and what it
//! adds: the share of the state changes the page now shows that the
//! prober's polling (every 2 ms, and around each call) never reported.

use std::{collections::BTreeMap, fmt::Write as _, sync::Arc, time::Duration};

use protocol::{Event, EventKind, KernelWord, Scenario, SocketId, TcpState};
use tcpstep_relay::tracepoints::{played, KernelTrace};

use crate::stats::{human, ratio};

/// The presets the issue names.
const PRESETS: [&str; 4] = ["classic", "crowd", "half-close", "zero-window"];

/// The report's section, or why there is none.
pub fn section(capture: bool) -> String {
    let trace = match KernelTrace::start() {
        Ok(trace) => Arc::new(trace),
        Err(reason) => return format!("## The kernel's account\n\nnot measured: {reason}\n\n"),
    };
    let mut out = String::from(
        "## The kernel's account: tracepoints on against off (one run each)\n\n\
         | preset | events off | events on | ratio | finished, off | finished, on | ratio | kernel state changes | missed by polling |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for name in PRESETS {
        let scenario = Scenario::preset(name).expect("a preset");
        let run = |trace| {
            played::play(trace, scenario.clone(), capture, Duration::from_secs(300))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let off = run(None);
        let on = run(Some(&trace));
        let (changes, missed) = missed_by_polling(&on.events);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {changes} | {missed} ({:.0}%) |",
            off.events.len(),
            on.events.len(),
            ratio(on.events.len() as f64, off.events.len() as f64),
            human(off.finished_in),
            human(on.finished_in),
            ratio(on.finished_in.as_secs_f64(), off.finished_in.as_secs_f64()),
            100.0 * missed as f64 / changes.max(1) as f64
        );
        print!(
            "{}",
            out.lines()
                .last()
                .map(|l| format!("{l}\n"))
                .unwrap_or_default()
        );
    }
    let left_out = trace.left_out();
    let _ = writeln!(
        out,
        "\nLeft out by the reader (the machine's other sockets, and words of no socket): \
         {} of no socket, {} unclaimed, {} lost.\n",
        left_out.no_socket, left_out.unclaimed, left_out.lost
    );
    out
}

/// How many state changes the kernel reported for the session's sockets,
/// and how many of them reached a state the prober never reported for
/// that socket.
fn missed_by_polling(events: &[Event]) -> (usize, usize) {
    let mut polled: BTreeMap<SocketId, Vec<TcpState>> = BTreeMap::new();
    for e in events {
        if let (EventKind::SocketState { state }, Some(id)) = (&e.kind, e.socket) {
            polled.entry(id).or_default().push(state.state);
        }
    }
    let mut changes = 0;
    let mut missed = 0;
    for e in events {
        let (
            EventKind::Kernel {
                word: KernelWord::StateChanged { new, .. },
                ..
            },
            Some(id),
        ) = (&e.kind, e.socket)
        else {
            continue;
        };
        changes += 1;
        let seen = TcpState::from_kernel(new)
            .is_some_and(|s| polled.get(&id).is_some_and(|p| p.contains(&s)));
        if !seen {
            missed += 1;
        }
    }
    (changes, missed)
}
