//! Follow the stream: each direction of each connection as the byte stream
//! TCP promises, reassembled in order, with every byte tied to the
//! segment(s) that carried it, the `send` that offered it and the `recv`
//! that consumed it, so that each can be found from the others.
//!
//! Bytes are placed by sequence number: a segment's payload starts at its
//! relative sequence number less one (the SYN takes number 0). Calls are
//! placed by counting: a socket's `recv`s consume its incoming stream in
//! order, its `send`s fill its outgoing one. Without capture there are no
//! segments, and the bytes come from the sends.

use std::collections::{BTreeSet, HashMap};

use protocol::{Actor, Call, CallResult, TcpFlag};

use super::{CallView, View};

/// A piece of a stream with the same carriers and readers throughout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte offsets in the stream, `start..end`, counting from 0.
    pub start: usize,
    pub end: usize,
    /// Events (seqs) of the segments that carried these bytes: more than
    /// one where a segment was sent again.
    pub segments: Vec<u64>,
    /// The `send` calls (their first event's seq) that offered them.
    pub sends: Vec<u64>,
    /// The `recv` calls (their first event's seq) that consumed them; none
    /// if no program has read them (yet).
    pub recvs: Vec<u64>,
}

/// One direction of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Sender's and receiver's addresses.
    pub from: String,
    pub to: String,
    /// The program whose socket sends, where known.
    pub sender: Option<Actor>,
    pub bytes: Vec<u8>,
    pub chunks: Vec<Chunk>,
}

impl Stream {
    /// The bytes of a chunk.
    pub fn bytes_of(&self, chunk: &Chunk) -> &[u8] {
        &self.bytes[chunk.start.min(self.bytes.len())..chunk.end.min(self.bytes.len())]
    }

    /// The chunks that event `seq` (a segment, a send or a recv; a call by
    /// its first or its returned event) carried, offered or consumed.
    pub fn related(&self, view: &View, seq: u64) -> Vec<usize> {
        self.related_to(&Selected::of(view, seq))
    }

    /// [`Stream::related`], for a selection looked up once for all streams.
    pub fn related_to(&self, selected: &Selected) -> Vec<usize> {
        let Selected { seq, call_seq } = *selected;
        self.chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.segments.contains(&seq)
                    || call_seq.is_some_and(|s| c.sends.contains(&s) || c.recvs.contains(&s))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// A selected event, and the call it belongs to (by its first event), if any.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    seq: u64,
    call_seq: Option<u64>,
}

impl Selected {
    pub fn of(view: &View, seq: u64) -> Selected {
        let call_seq = view
            .calls
            .iter()
            .find(|c| c.first_seq == seq || c.returned_seq == Some(seq))
            .map(|c| c.first_seq);
        Selected { seq, call_seq }
    }
}

/// A byte range of a stream and the event that put it there.
struct Span {
    start: usize,
    end: usize,
    seq: u64,
}

#[derive(Default)]
struct Building {
    from: String,
    to: String,
    sender: Option<Actor>,
    bytes: Vec<u8>,
    segments: Vec<Span>,
    sends: Vec<Span>,
    recvs: Vec<Span>,
}

impl Building {
    fn place(&mut self, start: usize, data: &[u8]) {
        let end = start + data.len();
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes[start..end].copy_from_slice(data);
    }

