//! `relay server` and `relay client` as separate processes, with each other and
//! with an independent implementation of the same pair (the textbook's Python).

use std::{
    io::{BufRead, BufReader, Lines, Read},
    net::{SocketAddr, TcpListener},
    process::{Child, ChildStdout, Command, Output, Stdio},
};

const RELAY: &str = env!("CARGO_BIN_EXE_relay");

/// The classic pair as the textbook writes it, in Python: an independent
/// implementation to check that ours is byte-for-byte compatible on the wire.
const PYTHON_PAIR: &str = r#"
import socket, sys

def recvall(sock, length):
    data = b''
    while len(data) < length:
        more = sock.recv(length - len(data))
        if not more:
            raise EOFError('was expecting %d bytes but only received'
                           ' %d bytes before the socket closed' % (length, len(data)))
        data += more
    return data

def server(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', port))
    sock.listen(1)
    print('port', sock.getsockname()[1], flush=True)
    sc, sockname = sock.accept()
    message = recvall(sc, 16)
    print('message', repr(message), flush=True)
    sc.sendall(b'Goodbye, client!')
    sc.close()

def client(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect(('127.0.0.1', port))
    sock.sendall(b'Greetings, server')
    reply = recvall(sock, 16)
    print('reply', repr(reply), flush=True)
    sock.close()

{'server': server, 'client': client}[sys.argv[1]](int(sys.argv[2]))
"#;

/// A running `relay server`, killed when dropped.
struct ServerProcess {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start() -> Self {
        let mut child = Command::new(RELAY)
            .args(["server", "-p", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start relay server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("a first line").expect("utf-8");
        let addr = first
            .strip_prefix("Listening at ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .expect("an address");
        ServerProcess { child, lines, addr }
    }

    fn next_line(&mut self) -> String {
        self.lines
            .next()
            .expect("the server printed another line")
            .expect("utf-8")
    }

    /// Waits for the server to exit on its own; returns its exit code and stderr.
    fn wait_failed(&mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait for the server");
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .expect("piped stderr")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        (status.code(), stderr)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay(args: &[&str]) -> Output {
    Command::new(RELAY).args(args).output().expect("run relay")
}

fn python(args: &[&str]) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(PYTHON_PAIR).args(args);
    cmd
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A loopback port where, a moment ago, nothing listened.
fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("address").port()
}

#[test]
fn server_and_client_processes_complete_the_exchange() {
    let mut server = ServerProcess::start();
    let port = server.addr.port().to_string();
    assert_eq!(server.next_line(), "Waiting to accept a new connection");

    let client = relay(&["client", "-p", &port]);
    assert!(client.status.success(), "{}", stderr_of(&client));
    let lines = stdout_lines(&client);
    let client_addr = lines[0]
        .strip_prefix("Client has been assigned socket name ")
        .expect("the client names its address")
        .to_owned();
    assert_eq!(lines[1..], ["The server said b'Goodbye, client!'"]);

    assert_eq!(
        server.next_line(),
        format!("We have accepted a connection from {client_addr}")
    );
    assert_eq!(
        server.next_line(),
        format!("  Socket name: {}", server.addr)
    );
    assert_eq!(server.next_line(), format!("  Socket peer: {client_addr}"));
    assert_eq!(
        server.next_line(),
        "  Incoming sixteen-octet message: b'Greetings, serve'"
    );
    assert_eq!(server.next_line(), "  Reply sent, socket closed");
    // ...and it goes on serving.
    assert_eq!(server.next_line(), "Waiting to accept a new connection");
    let again = relay(&["client", "--host", "localhost", "-p", &port]);
    assert!(again.status.success(), "{}", stderr_of(&again));
}

#[test]
fn our_server_serves_the_textbook_client() {
    let server = ServerProcess::start();
    let out = python(&["client", &server.addr.port().to_string()])
        .output()
        .expect("run python3 (the test needs it)");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_lines(&out), ["reply b'Goodbye, client!'"]);
}

#[test]
fn our_client_talks_to_the_textbook_server() {
    let mut py = python(&["server", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python3 (the test needs it)");
    let mut lines = BufReader::new(py.stdout.take().expect("piped")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let port = first.strip_prefix("port ").expect("the port").to_owned();

    let client = relay(&["client", "-p", &port]);
    assert!(client.status.success(), "{}", stderr_of(&client));
    assert_eq!(
        stdout_lines(&client)[1..],
        ["The server said b'Goodbye, client!'"]
    );
    let got = lines.next().expect("a line").expect("utf-8");
    assert_eq!(got, "message b'Greetings, serve'");
    assert!(py.wait().expect("python exits").success());
}

/// Every failure a user can cause: exactly one line on stderr, naming the
/// address and the reason, no panic, and a non-zero exit.
fn assert_one_clear_line(code: Option<i32>, stderr: &str, must_contain: &[&str]) {
    assert_eq!(code, Some(1), "exit code; stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("relay: "), "{stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr:?}");
    for needle in must_contain {
        assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
    }
}

#[test]
fn client_where_nothing_listens_fails_with_one_clear_line() {
    let port = free_port().to_string();
    let out = relay(&["client", "-p", &port]);
    assert_one_clear_line(
        out.status.code(),
        &stderr_of(&out),
        &[
            &format!("127.0.0.1:{port}"),
            "connection refused",
            "ECONNREFUSED",
        ],
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn server_on_a_port_in_use_fails_with_one_clear_line() {
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("address").port().to_string();
    let out = relay(&["server", "-p", &port]);
    assert_one_clear_line(
        out.status.code(),
        &stderr_of(&out),
        &[
            &format!("127.0.0.1:{port}"),
            "address already in use",
            "EADDRINUSE",
        ],
    );
}

#[test]
fn server_whose_peer_vanishes_early_fails_with_one_clear_line() {
    let mut server = ServerProcess::start();
    let early = std::process::Command::new("python3")
        .args(["-c", "import socket,sys; s=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); s.sendall(b'Greet'); s.close()"])
        .arg(server.addr.port().to_string())
        .status()
        .expect("run python3");
    assert!(early.success());
    let (code, stderr) = server.wait_failed();
    assert_one_clear_line(
        code,
        &stderr,
        &[
            "127.0.0.1:",
            "was expecting 16 bytes but only received 5 bytes",
        ],
    );
}

#[test]
fn help_states_the_default_port() {
    for sub in ["server", "client"] {
        let out = relay(&[sub, "--help"]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("[default: 3000]"));
    }
}

#[test]
fn record_writes_the_events_and_the_capture() {
    let dir = std::env::temp_dir().join(format!("tcpstep-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (out, pcap) = (dir.join("trace.jsonl"), dir.join("trace.pcap"));
    let capture_on = tcpstep_relay::capture::status().enabled;
    let mut args = vec![
        "record".to_owned(),
        "--scenario".to_owned(),
        "fragmented".to_owned(),
        "--chunk".to_owned(),
        "8".to_owned(),
        "--out".to_owned(),
        out.display().to_string(),
    ];
    if capture_on {
        args.extend(["--pcap".to_owned(), pcap.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = relay(&args);
    assert!(run.status.success(), "{}", stderr_of(&run));

    let text = std::fs::read_to_string(&out).expect("the trace");
    let messages: Vec<protocol::RelayMessage> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line a relay message"))
        .collect();
    let protocol::RelayMessage::Hello(hello) = &messages[0] else {
        panic!(
            "the first line is the hello a viewer gets: {:?}",
            messages[0]
        )
    };
    assert!(hello.sources.iter().any(|f| f.path.ends_with("server.rs")));
    let info = &hello.session;
    assert_eq!(info.scenario.name, "custom", "a changed preset is custom");
    assert_eq!(info.scenario.chunk, Some(8));
    for (i, message) in messages[1..].iter().enumerate() {
        let protocol::RelayMessage::Event(e) = message else {
            panic!("line {} is not an event", i + 2)
        };
        assert_eq!(e.seq, i as u64);
    }
    if capture_on {
        let bytes = std::fs::read(&pcap).expect("the pcap");
        assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_ne_bytes(), "a pcap file");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn record_refuses_nonsense_with_one_clear_line() {
    let out = relay(&["record", "--scenario", "chaos", "--out", "/dev/null"]);
    assert_one_clear_line(
        out.status.code(),
        &stderr_of(&out),
        &["unknown scenario \"chaos\""],
    );
    let out = relay(&["record", "--clients", "0", "--out", "/dev/null"]);
    assert_one_clear_line(
        out.status.code(),
        &stderr_of(&out),
        &["clients must be between 1 and 1000"],
    );
}
