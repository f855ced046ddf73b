//! Rooms, end to end: a real relay on loopback with its class session and
//! private sessions, real WebSocket viewers, the pair on real sockets.

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use protocol::{Actor, Call, Command, EventKind, Hello, Mode, RelayMessage, RoomInfo};
use support::{step, Relay, Viewer};
use tcpstep_relay::{feed::LIVE_BUFFER, rooms::RoomsConfig};
use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};

const SERVER: Actor = Actor::Server;
const CLIENT: Actor = Actor::Client(0);

async fn hello(v: &mut Viewer) -> Hello {
    match v.next().await {
        RelayMessage::Hello(hello) => hello,
        other => panic!("expected hello, got {other:?}"),
    }
}

fn room(hello: &Hello) -> &RoomInfo {
    hello.room.as_ref().expect("a live relay says which room")
}

/// Steps the server's next call once it is in line, and waits until it
/// has entered the kernel.
async fn step_server(v: &mut Viewer) {
    v.waiting(SERVER).await;
    v.release(SERVER).await;
}

/// The next `error` message's words (other messages are kept in `received`).
async fn next_error(v: &mut Viewer) -> String {
    loop {
        if let RelayMessage::Error { message } = v.next().await {
            return message;
        }
    }
}

/// Asks the relay for a private session from `v`'s room: its id.
async fn open(v: &mut Viewer) -> Result<String, String> {
    v.send(&Command::Open).await;
    loop {
        match v.next().await {
            RelayMessage::Opened { room } => return Ok(room),
            RelayMessage::Error { message } => return Err(message),
            _ => continue,
        }
    }
}

/// The close frame a viewer receives next, skipping anything before it.
async fn close_frame(v: &mut Viewer) -> (CloseCode, String) {
    let close = tokio::time::timeout(support::PATIENCE, async {
        loop {
            match v.ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code, frame.reason.as_str().to_owned())
                }
                Some(Ok(Message::Text(text))) => {
                    if let Ok(message) = serde_json::from_str(text.as_str()) {
                        v.received.push(message);
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        }
    })
    .await;
    close.expect("a close frame")
}

