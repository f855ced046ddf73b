//! The page's model, natively: folding a large real session and jumping
//! about in it, against parsing the same events (which the page must do
//! anyway) as the baseline.

use std::time::{Duration, Instant};

use protocol::{Event, RelayMessage};
use tcpstep_frontend::model::{Action, Model, View};

use crate::stats::Samples;

pub struct ModelFigures {
    pub events: usize,
    pub parse: Duration,
    pub fold: Duration,
    pub live: Duration,
    pub seek: Samples,
    /// ◀ and ▶ from the middle: back folds from the start, forward folds one event.
    pub back: Samples,
    pub on: Samples,
}

/// `events`, a real session's, as the page gets them: JSON lines.
pub fn measure(events: &[Event]) -> ModelFigures {
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(&RelayMessage::Event(e.clone())).expect("encode"))
        .collect();
    let t = Instant::now();
    let parsed: Vec<RelayMessage> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("decode"))
        .collect();
    let parse = t.elapsed();
    drop(parsed);

    let t = Instant::now();
    let view = View::fold(events);
    let fold = t.elapsed();
    assert_eq!(view.applied, events.len());

    // As the page does live: every event through the model, notes and findings too.
    let mut model = Model::default();
    let t = Instant::now();
    for e in events {
        model.apply(Action::Received(Box::new(RelayMessage::Event(e.clone()))));
    }
    let live = t.elapsed();

    // Jumps to moments spread over the session, in a scattered order.
    let n = events.len();
    let targets: Vec<usize> = (1..=20).map(|i| (i * 7919) % n).collect();
    let mut k = 0;
    let seek = Samples::of(targets.len(), || {
        model.apply(Action::Seek(Some(targets[k])));
        k += 1;
    });
    // One step back, and one step on, from the middle, as ◀ and ▶ do:
    // timed apart, as they cost very different amounts.
    let middle = n / 2;
    let mut back = Samples::default();
    let mut on = Samples::default();
    for _ in 0..10 {
        model.apply(Action::Seek(Some(middle)));
        back.push(Samples::of(1, || model.apply(Action::Seek(Some(middle - 1)))).median());
        on.push(Samples::of(1, || model.apply(Action::Seek(Some(middle)))).median());
    }
    ModelFigures {
        events: n,
        parse,
        fold,
        live,
        seek,
        back,
        on,
    }
}
