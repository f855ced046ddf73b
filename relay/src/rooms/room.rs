//! One room: a session, its feed, who watches it, and who may drive it.
//!
//! A room runs one session at a time (a reset replaces it) and its feed is
//! the one ordered stream its viewers share: commands from any viewer who
//! drives it act on it, and what they change reaches every viewer of this
//! room, and no one else's.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc, Mutex, MutexGuard, OnceLock,
    },
    time::{Duration, Instant},
};

use protocol::{Actor, CaptureStatus, Command, Hello, Mode, Scenario, SessionInfo};

use crate::{
    feed::Feed,
    session::Session,
    tracepoints::{self, Follower, KernelTrace},
};

/// Why a command was not carried out: said to the viewer who sent it.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot step: {0}")]
    Step(#[from] crate::session::StepError),
    #[error("cannot start a session: {0}")]
    Start(std::io::Error),
    #[error("cannot use that scenario: {0}")]
    Scenario(#[from] crate::scenario::ScenarioError),
    #[error("play needs an interval of at least 1 ms")]
    ZeroInterval,
    #[error(
        "only the presenter steps, plays, pauses and resets the class session: you watch it, \
         and move through its history on the timeline yourself. Press \"Try it myself\" for a \
         session of your own with the same scenario"
    )]
    NotPresenter,
    #[error("{0} is not a command for a session: the hub answers it")]
    NotForRoom(&'static str),
}

pub struct Room {
    /// How many viewers are connected (the hub counts them).
    pub viewers: AtomicU32,
    feed: Arc<Feed>,
    capture: CaptureStatus,
    live_buffer: usize,
    state: Mutex<State>,
    /// The presenter's key, if only its holders drive this room (the class
    /// room of a relay started with `--presenter`).
    presenter: OnceLock<String>,
    /// Since when nobody has watched (from its start, until someone comes).
    unwatched_since: Mutex<Option<Instant>>,
    /// Set once the room has ended: a viewer arriving late is turned away.
    ended: AtomicBool,
    /// The kernel's tracepoints, if the relay reads them, and what turns
    /// their words of this room's sockets into its events.
    kernel: Mutex<Option<(Arc<KernelTrace>, Follower)>>,
}

struct State {
    session: Option<Session>,
    next_id: u64,
}

impl Room {
    /// Starts a room running `scenario`, paused. A viewer may fall
    /// `live_buffer` events behind before it must resynchronise
    /// ([`crate::feed::LIVE_BUFFER`] is the relay's choice).
    pub fn start(
        scenario: Scenario,
        capture: CaptureStatus,
        live_buffer: usize,
    ) -> std::io::Result<Arc<Room>> {
        Room::start_in(scenario, Mode::Paused, capture, live_buffer)
    }

    /// [`Room::start`] in `mode`, which resets keep. Play with no delay
    /// (`interval_ms: 0`), which viewers cannot ask for, is for benchmarks.
    pub fn start_in(
        scenario: Scenario,
        mode: Mode,
        capture: CaptureStatus,
        live_buffer: usize,
    ) -> std::io::Result<Arc<Room>> {
        let room = Arc::new(Room {
            viewers: AtomicU32::new(0),
            feed: Arc::new(Feed::before(&scenario, live_buffer)),
            capture,
            live_buffer,
            state: Mutex::new(State {
                session: None,
                next_id: 1,
            }),
            presenter: OnceLock::new(),
            unwatched_since: Mutex::new(Some(Instant::now())),
            ended: AtomicBool::new(false),
            kernel: Mutex::new(None),
        });
        room.begin(scenario, mode)?;
        Ok(room)
    }

    /// Another room like this one (capture, buffering), running `scenario`
    /// paused: a private session.
    pub(crate) fn sibling(&self, scenario: Scenario) -> std::io::Result<Arc<Room>> {
        let room = Room::start(scenario, self.capture.clone(), self.live_buffer)?;
        let trace = crate::sync::lock(&self.kernel)
            .as_ref()
            .map(|(trace, _)| trace.clone());
        if let Some(trace) = trace {
            room.follow_kernel(trace)?;
        }
        Ok(room)
    }

