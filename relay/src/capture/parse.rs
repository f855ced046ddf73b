//! Decoding a captured frame into a TCP segment's fields.

use std::net::{IpAddr, SocketAddr};

use etherparse::{NetSlice, SlicedPacket, TcpOptionElement, TransportSlice};
use protocol::{TcpFlag, TcpOption};

/// The fields of one TCP segment, before the session names its sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub flags: Vec<TcpFlag>,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub options: Vec<TcpOption>,
    pub payload: Vec<u8>,
}

/// Decodes an Ethernet frame (the link type of Linux's `lo`) carrying TCP
/// over IPv4 or IPv6. Anything else, or anything malformed, is `None`:
/// captured bytes are input from outside and must never panic the relay.
pub fn decode(frame: &[u8]) -> Option<Decoded> {
    decode_sliced(SlicedPacket::from_ethernet(frame).ok()?)
}

/// Decodes an IP packet with no link-layer header (as a netfilter queue
/// hands it over), as [`decode`] does a frame.
pub fn decode_ip(packet: &[u8]) -> Option<Decoded> {
    decode_sliced(SlicedPacket::from_ip(packet).ok()?)
}

fn decode_sliced(packet: SlicedPacket<'_>) -> Option<Decoded> {
    let (src, dst): (IpAddr, IpAddr) = match packet.net? {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Arp(_) => return None,
    };
    let TransportSlice::Tcp(tcp) = packet.transport? else {
        return None;
    };
    let flags = [
        (tcp.syn(), TcpFlag::Syn),
        (tcp.ack(), TcpFlag::Ack),
        (tcp.psh(), TcpFlag::Psh),
        (tcp.fin(), TcpFlag::Fin),
        (tcp.rst(), TcpFlag::Rst),
        (tcp.urg(), TcpFlag::Urg),
        (tcp.ece(), TcpFlag::Ece),
        (tcp.cwr(), TcpFlag::Cwr),
    ]
    .into_iter()
    .filter_map(|(set, flag)| set.then_some(flag))
    .collect();
    let options = tcp
        .options_iterator()
        .map_while(Result::ok)
        .map(|option| match option {
            TcpOptionElement::Noop => TcpOption::Nop,
            TcpOptionElement::MaximumSegmentSize(bytes) => TcpOption::Mss { bytes },
            TcpOptionElement::WindowScale(shift) => TcpOption::WindowScale { shift },
            TcpOptionElement::SelectiveAcknowledgementPermitted => TcpOption::SackPermitted,
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => TcpOption::Sack {
                blocks: std::iter::once(first)
                    .chain(rest.into_iter().flatten())
                    .collect(),
            },
            TcpOptionElement::Timestamp(value, echo) => TcpOption::Timestamps { value, echo },
        })
        .collect();
    Some(Decoded {
        from: SocketAddr::new(src, tcp.source_port()),
        to: SocketAddr::new(dst, tcp.destination_port()),
        flags,
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        window: tcp.window_size(),
        options,
        payload: tcp.payload().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Ethernet2Header, PacketBuilder, PacketBuilderStep, TcpHeader};

    fn frame(
        build: impl FnOnce(PacketBuilderStep<Ethernet2Header>) -> PacketBuilderStep<TcpHeader>,
        payload: &[u8],
    ) -> Vec<u8> {
        let builder = build(PacketBuilder::ethernet2([0; 6], [0; 6]));
        let mut out = Vec::new();
        builder.write(&mut out, payload).expect("build a frame");
        out
    }

    #[test]
    fn decodes_a_syn_with_its_options() {
        let bytes = frame(
            |b| {
                b.ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                    .tcp(54321, 3000, 1000, 65495)
                    .syn()
                    .options(&[
                        TcpOptionElement::MaximumSegmentSize(65495),
                        TcpOptionElement::SelectiveAcknowledgementPermitted,
                        TcpOptionElement::Timestamp(7, 0),
                        TcpOptionElement::Noop,
                        TcpOptionElement::WindowScale(7),
                    ])
                    .expect("options fit")
            },
            &[],
        );
        let d = decode(&bytes).expect("a TCP segment");
        assert_eq!(d.from, "127.0.0.1:54321".parse().expect("addr"));
        assert_eq!(d.to, "127.0.0.1:3000".parse().expect("addr"));
        assert_eq!(d.flags, [TcpFlag::Syn]);
        assert_eq!((d.seq, d.window), (1000, 65495));
        assert!(d.options.contains(&TcpOption::Mss { bytes: 65495 }));
        assert!(d.options.contains(&TcpOption::SackPermitted));
        assert!(d
            .options
            .contains(&TcpOption::Timestamps { value: 7, echo: 0 }));
        assert!(d.options.contains(&TcpOption::WindowScale { shift: 7 }));
        assert!(d.payload.is_empty());
    }

    #[test]
    fn decodes_data_with_psh_ack() {
        let bytes = frame(
            |b| {
                b.ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                    .tcp(3000, 54321, 5, 512)
                    .psh()
                    .ack(42)
            },
            b"Goodbye, client!",
        );
        let d = decode(&bytes).expect("a TCP segment");
        assert_eq!(d.flags, [TcpFlag::Ack, TcpFlag::Psh]);
        assert_eq!(d.ack, 42);
        assert_eq!(d.payload, b"Goodbye, client!");
    }

    #[test]
    fn anything_else_is_none_not_a_panic() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[0xff; 13]), None);
        let udp = {
            let b = PacketBuilder::ethernet2([0; 6], [0; 6])
                .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                .udp(1, 2);
            let mut out = Vec::new();
            b.write(&mut out, b"x").expect("udp");
            out
        };
        assert_eq!(decode(&udp), None);
        let good = frame(
            |b| b.ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64).tcp(1, 2, 3, 4),
            b"data",
        );
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]); // truncated: any answer but a panic
        }
    }
}
