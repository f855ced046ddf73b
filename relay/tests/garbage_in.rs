//! Whatever arrives from outside must never panic the relay: captured frames
//! go through the segment parser, viewers' text through the command decoder.
//! Property tests (proptest): any bytes, real inputs with any damage, and
//! well-formed inputs with any field values, which must decode to exactly
//! those values. A failure prints the smallest input that shows it.

use proptest::prelude::*;
use protocol::{Actor, Command, Scenario, TcpFlag, TcpOption};
use tcpstep_relay::capture::parse::decode;

/// How many cases each property tries (proptest's default is 256).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 4096,
        ..ProptestConfig::default()
    }
}

/// A real TCP/IPv4 frame as lo carries it: Ethernet, IPv4, TCP with options, data.
fn real_frame() -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(54321, 3000, 1000, 65495)
        .syn()
        .options(&[
            etherparse::TcpOptionElement::MaximumSegmentSize(65495),
            etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted,
            etherparse::TcpOptionElement::Timestamp(7, 0),
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::WindowScale(7),
        ])
        .expect("options fit");
    let mut frame = Vec::new();
    builder
        .write(&mut frame, b"Greetings, server")
        .expect("a frame");
    frame
}

/// One change to an input: a byte overwritten, the input cut, a byte inserted.
#[derive(Debug, Clone)]
enum Damage {
    Set(usize, u8),
    Cut(usize),
    Insert(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        any::<usize>().prop_map(Damage::Cut),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Insert(i, b)),
    ]
}

fn damaged(input: &[u8], changes: &[Damage]) -> Vec<u8> {
    let mut out = input.to_vec();
    for change in changes {
        match *change {
            Damage::Set(i, b) if !out.is_empty() => {
                let i = i % out.len();
                out[i] = b;
            }
            Damage::Cut(i) => out.truncate(i % (out.len() + 1)),
            Damage::Insert(i, b) => {
                let i = i % (out.len() + 1);
                out.insert(i, b);
            }
            Damage::Set(..) => {}
        }
    }
    out
}

/// Commands as a viewer's page sends them.
fn real_commands() -> Vec<String> {
    [
        Command::Step { actor: None },
        Command::Step {
            actor: Some(Actor::Client(3)),
        },
        Command::Play { interval_ms: 250 },
        Command::Pause,
        Command::Reset {
            scenario: Some(Scenario::classic()),
        },
        Command::Open,
        Command::Rooms {
            ids: vec!["k3v9q2m7x4bd".into()],
        },
    ]
    .iter()
    .map(|c| serde_json::to_string(c).expect("encode"))
    .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_segment_parser_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn the_segment_parser_survives_a_real_frame_damaged(changes in proptest::collection::vec(damage(), 1..6)) {
        let _ = decode(&damaged(&real_frame(), &changes));
    }

    /// Any well-formed TCP/IPv4 frame decodes to exactly what it carries.
    #[test]
    fn a_well_formed_frame_decodes_to_its_fields(
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
        sport in any::<u16>(), dport in any::<u16>(),
        seq in any::<u32>(), ack in any::<u32>(), window in any::<u16>(),
        syn in any::<bool>(), fin in any::<bool>(), rst in any::<bool>(), psh in any::<bool>(),
        mss in proptest::option::of(any::<u16>()),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, seq, window)
            .ack(ack);
        if syn { builder = builder.syn(); }
        if fin { builder = builder.fin(); }
        if rst { builder = builder.rst(); }
        if psh { builder = builder.psh(); }
        if let Some(mss) = mss {
            builder = builder
                .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(mss)])
                .expect("one option fits");
        }
        let mut frame = Vec::new();
        builder.write(&mut frame, &payload).expect("a frame");
        let d = decode(&frame).expect("a well-formed frame decodes");
        prop_assert_eq!(d.from, std::net::SocketAddr::from((src, sport)));
        prop_assert_eq!(d.to, std::net::SocketAddr::from((dst, dport)));
        prop_assert_eq!((d.seq, d.ack, d.window), (seq, ack, window));
        for (flag, set) in [(TcpFlag::Syn, syn), (TcpFlag::Fin, fin), (TcpFlag::Rst, rst), (TcpFlag::Psh, psh), (TcpFlag::Ack, true)] {
            prop_assert_eq!(d.flags.contains(&flag), set, "{:?}", flag);
        }
        prop_assert_eq!(d.options.contains(&TcpOption::Mss { bytes: mss.unwrap_or(0) }), mss.is_some());
        prop_assert_eq!(d.payload, payload);
    }

    #[test]
    fn the_command_decoder_survives_any_text(text in any::<String>()) {
        let _ = serde_json::from_str::<Command>(&text);
    }

    #[test]
    fn the_command_decoder_survives_real_commands_damaged(
        which in 0usize..5,
        changes in proptest::collection::vec(damage(), 1..6),
    ) {
        let real = &real_commands()[which];
        let text = String::from_utf8_lossy(&damaged(real.as_bytes(), &changes)).into_owned();
        let _ = serde_json::from_str::<Command>(&text);
    }

    /// Any command a page can send decodes to exactly itself.
    #[test]
    fn every_command_round_trips(
        kind in 0u8..4, client in proptest::option::of(any::<u32>()), ms in any::<u64>(),
        message in ".{0,40}", clients in any::<u32>(),
    ) {
        let command = match kind {
            0 => Command::Step { actor: client.map(Actor::Client) },
            1 => Command::Play { interval_ms: ms },
            2 => Command::Pause,
            _ => Command::Reset { scenario: Some(Scenario { message, clients, ..Scenario::classic() }) },
        };
        let text = serde_json::to_string(&command).expect("encode");
        prop_assert_eq!(serde_json::from_str::<Command>(&text).expect("decode"), command);
    }
}
