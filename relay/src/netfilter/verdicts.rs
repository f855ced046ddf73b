//! Deciding each segment's verdict from a scenario's wire rules: pure, so
//! that the same rules and seed give the same verdicts, and tested so.

use protocol::{
    wire::{Toward, WireRule},
    WireRules,
};

use crate::capture::parse::Decoded;

/// What to do with one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Pass,
    /// Drop it, by rule `rule` (counted from 1).
    Drop {
        rule: u32,
    },
    /// Hold it `ms` milliseconds, by rule `rule`.
    Delay {
        rule: u32,
        ms: u32,
    },
}

/// The rules, with how many segments each has matched so far and the
/// random draws they have made.
#[derive(Debug)]
pub struct Verdicts {
    rules: WireRules,
    matched: Vec<u32>,
    rng: SplitMix64,
}

impl Verdicts {
    pub fn new(rules: WireRules) -> Verdicts {
        Verdicts {
            matched: vec![0; rules.rules.len()],
            rng: SplitMix64(rules.seed),
            rules,
        }
    }

    /// The verdict for `segment`, sent toward the server's or a client's end.
    /// Rules are tried in order; a rule counts every segment it matches,
    /// also one an earlier rule already took.
    pub fn decide(&mut self, toward: Toward, segment: &Decoded) -> Decision {
        let mut decision = Decision::Pass;
        for (i, rule) in self.rules.rules.iter().enumerate() {
            let matching = match rule {
                WireRule::Drop { matching, .. }
                | WireRule::Loss { matching, .. }
                | WireRule::Delay { matching, .. } => matching,
            };
            if !matching.matches(toward, &segment.flags, segment.payload.len()) {
                continue;
            }
            self.matched[i] += 1;
            let n = self.matched[i];
            let rule_no = i as u32 + 1;
            let this = match *rule {
                WireRule::Drop { nth, times, .. } => {
                    let last = if times == 0 {
                        u32::MAX
                    } else {
                        nth.saturating_add(times - 1)
                    };
                    (nth..=last)
                        .contains(&n)
                        .then_some(Decision::Drop { rule: rule_no })
                }
                WireRule::Loss { percent, .. } => (self.rng.next() % 100 < u64::from(percent))
                    .then_some(Decision::Drop { rule: rule_no }),
                WireRule::Delay { ms, jitter_ms, .. } => {
                    let jitter = match jitter_ms {
                        0 => 0,
                        j => (self.rng.next() % (u64::from(j) + 1)) as u32,
                    };
                    Some(Decision::Delay {
                        rule: rule_no,
                        ms: ms + jitter,
                    })
                }
            };
            if let (Decision::Pass, Some(this)) = (decision, this) {
                decision = this;
            }
        }
        decision
    }
}

/// A small, fast, seeded generator (Steele, Lea and Flood's SplitMix64):
/// the same seed gives the same sequence on every machine.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{wire::Matching, Scenario, TcpFlag};

    fn segment(flags: &[TcpFlag], payload: usize) -> Decoded {
        Decoded {
            from: "127.0.0.1:40000".parse().expect("an address"),
            to: "127.0.0.1:3000".parse().expect("an address"),
            flags: flags.to_vec(),
            seq: 1,
            ack: 1,
            window: 65535,
            options: vec![],
            payload: vec![b'x'; payload],
        }
    }

    #[test]
    fn the_presets_drop_exactly_the_segment_they_name_once() {
        let syn = segment(&[TcpFlag::Syn], 0);
        let ack = segment(&[TcpFlag::Ack], 0);
        let data = segment(&[TcpFlag::Ack, TcpFlag::Psh], 17);
        let rules = |name| Scenario::preset(name).expect("a preset").wire;
        let mut lost_syn = Verdicts::new(rules("lost-syn"));
        assert_eq!(
            lost_syn.decide(Toward::Server, &syn),
            Decision::Drop { rule: 1 }
        );
        // The kernel's retransmission is the second SYN: it passes.
        assert_eq!(lost_syn.decide(Toward::Server, &syn), Decision::Pass);
        assert_eq!(lost_syn.decide(Toward::Server, &ack), Decision::Pass);

        let mut lost_greeting = Verdicts::new(rules("lost-greeting"));
        assert_eq!(lost_greeting.decide(Toward::Server, &syn), Decision::Pass);
        assert_eq!(lost_greeting.decide(Toward::Client, &data), Decision::Pass);
        assert_eq!(
            lost_greeting.decide(Toward::Server, &data),
            Decision::Drop { rule: 1 }
        );
        assert_eq!(lost_greeting.decide(Toward::Server, &data), Decision::Pass);

        let mut lost_reply = Verdicts::new(rules("lost-reply"));
        assert_eq!(lost_reply.decide(Toward::Server, &data), Decision::Pass);
        assert_eq!(
            lost_reply.decide(Toward::Client, &data),
            Decision::Drop { rule: 1 }
        );
    }

    #[test]
    fn drop_counts_from_the_nth_for_times_or_for_ever() {
        let every_syn_from_the_second = WireRules {
            rules: vec![WireRule::Drop {
                matching: Matching {
                    flags: vec![TcpFlag::Syn],
                    ..Matching::default()
                },
                nth: 2,
                times: 0,
            }],
            seed: 0,
        };
        let mut v = Verdicts::new(every_syn_from_the_second);
        let syn = segment(&[TcpFlag::Syn], 0);
        let verdicts: Vec<_> = (0..5).map(|_| v.decide(Toward::Server, &syn)).collect();
        assert_eq!(verdicts[0], Decision::Pass);
        assert!(verdicts[1..]
            .iter()
            .all(|d| *d == Decision::Drop { rule: 1 }));
    }

    #[test]
    fn loss_follows_its_seed_and_its_rate() {
        let loss = |seed, percent| WireRules {
            rules: vec![WireRule::Loss {
                matching: Matching::default(),
                percent,
            }],
            seed,
        };
        let data = segment(&[TcpFlag::Ack], 100);
        let draw = |rules| {
            let mut v = Verdicts::new(rules);
            (0..10_000)
                .map(|_| v.decide(Toward::Server, &data))
                .collect::<Vec<_>>()
        };
        // The same seed, the same verdicts; another seed, others.
        assert_eq!(draw(loss(7, 10)), draw(loss(7, 10)));
        assert_ne!(draw(loss(7, 10)), draw(loss(8, 10)));
        let dropped = draw(loss(7, 10))
            .iter()
            .filter(|d| matches!(d, Decision::Drop { .. }))
            .count();
        assert!((900..1100).contains(&dropped), "{dropped} of 10,000 at 10%");
        assert!(draw(loss(1, 0)).iter().all(|d| *d == Decision::Pass));
        assert!(draw(loss(1, 100)).iter().all(|d| *d != Decision::Pass));
    }

    #[test]
    fn a_delay_stays_within_its_jitter_and_the_first_rule_decides() {
        let rules = WireRules {
            rules: vec![
                WireRule::Delay {
                    matching: Matching::default(),
                    ms: 50,
                    jitter_ms: 20,
                },
                WireRule::Drop {
                    matching: Matching::default(),
                    nth: 1,
                    times: 0,
                },
            ],
            seed: 3,
        };
        let mut v = Verdicts::new(rules);
        let ack = segment(&[TcpFlag::Ack], 0);
        for _ in 0..1000 {
            match v.decide(Toward::Client, &ack) {
                Decision::Delay { rule: 1, ms } => assert!((50..=70).contains(&ms), "{ms}"),
                other => panic!("the delay comes first: {other:?}"),
            }
        }
    }
}
