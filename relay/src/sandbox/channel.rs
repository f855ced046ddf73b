//! What the relay and a session's worker say to each other, and how it is
//! framed on the worker's standard input and output.
//!
//! Every frame is a little-endian `u32` length, one byte saying what follows,
//! and that many bytes: a message as JSON (the protocol crate's types), an
//! event already encoded as the viewers' `RelayMessage::Event` (so the worker
//! encodes each event once), or a pcap file as it is.

use std::io::{self, Read, Write};

use protocol::{Actor, CaptureStatus, Mode, Scenario, SessionInfo};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::session::StepError;

/// The largest frame either side accepts: a crowd's pcap is a few MiB.
pub const MAX_FRAME: usize = 256 << 20;

/// The relay to its worker.
// Start, the large one, is sent once per worker.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToWorker {
    /// Start the session (the first message, once).
    Start {
        id: u64,
        scenario: Scenario,
        mode: Mode,
        capture: bool,
    },
    Step {
        actor: Option<Actor>,
    },
    SetMode {
        mode: Mode,
    },
    /// Send the session's segments so far as a pcap file.
    Pcap,
    /// Stop the session and exit.
    Stop,
}

/// A worker to the relay.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromWorker {
    /// `relay worker --check`: the sandbox works, and capture inside it is this.
    Checked {
        capture: CaptureStatus,
    },
    /// The sandbox or the session could not be made, and why.
    Refused {
        reason: String,
    },
    /// The session began; its clock read zero at `started_ns` on
    /// `CLOCK_MONOTONIC`, which the relay's process shares.
    Began {
        session: Box<SessionInfo>,
        started_ns: u64,
    },
    Stepped(Result<Actor, StepError>),
    /// A command without an answer was carried out.
    Done,
    /// The session does not capture (the answer to `Pcap` when it does is a pcap frame).
    NoPcap,
    /// The session stopped; the worker exits.
    Stopped,
}

/// One frame as read.
#[derive(Debug)]
pub enum Frame<T> {
    Message(T),
    /// An event, as the JSON of a `RelayMessage::Event`.
    Event(String),
    Pcap(Vec<u8>),
}

const MESSAGE: u8 = 0;
const EVENT: u8 = 1;
const PCAP: u8 = 2;

/// Writes `message` as one frame.
pub fn write_message(out: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let json = serde_json::to_vec(message).map_err(io::Error::other)?;
    write_frame(out, MESSAGE, &json)
}

/// Writes an event already encoded as a `RelayMessage::Event`.
pub fn write_event(out: &mut impl Write, json: &str) -> io::Result<()> {
    write_frame(out, EVENT, json.as_bytes())
}

/// Writes a pcap file.
pub fn write_pcap(out: &mut impl Write, pcap: &[u8]) -> io::Result<()> {
    write_frame(out, PCAP, pcap)
}

fn write_frame(out: &mut impl Write, kind: u8, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)
        .ok_or_else(|| io::Error::other(format!("a frame of {} bytes is too large", body.len())))?;
    // One write per frame where it fits, so a frame is not split needlessly.
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.push(kind);
    frame.extend_from_slice(body);
    out.write_all(&frame)?;
    out.flush()
}

/// Reads the next frame; `None` when the other side closed the channel
/// between frames.
pub fn read<T: DeserializeOwned>(input: &mut impl Read) -> io::Result<Option<Frame<T>>> {
    let mut head = [0u8; 5];
    match input.read_exact(&mut head) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is larger than {MAX_FRAME}"),
        ));
    }
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidData, e);
    let frame = match head[4] {
        MESSAGE => serde_json::from_slice(&body)
            .map(Frame::Message)
            .map_err(|e| invalid(format!("a message that does not decode: {e}")))?,
        EVENT => String::from_utf8(body)
            .map(Frame::Event)
            .map_err(|e| invalid(format!("an event that is not UTF-8: {e}")))?,
        PCAP => Frame::Pcap(body),
        other => return Err(invalid(format!("a frame of unknown kind {other}"))),
    };
    Ok(Some(frame))
}

/// Now on `CLOCK_MONOTONIC`, in nanoseconds: the clock `Instant` reads on
/// Linux, the same in every process.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64) * 1_000_000_000 + now.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_as_written_and_a_cut_one_is_an_error() {
        let mut buf = Vec::new();
        write_message(&mut buf, &ToWorker::Step { actor: None }).expect("written");
        write_event(&mut buf, r#"{"type":"event"}"#).expect("written");
        write_pcap(&mut buf, &[1, 2, 3]).expect("written");
        let mut input = &buf[..];
        assert!(matches!(
            read::<ToWorker>(&mut input),
            Ok(Some(Frame::Message(ToWorker::Step { actor: None })))
        ));
        assert!(
            matches!(read::<ToWorker>(&mut input), Ok(Some(Frame::Event(e))) if e == r#"{"type":"event"}"#)
        );
        assert!(matches!(read::<ToWorker>(&mut input), Ok(Some(Frame::Pcap(p))) if p == [1, 2, 3]));
        assert!(matches!(read::<ToWorker>(&mut input), Ok(None)));
        // A frame cut short, a huge length, an unknown kind: errors, not hangs or panics.
        let cut = &buf[..buf.len() - 1];
        let mut input = &cut[10..];
        assert!(read::<ToWorker>(&mut input).is_err());
        let mut huge = &[0xff, 0xff, 0xff, 0xff, 0][..];
        assert!(read::<ToWorker>(&mut huge).is_err());
        let mut unknown = &[0, 0, 0, 0, 9][..];
        assert!(read::<ToWorker>(&mut unknown).is_err());
    }
}
