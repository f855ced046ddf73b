//! The classic pair in one process, on real sockets on loopback.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    thread,
    time::Duration,
};

use protocol::classic::{GREETING, REPLY};
use tcpstep_relay::pair::{
    self, ClientConfig, Observer, PairError, PyAddr, RecvIteration, SendIteration, Server,
    ServerConfig,
};

/// Keeps everything the pair reports.
#[derive(Debug, Default)]
struct Recorder {
    lines: Vec<String>,
    /// (asked, got, total) of each recv_all turn.
    recvs: Vec<(usize, usize, usize)>,
    /// (offered, accepted) of each send_all turn.
    sends: Vec<(usize, usize)>,
}

impl Observer for Recorder {
    fn line(&mut self, line: &str) {
        self.lines.push(line.to_owned());
    }
    fn recv_iteration(&mut self, it: &RecvIteration<'_>) {
        assert_eq!(
            it.number,
            self.recvs.len() + 1,
            "iterations are numbered from 1"
        );
        assert_eq!(it.bytes.len(), it.got);
        self.recvs.push((it.asked, it.got, it.total));
    }
    fn send_iteration(&mut self, it: &SendIteration) {
        self.sends.push((it.offered, it.accepted));
    }
}

fn loopback_any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The server's thread: what it reported, and how its one connection ended.
type ServerThread = thread::JoinHandle<(Recorder, Result<(), PairError>)>;

/// Starts a server on an ephemeral port that serves exactly one connection.
fn serve_one() -> (SocketAddr, ServerThread) {
    let mut rec = Recorder::default();
    let server = Server::listen(loopback_any_port(), &ServerConfig::default(), &mut rec)
        .expect("listen on loopback");
    let addr = server.local_addr();
    let handle = thread::spawn(move || {
        let result = server.serve_one(&mut rec);
        (rec, result)
    });
    (addr, handle)
}

#[test]
fn the_pair_completes_the_exchange_and_prints_the_classic_lines() {
    let (addr, server) = serve_one();
    let mut client_rec = Recorder::default();
    let reply = pair::client(addr, &ClientConfig::default(), &mut client_rec)
        .expect("the exchange completes");
    assert_eq!(reply.as_deref(), Some(REPLY));

    let (server_rec, result) = server.join().expect("server thread");
    result.expect("the server served the connection");

    let client_addr = client_rec.lines[0]
        .strip_prefix("Client has been assigned the socket:  ")
        .and_then(PyAddr::parse)
        .expect("the client's first line names its address");
    let (client_addr, addr) = (PyAddr(client_addr), PyAddr(addr));
    // Python's own lines, its tuples and byte strings included.
    assert_eq!(
        client_rec.lines,
        [
            format!("Client has been assigned the socket:  {client_addr}"),
            "Server:  b'Goodbye, client!'".to_owned(),
        ]
    );
    assert_eq!(
        server_rec.lines,
        [
            format!("Listening at {addr}"),
            "Waiting for a new connection".to_owned(),
            format!("Connection from {client_addr}"),
            format!("  Socket name: {addr}"),
            format!("  Socket peer: {client_addr}"),
            "  message from client: b'Greetings, serve'".to_owned(),
            "  Closing socket".to_owned(),
        ]
    );
    // Each side's loops account for exactly the bytes the design fixes.
    assert_eq!(server_rec.recvs.last().map(|r| r.2), Some(16));
    assert_eq!(client_rec.recvs.last().map(|r| r.2), Some(16));
    assert_eq!(client_rec.sends.iter().map(|s| s.1).sum::<usize>(), 17);
    assert_eq!(server_rec.sends.iter().map(|s| s.1).sum::<usize>(), 16);
}

#[test]
fn recv_all_loops_when_the_greeting_arrives_a_byte_at_a_time() {
    let (addr, server) = serve_one();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    for (i, byte) in GREETING.iter().enumerate() {
        let sent = stream.write_all(std::slice::from_ref(byte));
        // The server stops reading after 16 bytes and may close before the
        // 17th arrives; only the first 16 must get through.
        if i < 16 {
            sent.expect("send one byte");
        }
        thread::sleep(Duration::from_millis(15));
    }
    let mut reply = [0; 16];
    stream.read_exact(&mut reply).expect("read the reply");
    assert_eq!(&reply, REPLY);

    let (rec, result) = server.join().expect("server thread");
    result.expect("the server served the connection");
    assert!(
        rec.recvs.len() > 1,
        "recv_all should have needed more than one recv, got {:?}",
        rec.recvs
    );
    let mut have = 0;
    for &(asked, got, total) in &rec.recvs {
        assert_eq!(
            asked,
            16 - have,
            "each recv asks for exactly what is missing"
        );
        assert!(got >= 1 && got <= asked);
        have += got;
        assert_eq!(total, have);
    }
    assert_eq!(have, 16);
    assert!(rec
        .lines
        .contains(&"  message from client: b'Greetings, serve'".to_owned()));
}

#[test]
fn recv_all_names_both_counts_when_the_peer_closes_early() {
    let (addr, server) = serve_one();
    let mut stream = TcpStream::connect(addr).expect("connect");
    let client_addr = stream.local_addr().expect("local address");
    stream.write_all(b"Greet").expect("send 5 bytes");
    drop(stream);

    let (rec, result) = server.join().expect("server thread");
    let err = result.expect_err("five bytes are not sixteen");
    assert!(
        matches!(
            err,
            PairError::EarlyEof {
                expected: 16,
                received: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{client_addr} closed the connection early: was expecting 16 bytes \
             but only received 5 bytes before the socket closed"
        )
    );
    // The last turn is the recv that returned 0.
    assert_eq!(rec.recvs.last(), Some(&(11, 0, 5)));
}

#[test]
fn connecting_where_nothing_listens_is_refused() {
    let addr = {
        let probe = std::net::TcpListener::bind(loopback_any_port()).expect("bind");
        probe.local_addr().expect("address")
    }; // dropped: nothing listens there now
    let err = pair::client(addr, &ClientConfig::default(), &mut Recorder::default())
        .expect_err("nothing listens");
    let text = err.to_string();
    assert!(text.contains(&addr.to_string()), "{text}");
    assert!(text.contains("ECONNREFUSED"), "{text}");
}

#[test]
fn listening_on_a_port_already_held_fails_with_eaddrinuse() {
    let holder = std::net::TcpListener::bind(loopback_any_port()).expect("bind");
    let addr = holder.local_addr().expect("address");
    let err = Server::listen(addr, &ServerConfig::default(), &mut Recorder::default())
        .expect_err("the port is held");
    let text = err.to_string();
    assert!(text.starts_with(&format!("cannot bind {addr}: ")), "{text}");
    assert!(text.contains("EADDRINUSE"), "{text}");
}
