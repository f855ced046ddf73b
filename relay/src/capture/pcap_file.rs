//! Writing captured frames as a classic pcap file (the format of libpcap,
//! tcpdump and Wireshark): a 24-byte file header, then a 16-byte record
//! header before each frame. Written here rather than through libpcap so that
//! the hub can serve a session's capture from memory.

/// A frame as captured: when, and its bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub ts_sec: u32,
    pub ts_usec: u32,
    /// The frame's length on the wire, which may exceed what was captured.
    pub orig_len: u32,
    pub data: Vec<u8>,
}

const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;
const LINKTYPE_ETHERNET: u32 = 1;
pub const SNAPLEN: u32 = 65_535;

/// The whole file, in this machine's byte order (readers detect it from the magic number).
pub fn write(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.data.len()).sum::<usize>());
    out.extend_from_slice(&MAGIC_MICROSECONDS.to_ne_bytes());
    out.extend_from_slice(&2u16.to_ne_bytes()); // version 2.4
    out.extend_from_slice(&4u16.to_ne_bytes());
    out.extend_from_slice(&0i32.to_ne_bytes()); // timestamps are UTC
    out.extend_from_slice(&0u32.to_ne_bytes()); // accuracy, always 0
    out.extend_from_slice(&SNAPLEN.to_ne_bytes());
    out.extend_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
    for frame in frames {
        let incl = u32::try_from(frame.data.len())
            .unwrap_or(u32::MAX)
            .min(SNAPLEN);
        out.extend_from_slice(&frame.ts_sec.to_ne_bytes());
        out.extend_from_slice(&frame.ts_usec.to_ne_bytes());
        out.extend_from_slice(&incl.to_ne_bytes());
        out.extend_from_slice(&frame.orig_len.to_ne_bytes());
        out.extend_from_slice(&frame.data[..incl as usize]);
    }
    out
}
