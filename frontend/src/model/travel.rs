//! Time travel in bounded time: views of the session kept every
//! [`SPACING`] events, so that any moment is at most `SPACING - 1` events
//! of folding from one.
//!
//! Without them a step back (◀) folds the session from its start: 17.8 ms
//! natively, 34 ms in Chromium, half way through 112,000 events. A kept
//! view shares its lists and maps with the live one ([`super::cow`]), so
//! what each costs is the chunks the live view has changed since, not a
//! copy of the session.

use protocol::Event;

use super::View;

/// Events between kept views. Folding one event costs about 0.4 µs
/// natively and 1 µs in Chromium: 1,024 of them about a millisecond, well
/// inside a frame beside the drawing. Halving it would double the views
/// kept (each a few kilobytes to a few tens, `docs/PERFORMANCE.md`) for
/// half a millisecond a step.
pub const SPACING: usize = 1024;

/// The views after every `spacing` events of a session: `views[j]` is
/// the view after its first `(j + 1) * spacing` events.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoints {
    spacing: usize,
    views: Vec<View>,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints::every(SPACING)
    }
}

impl Checkpoints {
    /// Views every `spacing` events (at least 1): the page uses
    /// [`SPACING`]; tests try others on short sessions.
    pub fn every(spacing: usize) -> Checkpoints {
        Checkpoints {
            spacing: spacing.max(1),
            views: Vec::new(),
        }
    }

    /// Events between kept views.
    pub fn spacing(&self) -> usize {
        self.spacing
    }

    /// Keeps `live`, the session's view after its latest event, if it
    /// falls on a checkpoint. Called after each event is folded in.
    pub fn note(&mut self, live: &View) {
        if live.applied > 0
            && live.applied % self.spacing == 0
            && live.applied / self.spacing == self.views.len() + 1
        {
            self.views.push(live.clone());
        }
    }

    /// Forgets every view: a new session, or a trace opened.
    pub fn clear(&mut self) {
        self.views.clear();
    }

    /// How many views are kept.
    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// The moment of the latest kept view at or before `at` (0, the empty
    /// view, before the first): [`Checkpoints::view_at`] folds from there.
    /// Once a session's events have all been noted, `at` minus this is
    /// below the spacing.
    pub fn start(&self, at: usize) -> usize {
        (at / self.spacing).min(self.views.len()) * self.spacing
    }

    /// The view after the first `at` of `events` (the session's, of which
    /// these are the checkpoints): folded on from `shown`, the view of an
    /// earlier moment the page shows, when that is no further back than
    /// the nearest kept view; from the kept view otherwise.
    pub fn view_at(&self, events: &[Event], at: usize, shown: Option<(usize, View)>) -> View {
        let at = at.min(events.len());
        let start = self.start(at);
        let (from, mut view) = match shown {
            Some((from, view)) if from <= at && from >= start => (from, view),
            _ => match (start / self.spacing).checked_sub(1) {
                Some(j) => (start, self.views[j].clone()),
                None => (0, View::default()),
            },
        };
        for e in &events[from..at] {
            view.apply(e);
        }
        view
    }
}
