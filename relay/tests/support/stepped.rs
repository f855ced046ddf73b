//! A session run in-process and stepped by hand, call by call, so that a
//! test can put the programs' calls in one fixed order.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use protocol::{Actor, Event, EventKind, Mode, Scenario};
use tcpstep_relay::{
    capture,
    feed::{Feed, LIVE_BUFFER},
    session::Session,
};

/// A session of a preset, its programs waiting to be stepped.
pub struct Stepped {
    pub feed: Arc<Feed>,
    session: Option<Session>,
}

impl Stepped {
    /// The preset `preset`, paused.
    pub fn start(preset: &str) -> Stepped {
        let scenario = Scenario::preset(preset).expect("a preset");
        Stepped::start_with(scenario, Mode::Paused, |feed| feed)
    }

    /// `scenario` in `mode`, its feed as `feed` makes it (a smaller limit, say).
    pub fn start_with(scenario: Scenario, mode: Mode, feed: impl FnOnce(Feed) -> Feed) -> Stepped {
        let feed = Arc::new(feed(Feed::before(&Scenario::classic(), LIVE_BUFFER)));
        let session = Session::start(1, scenario, mode, capture::status().enabled, feed.clone())
            .expect("start");
        Stepped {
            feed,
            session: Some(session),
        }
    }

    pub fn events(&self) -> Vec<Event> {
        self.feed.events()
    }

    pub fn session(&self) -> &Session {
        self.session.as_ref().expect("running")
    }

    /// Waits until the events satisfy `done`.
    pub fn wait(&self, what: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.events();
            if done(&events) {
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "waited in vain for {what}: {events:#?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Steps `actor` until the events satisfy `done`.
    pub fn step_until(&self, actor: Actor, what: &str, done: impl Fn(&[Event]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.events()) {
            assert!(
                Instant::now() < deadline,
                "{actor} never got to {what}: {:#?}",
                self.events()
            );
            if self.session().step(Some(actor)).is_err() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Steps `actor` until its next `name` call has returned (or, with
    /// `blocked`, is asleep in the kernel).
    pub fn through(&self, actor: Actor, name: &str, blocked: bool) {
        let count = |ev: &[Event]| {
            ev.iter()
                .filter(|e| e.actor == actor)
                .filter(|e| match &e.kind {
                    EventKind::CallReturned { call, .. } => call.name() == name,
                    EventKind::CallBlocked { call } => blocked && call.name() == name,
                    _ => false,
                })
                .count()
        };
        let before = count(&self.events());
        self.step_until(actor, name, |ev| count(ev) > before);
    }

    /// Steps `actor` until it ends.
    pub fn to_the_end(&self, actor: Actor) -> Vec<Event> {
        self.step_until(actor, "its end", |ev| {
            ev.iter()
                .any(|e| e.actor == actor && matches!(e.kind, EventKind::ActorEnded { .. }))
        });
        self.events()
    }
}

impl Drop for Stepped {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            session.stop();
        }
    }
}
