//! One viewer's connection to a room: hello, history, live events;
//! commands back.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use protocol::{Command, RelayMessage, SessionInfo};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::{error::CapacityError, Error as WsError};

use super::{shutdown::Shutdown, Aim};
use crate::{
    feed::{Item, Subscription},
    rooms::{Room, RoomError, Rooms},
};

/// How long a closing viewer's close frame is waited for.
const CLOSE_REPLY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// The reason a viewer's close frame gives when the relay stops.
const SHUTTING_DOWN: &str = "the relay is shutting down";

/// Close codes (RFC 6455 section 7.4).
mod code {
    /// The relay is going away.
    pub const AWAY: u16 = 1001;
    /// A message over the size limit.
    pub const SIZE: u16 = 1009;
    /// No such session (4000-4999 are the application's own): HTTP's 404.
    pub const NO_SUCH_SESSION: u16 = 4404;
    /// A session could not be started (the limit, a malformed id).
    pub const CANNOT_OPEN: u16 = 4429;
}

/// Serves one viewer of the room `aim` names until it leaves, the
/// connection fails or the hub stops.
///
/// With `?open=SCENARIO`, a session `ID` that does not run yet is started
/// first. A room that does not exist (or has ended) is said in an `error`
/// message and a close frame with code 4404 and the same words (shortened
/// to fit), so a page can show why; one that cannot be started, with code
/// 4429. From the hello on, the viewer gets a close frame
/// wherever its task waits when the hub stops: sending the history, in the
/// live loop, or waiting for a reset (see [`Viewer::run`]).
pub async fn serve(ws: WebSocket, rooms: Arc<Rooms>, aim: Aim, shutdown: Shutdown) {
    let found = match (rooms.find(aim.session.as_deref()), &aim.session, &aim.open) {
        (Err(RoomError::NoSuchRoom(..)), Some(id), Some(scenario)) => {
            open_at(rooms.clone(), id.clone(), scenario.clone()).await
        }
        (found, _, _) => found,
    };
    let mut viewer = Viewer {
        ws,
        room: None,
        rooms,
        aim,
        session: 0,
        next_seq: 0,
        shutdown,
    };
    let result = match found {
        Ok(room) => viewer.run(room).await,
        Err(err) => {
            let why = err.to_string();
            let code = match err {
                RoomError::NoSuchRoom(..) => code::NO_SUCH_SESSION,
                _ => code::CANNOT_OPEN,
            };
            let closing = Stop::Close(code, why.clone());
            let _ = viewer.error(&why).await;
            viewer.close(closing).await
        }
    };
    if let Err(err) = result {
        tracing::info!("a viewer's connection failed: {err}");
    }
}

/// Starts the private room `id` running `scenario` (the class room's own
/// scenario if it has that name, else the preset of that name, else the
/// class room's), off the runtime's threads.
async fn open_at(rooms: Arc<Rooms>, id: String, scenario: String) -> Result<Arc<Room>, RoomError> {
    let started = tokio::task::spawn_blocking(move || {
        let class = rooms.class().feed().session().scenario;
        let scenario = match protocol::Scenario::preset(&scenario) {
            _ if class.name == scenario => class,
            Some(preset) => preset,
            None => class,
        };
        rooms.open_at(&id, scenario)
    });
    started
        .await
        .unwrap_or_else(|err| Err(RoomError::Start(std::io::Error::other(err.to_string()))))
}

/// Why serving a viewer stopped before the viewer left.
enum Stop {
    /// The connection failed.
    Failed(axum::Error),
    /// The viewer is to be sent a close frame: the hub is stopping, or the
    /// viewer broke a limit, or its room is not there.
    Close(u16, String),
}

impl From<axum::Error> for Stop {
    fn from(err: axum::Error) -> Self {
        Stop::Failed(err)
    }
}

impl Stop {
    fn shutting_down() -> Stop {
        Stop::Close(code::AWAY, SHUTTING_DOWN.to_owned())
    }
}

/// One viewer counted among a room's watchers, until dropped.
struct Watching(Arc<Room>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.leave();
    }
}

struct Viewer {
    ws: WebSocket,
    rooms: Arc<Rooms>,
    /// The room this viewer watches, once it has joined.
    room: Option<Arc<Room>>,
    aim: Aim,
    /// The session this viewer is watching, and the next event it expects:
    /// anything else from the live feed is a repeat or a sign of a gap.
    session: u64,
    next_seq: u64,
    shutdown: Shutdown,
}

