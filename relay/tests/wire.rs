//! The wire in the learner's hands, against the real kernel: each preset
//! that drops a segment is recorded in a sandbox (`relay record`), and the
//! kernel's own recovery is checked on what crossed the wire.

mod support;

use std::{
    process::{Command as Process, Stdio},
    time::Duration,
};

use protocol::{Actor, CallResult, Event, EventKind, Segment, TcpFlag, TcpOption, WireAction};
use support::{
    events::{returned, segments},
    read_trace, scratch, RELAY,
};

/// `relay record --scenario NAME` in a sandbox: its events.
fn record(name: &str) -> Vec<Event> {
    let dir = scratch(name);
    let out = dir.join("t.jsonl");
    let run = Process::new(RELAY)
        .args(["record", "--scenario", name, "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("run relay record");
    assert!(
        run.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (hello, events) = read_trace(&out);
    assert!(hello.sandbox.enabled, "{:?}", hello.sandbox);
    events
}

/// The segments the wire dropped, in order.
fn dropped(events: &[Event]) -> Vec<&Segment> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::WireVerdict {
                action: WireAction::Dropped { .. },
                segment,
            } => Some(segment),
            _ => None,
        })
        .collect()
}

fn gap(earlier: &Segment, later: &Segment) -> Duration {
    Duration::from_micros(later.wire_us.saturating_sub(earlier.wire_us))
}

#[test]
fn lost_syn_the_clients_kernel_sends_it_again_a_second_later() {
    let events = record("lost-syn");
    let lost = dropped(&events);
    assert_eq!(lost.len(), 1, "one SYN dropped: {lost:?}");
    assert!(lost[0].has(TcpFlag::Syn) && !lost[0].has(TcpFlag::Ack));
    let syns: Vec<_> = segments(&events)
        .into_iter()
        .filter(|s| s.has(TcpFlag::Syn) && !s.has(TcpFlag::Ack))
        .collect();
    assert_eq!(syns.len(), 1, "the retransmitted SYN crossed");
    // The same SYN (the same initial sequence number), sent again after the
    // kernel's initial retransmission timeout of one second.
    assert_eq!(syns[0].seq, lost[0].seq);
    let waited = gap(lost[0], syns[0]);
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&waited),
        "{waited:?}"
    );
    // connect() slept through it and succeeded.
    assert!(matches!(
        returned(&events, Actor::Client(0), "connect")[..],
        [CallResult::Done]
    ));
}

#[test]
fn lost_greeting_the_same_bytes_arrive_after_the_timeout_and_recv_all_gets_16() {
    let events = record("lost-greeting");
    let lost = dropped(&events);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].payload, b"Greetings, server");
    let again: Vec<_> = segments(&events)
        .into_iter()
        .filter(|s| s.payload == lost[0].payload)
        .collect();
    assert_eq!(again.len(), 1, "sent again, once");
    assert_eq!(again[0].seq, lost[0].seq, "the same bytes, the same place");
    // Linux never retransmits sooner than its minimum RTO, 200 ms.
    let waited = gap(lost[0], again[0]);
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    // The chapter's claim: the server's recv_all still gets its 16 bytes.
    let got: usize = returned(&events, Actor::Server, "recv")
        .into_iter()
        .filter_map(|r| match r {
            CallResult::Bytes { n, .. } => Some(*n),
            _ => None,
        })
        .sum();
    assert_eq!(got, 16);
}

#[test]
fn lost_reply_a_sack_tells_the_servers_kernel_to_send_it_again() {
    let events = record("lost-reply");
    let lost = dropped(&events);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].payload, b"Goodbye, client!");
    let crossed = segments(&events);
    let again = crossed
        .iter()
        .position(|s| s.payload == lost[0].payload)
        .expect("the reply sent again");
    // Before it: the client's duplicate ACK with a SACK block (for the FIN
    // that arrived out of order).
    assert!(
        crossed[..again].iter().any(|s| s.from == lost[0].to
            && s.rel_ack == lost[0].rel_seq
            && s.options
                .iter()
                .any(|o| matches!(o, TcpOption::Sack { .. }))),
        "a duplicate ACK with SACK before the retransmission"
    );
    let got: Vec<_> = returned(&events, Actor::Client(0), "recv")
        .into_iter()
        .filter_map(|r| match r {
            CallResult::Bytes { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got.concat(), b"Goodbye, client!");
}

#[test]
fn without_a_sandbox_wire_rules_are_refused_with_the_reason() {
    let dir = scratch("no-sandbox-wire");
    let run = Process::new(RELAY)
        .args([
            "record",
            "--no-sandbox",
            "--scenario",
            "lost-greeting",
            "--out",
        ])
        .arg(dir.join("t.jsonl"))
        .stdin(Stdio::null())
        .output()
        .expect("run relay record");
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("takes the wire in hand") && stderr.contains("sandbox"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn wire_rules_out_of_range_are_refused_before_a_session_starts() {
    use protocol::wire::{Matching, WireRule};
    let bad = |rule| protocol::WireRules {
        rules: vec![rule],
        seed: 0,
    };
    let cases = [
        (
            bad(WireRule::Loss {
                matching: Matching::default(),
                percent: 101,
            }),
            "more than 100%",
        ),
        (
            bad(WireRule::Drop {
                matching: Matching::default(),
                nth: 0,
                times: 1,
            }),
            "nth counts from 1",
        ),
        (
            bad(WireRule::Delay {
                matching: Matching::default(),
                ms: 9_000,
                jitter_ms: 2_000,
            }),
            "more than 10000 ms",
        ),
    ];
    for (wire, says) in cases {
        let scenario = protocol::Scenario {
            name: "custom".into(),
            wire,
            ..protocol::Scenario::classic()
        };
        let err = tcpstep_relay::scenario::plan(&scenario)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(says) && err.contains("wire rule 1"), "{err}");
    }
}

#[test]
fn connect_timeout_connect_fails_with_etimedout_once_the_retries_time_is_spent() {
    let events = record("connect-timeout");
    let syns = dropped(&events);
    assert!(syns
        .iter()
        .all(|s| s.has(TcpFlag::Syn) && s.seq == syns[0].seq));
    assert!(segments(&events).iter().all(|s| !s.has(TcpFlag::Syn)));
    let failed = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CallReturned {
                call,
                result: CallResult::Error { errno, .. },
            } if call.name() == "connect" => Some((e.t_us, errno.clone())),
            _ => None,
        })
        .expect("connect() failed");
    assert_eq!(failed.1, "ETIMEDOUT");
    // TCP_SYNCNT 1 is the time of one retry with the timeout doubling:
    // 1 s, then 2 s.
    let after = Duration::from_micros(failed.0.saturating_sub(syns[0].wire_us));
    assert!(
        (Duration::from_secs(3)..Duration::from_millis(4500)).contains(&after),
        "{after:?}"
    );
    // How many SYNs fit in that time is the kernel's choice: with linear
    // timeouts for its first retries (Linux 6.5 on), a second apart, 3.
    let linear = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_syn_linear_timeouts")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let expected = if linear >= 2 { 3 } else { 2 };
    assert_eq!(syns.len(), expected, "linear timeouts: {linear}");
}
