//! Failures say what really failed, and end what they end at once.
//!
//! Every failure here is the kernel's own: a socket call that really fails
//! (an fd swapped for `/dev/null` just before the call, so the kernel
//! answers `ENOTSOCK`).

use std::{
    fs::File,
    io,
    net::{SocketAddr, TcpListener},
    os::fd::{AsRawFd, RawFd},
    panic::Location,
};

use protocol::Call;
use tcpstep_relay::pair::{self, ClientConfig, Observer, PairError, Server, ServerConfig};

/// An observer that, just before the first call `doomed` picks, puts
/// `/dev/null` in place of the call's socket (`dup2`), so the kernel fails
/// the call itself with `ENOTSOCK`.
struct SwapOut {
    doomed: fn(&Call) -> bool,
    null: File,
    done: bool,
}

impl SwapOut {
    fn ahead_of(doomed: fn(&Call) -> bool) -> Self {
        SwapOut {
            doomed,
            null: File::open("/dev/null").expect("open /dev/null"),
            done: false,
        }
    }
}

impl Observer for SwapOut {
    fn line(&mut self, _line: &str) {}

    fn before(
        &mut self,
        fd: Option<RawFd>,
        call: &Call,
        _at: &'static Location<'static>,
    ) -> io::Result<()> {
        if let (false, Some(fd)) = (self.done, fd) {
            if (self.doomed)(call) {
                self.done = true;
                // SAFETY: both fds are open; dup2 closes the socket `fd`
                // and makes `fd` another name for /dev/null, which the
                // program's socket then owns and closes.
                let swapped = unsafe { libc::dup2(self.null.as_raw_fd(), fd) };
                assert_eq!(swapped, fd, "dup2: {}", io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn setsockopt_of(option: &'static str) -> impl Fn(&Call) -> bool {
    move |call| matches!(call, Call::Setsockopt { option: o, .. } if o == option)
}

/// A port nothing listens on (the kernel's choice, let go at once).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("its address").port()
}

fn the_call_error(err: PairError) -> pair::CallError {
    match err {
        PairError::Call(err) => err,
        other => panic!("expected a failed call, got {other}"),
    }
}

#[test]
fn a_failed_setsockopt_names_its_own_option() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // The client's SO_RCVBUF, the server's SO_SNDBUF, the client's
    // TCP_NODELAY and the server's SO_REUSEADDR: each failure names its option.
    let client = ClientConfig {
        rcvbuf: Some(4096),
        ..ClientConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("SO_RCVBUF")(c));
    let err = the_call_error(pair::client(addr, &client, &mut observer).expect_err("must fail"));
    assert_eq!(
        err.to_string(),
        format!("cannot set SO_RCVBUF on the socket for {addr}: not a socket (ENOTSOCK)")
    );

    let nodelay = ClientConfig {
        nodelay: true,
        ..ClientConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("TCP_NODELAY")(c));
    let err = the_call_error(pair::client(addr, &nodelay, &mut observer).expect_err("must fail"));
    assert_eq!(
        err.to_string(),
        format!("cannot set TCP_NODELAY on the socket for {addr}: not a socket (ENOTSOCK)")
    );

    let server = ServerConfig {
        sndbuf: Some(4096),
        ..ServerConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("SO_SNDBUF")(c));
    let Err(err) = Server::listen(addr, &server, &mut observer) else {
        panic!("must fail");
    };
    assert_eq!(
        err.to_string(),
        format!("cannot set SO_SNDBUF on the socket for {addr}: not a socket (ENOTSOCK)")
    );

    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("SO_REUSEADDR")(c));
    let Err(err) = Server::listen(addr, &ServerConfig::default(), &mut observer) else {
        panic!("must fail");
    };
    assert_eq!(
        err.to_string(),
        format!("cannot set SO_REUSEADDR on the socket for {addr}: not a socket (ENOTSOCK)")
    );
}

#[test]
fn a_failed_shutdown_says_it_was_the_shutdown() {
    let server = Server::listen(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &ServerConfig::default(),
        &mut Quiet,
    )
    .expect("a server on a free port");
    let addr = server.local_addr();
    // The server serves until the test process ends.
    std::thread::spawn(move || server.serve_forever(&mut Quiet));
    let half_close = ClientConfig {
        half_close: true,
        ..ClientConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| matches!(c, Call::Shutdown { .. }));
    let err =
        the_call_error(pair::client(addr, &half_close, &mut observer).expect_err("must fail"));
    assert_eq!(
        err.to_string(),
        format!("cannot shut down the connection to {addr}: not a socket (ENOTSOCK)")
    );
}

/// An observer that prints nothing.
struct Quiet;

impl Observer for Quiet {
    fn line(&mut self, _line: &str) {}
}
