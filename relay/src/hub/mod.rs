//! The WebSocket hub: viewers connect at `/ws`, receive the session's history
//! and live events, and send commands. The same port serves the current
//! session as files (`/download/trace.jsonl`, `/download/trace.pcap`).
//!
//! [`run`] takes its listener and a shutdown future, so `main` passes ctrl-c
//! and tests pass a listener on port 0. Each connection is one task; a slow
//! or stalled viewer holds up only its own task (see [`crate::feed`]). When
//! the shutdown future completes, every task hears it (`shutdown.rs`): a
//! viewer's task closes its WebSocket with a close frame, wherever it was
//! (history, live events, a reset), and `run` waits for them.

mod download;
mod origin;
mod shutdown;
mod viewer;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

pub use download::{JSONL_PATH, PCAP_PATH};
pub use origin::{OriginPolicy, TRUNK_PORT};
use protocol::MAX_COMMAND_BYTES;
use shutdown::{Shutdown, Trigger};
use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use tokio_tungstenite::tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    http::StatusCode,
    protocol::WebSocketConfig,
};

use crate::host::Host;

/// The kernel send buffer of each viewer's connection, in bytes.
pub const VIEWER_SEND_BUFFER: usize = 256 * 1024;

/// The path of the WebSocket.
pub const WS_PATH: &str = "/ws";

/// How long, once `shutdown` completes, [`run`] waits for its viewers to
/// take their close frames and end.
pub const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

/// Accepts viewers on `listener` until `shutdown` completes; then sends each
/// viewer a close frame and waits for every connection's task to end (at
/// most [`CLOSE_PATIENCE`]).
///
/// Every viewer past its WebSocket handshake is sent the close frame,
/// whatever its task was waiting for: sending it the history, live events,
/// or a reset. Only these are cut off without one: a connection still in
/// its handshake or not yet past its request (it is dropped at once), and a
/// viewer that cannot take the frame within [`CLOSE_PATIENCE`] because it
/// stopped reading and its connection is full. A download already being
/// written is written out within the same patience.
pub async fn run(
    listener: TcpListener,
    host: Arc<Host>,
    origins: OriginPolicy,
    shutdown: impl Future<Output = ()>,
) {
    let origins = Arc::new(origins);
    let trigger = Trigger::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            // Ended connections, collected as they end, so the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = connection(stream, peer, host.clone(), origins.clone(), trigger.subscribe());
                    connections.spawn(connection);
                }
                // Out of file descriptors and the like: say so, and keep serving.
                Err(err) => {
                    tracing::warn!("cannot accept a viewer: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    // No new viewers; every connected one is told, and waited for.
    drop(listener);
    trigger.fire();
    let all_ended = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(CLOSE_PATIENCE, all_ended)
        .await
        .is_err()
    {
        tracing::warn!(
            "{} viewer connections did not end within {CLOSE_PATIENCE:?}; cutting them off",
            connections.len()
        );
        connections.abort_all();
    }
}

/// One connection: a download, or a viewer until it leaves or the hub stops.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    host: Arc<Host>,
    origins: Arc<OriginPolicy>,
    mut shutdown: Shutdown,
) {
    // Bounds what the kernel buffers for a viewer that stops
    // reading; past it, that viewer's task waits, not the session.
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(VIEWER_SEND_BUFFER);
    match download::serve_plain_http(&mut stream, &host, &mut shutdown).await {
        Ok(true) => return,
        Ok(false) => {}
        Err(err) => {
            tracing::info!("{peer}: {err}");
            return;
        }
    }
    if let Err(err) = viewer::serve(stream, host, origins, shutdown).await {
        tracing::info!("viewer {peer}: {err}");
    }
}

/// The limits every viewer's connection runs under.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_COMMAND_BYTES))
        .max_frame_size(Some(MAX_COMMAND_BYTES))
}

/// Checks an upgrade request's path and origin before the handshake completes.
// The result type is tungstenite's handshake callback's, large error and all.
#[allow(clippy::result_large_err)]
fn check_upgrade(
    request: &Request,
    response: Response,
    origins: &OriginPolicy,
) -> Result<Response, ErrorResponse> {
    if request.uri().path() != WS_PATH {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("tcpstep relay: the WebSocket is at {WS_PATH}"),
        ));
    }
    let origin = request
        .headers()
        .get("origin")
        .map(|v| v.to_str().unwrap_or("(not text)"));
    if !origins.allows(origin) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            format!(
                "tcpstep relay: pages from {} may not drive this relay; start it with --allow-origin {} to allow them",
                origin.unwrap_or_default(),
                origin.unwrap_or_default()
            ),
        ));
    }
    Ok(response)
}

fn refuse(status: StatusCode, text: String) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(text));
    *response.status_mut() = status;
    response
}
