//! `relay server` and `relay client` as separate processes, with each other and
//! with the pair written in Python (`protocol/python/tcp_pair.py`, run by
//! `python3`): the same lines printed, byte for byte, and the same bytes on
//! the wire, whichever side is which.

use std::{
    io::{BufRead, BufReader, Lines, Read},
    net::{SocketAddr, TcpListener},
    process::{Child, ChildStdout, Command, Output, Stdio},
};

use tcpstep_relay::pair::PyAddr;

const RELAY: &str = env!("CARGO_BIN_EXE_relay");

/// The pair in Python, as the chapter writes it: the file the page shows.
fn python_pair() -> String {
    format!(
        "{}/../{}",
        env!("CARGO_MANIFEST_DIR"),
        protocol::python::PATH
    )
}

/// What the textbook's server prints for one connection, and then, ready
/// for the next: `{server}` and `{client}` stand for the address tuples.
const TEXTBOOK_SERVER: [&str; 8] = [
    "Listening at {server}",
    "Waiting for a new connection",
    "Connection from {client}",
    "  Socket name: {server}",
    "  Socket peer: {client}",
    "  message from client: b'Greetings, serve'",
    "  Closing socket",
    "Waiting for a new connection",
];

/// What the textbook's client prints (two spaces before the tuple, and before the bytes).
const TEXTBOOK_CLIENT: [&str; 2] = [
    "Client has been assigned the socket:  {client}",
    "Server:  b'Goodbye, client!'",
];

/// Which implementation runs a program.
#[derive(Debug, Clone, Copy)]
enum Pair {
    Relay,
    Python,
}

impl Pair {
    /// The command that runs `role` (`server` or `client`) against `port`.
    fn command(self, role: &str, port: u16) -> Command {
        let port = port.to_string();
        match self {
            Pair::Relay => {
                let mut cmd = Command::new(RELAY);
                cmd.args([role, "-p", &port]);
                cmd
            }
            Pair::Python => {
                let mut cmd = Command::new("python3");
                // -u: each line as it is printed, as on a terminal.
                cmd.arg("-u").arg(python_pair()).args([role, "-p", &port]);
                cmd
            }
        }
    }
}

/// A running server, killed when dropped.
struct ServerProcess {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Its first line, `Listening at ('127.0.0.1', PORT)`.
    first: String,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start() -> Self {
        ServerProcess::of(Pair::Relay)
    }

    /// `pair`'s server, on a port the kernel chooses.
    fn of(pair: Pair) -> Self {
        let mut child = pair
            .command("server", 0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start the {pair:?} server (python3 is needed): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("a first line").expect("utf-8");
        let addr = first
            .strip_prefix("Listening at ")
            .and_then(PyAddr::parse)
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        ServerProcess {
            child,
            lines,
            first,
            addr,
        }
    }

    fn next_line(&mut self) -> String {
        self.lines
            .next()
            .expect("the server printed another line")
            .expect("utf-8")
    }

    /// Its first `n` lines, the first included.
    fn lines(&mut self, n: usize) -> Vec<String> {
        let mut lines = vec![self.first.clone()];
        lines.extend((1..n).map(|_| self.next_line()));
        lines
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

/// Runs `pair`'s client against `port` to its end.
fn client(pair: Pair, port: u16) -> Output {
    let out = pair
        .command("client", port)
        .output()
        .unwrap_or_else(|e| panic!("run the {pair:?} client (python3 is needed): {e}"));
    assert!(out.status.success(), "{pair:?} client: {}", stderr_of(&out));
    out
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

/// The client's address, from its first line.
fn client_addr(client_lines: &[String]) -> SocketAddr {
    client_lines
        .first()
        .and_then(|l| l.strip_prefix("Client has been assigned the socket:  "))
        .and_then(PyAddr::parse)
        .unwrap_or_else(|| panic!("the client names its address: {client_lines:?}"))
}

/// `lines` with the two programs' address tuples written `{server}` and
/// `{client}`: what is left must not vary from run to run.
fn masked(lines: &[String], server: SocketAddr, client: SocketAddr) -> Vec<String> {
    let (server, client) = (PyAddr(server).to_string(), PyAddr(client).to_string());
    lines
        .iter()
        .map(|l| l.replace(&server, "{server}").replace(&client, "{client}"))
        .collect()
}

/// One exchange between `server_pair`'s server and `client_pair`'s client:
/// the server's lines (through its next wait) and the client's, masked.
fn exchange(server_pair: Pair, client_pair: Pair) -> (Vec<String>, Vec<String>) {
    let mut server = ServerProcess::of(server_pair);
    let out = client(client_pair, server.addr.port());
    let client_lines = stdout_lines(&out);
    let from = client_addr(&client_lines);
    let server_lines = server.lines(TEXTBOOK_SERVER.len());
    (
        masked(&server_lines, server.addr, from),
        masked(&client_lines, server.addr, from),
    )
}

#[test]
fn relay_and_python_print_the_textbooks_lines_line_for_line() {
    let relay = exchange(Pair::Relay, Pair::Relay);
    let python = exchange(Pair::Python, Pair::Python);
    assert_eq!(
        relay, python,
        "the relay's pair (left) and Python's (right)"
    );
    assert_eq!(relay.0, TEXTBOOK_SERVER);
    assert_eq!(relay.1, TEXTBOOK_CLIENT);
}

#[test]
fn server_and_client_processes_complete_the_exchange() {
    let mut server = ServerProcess::start();
    let port = server.addr.port().to_string();
    assert_eq!(server.next_line(), "Waiting for a new connection");

    let client = relay(&["client", "-p", &port]);
    assert!(client.status.success(), "{}", stderr_of(&client));
    let lines = stdout_lines(&client);
    let client_addr = PyAddr(client_addr(&lines));
    assert_eq!(lines[1..], ["Server:  b'Goodbye, client!'"]);

    assert_eq!(server.next_line(), format!("Connection from {client_addr}"));
    assert_eq!(
        server.next_line(),
        format!("  Socket name: {}", PyAddr(server.addr))
    );
    assert_eq!(server.next_line(), format!("  Socket peer: {client_addr}"));
    assert_eq!(
        server.next_line(),
        "  message from client: b'Greetings, serve'"
    );
    assert_eq!(server.next_line(), "  Closing socket");
    // ...and it goes on serving.
    assert_eq!(server.next_line(), "Waiting for a new connection");
    let again = relay(&["client", "--host", "localhost", "-p", &port]);
    assert!(again.status.success(), "{}", stderr_of(&again));
}

#[test]
fn our_server_serves_the_python_client() {
    let (server, client) = exchange(Pair::Relay, Pair::Python);
    assert_eq!(server, TEXTBOOK_SERVER);
    assert_eq!(client, TEXTBOOK_CLIENT);
}

#[test]
fn our_client_talks_to_the_python_server() {
    let (server, client) = exchange(Pair::Python, Pair::Relay);
    assert_eq!(server, TEXTBOOK_SERVER);
    assert_eq!(client, TEXTBOOK_CLIENT);
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
