//! The hub: the relay's HTTP side, served with axum. Viewers connect to a
//! room's WebSocket (`/ws` for the class session, `/ws?session=ID` for a
//! private one), receive its history and live events, and send commands;
//! the same port serves each room's session as files
//! (`/download/trace.jsonl?session=ID`, `/download/trace.pcap?session=ID`).
//!
//! [`run`] takes its listener and a shutdown future, so `main` passes ctrl-c
//! and tests pass a listener on port 0. Every request passes the Host check
//! (against DNS rebinding) and every WebSocket upgrade the Origin check
//! ([`OriginPolicy`]). Each viewer is one task; a slow or stalled viewer
//! holds up only its own task (see [`crate::feed`]). When the shutdown
//! future completes, every task hears it (`shutdown.rs`): a viewer's task
//! closes its WebSocket with a close frame, wherever it was (history, live
//! events, a reset), and `run` waits for them.

mod download;
mod listener;
mod origin;
mod shutdown;
mod viewer;

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Query, Request, State, WebSocketUpgrade},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
pub use download::{JSONL_PATH, PCAP_PATH};
pub use listener::FIRST_BYTE_PATIENCE;
pub use origin::{OriginPolicy, TRUNK_PORT};
use protocol::MAX_COMMAND_BYTES;
use shutdown::Trigger;
use tokio::{net::TcpListener, task::JoinSet};

use crate::rooms::Rooms;

/// The kernel send buffer of each viewer's connection, in bytes.
pub const VIEWER_SEND_BUFFER: usize = 256 * 1024;

/// The path of the WebSocket.
pub const WS_PATH: &str = "/ws";

/// How long, once `shutdown` completes, [`run`] waits for its viewers to
/// take their close frames and end.
pub const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

/// Where a request is aimed: `?session=ID` (none: the class session), the
/// presenter's `?key=KEY`, and `?open=SCENARIO` to start session `ID` (of
/// that scenario: the class session's own if it has that name, else the
/// preset) if it does not run yet.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub(crate) struct Aim {
    pub session: Option<String>,
    pub key: Option<String>,
    pub open: Option<String>,
}

/// What every route shares.
#[derive(Clone)]
struct Hub {
    rooms: Arc<Rooms>,
    origins: Arc<OriginPolicy>,
    trigger: Arc<Trigger>,
    /// The viewers' tasks, so that stopping can wait for them (and cut off
    /// those that outstay [`CLOSE_PATIENCE`]).
    viewers: Arc<Mutex<JoinSet<()>>>,
}

impl Hub {
    /// Runs a viewer's task among the others; forgets the ended ones.
    fn spawn_viewer(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut viewers = crate::sync::lock(&self.viewers);
        while viewers.try_join_next().is_some() {}
        viewers.spawn(task);
    }

    /// Waits until every viewer's task has ended, at most until `deadline`;
    /// then cuts off the rest. Tasks spawned meanwhile (an upgrade that was
    /// under way) are waited for too.
    async fn wait_for_viewers(&self, deadline: tokio::time::Instant) {
        loop {
            let mut set = std::mem::take(&mut *crate::sync::lock(&self.viewers));
            if set.is_empty() {
                return;
            }
            let all_ended = async { while set.join_next().await.is_some() {} };
            if tokio::time::timeout_at(deadline, all_ended).await.is_err() {
                tracing::warn!(
                    "{} viewer connections did not end within {CLOSE_PATIENCE:?}; cutting them off",
                    set.len()
                );
                set.abort_all();
                crate::sync::lock(&self.viewers).abort_all();
                return;
            }
        }
    }
}

