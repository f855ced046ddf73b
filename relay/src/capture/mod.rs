//! The wire: the session's TCP segments, captured on the loopback interface
//! with libpcap.
//!
//! Capturing needs `CAP_NET_RAW`. Without it the relay says so, once, with the
//! command that grants it, and runs on with calls and kernel state only.
//!
//! The capture is non-blocking and read on demand ([`Live::drain`]): the
//! session reads it before and after every call, and its prober reads it
//! every few milliseconds, so a segment is reported in order with the calls
//! that caused it and a session never waits on libpcap to end.

pub mod parse;
pub mod pcap_file;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use protocol::{CaptureStatus, Segment, SocketId, TcpFlag};

use parse::Decoded;
use pcap_file::Frame;

/// The interface the pair talks over.
pub const INTERFACE: &str = "lo";

/// Whether this process can capture, and what a viewer should be told.
pub fn status() -> CaptureStatus {
    // The handle that proves capture works is kept for the first session
    // (see IDLE): closing it would cost 23 ms for nothing.
    match open_lo().and_then(|c| c.setnonblock()) {
        Ok(capture) => {
            keep_idle(capture);
            CaptureStatus {
                enabled: true,
                reason: format!("capturing each session's TCP segments on {INTERFACE}"),
            }
        }
        Err(err) => CaptureStatus {
            enabled: false,
            reason: CaptureDenied::new(err).to_string(),
        },
    }
}

/// Why this process cannot capture, with what grants it the permission.
///
/// libpcap's error is part of the one line (the relay shows it to viewers
/// as the reason capture is off), so it is not also the error's `source()`.
#[derive(Debug, thiserror::Error)]
#[error(
    "capture is off: cannot capture on {INTERFACE} ({pcap}); it needs CAP_NET_RAW: \
     run `sudo setcap cap_net_raw+eip {exe}` (or run the relay as root). \
     Calls and kernel state are still shown"
)]
pub struct CaptureDenied {
    pcap: pcap::Error,
    /// This program's path, for the `setcap` command.
    exe: String,
}

impl CaptureDenied {
    fn new(pcap: pcap::Error) -> Self {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "path/to/relay".to_owned());
        CaptureDenied { pcap, exe }
    }
}

fn open_lo() -> Result<pcap::Capture<pcap::Active>, pcap::Error> {
    pcap::Capture::from_device(INTERFACE)?
        .immediate_mode(true)
        .snaplen(pcap_file::SNAPLEN as i32)
        .timeout(10)
        .open()
}

/// A segment as captured, with Wireshark's relative numbers.
#[derive(Debug, Clone)]
pub struct Captured {
    pub at: SystemTime,
    pub decoded: Decoded,
    pub rel_seq: u32,
    pub rel_ack: u32,
}

impl Captured {
    /// The segment as the protocol carries it, with the session's sockets at
    /// each end (which only the session knows) and its time on the session's
    /// clock, which reads 0 at the wall-clock time `wall_start` (pcap's
    /// timestamps are wall-clock).
    pub fn into_segment(
        self,
        from_socket: Option<SocketId>,
        to_socket: Option<SocketId>,
        wall_start: SystemTime,
    ) -> Segment {
        let d = self.decoded;
        let wire_us = self
            .at
            .duration_since(wall_start)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Segment {
            from: d.from.to_string(),
            to: d.to.to_string(),
            from_socket,
            to_socket,
            flags: d.flags,
            seq: d.seq,
            ack: d.ack,
            rel_seq: self.rel_seq,
            rel_ack: self.rel_ack,
            window: d.window,
            options: d.options,
            len: d.payload.len(),
            payload: d.payload,
            wire_us,
        }
    }
}

/// A capture handle on `lo` that a finished session gave back.
///
/// Opening a capture costs about 8 ms and closing one about 23 ms (the
/// kernel sets up and tears down a packet ring), several times a whole
/// exchange on loopback: a reset would spend most of its time there. So a
/// session's handle is kept for the next, which only changes its filter.
static IDLE: Mutex<Option<pcap::Capture<pcap::Active>>> = Mutex::new(None);

fn idle() -> std::sync::MutexGuard<'static, Option<pcap::Capture<pcap::Active>>> {
    crate::sync::lock(&IDLE)
}

/// Keeps `capture` for the next session, unless one is kept already (then
/// it is closed, outside the lock).
fn keep_idle(capture: pcap::Capture<pcap::Active>) {
    let spare = idle().replace(capture);
    drop(spare);
}

/// A running capture of one session's port.
pub struct Live {
    /// Always `Some` until dropped, when it goes back to [`IDLE`].
    capture: Option<pcap::Capture<pcap::Active>>,
    frames: Vec<Frame>,
    /// Each direction's initial sequence number: its SYN's, or the first seen.
    isn: HashMap<(SocketAddr, SocketAddr), u32>,
}

impl Live {
    /// Starts capturing TCP to and from `port` on the loopback interface.
    pub fn open(port: u16) -> Result<Live, CaptureDenied> {
        let start = || -> Result<_, pcap::Error> {
            let reused = idle().take();
            let mut capture = match reused {
                Some(capture) => capture,
                None => open_lo()?.setnonblock()?,
            };
            capture.filter(&format!("tcp port {port}"), true)?;
            // What the ring still holds was captured for an earlier session.
            while capture.next_packet().is_ok() {}
            Ok(capture)
        };
        let capture = start().map_err(CaptureDenied::new)?;
        Ok(Live {
            capture: Some(capture),
            frames: Vec::new(),
            isn: HashMap::new(),
        })
    }

    /// Every segment captured since the last drain, oldest first.
    pub fn drain(&mut self) -> Vec<Captured> {
        let mut out = Vec::new();
        let Some(capture) = self.capture.as_mut() else {
            return out;
        };
        // Until there is nothing more for now (non-blocking), or the capture ended.
        while let Ok(packet) = capture.next_packet() {
            let ts = packet.header.ts;
            let (sec, usec) = (
                u32::try_from(ts.tv_sec).unwrap_or(0),
                u32::try_from(ts.tv_usec).unwrap_or(0),
            );
            let at = UNIX_EPOCH + Duration::new(sec.into(), usec.saturating_mul(1000));
            let frame = Frame {
                ts_sec: sec,
                ts_usec: usec,
                orig_len: packet.header.len,
                data: packet.data.to_vec(),
            };
            if let Some(decoded) = parse::decode(&frame.data) {
                out.push(number(&mut self.isn, decoded, at));
            }
            self.frames.push(frame);
        }
        out
    }

    /// Everything captured so far, as a pcap file.
    pub fn pcap(&self) -> Vec<u8> {
        pcap_file::write(&self.frames)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(capture) = self.capture.take() {
            keep_idle(capture);
        }
    }
}

/// Numbers a segment as Wireshark does: relative to each direction's
/// initial sequence number (its SYN's, or the first seen).
fn number(
    isn: &mut HashMap<(SocketAddr, SocketAddr), u32>,
    decoded: Decoded,
    at: SystemTime,
) -> Captured {
    let forward = (decoded.from, decoded.to);
    let backward = (decoded.to, decoded.from);
    if decoded.flags.contains(&TcpFlag::Syn) {
        isn.insert(forward, decoded.seq);
    }
    let base = *isn.entry(forward).or_insert(decoded.seq);
    let rel_ack = match isn.get(&backward) {
        Some(&peer) if decoded.flags.contains(&TcpFlag::Ack) => decoded.ack.wrapping_sub(peer),
        _ => 0,
    };
    Captured {
        at,
        rel_seq: decoded.seq.wrapping_sub(base),
        rel_ack,
        decoded,
    }
}
