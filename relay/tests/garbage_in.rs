//! Whatever arrives from outside must never panic the relay: captured frames
//! go through the segment parser, viewers' text through the command decoder.
//! Random inputs, and real inputs with random damage, from a seeded
//! generator so a failure can be replayed.

use protocol::Command;
use tcpstep_relay::capture::parse::decode;

/// xorshift64*: small, seeded, and good enough to shake a parser.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
    /// `input` with a few bytes changed, cut or added.
    fn damage(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..=self.below(4) {
            match self.below(3) {
                0 if !out.is_empty() => {
                    let i = self.below(out.len());
                    out[i] = self.next() as u8;
                }
                1 if !out.is_empty() => out.truncate(self.below(out.len())),
                _ => {
                    let i = self.below(out.len() + 1);
                    out.insert(i, self.next() as u8);
                }
            }
        }
        out
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

#[test]
fn the_segment_parser_survives_any_frame() {
    let mut rng = Rng(0x07c9_5eed);
    let real = real_frame();
    assert!(decode(&real).is_some(), "the undamaged frame decodes");
    for _ in 0..100_000 {
        let len = rng.below(128);
        let _ = decode(&rng.bytes(len));
        let _ = decode(&rng.damage(&real));
    }
}

#[test]
fn the_command_decoder_survives_any_text() {
    let mut rng = Rng(0x00c0_ffee);
    let real: Vec<String> = [
        Command::Step { actor: None },
        Command::Step {
            actor: Some(protocol::Actor::Client(3)),
        },
        Command::Play { interval_ms: 250 },
        Command::Pause,
        Command::Reset {
            scenario: Some(protocol::Scenario::classic()),
        },
    ]
    .iter()
    .map(|c| serde_json::to_string(c).expect("encode"))
    .collect();
    for text in &real {
        serde_json::from_str::<Command>(text).expect("the undamaged command decodes");
    }
    for i in 0..100_000 {
        let damaged = rng.damage(real[i % real.len()].as_bytes());
        let text = String::from_utf8_lossy(&damaged);
        let _ = serde_json::from_str::<Command>(&text);
        let len = rng.below(64);
        let _ = serde_json::from_str::<Command>(&String::from_utf8_lossy(&rng.bytes(len)));
    }
}