/// Serves viewers on `listener` until `shutdown` completes; then sends each
/// viewer a close frame and waits for every connection to end (at most
/// [`CLOSE_PATIENCE`]).
///
/// Every viewer past its WebSocket handshake is sent the close frame,
/// whatever its task was waiting for: sending it the history, live events,
/// or a reset. Only these are cut off without one: a connection that has
/// not yet sent a request (it is closed at once), and a viewer that cannot
/// take the frame within [`CLOSE_PATIENCE`] because it stopped reading and
/// its connection is full. A download already being written is written out
/// within the same patience. Private rooms nobody watches end on their own
/// meanwhile (`RoomsConfig::idle`).
pub async fn run(
    listener: TcpListener,
    rooms: Arc<Rooms>,
    origins: OriginPolicy,
    shutdown: impl Future<Output = ()>,
) {
    let trigger = Arc::new(Trigger::new());
    let hub = Hub {
        rooms: rooms.clone(),
        origins: Arc::new(origins),
        trigger: trigger.clone(),
        viewers: Arc::new(Mutex::new(JoinSet::new())),
    };
    let app = router(hub.clone());
    let listener = listener::Viewers(listener);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    let server = std::future::IntoFuture::into_future(server);
    tokio::pin!(server, shutdown);
    let reaper = tokio::spawn(end_unwatched_rooms(rooms));
    tokio::select! {
        _ = &mut shutdown => {}
        // axum's serve only returns when told to; if it ever does, stop too.
        _ = &mut server => {}
    }
    reaper.abort();
    // No new connections; every viewer is told, and waited for, as is every
    // download under way.
    let deadline = tokio::time::Instant::now() + CLOSE_PATIENCE;
    trigger.fire();
    let _ = stop.send(());
    if tokio::time::timeout_at(deadline, &mut server)
        .await
        .is_err()
    {
        tracing::warn!("downloads still under way after {CLOSE_PATIENCE:?}; cutting them off");
    }
    hub.wait_for_viewers(deadline).await;
}

/// Now and then ends the private rooms nobody has watched for their idle
/// time (a quarter of it between looks, so one ends at most 25% late).
async fn end_unwatched_rooms(rooms: Arc<Rooms>) {
    let every = (rooms.config().idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(15));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let rooms = rooms.clone();
        // Stopping a session waits for its programs: not on the runtime's threads.
        match tokio::task::spawn_blocking(move || rooms.end_unwatched()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("{n} private sessions ended: nobody watched them"),
            Err(err) => tracing::warn!("ending unwatched sessions failed: {err}"),
        }
    }
}

fn router(hub: Hub) -> Router {
    Router::new()
        .route(WS_PATH, get(websocket))
        .route(JSONL_PATH, get(download::jsonl))
        .route(PCAP_PATH, get(download::pcap))
        .fallback(not_here)
        .layer(axum::middleware::from_fn_with_state(
            hub.clone(),
            check_host,
        ))
        .with_state(hub)
}

/// Refuses a request whose Host header names a host this relay does not
/// answer to: a page on a name an attacker controls, rebound to 127.0.0.1,
/// would otherwise be "same origin" with the relay.
async fn check_host(State(hub): State<Hub>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    if hub.origins.allows_host(host) {
        return next.run(request).await;
    }
    let host = host.unwrap_or_default();
    (
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "tcpstep relay: this relay does not answer to the name {host}; reach it by its \
             address or localhost, or start it with --allow-origin http://{host} if that name \
             is yours\n"
        ),
    )
        .into_response()
}

/// A viewer's WebSocket: checks where it comes from, then serves it.
async fn websocket(
    State(hub): State<Hub>,
    Query(aim): Query<Aim>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    if !hub.origins.allows(origin) {
        let origin = origin.unwrap_or_default();
        return (
            StatusCode::FORBIDDEN,
            format!(
                "tcpstep relay: pages from {origin} may not drive this relay; start it with \
                 --allow-origin {origin} to allow them"
            ),
        )
            .into_response();
    }
    let shutdown = hub.trigger.subscribe();
    let rooms = hub.rooms.clone();
    upgrade
        .max_message_size(MAX_COMMAND_BYTES)
        .max_frame_size(MAX_COMMAND_BYTES)
        .on_upgrade(move |socket| {
            hub.spawn_viewer(viewer::serve(socket, rooms, aim, shutdown));
            std::future::ready(())
        })
}

async fn not_here() -> Response {
    (
        StatusCode::NOT_FOUND,
        format!(
            "this is the tcpstep relay: the WebSocket is at {WS_PATH} (a private session's at \
             {WS_PATH}?session=ID), downloads are {JSONL_PATH} and {PCAP_PATH} (with \
             ?session=ID for a private session)\n"
        ),
    )
        .into_response()
}
