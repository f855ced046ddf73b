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

/// Serves one viewer until it leaves or the connection fails.
pub async fn serve(
    stream: TcpStream,
    host: Arc<Host>,
    origins: Arc<OriginPolicy>,
    shutdown: Shutdown,
) -> Result<(), WsError> {
    #[allow(clippy::result_large_err)] // tungstenite's callback signature
    let ws = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |req: &_, resp| check_upgrade(req, resp, &origins),
        Some(ws_config()),
    )
    .await?;
    // Counted from the handshake until this function returns, however it ends.
    let _watching = Watching::join(host.clone());
    Viewer::new(ws, host).run(shutdown).await
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
}

impl Viewer {
    fn new(ws: Ws, host: Arc<Host>) -> Self {
        Viewer {
            ws,
            host,
            session: 0,
            next_seq: 0,
        }
    }

    async fn run(mut self, mut shutdown: Shutdown) -> Result<(), WsError> {
        let sub = self.host.feed().subscribe(None);
        let hello = RelayMessage::Hello(self.host.hello(sub.session.clone()));
        self.send(&hello).await?;
        let count = self.host.viewers.load(std::sync::atomic::Ordering::SeqCst);
        self.send(&RelayMessage::Viewers { count }).await?;
        let mut live = self.catch_up(sub, false).await?;
        loop {
            tokio::select! {
                _ = shutdown.recv() => {
                    let reason = "the relay is shutting down".to_owned();
                    return self.close(CloseCode::Away, reason).await;
                }
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
                        self.ws.send(Message::text(&*json)).await?;
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
                        return self.close(CloseCode::Size, reason).await;
                    }
                    Some(Err(err)) => return Err(err),
                },
            }
        }
    }

    /// Sends a subscription's history and makes its live side this viewer's.
    async fn catch_up(
        &mut self,
        sub: Subscription,
        resync: bool,
    ) -> Result<tokio::sync::broadcast::Receiver<Item>, WsError> {
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
            self.ws.send(Message::text(&**json)).await?;
            self.next_seq += 1;
        }
        Ok(sub.live)
    }

    /// This viewer fell behind the live feed: start again from the first
    /// event it has not had.
    async fn resync(&mut self) -> Result<tokio::sync::broadcast::Receiver<Item>, WsError> {
        let sub = self
            .host
            .feed()
            .subscribe(Some((self.session, self.next_seq)));
        self.catch_up(sub, true).await
    }

    async fn new_session(&mut self, info: SessionInfo) -> Result<(), WsError> {
        if info.id == self.session {
            return Ok(());
        }
        self.session = info.id;
        self.next_seq = 0;
        self.send(&RelayMessage::Session(info)).await
    }

    async fn command(&mut self, text: &str) -> Result<(), WsError> {
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
        // A reset waits for the old session's programs to end: not on the runtime's threads.
        let result = tokio::task::spawn_blocking(move || host.command(command)).await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => self.error(&err.to_string()).await,
            Err(err) => self.error(&format!("the command failed: {err}")).await,
        }
    }

    async fn error(&mut self, message: &str) -> Result<(), WsError> {
        self.send(&RelayMessage::Error {
            message: message.to_owned(),
        })
        .await
    }

    async fn send(&mut self, message: &RelayMessage) -> Result<(), WsError> {
        let json = serde_json::to_string(message).unwrap_or_else(|err| {
            format!(r#"{{"type":"error","message":"cannot encode a message: {err}"}}"#)
        });
        self.ws.send(Message::text(json)).await
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
