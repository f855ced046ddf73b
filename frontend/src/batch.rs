//! What the relay sends, handed to the page at most once per frame.
//!
//! In play mode the relay can send thousands of events a second. Folding
//! each into the model is cheap; drawing the page after each is not. So
//! events are collected and applied together (`Action::Batch`) on a short
//! timer, and the page draws once for them all. The timer only paces the
//! drawing: every event is applied, in order, as the relay sent it.

use std::{cell::RefCell, rc::Rc};

use gloo_timers::callback::Timeout;
use yew::Callback;

use crate::model::Action;

/// About one frame at 60 Hz.
const FRAME_MS: u32 = 16;

#[derive(Clone)]
pub struct Batcher {
    to_model: Callback<Action>,
    pending: Rc<RefCell<Pending>>,
}

#[derive(Default)]
struct Pending {
    actions: Vec<Action>,
    /// The timer that flushes `actions`; kept (not dropped) after it fires,
    /// since a timer's closure must not be dropped while it runs.
    timer: Option<Timeout>,
    scheduled: bool,
}

impl Batcher {
    pub fn new(to_model: Callback<Action>) -> Batcher {
        Batcher {
            to_model,
            pending: Rc::default(),
        }
    }

    /// Messages wait for the next flush; anything else (the connection
    /// opening or dropping) goes at once, after what came before it.
    pub fn push(&self, action: Action) {
        if !matches!(action, Action::Received(_)) {
            self.flush();
            self.to_model.emit(action);
            return;
        }
        let mut pending = self.pending.borrow_mut();
        pending.actions.push(action);
        if !pending.scheduled {
            pending.scheduled = true;
            let me = self.clone();
            pending.timer = Some(Timeout::new(FRAME_MS, move || me.flush()));
        }
    }

    fn flush(&self) {
        let actions = {
            let mut pending = self.pending.borrow_mut();
            pending.scheduled = false;
            std::mem::take(&mut pending.actions)
        };
        match actions.len() {
            0 => {}
            1 => actions.into_iter().for_each(|a| self.to_model.emit(a)),
            _ => self.to_model.emit(Action::Batch(actions)),
        }
    }
}