    fn finish(self) -> Stream {
        let mut cuts: BTreeSet<usize> = BTreeSet::new();
        for s in self.segments.iter().chain(&self.sends).chain(&self.recvs) {
            cuts.insert(s.start);
            cuts.insert(s.end);
        }
        cuts.insert(0);
        cuts.insert(self.bytes.len());
        let cuts: Vec<usize> = cuts
            .into_iter()
            .filter(|&c| c <= self.bytes.len())
            .collect();
        let covering = |spans: &[Span], start: usize, end: usize| -> Vec<u64> {
            spans
                .iter()
                .filter(|s| s.start < end && start < s.end)
                .map(|s| s.seq)
                .collect()
        };
        let chunks = cuts
            .windows(2)
            .map(|w| Chunk {
                start: w[0],
                end: w[1],
                segments: covering(&self.segments, w[0], w[1]),
                sends: covering(&self.sends, w[0], w[1]),
                recvs: covering(&self.recvs, w[0], w[1]),
            })
            .collect();
        Stream {
            from: self.from,
            to: self.to,
            sender: self.sender,
            bytes: self.bytes,
            chunks,
        }
    }
}

/// What a call moved: for a `send` the bytes accepted, for a `recv` those returned.
fn moved(call: &CallView) -> Option<(bool, &[u8])> {
    match (&call.call, &call.result) {
        (Call::Send { .. }, Some(CallResult::Bytes { data, .. })) => Some((true, data)),
        (Call::Recv { .. }, Some(CallResult::Bytes { data, .. })) if !data.is_empty() => {
            Some((false, data))
        }
        _ => None,
    }
}

/// Every direction that carried data, in the order its first byte appeared.
pub fn streams(view: &View) -> Vec<Stream> {
    latest_streams(view, usize::MAX).0
}

/// The last `keep` of [`streams`], and how many were left out: only those
/// kept are built, so a page can show a crowd's latest connections without
/// assembling all of them.
pub fn latest_streams(view: &View, keep: usize) -> (Vec<Stream>, usize) {
    // Every segment and call that moved bytes, with its direction, in event order.
    let mut items: Vec<(u64, (&str, &str), Item)> = view
        .segments
        .iter()
        .filter(|(_, s)| s.len > 0 && !s.has(TcpFlag::Syn) && s.rel_seq >= 1)
        .map(|(seq, s)| (*seq, (s.from.as_str(), s.to.as_str()), Item::Segment(s)))
        .chain(view.calls.iter().filter_map(|c| {
            let (sending, data) = moved(c)?;
            let tuple = c
                .socket
                .and_then(|id| view.sockets.get(&id))
                .and_then(|s| s.tuple.as_ref())?;
            let remote = tuple.remote.as_deref()?;
            let way = match sending {
                true => (tuple.local.as_str(), remote),
                false => (remote, tuple.local.as_str()),
            };
            let seq = c.returned_seq.unwrap_or(c.first_seq);
            Some((seq, way, Item::Call(c, (sending, data))))
        }))
        .collect();
    items.sort_by_key(|(seq, _, _)| *seq);
    // Directions numbered in order of their first bytes; the first `skip` are left out.
    let mut order: HashMap<(&str, &str), usize> = HashMap::new();
    for (_, way, _) in &items {
        let next = order.len();
        order.entry(*way).or_insert(next);
    }
    let skip = order.len().saturating_sub(keep);
    let mut building: Vec<Building> = Vec::new();
    let captured = !view.segments.is_empty();
    for (seq, (from, to), item) in items {
        let Some(i) = order.get(&(from, to)).and_then(|i| i.checked_sub(skip)) else {
            continue;
        };
        if i == building.len() {
            building.push(Building {
                from: from.to_owned(),
                to: to.to_owned(),
                ..Building::default()
            });
        }
        let b = &mut building[i];
        match item {
            Item::Segment(s) => {
                let start = (s.rel_seq - 1) as usize;
                b.place(start, &s.payload);
                b.segments.push(Span {
                    start,
                    end: start + s.len,
                    seq,
                });
                if b.sender.is_none() {
                    b.sender = s
                        .from_socket
                        .and_then(|id| view.sockets.get(&id))
                        .map(|sock| sock.owner);
                }
            }
            Item::Call(call, (sending, data)) => {
                let spans = if sending { &mut b.sends } else { &mut b.recvs };
                let start = spans.last().map_or(0, |s| s.end);
                let end = start + data.len();
                spans.push(Span {
                    start,
                    end,
                    seq: call.first_seq,
                });
                if sending {
                    b.sender = Some(call.actor);
                    if !captured {
                        b.place(start, data);
                    }
                }
            }
        }
    }
    (building.into_iter().map(Building::finish).collect(), skip)
}

enum Item<'a> {
    Segment(&'a protocol::Segment),
    Call(&'a CallView, (bool, &'a [u8])),
}
