//! The relay's benchmarks, on real sockets: the pair's exchange with and
//! without instrumentation, and events per second to WebSocket viewers.

use std::{
    net::SocketAddr,
    sync::{mpsc, Arc},
    thread,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use protocol::{Command, Mode, Scenario};
use tcpstep_relay::{
    capture,
    feed::LIVE_BUFFER,
    host::Host,
    hub::{self, OriginPolicy},
    pair::{client, ClientConfig, Observer, Server, ServerConfig},
};
use tokio::{runtime::Runtime, sync::oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::stats::Samples;

/// An observer that watches nothing: the pair as a plain program.
struct Quiet;

impl Observer for Quiet {
    fn line(&mut self, _: &str) {}
}

/// The classic pair with no instrumentation at all: listen, serve one
/// client, and that client's whole exchange, on loopback.
pub fn plain_exchange() {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Server::listen(any, &ServerConfig::default(), &mut Quiet).expect("listen");
    let addr = server.local_addr();
    let serving = thread::spawn(move || server.serve_one(&mut Quiet).map_err(|e| e.to_string()));
    client(addr, &ClientConfig::default(), &mut Quiet).expect("the client's exchange");
    serving
        .join()
        .expect("the server thread")
        .expect("the server's exchange");
}

/// A relay (host and hub) on a free port, as `relay serve` runs it.
pub struct Relay {
    pub host: Arc<Host>,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Relay {
    pub fn start(rt: &Runtime, scenario: Scenario, mode: Mode) -> Relay {
        let _guard = rt.enter();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the hub");
        let addr = listener.local_addr().expect("hub address");
        let host =
            Host::start_in(scenario, mode, capture::status(), LIVE_BUFFER).expect("a session");
        let (stop, stopped) = oneshot::channel::<()>();
        rt.spawn(hub::run(
            listener,
            tcpstep_relay::rooms::Rooms::new(host.clone(), Default::default()),
            OriginPolicy::new(addr, &[]),
            async {
                let _ = stopped.await;
            },
        ));
        Relay {
            host,
            url: format!("ws://{addr}/ws"),
            stop: Some(stop),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.host.shutdown();
    }
}

/// A WebSocket viewer that reports, for each session, when `clients`
/// clients have ended, with how many events it had received by then.
fn spawn_viewer(rt: &Runtime, url: &str, clients: usize, done: mpsc::Sender<(u64, usize)>) {
    let url = url.to_owned();
    let (ready, is_ready) = mpsc::channel();
    rt.spawn(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect a viewer");
        let _ = ready.send(());
        let (mut session, mut events, mut ended) = (0u64, 0usize, 0usize);
        while let Some(Ok(frame)) = ws.next().await {
            let Message::Text(text) = frame else { continue };
            let text = text.as_str();
            // Enough of the message to count: a real page parses all of it.
            if text.starts_with(r#"{"type":"event""#) {
                events += 1;
                if text.contains(r#""kind":"actor_ended""#) && text.contains(r#""actor":{"client""#)
                {
                    ended += 1;
                    if ended == clients {
                        let _ = done.send((session, events));
                    }
                }
            } else if let Ok(
                protocol::RelayMessage::Session(info)
                | protocol::RelayMessage::Hello(protocol::Hello { session: info, .. }),
            ) = serde_json::from_str::<protocol::RelayMessage>(text)
            {
                session = info.id;
                events = 0;
                ended = 0;
            }
        }
    });
    let _ = is_ready.recv_timeout(Duration::from_secs(10));
}

/// Resets the relay's session and waits until each of `viewers` viewers has
/// seen all `clients` clients end. Returns the time and the events per viewer.
fn run_session(
    relay: &Relay,
    done: &mpsc::Receiver<(u64, usize)>,
    viewers: usize,
) -> (Duration, usize) {
    let t = Instant::now();
    relay
        .host
        .command(Command::Reset { scenario: None })
        .expect("reset");
    let id = relay.host.feed().session().id;
    let mut seen = 0;
    let mut events = 0;
    while seen < viewers {
        let (session, n) = done
            .recv_timeout(Duration::from_secs(120))
            .expect("every viewer saw the session end");
        if session == id {
            seen += 1;
            events = n;
        }
    }
    (t.elapsed(), events)
}

/// The classic exchange in a session playing with no delay, capture on
/// (where permitted), watched by one viewer: from reset to the viewer
/// seeing the client end.
pub fn instrumented_exchanges(rt: &Runtime, n: usize) -> Samples {
    let relay = Relay::start(rt, Scenario::classic(), Mode::Playing { interval_ms: 0 });
    let (done, finished) = mpsc::channel();
    spawn_viewer(rt, &relay.url, 1, done);
    let mut samples = Samples::default();
    for _ in 0..n {
        samples.push(run_session(&relay, &finished, 1).0);
    }
    samples
}

/// A crowd in play mode with no delay: time to the end, and events per
/// second, with `viewers` WebSocket viewers (0: none but an in-process
/// watcher, the baseline).
pub fn crowd(rt: &Runtime, clients: u32, viewers: usize) -> (Duration, usize) {
    let scenario = Scenario {
        name: "custom".into(),
        clients,
        backlog: 1024,
        ..Scenario::classic()
    };
    let relay = Relay::start(rt, scenario, Mode::Playing { interval_ms: 0 });
    let (done, finished) = mpsc::channel();
    if viewers == 0 {
        watch_in_process(&relay, clients as usize, done.clone());
    }
    for _ in 0..viewers {
        spawn_viewer(rt, &relay.url, clients as usize, done.clone());
    }
    run_session(&relay, &finished, viewers.max(1))
}

/// The baseline watcher: the feed's live side read in the relay's own
/// process, with no WebSocket.
fn watch_in_process(relay: &Relay, clients: usize, done: mpsc::Sender<(u64, usize)>) {
    let mut live = relay.host.feed().subscribe(None).live;
    thread::spawn(move || {
        let (mut session, mut events, mut ended) = (0u64, 0usize, 0usize);
        loop {
            match live.blocking_recv() {
                Ok(tcpstep_relay::feed::Item::Session(info)) => {
                    (session, events, ended) = (info.id, 0, 0);
                }
                Ok(tcpstep_relay::feed::Item::Event { json, .. }) => {
                    events += 1;
                    if json.contains(r#""kind":"actor_ended""#)
                        && json.contains(r#""actor":{"client""#)
                    {
                        ended += 1;
                        if ended == clients {
                            let _ = done.send((session, events));
                        }
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
}
