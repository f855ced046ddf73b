//! The wire in the learner's hands: what a sandboxed session does to its
//! kernel's real segments on their way, and what it did.
//!
//! A session in a sandbox of its own may pass every segment through a
//! netfilter queue that the relay reads, and give each a verdict. These are
//! the rules for those verdicts, as data in the scenario: drop the Nth
//! segment that matches, lose a share of them at random (with a seed, so
//! the same seed gives the same verdicts), or delay them. The segments are
//! the kernel's own, and so is everything it does about a loss: a
//! retransmission after its timer, a connect() that sleeps longer.

use serde::{Deserialize, Serialize};

use crate::TcpFlag;

/// The most rules one scenario may have.
pub const MAX_RULES: usize = 16;

/// The longest delay a rule may ask for, in milliseconds.
pub const MAX_DELAY_MS: u32 = 10_000;

/// What the wire does; with no rules, every segment passes at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WireRules {
    /// Tried in order; the first that takes a segment decides its verdict.
    pub rules: Vec<WireRule>,
    /// Seeds the draws of `loss` and of delays' jitter.
    pub seed: u64,
}

impl WireRules {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether the rules can be carried out; if not, which one is wrong and how.
    pub fn check(&self) -> Result<(), String> {
        if self.rules.len() > MAX_RULES {
            return Err(format!(
                "{} wire rules: at most {MAX_RULES}",
                self.rules.len()
            ));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let wrong = match rule {
                WireRule::Drop { nth: 0, .. } => Some("nth counts from 1".to_owned()),
                WireRule::Loss { percent, .. } if *percent > 100 => {
                    Some(format!("a loss of {percent}% is more than 100%"))
                }
                WireRule::Delay { ms, jitter_ms, .. }
                    if ms.saturating_add(*jitter_ms) > MAX_DELAY_MS =>
                {
                    Some(format!(
                        "a delay of {ms} ms plus {jitter_ms} ms of jitter is more than {MAX_DELAY_MS} ms"
                    ))
                }
                _ => None,
            };
            if let Some(wrong) = wrong {
                return Err(format!("wire rule {}: {wrong}", i + 1));
            }
        }
        Ok(())
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum WireRule {
    /// Drops the `nth` segment that matches (1: the first) and the
    /// `times - 1` matching ones after it; `times` 0 drops every one from
    /// the nth on.
    Drop {
        #[serde(default)]
        matching: Matching,
        nth: u32,
        times: u32,
    },
    /// Drops each matching segment with a chance of `percent` in 100.
    Loss {
        #[serde(default)]
        matching: Matching,
        percent: u8,
    },
    /// Holds each matching segment `ms` milliseconds, plus up to
    /// `jitter_ms` more drawn at random, before it goes on.
    Delay {
        #[serde(default)]
        matching: Matching,
        ms: u32,
        #[serde(default)]
        jitter_ms: u32,
    },
}

/// Which segments a rule is about; what is left out matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Matching {
    /// Sent toward the server (from a client) or toward a client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toward: Option<Toward>,
    /// Flags that must all be set...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<TcpFlag>,
    /// ...and flags that must all be clear.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<TcpFlag>,
    /// Whether it carries data (a payload of at least one byte).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<bool>,
}

impl Matching {
    /// Whether a segment sent toward `toward`, with `flags` set and
    /// `payload` bytes, matches.
    pub fn matches(&self, toward: Toward, flags: &[TcpFlag], payload: usize) -> bool {
        self.toward.is_none_or(|t| t == toward)
            && self.flags.iter().all(|f| flags.contains(f))
            && !self.without.iter().any(|f| flags.contains(f))
            && self.data.is_none_or(|d| d == (payload > 0))
    }
}

/// A segment's direction, by the end it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Toward {
    Server,
    Client,
}

/// What the wire did to a segment, by which rule (counted from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum WireAction {
    /// It never arrived: the sender's kernel must send it again.
    Dropped { rule: u32 },
    /// It was held `ms` milliseconds before it went on.
    Delayed { rule: u32, ms: u32 },
}
