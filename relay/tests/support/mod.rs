//! A real relay hub on a loopback port, and a real WebSocket viewer to talk to it.

#![allow(dead_code)] // each test file uses its own part of this

pub mod axe;
pub mod events;
pub mod serving;
pub mod stepped;
pub mod webdriver;

use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use protocol::{Actor, Call, Command, Event, EventKind, RelayMessage, Scenario};
use tcpstep_relay::{
    feed::LIVE_BUFFER,
    hub::{self, OriginPolicy},
    rooms::{Room, Rooms, RoomsConfig},
};
use tokio::{net::TcpStream, sync::oneshot};
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, Message},
    MaybeTlsStream, WebSocketStream,
};

/// How long a test waits for any one message before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Relay {
    /// The class session's WebSocket.
    pub url: String,
    /// The class room.
    pub host: Arc<Room>,
    pub rooms: Arc<Rooms>,
    stop: Option<oneshot::Sender<()>>,
}

impl Relay {
    pub async fn start() -> Relay {
        Relay::start_with(LIVE_BUFFER, &[]).await
    }

    pub async fn start_with(live_buffer: usize, allow: &[&str]) -> Relay {
        Relay::start_in(protocol::Mode::Paused, live_buffer, allow).await
    }

    /// A relay whose sessions start (and restart) in `mode`.
    pub async fn start_in(mode: protocol::Mode, live_buffer: usize, allow: &[&str]) -> Relay {
        Relay::start_rooms(mode, live_buffer, allow, RoomsConfig::default()).await
    }

    /// A relay whose rooms run under `config` (limits, presenter).
    pub async fn start_rooms(
        mode: protocol::Mode,
        live_buffer: usize,
        allow: &[&str],
        config: RoomsConfig,
    ) -> Relay {
        // Capture as the machine allows: in sandboxes if the test binary
        // asked for them, else on as root or with CAP_NET_RAW.
        let capture = tcpstep_relay::sandbox::capture_status();
        let host =
            Room::start_in(Scenario::classic(), mode, capture, live_buffer).expect("first session");
        let rooms = Rooms::new(host.clone(), config);
        let hub = Hub::start(rooms.clone(), allow).await;
        Relay {
            url: format!("ws://{}/ws", hub.addr),
            host,
            rooms,
            stop: Some(hub.stop),
        }
    }

    /// The WebSocket of the private session `id` (with `?session=`).
    pub fn url_of(&self, id: &str) -> String {
        format!("{}?session={id}", self.url)
    }
}

/// The hub serving `host` on a loopback port, as `relay serve` runs it,
/// with the trigger that stops it and its task to wait for.
pub struct Hub {
    pub addr: std::net::SocketAddr,
    pub stop: oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Hub {
    pub async fn start(rooms: Arc<Rooms>, allow: &[&str]) -> Hub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the hub");
        let addr = listener.local_addr().expect("hub address");
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        let origins = OriginPolicy::new(addr, &allow);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(hub::run(listener, rooms, origins, async {
            let _ = stopped.await;
        }));
        Hub { addr, stop, task }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.rooms.shutdown();
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Viewer {
    pub ws: Ws,
    /// Every message received, in order.
    pub received: Vec<RelayMessage>,
}

impl Viewer {
    pub async fn connect(url: &str) -> Viewer {
        Viewer::connect_from(url, None).await.expect("connect")
    }

    pub async fn connect_from(
        url: &str,
        origin: Option<&str>,
    ) -> Result<Viewer, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request()?;
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().expect("an origin header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Viewer {
            ws,
            received: Vec::new(),
        })
    }