    /// From now on, what the kernel's tracepoints say of this room's
    /// sockets becomes events of its sessions (and of its siblings').
    pub fn follow_kernel(&self, trace: Arc<KernelTrace>) -> std::io::Result<()> {
        let follower = tracepoints::follow(trace.clone(), &self.feed)?;
        *crate::sync::lock(&self.kernel) = Some((trace, follower));
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// The scenarios a reset may ask for.
    pub fn scenarios(&self) -> Vec<Scenario> {
        Scenario::presets()
    }

    /// The first message for a viewer, describing `session`.
    pub fn hello(&self, session: SessionInfo) -> Hello {
        crate::host::hello(self.capture.clone(), self.scenarios(), session)
    }

    /// From now on only holders of `key` drive this room. Set once.
    pub(crate) fn set_presenter(&self, key: String) {
        let _ = self.presenter.set(key);
    }

    /// Whether this room has a presenter.
    pub fn has_presenter(&self) -> bool {
        self.presenter.get().is_some()
    }

    /// Whether a viewer holding `key` (or none) may step, play, pause and
    /// reset this room: anyone, unless it has a presenter.
    pub fn drives(&self, key: Option<&str>) -> bool {
        match (self.presenter.get(), key) {
            (None, _) => true,
            (Some(real), Some(sent)) => super::secret::same_key(sent, real),
            (Some(_), None) => false,
        }
    }

    /// Carries out a viewer's command. Blocks while a reset stops the old
    /// session (its programs must end and close their sockets first).
    pub fn command(&self, command: Command) -> Result<(), CommandError> {
        match command {
            Command::Step { actor } => self.step(actor).map(drop),
            Command::Play { interval_ms: 0 } => Err(CommandError::ZeroInterval),
            Command::Play { interval_ms } => {
                self.set_mode(Mode::Playing { interval_ms });
                Ok(())
            }
            Command::Pause => {
                self.set_mode(Mode::Paused);
                Ok(())
            }
            Command::Reset { scenario } => {
                let scenario = match scenario {
                    Some(s) => self.check(s)?,
                    None => self.feed.session().scenario,
                };
                let mode = self.feed.session().mode;
                self.begin(scenario, mode).map_err(CommandError::Start)
            }
            Command::Open => Err(CommandError::NotForRoom("open")),
            Command::Rooms { .. } => Err(CommandError::NotForRoom("rooms")),
        }
    }

    /// [`Room::command`] from a viewer holding `key` (or none): refused
    /// with [`CommandError::NotPresenter`] if that viewer does not drive it.
    pub fn command_as(&self, key: Option<&str>, command: Command) -> Result<(), CommandError> {
        if !self.drives(key) {
            return Err(CommandError::NotPresenter);
        }
        self.command(command)
    }

    pub fn step(&self, actor: Option<Actor>) -> Result<Actor, CommandError> {
        let state = self.lock();
        match &state.session {
            Some(session) => Ok(session.step(actor)?),
            None => Err(crate::session::StepError::Closed.into()),
        }
    }

    fn set_mode(&self, mode: Mode) {
        if let Some(session) = &self.lock().session {
            session.set_mode(mode);
        }
    }

    /// Checks a scenario; one named for a preset but set differently is custom.
    fn check(&self, scenario: Scenario) -> Result<Scenario, CommandError> {
        crate::scenario::plan(&scenario)?;
        Ok(crate::scenario::named_truly(scenario))
    }

    /// Stops the running session, if any, and starts a new one.
    fn begin(&self, scenario: Scenario, mode: Mode) -> std::io::Result<()> {
        let mut state = self.lock();
        if let Some(old) = state.session.take() {
            old.stop();
        }
        let id = state.next_id;
        state.next_id += 1;
        state.session = Some(Session::start(
            id,
            scenario,
            mode,
            self.capture.enabled,
            self.feed.clone(),
        )?);
        Ok(())
    }

    /// The current session's captured segments as a pcap file, if capture is on.
    pub fn pcap(&self) -> Option<Vec<u8>> {
        self.lock().session.as_ref().and_then(Session::pcap)
    }

    /// Why capture is on or off.
    pub fn capture_reason(&self) -> String {
        self.capture.reason.clone()
    }

    /// Counts a viewer in; how many watch now, or `None` if the room has
    /// ended (the viewer came too late). Taken under the same lock as
    /// [`Room::end_if_unwatched`], so a room never ends with a viewer in it.
    pub(crate) fn join(&self) -> Option<u32> {
        let mut since = crate::sync::lock(&self.unwatched_since);
        if self.ended() {
            return None;
        }
        let count = self.viewers.fetch_add(1, Ordering::SeqCst) + 1;
        *since = None;
        drop(since);
        self.feed.announce_viewers(count);
        Some(count)
    }

    /// Starts the unwatched clock again: a room just opened is given its
    /// whole idle time for its first viewer to arrive, however long its
    /// session took to start.
    pub(crate) fn unwatched_from_now(&self) {
        let mut since = crate::sync::lock(&self.unwatched_since);
        if self.viewers.load(Ordering::SeqCst) == 0 {
            *since = Some(Instant::now());
        }
    }

    /// Counts a viewer out; how many watch now.
    pub(crate) fn leave(&self) -> u32 {
        let mut since = crate::sync::lock(&self.unwatched_since);
        let count = self
            .viewers
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1);
        if count == 0 {
            *since = Some(Instant::now());
        }
        drop(since);
        self.feed.announce_viewers(count);
        count
    }

    /// Marks the room ended if nobody has watched it for at least `idle`;
    /// whether it did. Its session is still to be stopped ([`Room::shutdown`]).
    pub(crate) fn end_if_unwatched(&self, idle: Duration) -> bool {
        let since = crate::sync::lock(&self.unwatched_since);
        let unwatched =
            self.viewers.load(Ordering::SeqCst) == 0 && since.is_some_and(|t| t.elapsed() >= idle);
        if unwatched {
            self.ended.store(true, Ordering::SeqCst);
        }
        unwatched
    }

    /// Whether the room has ended (a viewer that finds it so must leave).
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Stops the running session, closing its sockets; the room has ended.
    pub fn shutdown(&self) {
        self.ended.store(true, Ordering::SeqCst);
        if let Some(session) = self.lock().session.take() {
            session.stop();
        }
        // Its sockets are gone: nothing more of the kernel's is for it.
        let follower = crate::sync::lock(&self.kernel).take();
        drop(follower);
    }
}
