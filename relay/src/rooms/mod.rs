//! The rooms: the class session and the private sessions beside it.
//!
//! A relay keeps one **class session**, what `/` and `/ws` open, as a relay
//! always has, and any viewer may start a **private session** of their own
//! ([`Rooms::open`]), joined by whoever holds its id (`?session=ID`): a
//! link passed on opens the same session. Each room ([`Room`]) has its own
//! session, feed and viewers; a step or a reset in one is never seen in
//! another.
//!
//! What bounds them, said to whoever meets it ([`RoomError`]): at most
//! [`RoomsConfig::max_sessions`] rooms at once, the class one included, and
//! a private room nobody has watched for [`RoomsConfig::idle`] ends by
//! itself ([`Rooms::end_unwatched`], which the hub calls now and then).
//! Each room's history is bounded as every session's is
//! ([`crate::feed::MAX_EVENTS`]).
//!
//! With a presenter key ([`RoomsConfig::presenter`]) only viewers holding
//! it drive the class room; everyone else watches it and may open a private
//! room of the same scenario ("try it myself").

mod room;
pub mod secret;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

pub use room::{CommandError, Room};

use protocol::{RoomInfo, RoomSummary};

/// How many sessions a relay runs at once by default, the class one
/// included. A session holds a thread per program, a prober, a capture
/// handle and its sockets, and uses a core only while it plays; on the
/// 2 cores this relay is written for, 16 sessions stepped by hand (or a few
/// playing) keep every viewer's step answered within a frame, while a class
/// of 30 working in pairs opens about 15. Past it, a viewer is told the
/// limit and to join the class session or wait; a larger class needs a
/// larger machine or more relays (see the README).
pub const DEFAULT_MAX_SESSIONS: u32 = 16;

/// How long a private session with nobody watching lasts by default: long
/// enough to reload a page, lose the network a moment or follow a link into
/// another tab; short enough that a class's abandoned sessions free their
/// places within a lesson.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(5 * 60);

/// The rooms' limits and the presenter's key.
#[derive(Debug, Clone)]
pub struct RoomsConfig {
    /// The most rooms at once, the class room included (at least 1).
    pub max_sessions: u32,
    /// How long a private room lasts with nobody watching.
    pub idle: Duration,
    /// If set, only viewers holding this key drive the class room.
    pub presenter: Option<String>,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        RoomsConfig {
            max_sessions: DEFAULT_MAX_SESSIONS,
            idle: DEFAULT_IDLE,
            presenter: None,
        }
    }
}

/// Why a viewer could not join or open a room: said to that viewer, with
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error(
        "there is no session {0}: it has ended (a private session ends once nobody has watched \
         it for {1}) or never existed. The class session is at the page's address without \
         ?session=; start a session of your own there"
    )]
    NoSuchRoom(String, Wait),
    #[error(
        "cannot start a session of your own: this relay already runs {0} sessions, its limit \
         (relay serve --max-sessions {0}). Join the class session, or try again when one ends \
         (a private session nobody watches ends after {1})"
    )]
    Full(u32, Wait),
    #[error("cannot start a session of your own: {0}")]
    Start(std::io::Error),
    #[error(
        "cannot start a session of your own under that id: an id is {0} letters and digits \
         (lowercase, no 0, 1, i, l or o); the page makes one when you press the button"
    )]
    BadId(usize),
}

/// A duration as a person reads it: "5 min", "90 s".
#[derive(Debug, Clone, Copy)]
pub struct Wait(pub Duration);

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.as_secs();
        if s == 0 {
            write!(f, "{} ms", self.0.as_millis())
        } else if s >= 60 && s % 60 == 0 {
            write!(f, "{} min", s / 60)
        } else {
            write!(f, "{s} s")
        }
    }
}

pub struct Rooms {
    class: Arc<Room>,
    private: Mutex<Private>,
    config: RoomsConfig,
}

struct Private {
    rooms: HashMap<String, Arc<Room>>,
    /// Rooms being started, counted against the limit while they start.
    starting: u32,
}

impl Rooms {
    /// The rooms around `class`, the class room; private rooms are made
    /// like it (capture, buffering). The presenter key, if any, is set on
    /// `class`.
    pub fn new(class: Arc<Room>, config: RoomsConfig) -> Arc<Rooms> {
        if let Some(key) = &config.presenter {
            class.set_presenter(key.clone());
        }
        Arc::new(Rooms {
            class,
            private: Mutex::new(Private {
                rooms: HashMap::new(),
                starting: 0,
            }),
            config: RoomsConfig {
                max_sessions: config.max_sessions.max(1),
                ..config
            },
        })
    }

