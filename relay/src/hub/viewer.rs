//! One viewer's connection: hello, history, live events; commands back.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use protocol::{Command, RelayMessage, SessionInfo};
use tokio::{net::TcpStream, sync::broadcast::error::RecvError};
use tokio_tungstenite::{
    tungstenite::{
        error::CapacityError,
        protocol::{frame::coding::CloseCode, CloseFrame},
        Error as WsError, Message,
    },
    WebSocketStream,
};

use super::{check_upgrade, shutdown::Shutdown, ws_config, OriginPolicy};
use crate::{
    feed::{Item, Subscription},
    host::Host,
};

type Ws = WebSocketStream<TcpStream>;

/// How long a closing viewer's close frame is waited for.
const CLOSE_REPLY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// The reason a viewer's close frame gives when the relay stops.
const SHUTTING_DOWN: &str = "the relay is shutting down";

/// Serves one viewer until it leaves, the connection fails or the hub stops.
///
/// A hub that stops during the handshake drops the connection: there is no
/// WebSocket yet to send a close frame on. From the handshake on, the viewer
/// gets one wherever its task waits: sending the history, in the live loop,
/// or waiting for a reset (see [`Viewer::run`]).
pub async fn serve(
    stream: TcpStream,
    host: Arc<Host>,
    origins: Arc<OriginPolicy>,
    mut shutdown: Shutdown,
) -> Result<(), WsError> {
    #[allow(clippy::result_large_err)] // tungstenite's callback signature
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |req: &_, resp| check_upgrade(req, resp, &origins),
        Some(ws_config()),
    );
    let ws = tokio::select! {
        _ = shutdown.recv() => return Ok(()),
        ws = handshake => ws?,
    };
    // Counted from the handshake until this function returns, however it ends.
    let _watching = Watching::join(host.clone());
    Viewer::new(ws, host, shutdown).run().await
}

/// Why serving a viewer stopped before the viewer left.
enum Stop {
    /// The connection failed.
    Failed(WsError),
    /// The viewer is to be sent a close frame: the hub is stopping, or the
    /// viewer broke a limit.
    Close(CloseCode, String),
}

impl From<WsError> for Stop {
    fn from(err: WsError) -> Self {
        Stop::Failed(err)
    }
}

impl Stop {
    fn shutting_down() -> Stop {
        Stop::Close(CloseCode::Away, SHUTTING_DOWN.to_owned())
    }
}

/// One viewer counted among those watching.
struct Watching(Arc<Host>);

impl Watching {
    fn join(host: Arc<Host>) -> Watching {
        let count = host
            .viewers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        host.feed().announce_viewers(count);
        Watching(host)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let count = self
            .0
            .viewers
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            - 1;
        self.0.feed().announce_viewers(count);
    }
}

struct Viewer {
    ws: Ws,
    host: Arc<Host>,
    /// The session this viewer is watching, and the next event it expects:
    /// anything else from the live feed is a repeat or a sign of a gap.
    session: u64,
    next_seq: u64,
    shutdown: Shutdown,
}

impl Viewer {
    fn new(ws: Ws, host: Arc<Host>, shutdown: Shutdown) -> Self {
        Viewer {
            ws,
            host,
            session: 0,
            next_seq: 0,
            shutdown,
        }
    }

    /// Serves the viewer; if the hub stops, sends it a close frame saying so.
    ///
    /// Every wait listens for the hub stopping: each send (a long history to
    /// a slow viewer can take a while), the live loop, and a reset's wait
    /// for the old session to end (up to seconds; the reset itself goes on).
    async fn run(mut self) -> Result<(), WsError> {
        match self.serve().await {
            Ok(()) => Ok(()),
            Err(Stop::Failed(err)) => Err(err),
            Err(Stop::Close(code, reason)) => self.close(code, reason).await,
        }
    }

    async fn serve(&mut self) -> Result<(), Stop> {
        let sub = self.host.feed().subscribe(None);
        let hello = RelayMessage::Hello(self.host.hello(sub.session.clone()));
        self.send(&hello).await?;
        let count = self.host.viewers.load(std::sync::atomic::Ordering::SeqCst);
        self.send(&RelayMessage::Viewers { count }).await?;
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
                    None | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Ok(Message::Text(text))) => self.command(text.as_str()).await?,
                    Some(Ok(Message::Binary(_))) => {
                        self.error("binary frames are not accepted: send a JSON command as a text frame").await?;
                    }
                    Some(Ok(_)) => {} // ping and pong: tungstenite answers pings itself
                    Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                        let reason = format!("message of {size} bytes is over the limit of {max_size}");
                        return Err(Stop::Close(CloseCode::Size, reason));
                    }
                    Some(Err(err)) => return Err(err.into()),
                },
            }
        }
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
            .host
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
        let host = self.host.clone();
        // A reset waits for the old session's programs to end: not on the
        // runtime's threads, and not in the way of the hub stopping.
        let carried_out = tokio::task::spawn_blocking(move || host.command(command));
        let result = tokio::select! {
            _ = self.shutdown.recv() => return Err(Stop::shutting_down()),
            result = carried_out => result,
        };
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => self.error(&err.to_string()).await,
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
    async fn close(mut self, code: CloseCode, reason: String) -> Result<(), WsError> {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        self.ws.close(Some(frame)).await?;
        let replied = async {
            while let Some(Ok(message)) = self.ws.next().await {
                if message.is_close() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_REPLY_PATIENCE, replied).await;
        Ok(())
    }
}
