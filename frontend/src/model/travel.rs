//! Time travel in bounded time: views of the session kept every so many
//! events, so that any moment is less than that many events of folding
//! from one.
//!
//! Without them a step back (◀) folds the session from its start: 17.8 ms
//! natively, 34 ms in Chromium, half way through 112,000 events. A kept
//! view shares its lists and maps with the live one ([`super::cow`]), so
//! what each costs is what the live view has changed since: the last chunk
//! of each list and the entries of the programs and sockets that moved.
//! That is a few chunks for the presets, but a crowd of 1,000 clients
//! moves nearly all of them between two kept views (1,024 events are one
//! or two for each client): about 0.9 MB each, measured. So the views are
//! [`SPACING`] events apart while there are at most [`MOST`] of them; a
//! longer session thins them (every other one goes, the spacing doubles),
//! which bounds their memory by `MOST` of those and the folding by the
//! spacing: 4,096 events, 27 views, for a session of 112,000.

use protocol::Event;

use super::View;

/// Events between kept views, at first. Folding one event costs about
/// 0.7 µs natively: 1,024 of them under a millisecond, well inside a frame
/// beside the drawing.
pub const SPACING: usize = 1024;

/// The most views kept: past it the spacing doubles. The 112,000-event
/// crowd keeps 27, 4,096 apart, 1.3 MB each: 34 MB beside the 57 MB of its
/// events, notes and findings (measured by `cargo xtask bench`).
pub const MOST: usize = 32;

/// The views after every `spacing` events of a session: `views[j]` is
/// the view after its first `(j + 1) * spacing` events.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoints {
    /// The spacing a session starts with.
    first: usize,
    /// The spacing now: `first`, doubled each time the views were thinned.
    spacing: usize,
    views: Vec<View>,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints::every(SPACING)
    }
}

impl Checkpoints {
    /// Views every `spacing` events at first (at least 1): the page uses
    /// [`SPACING`]; tests try others on short sessions.
    pub fn every(spacing: usize) -> Checkpoints {
        Checkpoints {
            first: spacing.max(1),
            spacing: spacing.max(1),
            views: Vec::new(),
        }
    }

    /// Events between kept views now.
    pub fn spacing(&self) -> usize {
        self.spacing
    }

    /// Keeps `live`, the session's view after its latest event, if it
    /// falls on a checkpoint; past [`MOST`] views, keeps every other one
    /// and doubles the spacing. Called after each event is folded in.
    pub fn note(&mut self, live: &View) {
        if live.applied > 0
            && live.applied % self.spacing == 0
            && live.applied / self.spacing == self.views.len() + 1
        {
            self.views.push(live.clone());
            if self.views.len() > MOST {
                // views[j] is after (j + 1) * spacing events: the odd j
                // fall on the doubled spacing.
                let mut j = 0;
                self.views.retain(|_| {
                    j += 1;
                    j % 2 == 0
                });
                self.spacing *= 2;
            }
        }
    }

    /// Forgets every view: a new session, or a trace opened.
    pub fn clear(&mut self) {
        self.views.clear();
        self.spacing = self.first;
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
