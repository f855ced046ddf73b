//! Follow the stream, on traces recorded from real runs: the bytes each
//! way, and the mapping from bytes to the segments that carried them and
//! the calls that consumed them, checked both ways.

mod support;

use protocol::{Actor, Call, CallResult, EventKind};
use tcpstep_frontend::model::{streams, Stream, View};

fn of(streams: &[Stream], sender: Actor) -> &Stream {
    streams
        .iter()
        .find(|s| s.sender == Some(sender))
        .unwrap_or_else(|| panic!("no stream from {sender}: {streams:#?}"))
}

#[test]
fn the_classic_streams_and_the_byte_never_read() {
    let rec = support::recording("classic");
    let view = View::fold(&rec.events);
    let all = streams(&view);
    assert_eq!(all.len(), 2, "{all:#?}");
    let greeting = of(&all, Actor::Client(0));
    assert_eq!(greeting.bytes, b"Greetings, server");
    let reply = of(&all, Actor::Server);
    assert_eq!(reply.bytes, b"Goodbye, client!");
    // The server's recv_all consumed 16 bytes; the 17th was never read.
    let unread: Vec<&[u8]> = greeting
        .chunks
        .iter()
        .filter(|c| c.recvs.is_empty())
        .map(|c| greeting.bytes_of(c))
        .collect();
    assert_eq!(unread, [b"r"]);
    let read: usize = greeting
        .chunks
        .iter()
        .filter(|c| !c.recvs.is_empty())
        .map(|c| c.end - c.start)
        .sum();
    assert_eq!(read, 16);
    if support::capture_required("the greeting's segment") {
        // One segment carried the whole greeting, read and unread alike.
        assert!(greeting.chunks.iter().all(|c| c.segments.len() == 1));
    }
}

/// For every preset: each data segment's chunks hold exactly its payload,
/// each recv's chunks exactly what it returned, and each chunk's segments
/// and recvs lead back to it.
#[test]
fn bytes_segments_and_recvs_lead_to_each_other_in_every_scenario() {
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let view = View::fold(&rec.events);
        let all = streams(&view);
        for stream in &all {
            for (i, chunk) in stream.chunks.iter().enumerate() {
                for &seq in chunk
                    .segments
                    .iter()
                    .chain(&chunk.recvs)
                    .chain(&chunk.sends)
                {
                    assert!(
                        stream.related(&view, seq).contains(&i),
                        "{name}: event {seq} does not lead back to chunk {i}"
                    );
                }
            }
        }
        for (seq, segment) in &view.segments {
            if segment.len == 0 {
                continue;
            }
            let stream = all
                .iter()
                .find(|s| s.from == segment.from && s.to == segment.to)
                .unwrap_or_else(|| panic!("{name}: no stream for segment {seq}"));
            let carried: Vec<u8> = stream
                .related(&view, *seq)
                .into_iter()
                .flat_map(|i| stream.bytes_of(&stream.chunks[i]).to_vec())
                .collect();
            assert_eq!(carried, segment.payload, "{name}: segment {seq}");
        }
        for e in &rec.events {
            let EventKind::CallReturned {
                call: Call::Recv { .. },
                result: CallResult::Bytes { data, .. },
            } = &e.kind
            else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            let consumed: Vec<u8> = all
                .iter()
                .flat_map(|s| {
                    s.related(&view, e.seq)
                        .into_iter()
                        .flat_map(|i| s.bytes_of(&s.chunks[i]).to_vec())
                })
                .collect();
            assert_eq!(&consumed, data, "{name}: recv returned at event {}", e.seq);
        }
    }
}

#[test]
fn fragmented_pieces_are_segments_and_recv_all_turns() {
    let rec = support::recording("fragmented");
    let view = View::fold(&rec.events);
    let all = streams(&view);
    let greeting = of(&all, Actor::Client(0));
    assert_eq!(greeting.bytes, b"Greetings, server");
    // Five sends offered it, in pieces of 4, 4, 4, 4 and 1.
    let pieces: Vec<usize> = greeting
        .chunks
        .iter()
        .map(|c| (c.sends.clone(), c.end - c.start))
        .fold(Vec::<(Vec<u64>, usize)>::new(), |mut acc, (sends, len)| {
            match acc.last_mut() {
                Some(last) if last.0 == sends => last.1 += len,
                _ => acc.push((sends, len)),
            }
            acc
        })
        .into_iter()
        .map(|(_, len)| len)
        .collect();
    assert_eq!(pieces, [4, 4, 4, 4, 1]);
    // Several recvs consumed the 16 bytes.
    let recvs: std::collections::BTreeSet<u64> = greeting
        .chunks
        .iter()
        .flat_map(|c| c.recvs.clone())
        .collect();
    assert!(recvs.len() > 1, "recv_all looped: {recvs:?}");
}

#[test]
fn the_latest_streams_are_the_tail_of_all_of_them() {
    let rec = support::recording("crowd");
    let view = View::fold(&rec.events);
    let all = streams(&view);
    for keep in [0, 1, 3, all.len(), all.len() + 5] {
        let (latest, left_out) = tcpstep_frontend::model::latest_streams(&view, keep);
        let kept = keep.min(all.len());
        assert_eq!(left_out, all.len() - kept);
        assert_eq!(latest, all[all.len() - kept..]);
    }
}
