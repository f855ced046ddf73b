//! The wire: the session's TCP segments, captured on the loopback interface
//! with libpcap.
//!
//! Capturing needs `CAP_NET_RAW`. Without it the relay says so, once, with the
//! command that grants it, and runs on with calls and kernel state only; a
//! capture that fails for another reason is reported as what failed.
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
    match open_lo() {
        Ok(capture) => {
            keep_idle(capture);
            CaptureStatus {
                enabled: true,
                reason: format!("capturing each session's TCP segments on {INTERFACE}"),
            }
        }
        Err(err) => CaptureStatus {
            enabled: false,
            reason: err.to_string(),
        },
    }
}

/// Why a capture could not start, as the relay shows it to viewers.
///
/// Only a device that could not be opened by a process without `CAP_NET_RAW`
/// is a missing permission, with the command that grants it; any other
/// failure (the filter, non-blocking mode, a capture opened with the
/// permission) says which step failed, since `setcap` would not help.
/// libpcap's error is part of the one line, so it is not also the error's
/// `source()`.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "capture is off: cannot capture on {INTERFACE} ({pcap}); it needs CAP_NET_RAW: \
         run `sudo setcap cap_net_raw+eip {exe}` (or run the relay as root). \
         Calls and kernel state are still shown"
    )]
    Denied {
        pcap: pcap::Error,
        /// This program's path, for the `setcap` command.
        exe: String,
    },
    #[error("capture is off: {step} failed ({pcap}). Calls and kernel state are still shown")]
    Failed { step: Step, pcap: pcap::Error },
}

/// The steps of starting a capture, each of which libpcap can refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Open,
    NonBlocking,
    Filter(u16),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Open => write!(f, "opening {INTERFACE} for capture"),
            Step::NonBlocking => write!(f, "making the capture non-blocking"),
            Step::Filter(port) => write!(f, "setting the capture filter `tcp port {port}`"),
        }
    }
}

impl CaptureError {
    /// What `step` failing with `pcap` means for this process.
    fn new(step: Step, pcap: pcap::Error) -> Self {
        Self::classify(step, pcap, has_cap_net_raw())
    }

    /// `step` failed with `pcap` in a process that has `CAP_NET_RAW` (or
    /// not, or `None`: unknown, then libpcap's own words decide).
    fn classify(step: Step, pcap: pcap::Error, cap_net_raw: Option<bool>) -> Self {
        let denied =
            step == Step::Open && cap_net_raw.map_or_else(|| says_permission(&pcap), |has| !has);
        if denied {
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "path/to/relay".to_owned());
            CaptureError::Denied { pcap, exe }
        } else {
            CaptureError::Failed { step, pcap }
        }
    }
}

/// Whether libpcap's error speaks of a permission (its words vary by version:
/// `socket: Operation not permitted`, `You don't have permission ...`).
fn says_permission(pcap: &pcap::Error) -> bool {
    let text = pcap.to_string().to_ascii_lowercase();
    text.contains("not permitted") || text.contains("permission")
}

/// `CAP_NET_RAW`'s bit in the capability sets (linux/capability.h).
const CAP_NET_RAW: u32 = 13;

/// Whether this process has `CAP_NET_RAW` in effect, from `CapEff:` in
/// `/proc/self/status`; `None` if that cannot be read.
fn has_cap_net_raw() -> Option<bool> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    let caps = u64::from_str_radix(hex.trim(), 16).ok()?;
    Some(caps & (1 << CAP_NET_RAW) != 0)
}

/// `lo`, opened for capture and non-blocking.
fn open_lo() -> Result<pcap::Capture<pcap::Active>, CaptureError> {
    pcap::Capture::from_device(INTERFACE)
        .and_then(|device| {
            device
                .immediate_mode(true)
                .snaplen(pcap_file::SNAPLEN as i32)
                .timeout(10)
                .open()
        })
        .map_err(|err| CaptureError::new(Step::Open, err))?
        .setnonblock()
        .map_err(|err| CaptureError::new(Step::NonBlocking, err))
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
    pub fn open(port: u16) -> Result<Live, CaptureError> {
        let reused = idle().take();
        let mut capture = match reused {
            Some(capture) => capture,
            None => open_lo()?,
        };
        capture
            .filter(&format!("tcp port {port}"), true)
            .map_err(|err| CaptureError::new(Step::Filter(port), err))?;
        // What the ring still holds was captured for an earlier session.
        while capture.next_packet().is_ok() {}
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

    /// A segment the capture will never see (the wire dropped it before it
    /// reached the interface), numbered as the captured ones are, so that
    /// its relative numbers and theirs agree.
    pub fn witness(&mut self, decoded: Decoded, at: SystemTime) -> Captured {
        number(&mut self.isn, decoded, at)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> pcap::Error {
        pcap::Error::PcapError("socket: Operation not permitted".to_owned())
    }

    #[test]
    fn only_an_open_without_cap_net_raw_is_a_missing_permission() {
        let denied = CaptureError::classify(Step::Open, refused(), Some(false)).to_string();
        assert!(
            denied.contains("needs CAP_NET_RAW") && denied.contains("setcap cap_net_raw+eip"),
            "{denied}"
        );
        // With the permission, setcap would change nothing.
        let with_cap = CaptureError::classify(Step::Open, refused(), Some(true)).to_string();
        assert!(!with_cap.contains("setcap"), "{with_cap}");
        assert!(
            with_cap.contains("opening lo for capture failed"),
            "{with_cap}"
        );
        // Unknown capabilities: libpcap's words decide.
        let unknown = |pcap| CaptureError::classify(Step::Open, pcap, None).to_string();
        assert!(unknown(refused()).contains("setcap"));
        let no_device = pcap::Error::PcapError("lo: No such device exists".to_owned());
        assert!(!unknown(no_device).contains("setcap"));
        for step in [Step::NonBlocking, Step::Filter(3000)] {
            let failed = CaptureError::classify(step, refused(), Some(false)).to_string();
            assert!(!failed.contains("setcap"), "{failed}");
            assert!(failed.contains(&step.to_string()), "{failed}");
        }
    }

    #[test]
    fn a_filter_libpcap_refuses_is_reported_as_the_filter() {
        // libpcap's own refusal, from a capture anyone may open: a file.
        let path = std::env::temp_dir().join(format!("tcpstep-filter-{}.pcap", std::process::id()));
        std::fs::write(&path, pcap_file::write(&[])).expect("write an empty capture");
        let mut capture = pcap::Capture::from_file(&path).expect("open the capture file");
        let _ = std::fs::remove_file(&path);
        let err = capture
            .filter("tcp port nonsense", true)
            .expect_err("libpcap refuses the filter");
        // Even for a process without CAP_NET_RAW, a filter is not a permission.
        let said = CaptureError::classify(Step::Filter(3000), err, Some(false)).to_string();
        assert!(
            said.starts_with("capture is off: setting the capture filter `tcp port 3000` failed"),
            "{said}"
        );
        assert!(!said.contains("CAP_NET_RAW"), "{said}");
    }
}