    pub async fn send(&mut self, command: &Command) {
        let text = serde_json::to_string(command).expect("encode");
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    /// The next frame, whatever it is.
    pub async fn next_frame(&mut self) -> Message {
        let Ok(frame) = tokio::time::timeout(PATIENCE, self.ws.next()).await else {
            let tail: Vec<String> = self
                .received
                .iter()
                .rev()
                .take(12)
                .rev()
                .map(|m| serde_json::to_string(m).unwrap_or_default())
                .collect();
            panic!(
                "no message within {PATIENCE:?}; the last ones:\n{}",
                tail.join("\n")
            );
        };
        frame.expect("the connection is open").expect("a frame")
    }

    pub async fn next(&mut self) -> RelayMessage {
        loop {
            match self.next_frame().await {
                Message::Text(text) => {
                    let msg: RelayMessage =
                        serde_json::from_str(text.as_str()).expect("a relay message");
                    self.received.push(msg.clone());
                    return msg;
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    pub async fn next_event(&mut self) -> Event {
        loop {
            match self.next().await {
                RelayMessage::Event(e) => return e,
                RelayMessage::Error { message } => panic!("relay error: {message}"),
                _ => continue,
            }
        }
    }

    /// Reads events until one matches; returns it.
    pub async fn until(&mut self, what: impl Fn(&Event) -> bool) -> Event {
        loop {
            let e = self.next_event().await;
            if what(&e) {
                return e;
            }
        }
    }

    /// The first event of the current session, already received or still
    /// to come, that matches.
    pub async fn seen_or_until(&mut self, what: impl Fn(&Event) -> bool) -> Event {
        match self.session_events().into_iter().find(|e| what(e)) {
            Some(e) => e,
            None => self.until(what).await,
        }
    }

    /// The call `actor` waits before now (perhaps seen while looking for
    /// something else), or the next one it stops before.
    pub async fn waiting(&mut self, actor: Actor) -> Call {
        let mut pending = None;
        for e in self
            .session_events()
            .into_iter()
            .filter(|e| e.actor == actor)
        {
            match e.kind {
                EventKind::CallWaiting { call } => pending = Some(call),
                EventKind::CallEntered { .. } => pending = None,
                _ => {}
            }
        }
        if let Some(call) = pending {
            return call;
        }
        let e = self
            .until(|e| e.actor == actor && matches!(e.kind, EventKind::CallWaiting { .. }))
            .await;
        match e.kind {
            EventKind::CallWaiting { call } => call,
            _ => unreachable!(),
        }
    }

    /// Steps `actor` and waits until its call has entered the kernel.
    pub async fn release(&mut self, actor: Actor) {
        let entered_before = self.entered(actor);
        self.send(&step(actor)).await;
        while self.entered(actor) == entered_before {
            self.next_event().await;
        }
    }

    fn entered(&self, actor: Actor) -> usize {
        self.session_events()
            .iter()
            .filter(|e| {
                e.actor == actor
                    && matches!(&e.kind, EventKind::CallEntered { call }
                        if call.is_stepped())
            })
            .count()
    }

    /// The events of the current session (since the last `session` message).
    pub fn session_events(&self) -> Vec<Event> {
        let start = self
            .received
            .iter()
            .rposition(|m| matches!(m, RelayMessage::Session(_)))
            .map_or(0, |i| i + 1);
        self.received[start..]
            .iter()
            .filter_map(|m| match m {
                RelayMessage::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every event received so far.
    pub fn events(&self) -> Vec<Event> {
        self.received
            .iter()
            .filter_map(|m| match m {
                RelayMessage::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }
}

pub fn step(actor: Actor) -> Command {
    Command::Step { actor: Some(actor) }
}

/// The processes `pid` started (a relay's session workers), from every
/// thread's `children` list in /proc.
#[allow(dead_code)] // each test binary uses part of this module
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The relay binary these tests run.
#[allow(dead_code)] // each test binary uses part of this module
pub const RELAY: &str = env!("CARGO_BIN_EXE_relay");

/// A directory of this test's own that any user may write to.
#[allow(dead_code)] // each test binary uses part of this module
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpstep-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    dir
}

/// The events of a recorded trace and its hello.
#[allow(dead_code)] // each test binary uses part of this module
pub fn read_trace(path: &std::path::Path) -> (protocol::Hello, Vec<Event>) {
    let text = std::fs::read_to_string(path).expect("the trace");
    let mut hello = None;
    let mut events = Vec::new();
    for line in text.lines() {
        match serde_json::from_str(line).expect("a relay message") {
            RelayMessage::Hello(h) => hello = Some(h),
            RelayMessage::Event(e) => events.push(e),
            _ => {}
        }
    }
    (hello.expect("a hello"), events)
}

/// How many entries a /proc directory has (`/proc/self/fd`: open file
/// descriptors; `/proc/self/task`: threads), 0 if it cannot be read.
#[allow(dead_code)] // each test binary uses part of this module
pub fn entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// This process's resident memory in KiB (`VmRSS` in /proc/self/status).
#[allow(dead_code)] // each test binary uses part of this module
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
