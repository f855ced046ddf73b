//! The expert rules, each on a trace recorded from a real run that triggers
//! it and on one that does not. Rules that read the wire are checked only
//! where capture works (CI runs as root); the rest always.

mod support;

use std::collections::BTreeMap;

use protocol::RelayMessage;
use tcpstep_frontend::model::{examine_all, Action, Finding, Model, Severity, RULES};

fn fired(findings: &[Finding], rule: &str) -> bool {
    findings.iter().any(|f| f.rule == rule)
}

#[test]
fn each_rule_fires_where_the_kernel_showed_it_and_nowhere_else() {
    let capture = support::capture_required("the rules that read the wire");
    let findings: BTreeMap<&str, Vec<Finding>> = support::recorded()
        .iter()
        .map(|rec| (rec.session.scenario.name.as_str(), examine_all(&rec.events)))
        .collect();
    // (rule, a trace that triggers it, one that does not, needs capture)
    let cases = [
        ("connection reset", "abortive-close", "half-close", false),
        ("connection reset", "classic", "early-close", true),
        ("connection refused", "refused", "classic", false),
        ("zero window", "zero-window", "classic", true),
        ("retransmission", "crowd", "classic", true),
        ("duplicate ACK", "zero-window", "classic", true),
        ("short read", "fragmented", "classic", false),
        (
            "EOF before the expected count",
            "early-close",
            "classic",
            false,
        ),
        ("data left unread at close", "classic", "half-close", false),
        (
            "data left unread at close",
            "unread-close",
            "early-close",
            false,
        ),
        ("accept queue full", "crowd", "classic", false),
        ("TIME-WAIT entered", "half-close", "abortive-close", false),
    ];
    for (rule, yes, no, wire) in cases {
        assert!(RULES.iter().any(|(name, _)| *name == rule), "{rule}");
        if wire && !capture {
            continue;
        }
        assert!(
            fired(&findings[yes], rule),
            "{rule} should fire on {yes}: {:#?}",
            findings[yes]
        );
        assert!(
            !fired(&findings[no], rule),
            "{rule} should not fire on {no}: {:#?}",
            findings[no]
        );
    }
    // Every rule is covered above.
    for (name, _) in RULES {
        assert!(cases.iter().any(|c| c.0 == *name), "{name} is not tested");
    }
}

#[test]
fn a_finding_points_at_the_event_that_shows_it() {
    let rec = support::recording("early-close");
    let findings = examine_all(&rec.events);
    let eof = findings
        .iter()
        .find(|f| f.rule == "EOF before the expected count")
        .expect("early-close ends early");
    assert_eq!(eof.severity, Severity::Error);
    assert!(eof.text.contains("after 5 of 16 bytes"), "{}", eof.text);
    let event = &rec.events[eof.seq as usize];
    assert!(
        matches!(
            &event.kind,
            protocol::EventKind::RecvIteration { got: 0, .. }
        ),
        "{event:?}"
    );
    // Findings are in the order of their events, and a moment shows only its own.
    assert!(findings.windows(2).all(|w| w[0].seq <= w[1].seq));
    let mut model = Model::default();
    model.apply(Action::Received(Box::new(RelayMessage::Hello(rec.hello()))));
    for e in &rec.events {
        model.apply(Action::Received(Box::new(RelayMessage::Event(e.clone()))));
    }
    assert_eq!(model.findings, findings, "live equals folded");
    model.apply(Action::Seek(Some(eof.seq as usize)));
    assert!(!fired(
        model.shown_findings(),
        "EOF before the expected count"
    ));
    model.apply(Action::Seek(Some(eof.seq as usize + 1)));
    assert!(fired(
        model.shown_findings(),
        "EOF before the expected count"
    ));
}
