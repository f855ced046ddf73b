//! The Python rendering of the pair against what the relay really runs:
//! every call of every preset, recorded for real, has its Python line, and
//! that line makes that call.

mod support;

use std::collections::BTreeSet;

use protocol::{
    python::{self, Program},
    Actor, Call, EventKind, SocketRole,
};
use tcpstep_frontend::model::{python_line, View};

/// What a Python line must say to make `call`.
fn makes(call: &Call) -> Vec<String> {
    let words: &[&str] = match call {
        Call::Socket => &["socket.socket(socket.AF_INET, socket.SOCK_STREAM)"],
        Call::Setsockopt { option, .. } => {
            return vec![".setsockopt(".to_owned(), format!("socket.{option},")]
        }
        Call::Bind { .. } => &[".bind("],
        Call::Listen { .. } => &[".listen("],
        Call::Accept => &[".accept()"],
        Call::Connect { .. } => &[".connect("],
        Call::Send { .. } => &[".sendall("],
        Call::Recv { .. } => &[".recv("],
        Call::Getsockname => &[".getsockname()"],
        Call::Getpeername => &[".getpeername()"],
        Call::Shutdown { how } => return vec![".shutdown(".to_owned(), format!("socket.{how})")],
        Call::Close => &[".close()"],
    };
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// A call event's call.
fn call_of(kind: &EventKind) -> Option<&Call> {
    match kind {
        EventKind::CallWaiting { call }
        | EventKind::CallEntered { call }
        | EventKind::CallBlocked { call }
        | EventKind::CallReturned { call, .. } => Some(call),
        _ => None,
    }
}

#[test]
fn every_call_of_every_preset_has_a_python_line_that_makes_it() {
    // (program, line number) of every line a call was found on.
    let mut used: BTreeSet<(u8, u32)> = BTreeSet::new();
    let program_key = |p: Program| match p {
        Program::Server => 0u8,
        Program::Client => 1,
    };
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let scenario = Some(&rec.session.scenario);
        let mut view = View::default();
        let mut calls = 0;
        for e in &rec.events {
            view.apply(e);
            let Some(call) = call_of(&e.kind) else {
                continue;
            };
            let program = Program::of(e.actor).expect("programs make the calls");
            // The call the view holds as the actor's latest is this one.
            let latest = &view.calls[view.latest_call[&e.actor]];
            assert_eq!(&latest.call, call, "{name}, event {}", e.seq);
            let line = python_line(&view, scenario, e.actor).unwrap_or_else(|| {
                panic!(
                    "{name}, event {}: {} {call:?} has no Python line",
                    e.seq, e.actor
                )
            });
            for words in makes(call) {
                assert!(
                    line.text.contains(&words),
                    "{name}, event {}: {}'s {call:?} is marked on line {} {:?}, which lacks {words:?}",
                    e.seq,
                    e.actor,
                    line.number,
                    line.text
                );
            }
            // The server's calls name the socket they are made on: `sock`
            // its listener, `sc` the connection accept() returned (which
            // recvall calls `sock`).
            if e.actor == Actor::Server && !matches!(call, Call::Recv { .. } | Call::Socket) {
                let role = latest
                    .socket
                    .and_then(|id| view.sockets.get(&id))
                    .map(|s| s.role);
                let var = if role == Some(SocketRole::Accepted) {
                    "sc."
                } else {
                    "sock."
                };
                assert!(
                    line.text.contains(var),
                    "{name}, event {}: {call:?} on a {role:?} socket marked on {:?}",
                    e.seq,
                    line.text
                );
            }
            used.insert((program_key(program), line.number));
            calls += 1;
        }
        assert!(calls > 0, "{name}: no calls at all");
    }
    // ...and every row of the table is some preset's call.
    for (row, line) in python::rows() {
        let line = line.expect("every row is found");
        assert!(
            used.contains(&(program_key(row.program), line.number)),
            "no preset makes {row:?}"
        );
    }
}

#[test]
fn the_classic_programs_walk_their_python_in_order() {
    let rec = support::recording("classic");
    let mut view = View::default();
    let mut walked: Vec<(Actor, u32)> = Vec::new();
    for e in &rec.events {
        view.apply(e);
        if call_of(&e.kind).is_none() {
            continue;
        }
        let line = python_line(&view, Some(&rec.session.scenario), e.actor).expect("a line");
        walked.push((e.actor, line.number));
    }
    // Each program's lines in order, a line's several events (waiting,
    // entered, returned) counted once.
    let text = |actor| -> Vec<&str> {
        let mut lines: Vec<u32> = walked
            .iter()
            .filter(|(a, _)| *a == actor)
            .map(|&(_, n)| n)
            .collect();
        lines.dedup();
        lines
            .into_iter()
            .map(|n| {
                python::SOURCE
                    .lines()
                    .nth(n as usize - 1)
                    .expect("a line")
                    .trim()
            })
            .collect()
    };
    assert_eq!(
        text(Actor::Server),
        [
            "sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
            "sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
            "sock.bind((interface, port))",
            "sock.listen(backlog)",
            "print('Listening at', sock.getsockname())",
            "sc, sockname = sock.accept()",
            "print('  Socket name:', sc.getsockname())",
            "print('  Socket peer:', sc.getpeername())",
            "more = sock.recv(length - len(data))",
            "sc.sendall(reply)",
            "sc.close()",
            "sc, sockname = sock.accept()",
        ]
    );
    assert_eq!(
        text(Actor::Client(0)),
        [
            "sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
            "sock.connect((host, port))",
            "print('Client has been assigned the socket: ', sock.getsockname())",
            "sock.sendall(message)",
            "more = sock.recv(length - len(data))",
            "sock.close()",
        ]
    );
}