    fn lock(&self) -> MutexGuard<'_, Private> {
        crate::sync::lock(&self.private)
    }

    pub fn config(&self) -> &RoomsConfig {
        &self.config
    }

    /// The class room.
    pub fn class(&self) -> &Arc<Room> {
        &self.class
    }

    /// The room `id` names: the class room for `None`, `""` or
    /// [`RoomInfo::CLASS`], else a private room that still runs.
    pub fn find(&self, id: Option<&str>) -> Result<Arc<Room>, RoomError> {
        match id {
            None | Some("") | Some(RoomInfo::CLASS) => Ok(self.class.clone()),
            Some(id) => self
                .lock()
                .rooms
                .get(id)
                .filter(|room| !room.ended())
                .cloned()
                .ok_or_else(|| {
                    // Only an id that could be ours is repeated back.
                    let shown = if secret::well_formed(id, secret::ID_LEN) {
                        id.to_owned()
                    } else {
                        "of that id".to_owned()
                    };
                    RoomError::NoSuchRoom(shown, Wait(self.config.idle))
                }),
        }
    }

    /// Starts a private room running `scenario`, paused, under a new id;
    /// the id and the room. Refused past the limit. Blocks while the
    /// session starts.
    pub fn open(&self, scenario: protocol::Scenario) -> Result<(String, Arc<Room>), RoomError> {
        let id = secret::random_name(secret::ID_LEN).map_err(RoomError::Start)?;
        let room = self.open_at(&id, scenario)?;
        Ok((id, room))
    }

    /// The private room `id`, started (running `scenario`, paused) if it
    /// does not run yet: the page names a new session itself, so that a
    /// load balancer with affinity on the id sends it to the relay that
    /// will hold it (see the README, "Past one machine"). `id` must be
    /// [`secret::ID_LEN`] letters of the ids' alphabet; the page draws them
    /// from the browser's cryptographic random source. Refused past the
    /// limit. Blocks while the session starts.
    pub fn open_at(&self, id: &str, scenario: protocol::Scenario) -> Result<Arc<Room>, RoomError> {
        if !secret::well_formed(id, secret::ID_LEN) {
            return Err(RoomError::BadId(secret::ID_LEN));
        }
        {
            let mut private = self.lock();
            if let Some(room) = private.rooms.get(id).filter(|r| !r.ended()) {
                return Ok(room.clone());
            }
            // The class room counts too.
            let running = 1 + private.rooms.len() as u32 + private.starting;
            if running >= self.config.max_sessions {
                return Err(RoomError::Full(
                    self.config.max_sessions,
                    Wait(self.config.idle),
                ));
            }
            private.starting += 1;
        }
        let started = self.class.sibling(scenario);
        let mut private = self.lock();
        private.starting -= 1;
        let room = started.map_err(RoomError::Start)?;
        // Two viewers opened the same new id at once: the first one's stands.
        if let Some(first) = private.rooms.get(id).filter(|r| !r.ended()).cloned() {
            drop(private);
            room.shutdown();
            return Ok(first);
        }
        room.unwatched_from_now();
        private.rooms.insert(id.to_owned(), room.clone());
        Ok(room)
    }

    /// What a viewer of `room` (at `id`) holding `key` learns of it.
    pub fn info(&self, id: Option<&str>, room: &Room, key: Option<&str>) -> RoomInfo {
        RoomInfo {
            id: match id {
                None | Some("") => RoomInfo::CLASS.to_owned(),
                Some(id) => id.to_owned(),
            },
            drives: room.drives(key),
            presenter: self.class.has_presenter(),
            max_sessions: self.config.max_sessions,
            idle_end_s: self.config.idle.as_secs(),
        }
    }

    /// The class room, then each of `ids` that names a private room still
    /// running, once each. Only rooms asked for by id are listed: an id is
    /// what lets one into a private room, so the relay hands none out.
    pub fn summaries(&self, ids: &[String]) -> Vec<RoomSummary> {
        let summary = |id: &str, room: &Room| RoomSummary {
            id: id.to_owned(),
            scenario: room.feed().session().scenario.name,
            viewers: room.viewers.load(std::sync::atomic::Ordering::SeqCst),
        };
        let mut list = vec![summary(RoomInfo::CLASS, &self.class)];
        let found: Vec<(String, Arc<Room>)> = {
            let private = self.lock();
            ids.iter()
                .filter_map(|id| Some((id.clone(), private.rooms.get(id)?.clone())))
                .collect()
        };
        for (id, room) in found {
            if !list.iter().any(|s| s.id == id) {
                list.push(summary(&id, &room));
            }
        }
        list
    }

    /// How many rooms run, the class room included.
    pub fn len(&self) -> usize {
        1 + self.lock().rooms.len()
    }

    /// Never: the class room is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Ends every private room nobody has watched for the configured idle
    /// time, closing its sockets; how many ended. Blocks while they stop.
    pub fn end_unwatched(&self) -> usize {
        let idle = self.config.idle;
        let ended: Vec<Arc<Room>> = {
            let mut private = self.lock();
            let gone: Vec<String> = private
                .rooms
                .iter()
                .filter(|(_, room)| room.end_if_unwatched(idle))
                .map(|(id, _)| id.clone())
                .collect();
            gone.iter()
                .filter_map(|id| private.rooms.remove(id))
                .collect()
        };
        for room in &ended {
            room.shutdown();
        }
        ended.len()
    }

    /// Ends every room, the class room too, closing their sockets.
    pub fn shutdown(&self) {
        let private: Vec<Arc<Room>> = self.lock().rooms.drain().map(|(_, r)| r).collect();
        for room in private {
            room.shutdown();
        }
        self.class.shutdown();
    }
}