impl Viewer {
    /// Serves the viewer in `room`; if the hub stops, sends it a close
    /// frame saying so.
    ///
    /// Every wait listens for the hub stopping: each send (a long history to
    /// a slow viewer can take a while), the live loop, and a reset's wait
    /// for the old session to end (up to seconds; the reset itself goes on).
    async fn run(mut self, room: Arc<Room>) -> Result<(), axum::Error> {
        // Counted from here until this function returns, however it ends.
        let Some(_) = room.join() else {
            // Ended between finding it and joining it.
            let why = crate::rooms::RoomError::NoSuchRoom(
                self.aim.session.clone().unwrap_or_default(),
                crate::rooms::Wait(self.rooms.config().idle),
            )
            .to_string();
            let _ = self.error(&why).await;
            return self.close(Stop::Close(code::NO_SUCH_SESSION, why)).await;
        };
        let _watching = Watching(room.clone());
        self.room = Some(room);
        match self.serve().await {
            Ok(()) => Ok(()),
            Err(Stop::Failed(err)) => Err(err),
            Err(closing) => self.close(closing).await,
        }
    }

    fn room(&self) -> &Arc<Room> {
        self.room.as_ref().expect("serve runs in a room")
    }

    async fn serve(&mut self) -> Result<(), Stop> {
        let room = self.room().clone();
        let sub = room.feed().subscribe(None);
        let mut hello = room.hello(sub.session.clone());
        let key = self.aim.key.as_deref();
        let info = self.rooms.info(self.aim.session.as_deref(), &room, key);
        let wrong_key = key.is_some() && room.has_presenter() && !info.drives;
        hello.room = Some(info);
        self.send(&RelayMessage::Hello(hello)).await?;
        let count = room.viewers.load(std::sync::atomic::Ordering::SeqCst);
        self.send(&RelayMessage::Viewers { count }).await?;
        if wrong_key {
            self.error(
                "the presenter key in this link is wrong: you watch the class session without \
                 driving it. Ask the presenter for the link again, or press \"Try it myself\"",
            )
            .await?;
        }
        let mut live = self.catch_up(sub, false).await?;
        loop {
            tokio::select! {
                _ = self.shutdown.recv() => return Err(Stop::shutting_down()),
                item = live.recv() => match item {
                    Ok(Item::Session(info)) => self.new_session(info).await?,
                    Ok(Item::Viewers(count)) => self.send(&RelayMessage::Viewers { count }).await?,
                    Ok(Item::Event { session, seq, json }) => {
                        if session != self.session || seq < self.next_seq {
                            continue; // already sent, from history
                        }
                        if seq > self.next_seq {
                            live = self.resync().await?;
                            continue;
                        }
                        self.send_text(&json).await?;
                        self.next_seq += 1;
                    }
                    Err(RecvError::Lagged(_)) => live = self.resync().await?,
                    Err(RecvError::Closed) => return Ok(()),
                },
                incoming = self.ws.next() => match incoming {
                    None => return Ok(()),
                    Some(Ok(Message::Close(_))) => {
                        self.answer_close().await;
                        return Ok(());
                    }
                    Some(Ok(Message::Text(text))) => self.command(text.as_str()).await?,
                    Some(Ok(Message::Binary(_))) => {
                        self.error("binary frames are not accepted: send a JSON command as a text frame").await?;
                    }
                    Some(Ok(_)) => {} // ping and pong: tungstenite answers pings itself
                    Some(Err(err)) => return Err(too_long(err)),
                },
            }
        }
    }

    /// The viewer closed politely: its close frame is answered at once (the
    /// reply tungstenite queued goes out with the flush), and the
    /// connection is read to its end, so the viewer's closing handshake
    /// completes rather than waiting out its own timeout.
    async fn answer_close(&mut self) {
        let _ = self.ws.flush().await;
        let drained = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(CLOSE_REPLY_PATIENCE, drained).await;
    }

    /// Sends a subscription's history and makes its live side this viewer's.
    async fn catch_up(
        &mut self,
        sub: Subscription,
        resync: bool,
    ) -> Result<tokio::sync::broadcast::Receiver<Item>, Stop> {
        if sub.session.id != self.session {
            if self.session != 0 {
                self.send(&RelayMessage::Session(sub.session.clone()))
                    .await?;
            }
            self.session = sub.session.id;
        } else if resync {
            self.send(&RelayMessage::Resync {
                from_seq: sub.first_seq,
            })
            .await?;
        }
        self.next_seq = sub.first_seq;
        for json in &sub.history {
            self.send_text(json).await?;
            self.next_seq += 1;
        }
        Ok(sub.live)
    }

