//! The page's model, natively: folding a large real session and jumping
//! about in it, against parsing the same events (which the page must do
//! anyway) as the baseline.

use std::time::{Duration, Instant};

use protocol::{Event, RelayMessage};
use tcpstep_frontend::model::{travel::Checkpoints, Action, Model, View};

use crate::{memory, stats::Samples};

pub struct ModelFigures {
    pub events: usize,
    pub parse: Duration,
    pub fold: Duration,
    pub live: Duration,
    pub seek: Samples,
    /// ◀ and ▶ from the middle: back folds from the nearest kept view,
    /// forward folds one event.
    pub back: Samples,
    pub on: Samples,
    /// ◀ from a kept view's moment: the most folding, a spacing less one.
    pub back_worst: Samples,
    /// The views time travel keeps at the end, and their spacing then.
    pub kept: usize,
    pub spacing: usize,
    /// Bytes held by the kept views alone (what they do not share with the
    /// live view), by the live view, and by the whole model.
    pub kept_bytes: isize,
    pub view_bytes: isize,
    pub model_bytes: isize,
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
    drop(view);

    // What the kept views cost: the bytes that go when they do.
    memory::count();
    let start = memory::in_use();
    let mut view = View::default();
    let mut checkpoints = Checkpoints::default();
    for e in events {
        view.apply(e);
        checkpoints.note(&view);
    }
    let (kept, spacing) = (checkpoints.len(), checkpoints.spacing());
    let with_kept = memory::in_use() - start;
    drop(checkpoints);
    let view_bytes = memory::in_use() - start;
    drop(view);

    // As the page does live: every event through the model, notes and findings too.
    let mut model = Model::default();
    let start = memory::in_use();
    let t = Instant::now();
    for e in events {
        model.apply(Action::Received(Box::new(RelayMessage::Event(e.clone()))));
    }
    let live = t.elapsed();
    let model_bytes = memory::in_use() - start;

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
    // ◀ from the moments of kept views: the view before each is the
    // furthest from any.
    let mut back_worst = Samples::default();
    for j in 1..=10 {
        let at = (j * n / 11) / spacing * spacing;
        if at == 0 {
            continue;
        }
        model.apply(Action::Seek(Some(at)));
        back_worst.push(Samples::of(1, || model.apply(Action::Seek(Some(at - 1)))).median());
    }
    ModelFigures {
        events: n,
        parse,
        fold,
        live,
        seek,
        back,
        on,
        back_worst,
        kept,
        spacing,
        kept_bytes: with_kept - view_bytes,
        view_bytes,
        model_bytes,
    }
}