fn relay_config(max_sessions: u32, idle: Duration, presenter: Option<&str>) -> RoomsConfig {
    RoomsConfig {
        max_sessions,
        idle,
        presenter: presenter.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_does_not_exist_or_ended_is_said_so_and_the_relay_serves_on() {
    let config = relay_config(4, Duration::from_millis(300), None);
    let relay = Relay::start_rooms(Mode::Paused, LIVE_BUFFER, &[], config).await;

    for id in ["k3v9q2m7x4bd", "../../etc/passwd", "class2", "<script>"] {
        let url = format!("{}?session={}", relay.url, urlencode(id));
        let mut v = Viewer::connect(&url).await;
        let why = next_error(&mut v).await;
        assert!(why.contains("there is no session"), "{id}: {why}");
        assert!(why.contains("class session"), "says where to go: {why}");
        assert!(
            !why.contains('<') && !why.contains("passwd"),
            "repeats only well-formed ids: {why}"
        );
        let (code, reason) = close_frame(&mut v).await;
        assert_eq!(u16::from(code), 4404, "{reason}");
        assert!(reason.starts_with("there is no session"), "{reason}");
        assert!(reason.len() <= 123, "a close reason fits its frame");
    }

    // A private session that ended: nobody watched it for its idle time.
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    let id = open(&mut v).await.expect("a private session");
    let mut inside = Viewer::connect(&relay.url_of(&id)).await;
    assert_eq!(room(&hello(&mut inside).await).id, id);
    drop(inside);
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.rooms.len() > 1 {
        assert!(
            Instant::now() < deadline,
            "the unwatched session never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut late = Viewer::connect(&relay.url_of(&id)).await;
    let why = next_error(&mut late).await;
    assert!(why.contains(&format!("there is no session {id}")), "{why}");
    assert!(why.contains("nobody has watched it for"), "{why}");
    close_frame(&mut late).await;

    // The class session, and its viewer, carry on.
    step_server(&mut v).await;
    let mut again = Viewer::connect(&relay.url).await;
    assert!(room(&hello(&mut again).await).is_class());
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_sessions_than_the_limit_are_refused_naming_it() {
    let config = relay_config(3, Duration::from_secs(300), None);
    let relay = Relay::start_rooms(Mode::Paused, LIVE_BUFFER, &[], config).await;
    let mut v = Viewer::connect(&relay.url).await;
    let info = room(&hello(&mut v).await).clone();
    assert_eq!(info.max_sessions, 3);
    // The class session counts: two private ones fit.
    let a = open(&mut v).await.expect("the second session");
    let b = open(&mut v).await.expect("the third session");
    assert_ne!(a, b);
    let refused = open(&mut v).await.expect_err("a fourth session");
    assert!(refused.contains("3 sessions"), "{refused}");
    assert!(refused.contains("--max-sessions 3"), "{refused}");
    assert!(refused.contains("Join the class session"), "{refused}");
    assert_eq!(relay.rooms.len(), 3);
    // Each still works, and the viewer that was refused is still connected.
    let mut in_a = Viewer::connect(&relay.url_of(&a)).await;
    hello(&mut in_a).await;
    step_server(&mut in_a).await;
    step_server(&mut v).await;
    // The list names the class session and those asked about.
    v.send(&Command::Rooms {
        ids: vec![a.clone(), "nonexistent0".into(), b.clone()],
    })
    .await;
    let listed = loop {
        if let RelayMessage::Rooms { rooms } = v.next().await {
            break rooms;
        }
    };
    let ids: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["class", a.as_str(), b.as_str()]);
    assert_eq!(listed[1].viewers, 1);
    assert_eq!(listed[2].viewers, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_presenter_drives_the_class_session() {
    let key = "presenterkey2345678abcdef";
    let config = relay_config(4, Duration::from_secs(300), Some(key));
    let relay = Relay::start_rooms(Mode::Paused, LIVE_BUFFER, &[], config).await;

    let mut presenter = Viewer::connect(&format!("{}?key={key}", relay.url)).await;
    let info = room(&hello(&mut presenter).await).clone();
    assert!(info.drives && info.presenter && info.is_class());

    let mut watcher = Viewer::connect(&relay.url).await;
    let info = room(&hello(&mut watcher).await).clone();
    assert!(!info.drives && info.presenter);

    let mut wrong = Viewer::connect(&format!("{}?key=presenterkey2345678abcdeg", relay.url)).await;
    let info = room(&hello(&mut wrong).await).clone();
    assert!(!info.drives, "a wrong key drives nothing");
    let why = next_error(&mut wrong).await;
    assert!(why.contains("presenter key in this link is wrong"), "{why}");

    for command in [
        step(SERVER),
        Command::Play { interval_ms: 100 },
        Command::Pause,
        Command::Reset { scenario: None },
    ] {
        for v in [&mut watcher, &mut wrong] {
            v.send(&command).await;
            let why = next_error(v).await;
            assert!(why.contains("only the presenter"), "{command:?}: {why}");
            assert!(why.contains("Try it myself"), "{why}");
        }
    }
    // Nothing the watchers sent happened: the server still waits for socket().
    let first_session = relay.host.feed().session().id;
    assert!(relay
        .host
        .feed()
        .events()
        .iter()
        .all(|e| !matches!(e.kind, EventKind::CallEntered { .. })));

    // The presenter steps, and every watcher sees it.
    step_server(&mut presenter).await;
    watcher
        .until(|e| e.actor == SERVER && matches!(e.kind, EventKind::CallEntered { .. }))
        .await;
    assert_eq!(relay.host.feed().session().id, first_session);

    // "Try it myself": a private session of the same scenario, which the
    // watcher drives.
    let id = open(&mut watcher).await.expect("a session of one's own");
    let mut own = Viewer::connect(&relay.url_of(&id)).await;
    let hello_own = hello(&mut own).await;
    assert!(room(&hello_own).drives && !room(&hello_own).is_class());
    assert_eq!(
        hello_own.session.scenario,
        relay.host.feed().session().scenario
    );
    step_server(&mut own).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_private_sessions_are_independent() {
    let relay = Relay::start().await;
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    let (a, b) = (
        open(&mut v).await.expect("a"),
        open(&mut v).await.expect("b"),
    );
    let mut in_a = Viewer::connect(&relay.url_of(&a)).await;
    let mut in_b = Viewer::connect(&relay.url_of(&b)).await;
    let hello_a = hello(&mut in_a).await;
    let hello_b = hello(&mut in_b).await;
    assert_ne!(hello_a.session.server_addr, hello_b.session.server_addr);

    // Steps in A: its server listens; B has not moved.
    for _ in 0..4 {
        // socket, setsockopt, bind, listen: each once it is in line.
        step_server(&mut in_a).await;
    }
    in_b.waiting(SERVER).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b_entered = |events: &[protocol::Event]| {
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CallEntered { .. }))
            .count()
    };
    let room_b = relay.rooms.find(Some(&b)).expect("b runs");
    assert_eq!(b_entered(&room_b.feed().events()), 0, "a step in A moved B");
    assert_eq!(b_entered(&relay.host.feed().events()), 0, "or the class");

    // B steps once; then A resets: B keeps its session and its event.
    step_server(&mut in_b).await;
    let b_session = room_b.feed().session().id;
    in_a.send(&Command::Reset { scenario: None }).await;
    loop {
        if let RelayMessage::Session(_) = in_a.next().await {
            break;
        }
    }
    assert_eq!(room_b.feed().session().id, b_session, "A's reset reset B");
    assert_eq!(b_entered(&room_b.feed().events()), 1);
    step_server(&mut in_b).await;
    assert_eq!(b_entered(&room_b.feed().events()), 2);
    // B's viewer never heard of A's session change.
    assert!(!in_b
        .received
        .iter()
        .any(|m| matches!(m, RelayMessage::Session(_))));
    // And each room's download is its own.
    let (status, body) = http_get(
        &relay.url,
        &format!("/download/trace.jsonl?session={b}"),
        None,
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let lines = String::from_utf8_lossy(&body).lines().count();
    assert_eq!(lines, 1 + room_b.feed().events().len());
    let (status, body) = http_get(
        &relay.url,
        "/download/trace.jsonl?session=k3v9q2m7x4bd",
        None,
    )
    .await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(String::from_utf8_lossy(&body).contains("there is no session"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_session_is_unchanged_for_old_clients() {
    let relay = Relay::start().await;
    let mut v = Viewer::connect(&relay.url).await;
    // A page from before rooms reads the hello without knowing `room`.
    let raw = match v.next_frame().await {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("not text: {other:?}"),
    };
    let mut old: serde_json::Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(old["room"]["id"], "class");
    assert_eq!(old["room"]["drives"], true);
    old.as_object_mut().expect("an object").remove("room");
    let RelayMessage::Hello(hello) = serde_json::from_value(old).expect("a hello without room")
    else {
        panic!("not a hello")
    };
    assert_eq!(hello.session.id, 1);
    // Everyone steps it, as before; the count of viewers, as before.
    let mut other = Viewer::connect(&relay.url).await;
    step_server(&mut other).await;
    v.until(|e| {
        e.actor == SERVER && matches!(e.kind, EventKind::CallEntered { call: Call::Socket })
    })
    .await;
    // The download without ?session= is the class session's.
    let (status, _) = http_get(&relay.url, "/download/trace.jsonl", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(relay.rooms.len() == 1, "no room was made for anyone");
}

/// A plain HTTP GET on the hub's port (with `host` as its Host header, or
/// the relay's address): status line and body.
async fn http_get(url: &str, path: &str, host: Option<&str>) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("ws://").trim_end_matches("/ws");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let host = host.unwrap_or(addr);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    (
        head.lines().next().unwrap_or_default().to_owned(),
        response[split + 4..].to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_the_relay_does_not_answer_to_is_refused() {
    let relay = Relay::start_with(LIVE_BUFFER, &["https://class.example.org"]).await;
    let addr = relay
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws");
    let port = addr.rsplit(':').next().expect("a port");
    // A page on a rebound name reaches the relay's address with its own name.
    for path in ["/download/trace.jsonl", "/ws", "/anything"] {
        let (status, body) =
            http_get(&relay.url, path, Some(&format!("attacker.example:{port}"))).await;
        assert_eq!(status, "HTTP/1.1 421 Misdirected Request", "{path}");
        assert!(String::from_utf8_lossy(&body).contains("does not answer to the name"));
    }
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            relay.url.as_str(),
        )
        .expect("a request");
    request.headers_mut().insert(
        "host",
        format!("attacker.example:{port}")
            .parse()
            .expect("a header"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 421)
        }
        other => panic!("a rebound name opened the WebSocket: {other:?}"),
    }
    // Its own names, and an allowed origin's host, pass.
    for host in [
        addr.to_owned(),
        format!("localhost:{port}"),
        "class.example.org".to_owned(),
    ] {
        let (status, _) = http_get(&relay.url, "/download/trace.jsonl", Some(&host)).await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{host}");
    }
}

/// Sends a polite close and fails unless the relay answers it with its own
/// close frame, and then ends the connection, within 2 s: a viewer closing
/// politely must never wait out its own timeout.
async fn close_is_answered(mut v: Viewer, state: &str) {
    let asked = Instant::now();
    v.ws.send(Message::Close(None))
        .await
        .expect("send a close frame");
    let answer = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match v.ws.next().await {
                Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => continue, // what was already on its way
                other => return Err(format!("{other:?}")),
            }
        }
    })
    .await;
    match answer {
        Ok(Ok(())) => {}
        Ok(Err(end)) => panic!("{state}: the connection ended without a close frame: {end}"),
        Err(_) => panic!("{state}: the close frame went unanswered for 2 s"),
    }
    let end = tokio::time::timeout(Duration::from_secs(2), v.ws.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "{state}: after the close handshake: {end:?}"
    );
    println!("{state}: close answered in {:?}", asked.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polite_close_is_answered_in_every_session_state() {
    let relay = Relay::start().await;
    // A fresh session, paused before its first call.
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    close_is_answered(v, "paused at the start").await;

    // A call asleep in the kernel: the client's connect() against a server
    // that listens but has not accepted is done at once; the server's
    // accept() sleeps until a client comes.
    let mut driver = Viewer::connect(&relay.url).await;
    hello(&mut driver).await;
    for _ in 0..5 {
        // socket, setsockopt, bind, listen, accept: each once it is in line.
        step_server(&mut driver).await;
    }
    driver
        .seen_or_until(|e| matches!(e.kind, EventKind::CallBlocked { call: Call::Accept }))
        .await;
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    close_is_answered(v, "the server asleep in accept()").await;

    // The exchange done, the client ended: the server asleep in accept() again.
    driver.send(&Command::Play { interval_ms: 1 }).await;
    driver
        .until(|e| e.actor == CLIENT && matches!(e.kind, EventKind::ActorEnded { .. }))
        .await;
    driver
        .until(|e| {
            e.actor == SERVER && matches!(e.kind, EventKind::CallBlocked { call: Call::Accept })
        })
        .await;
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    close_is_answered(v, "the session done, its server in accept()").await;
    close_is_answered(driver, "a viewer that watched it all").await;

    // Playing, events flowing.
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    v.send(&Command::Reset { scenario: None }).await;
    v.next_event().await;
    close_is_answered(v, "playing").await;

    // A private session, and one that does not exist (its close comes first).
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    let id = open(&mut v).await.expect("a private session");
    let mut inside = Viewer::connect(&relay.url_of(&id)).await;
    hello(&mut inside).await;
    close_is_answered(inside, "a private session").await;
}

/// A page names its new session itself (`?session=ID&open=SCENARIO`), so
/// that a load balancer with affinity on the id sends it where it will run:
/// the first connection starts it, later ones join it, and a malformed id
/// or one past the limit is refused in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_named_by_its_url_is_started_by_the_first_connection() {
    let config = relay_config(2, Duration::from_secs(300), None);
    let relay = Relay::start_rooms(Mode::Paused, LIVE_BUFFER, &[], config).await;
    let id = "k3v9q2m7x4bd";
    let mut first = Viewer::connect(&format!("{}&open=half-close", relay.url_of(id))).await;
    let hello_first = hello(&mut first).await;
    assert_eq!(room(&hello_first).id, id);
    assert!(room(&hello_first).drives);
    assert_eq!(hello_first.session.scenario.name, "half-close");
    // The link without `open=` joins the same session; with it, too.
    let mut second = Viewer::connect(&relay.url_of(id)).await;
    assert_eq!(hello(&mut second).await.session, hello_first.session);
    let mut third = Viewer::connect(&format!("{}&open=classic", relay.url_of(id))).await;
    assert_eq!(hello(&mut third).await.session, hello_first.session);
    step_server(&mut first).await;
    second
        .until(|e| e.actor == SERVER && matches!(e.kind, EventKind::CallEntered { .. }))
        .await;
    assert_eq!(relay.rooms.len(), 2);

    // The limit (2: the class session and this one).
    let mut over = Viewer::connect(&format!("{}&open=classic", relay.url_of("m7x4bdk3v9q2"))).await;
    let why = next_error(&mut over).await;
    assert!(why.contains("--max-sessions 2"), "{why}");
    let (code, _) = close_frame(&mut over).await;
    assert_eq!(u16::from(code), 4429);

    // An id the relay would never make.
    drop((first, second, third));
    let mut bad = Viewer::connect(&format!("{}&open=classic", relay.url_of("SHORT"))).await;
    let why = next_error(&mut bad).await;
    assert!(why.contains("an id is 12 letters"), "{why}");
    let (code, _) = close_frame(&mut bad).await;
    assert_eq!(u16::from(code), 4429);
    assert_eq!(relay.rooms.len(), 2);
}

/// `relay serve` with the rooms' options, as a person starts it: the
/// presenter's link it prints drives the class session, the limit and the
/// idle time are its own, and without `--presenter` no link is printed and
/// everyone drives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_serve_prints_the_presenters_link_and_keeps_its_limits() {
    use std::io::BufRead;
    let start = |args: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start relay serve");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut banner = Vec::new();
        loop {
            let line = lines.next().expect("a banner line").expect("utf-8");
            let last = line.starts_with("sessions:");
            banner.push(line);
            if last {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        (Killed(child), banner)
    };
    let (_relay, banner) = start(&["--presenter", "--max-sessions", "2", "--private-idle", "1"]);
    let line = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {banner:?}"))
            .to_owned()
    };
    let url = line("viewers connect to ");
    let link =
        line("presenter link (keep it to yourself: whoever opens it steps the class session): ");
    let key = link
        .split_once("?key=")
        .expect("a key in the link")
        .1
        .to_owned();
    assert_eq!(key.len(), 24, "{link}");
    assert_eq!(
        line("sessions: "),
        "at most 2 at once; a private one nobody watches ends after 1 s"
    );

    let mut presenter = Viewer::connect(&format!("{url}?key={key}")).await;
    assert!(room(&hello(&mut presenter).await).drives);
    let mut watcher = Viewer::connect(&url).await;
    assert!(!room(&hello(&mut watcher).await).drives);
    step_server(&mut presenter).await;

    // One private session fits; it ends a second after its viewer leaves.
    let id = open(&mut watcher).await.expect("a private session");
    assert!(open(&mut watcher)
        .await
        .expect_err("over the limit")
        .contains("--max-sessions 2"));
    let mut inside = Viewer::connect(&format!("{url}?session={id}")).await;
    hello(&mut inside).await;
    drop(inside);
    let deadline = Instant::now() + Duration::from_secs(10);
    let id_again = loop {
        // Once it has ended, there is room for another.
        match open(&mut watcher).await {
            Ok(id) => break id,
            Err(_) => {
                assert!(
                    Instant::now() < deadline,
                    "the unwatched session never ended"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_ne!(id_again, id);

    // Without --presenter: no link, and everyone drives.
    let (_plain, banner) = start(&[]);
    assert!(
        !banner.iter().any(|l| l.contains("presenter")),
        "{banner:?}"
    );
    let url = banner
        .iter()
        .find_map(|l| l.strip_prefix("viewers connect to "))
        .expect("the URL")
        .to_owned();
    let mut anyone = Viewer::connect(&url).await;
    let info = room(&hello(&mut anyone).await).clone();
    assert!(info.drives && !info.presenter);
    assert_eq!(info.max_sessions, 16);
    assert_eq!(info.idle_end_s, 300);
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A connection that never says a word is let go after the relay's
/// patience for a first byte, not kept (with its file descriptor) for ever;
/// one that speaks in time is served as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_speaks_is_let_go() {
    use tokio::io::AsyncReadExt;
    let relay = Relay::start().await;
    let addr = relay
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let mut silent = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let connected = Instant::now();
    let patience = tcpstep_relay::hub::FIRST_BYTE_PATIENCE;
    // Meanwhile a viewer that speaks is served.
    let mut v = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    let mut byte = [0; 1];
    let read = tokio::time::timeout(patience + Duration::from_secs(5), silent.read(&mut byte))
        .await
        .expect("the silent connection is closed");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "nothing is sent to it: {read:?}"
    );
    assert!(
        connected.elapsed() >= patience - Duration::from_secs(1),
        "closed after {:?}, before its patience ran out",
        connected.elapsed()
    );
    // The viewer is still served.
    step_server(&mut v).await;
}