    /// This viewer fell behind the live feed: start again from the first
    /// event it has not had.
    async fn resync(&mut self) -> Result<tokio::sync::broadcast::Receiver<Item>, Stop> {
        let sub = self
            .room()
            .feed()
            .subscribe(Some((self.session, self.next_seq)));
        self.catch_up(sub, true).await
    }

    async fn new_session(&mut self, info: SessionInfo) -> Result<(), Stop> {
        if info.id == self.session {
            return Ok(());
        }
        self.session = info.id;
        self.next_seq = 0;
        self.send(&RelayMessage::Session(info)).await
    }

    async fn command(&mut self, text: &str) -> Result<(), Stop> {
        let command: Command = match serde_json::from_str(text) {
            Ok(command) => command,
            Err(err) => {
                return self
                    .error(&format!(
                        "not a command ({err}); expected JSON such as {{\"command\":\"step\"}}"
                    ))
                    .await
            }
        };
        let room = self.room().clone();
        let rooms = self.rooms.clone();
        let key = self.aim.key.clone();
        // A reset waits for the old session's programs to end, and opening a
        // room for its session to start: not on the runtime's threads, and
        // not in the way of the hub stopping.
        let carried_out =
            tokio::task::spawn_blocking(move || -> Result<Option<RelayMessage>, String> {
                match command {
                    Command::Open => {
                        let scenario = room.feed().session().scenario;
                        let (id, _) = rooms.open(scenario).map_err(|e| e.to_string())?;
                        Ok(Some(RelayMessage::Opened { room: id }))
                    }
                    Command::Rooms { ids } => Ok(Some(RelayMessage::Rooms {
                        rooms: rooms.summaries(&ids),
                    })),
                    command => room
                        .command_as(key.as_deref(), command)
                        .map(|()| None)
                        .map_err(|e| e.to_string()),
                }
            });
        let result = tokio::select! {
            _ = self.shutdown.recv() => return Err(Stop::shutting_down()),
            result = carried_out => result,
        };
        match result {
            Ok(Ok(None)) => Ok(()),
            Ok(Ok(Some(answer))) => self.send(&answer).await,
            Ok(Err(why)) => self.error(&why).await,
            Err(err) => self.error(&format!("the command failed: {err}")).await,
        }
    }

    async fn error(&mut self, message: &str) -> Result<(), Stop> {
        self.send(&RelayMessage::Error {
            message: message.to_owned(),
        })
        .await
    }

    async fn send(&mut self, message: &RelayMessage) -> Result<(), Stop> {
        let json = serde_json::to_string(message).unwrap_or_else(|err| {
            format!(r#"{{"type":"error","message":"cannot encode a message: {err}"}}"#)
        });
        self.send_text(&json).await
    }

    /// Sends one text frame, unless the hub stops first: a viewer that
    /// reads slowly holds a send up, and must not hold up its close frame.
    /// A frame cut short stays whole: tungstenite keeps what it took of it,
    /// and the close frame goes after.
    async fn send_text(&mut self, json: &str) -> Result<(), Stop> {
        tokio::select! {
            _ = self.shutdown.recv() => Err(Stop::shutting_down()),
            sent = self.ws.send(Message::text(json)) => Ok(sent?),
        }
    }

    /// Sends a close frame and waits (briefly) for the viewer's own, so the
    /// closing handshake completes and the viewer learns why.
    async fn close(mut self, stop: Stop) -> Result<(), axum::Error> {
        let (code, reason) = match stop {
            Stop::Failed(err) => return Err(err),
            Stop::Close(code, reason) => (code, reason),
        };
        let frame = CloseFrame {
            code,
            reason: fit_close_reason(&reason).into(),
        };
        self.ws.send(Message::Close(Some(frame))).await?;
        let replied = async {
            while let Some(Ok(message)) = self.ws.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_REPLY_PATIENCE, replied).await;
        Ok(())
    }
}

/// A message over the limit closes the connection with code 1009, naming
/// both sizes; any other error ends it.
fn too_long(err: axum::Error) -> Stop {
    let inner = err.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
            let reason = format!("message of {size} bytes is over the limit of {max_size}");
            Stop::Close(code::SIZE, reason)
        }
        _ => Stop::Failed(axum::Error::new(inner)),
    }
}

/// A close frame's reason holds at most 123 bytes (RFC 6455 section 5.5):
/// longer words are cut at a character boundary, with an ellipsis.
fn fit_close_reason(reason: &str) -> String {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason.to_owned();
    }
    let mut end = MAX - '…'.len_utf8();
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &reason[..end])
}
