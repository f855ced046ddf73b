//! The host: owns the running session and carries out viewers' commands.
//!
//! There is one session at a time, shared by every viewer. Commands from any
//! viewer act on it; what they change reaches every viewer through the feed.

use std::sync::{Arc, Mutex, MutexGuard};

use protocol::{
    Actor, CaptureStatus, Command, Hello, Mode, Scenario, SessionInfo, PROTOCOL_VERSION,
};

use crate::{feed::Feed, session::Session};

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
}

pub struct Host {
    /// How many viewers are connected (the hub counts them).
    pub viewers: std::sync::atomic::AtomicU32,
    feed: Arc<Feed>,
    capture: CaptureStatus,
    state: Mutex<State>,
}

struct State {
    session: Option<Session>,
    next_id: u64,
}

impl Host {
    /// Starts the first session of `scenario`, paused. A viewer may fall
    /// `live_buffer` events behind before it must resynchronise
    /// ([`crate::feed::LIVE_BUFFER`] is the relay's choice).
    pub fn start(
        scenario: Scenario,
        capture: CaptureStatus,
        live_buffer: usize,
    ) -> std::io::Result<Arc<Host>> {
        Host::start_in(scenario, Mode::Paused, capture, live_buffer)
    }

    /// [`Host::start`] in `mode`, which resets keep. Play with no delay
    /// (`interval_ms: 0`), which viewers cannot ask for, is for benchmarks.
    pub fn start_in(
        scenario: Scenario,
        mode: Mode,
        capture: CaptureStatus,
        live_buffer: usize,
    ) -> std::io::Result<Arc<Host>> {
        let placeholder = SessionInfo {
            id: 0,
            scenario: scenario.clone(),
            server_addr: String::new(),
            mode: Mode::Paused,
        };
        let host = Arc::new(Host {
            viewers: std::sync::atomic::AtomicU32::new(0),
            feed: Arc::new(Feed::new(placeholder, live_buffer)),
            capture,
            state: Mutex::new(State {
                session: None,
                next_id: 1,
            }),
        });
        host.begin(scenario, mode)?;
        Ok(host)
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
        hello(self.capture.clone(), self.scenarios(), session)
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
        }
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

    /// Stops the running session, closing its sockets.
    pub fn shutdown(&self) {
        if let Some(session) = self.lock().session.take() {
            session.stop();
        }
    }
}

/// A hello, the one way the relay makes one: for a live session (above)
/// and for a recorded one (`record`).
pub(crate) fn hello(
    capture: CaptureStatus,
    scenarios: Vec<Scenario>,
    session: SessionInfo,
) -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        relay_version: env!("CARGO_PKG_VERSION").to_owned(),
        capture,
        scenarios,
        session,
        sources: crate::pair::sources(),
        ephemeral_ports: ephemeral_ports(),
        sandbox: crate::sandbox::status(),
    }
}

/// Where this machine's kernel picks a client's port from when the client
/// connects without binding, as `/proc/sys/net/ipv4/ip_local_port_range`
/// says; `None` where it cannot be read (the page then names Linux's default).
fn ephemeral_ports() -> Option<protocol::PortRange> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    protocol::PortRange::parse(&text)
}
