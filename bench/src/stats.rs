//! Timing samples and what is reported of them.

use std::time::{Duration, Instant};

/// Samples of one measurement.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// Runs `f` `n` times, timing each.
    pub fn of(n: usize, mut f: impl FnMut()) -> Samples {
        let mut s = Samples::default();
        for _ in 0..n {
            let t = Instant::now();
            f();
            s.push(t.elapsed());
        }
        s
    }

    /// The median: robust to the odd scheduling hiccup on a shared machine.
    pub fn median(&self) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    }

    /// The `q` quantile (0.99: the p99), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        let rank = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len().max(1)) - 1;
        v.get(rank).copied().unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// A duration as people read it.
pub fn human(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// `a` as a multiple of `base`.
pub fn ratio(a: f64, base: f64) -> String {
    if base == 0.0 {
        "n/a".to_owned()
    } else {
        format!("{:.2}x", a / base)
    }
}
