//! The server half of the pair: listen once, then accept, read 16, reply, close.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    os::fd::{AsRawFd, RawFd},
};

use protocol::{Call, CallResult};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{
    recv_all_slowly, send_all, traced::traced, ByteString, CallError, Connection, Observer,
    PairError, PyAddr, ServerConfig,
};

/// A listening socket, as the classic server sets it up.
#[derive(Debug)]
pub struct Server {
    listener: Socket,
    local: SocketAddr,
    config: ServerConfig,
}

impl Server {
    /// `socket()`, `setsockopt(SO_REUSEADDR)`, `bind(addr)`, `listen(1)`, then
    /// prints the address it listens at. Port 0 lets the kernel choose one.
    /// `config` may ask for socket buffer sizes and another backlog.
    pub fn listen(
        addr: SocketAddr,
        config: &ServerConfig,
        observer: &mut dyn Observer,
    ) -> Result<Server, CallError> {
        let err = |call| move |e| CallError::new(call, addr, e);
        let listener = new_socket(addr, observer).map_err(err("socket"))?;
        let fd = Some(listener.as_raw_fd());
        // Lets a restarted server bind at once although the previous run's
        // connections still sit in TIME_WAIT on this port.
        let reuse = Call::Setsockopt {
            option: "SO_REUSEADDR".to_owned(),
            value: 1,
        };
        traced(
            observer,
            fd,
            reuse,
            || listener.set_reuse_address(true),
            done,
        )
        .map_err(|e| CallError::setsockopt("SO_REUSEADDR", addr, e))?;
        set_buffers(&listener, config.rcvbuf, config.sndbuf, addr, observer)?;
        let bind = Call::Bind {
            addr: addr.to_string(),
        };
        traced(observer, fd, bind, || listener.bind(&addr.into()), done).map_err(err("bind"))?;
        let backlog = config.backlog;
        let listen = Call::Listen { backlog };
        traced(observer, fd, listen, || listener.listen(backlog), done).map_err(err("listen"))?;
        let local = sockname(&listener, observer, addr)?;
        observer.line(&format!("Listening at {}", PyAddr(local)));
        Ok(Server {
            listener,
            local,
            config: config.clone(),
        })
    }

    /// The address the server listens at (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves connections one after the other until one fails.
    pub fn serve_forever(&self, observer: &mut dyn Observer) -> Result<Infallible, PairError> {
        loop {
            self.serve_one(observer)?;
        }
    }

    /// Accepts one connection, reads exactly 16 bytes (or what the config
    /// says) from it, replies and closes it.
    pub fn serve_one(&self, observer: &mut dyn Observer) -> Result<(), PairError> {
        if !self.config.accept_pause.is_zero() {
            observer.pause(self.config.accept_pause);
        }
        observer.line("Waiting for a new connection");
        let (socket, from) = self.accept(observer)?;
        observer.line(&format!("Connection from {}", PyAddr(from)));
        let local = sockname(&socket, observer, from)?;
        observer.line(&format!("  Socket name: {}", PyAddr(local)));
        let peer = peername(&socket, observer, from)?;
        observer.line(&format!("  Socket peer: {}", PyAddr(peer)));
        let conn = Connection::new(socket, local, peer);

        let expected = self.config.expected;
        let message = recv_all_slowly(&conn, expected, self.config.read_pause, observer)?;
        observer.line(&format!("  message from client: {}", ByteString(&message)));
        if self.config.replies {
            send_all(&conn, &self.config.reply, observer)?;
        }
        conn.close(observer)?;
        observer.line("  Closing socket");
        Ok(())
    }

    #[track_caller]
    fn accept(&self, observer: &mut dyn Observer) -> Result<(Socket, SocketAddr), CallError> {
        let fd = Some(self.listener.as_raw_fd());
        let (socket, from) = traced(
            observer,
            fd,
            Call::Accept,
            || self.listener.accept(),
            |(socket, from)| CallResult::Socket {
                fd: socket.as_raw_fd(),
                peer: from.as_socket().map(|a| a.to_string()),
            },
        )
        .map_err(|e| CallError::new("accept", self.local, e))?;
        Ok((socket, inet(from, "accept", self.local)?))
    }
}

/// `socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)`, reported.
#[track_caller]
pub(super) fn new_socket(addr: SocketAddr, observer: &mut dyn Observer) -> io::Result<Socket> {
    traced(
        observer,
        None,
        Call::Socket,
        || Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)),
        |s| CallResult::Socket {
            fd: s.as_raw_fd(),
            peer: None,
        },
    )
}

/// `getsockname()`, reported; errors name `about`.
#[track_caller]
pub(super) fn sockname(
    socket: &Socket,
    observer: &mut dyn Observer,
    about: SocketAddr,
) -> Result<SocketAddr, CallError> {
    name_of(
        socket.as_raw_fd(),
        Call::Getsockname,
        observer,
        about,
        || socket.local_addr(),
    )
}

/// `getpeername()`, reported; errors name `about`.
#[track_caller]
fn peername(
    socket: &Socket,
    observer: &mut dyn Observer,
    about: SocketAddr,
) -> Result<SocketAddr, CallError> {
    name_of(
        socket.as_raw_fd(),
        Call::Getpeername,
        observer,
        about,
        || socket.peer_addr(),
    )
}

#[track_caller]
fn name_of(
    fd: RawFd,
    call: Call,
    observer: &mut dyn Observer,
    about: SocketAddr,
    get: impl FnMut() -> io::Result<SockAddr>,
) -> Result<SocketAddr, CallError> {
    let name = call.name();
    let addr = traced(observer, Some(fd), call, get, |a| match a.as_socket() {
        Some(a) => CallResult::Addr {
            addr: a.to_string(),
        },
        None => CallResult::Done,
    })
    .map_err(|e| CallError::new(name, about, e))?;
    inet(addr, name, about)
}

/// An address the kernel gave back, which for a TCP/IP socket is always an IP address.
fn inet(addr: SockAddr, call: &'static str, about: SocketAddr) -> Result<SocketAddr, CallError> {
    addr.as_socket().ok_or_else(|| {
        CallError::new(
            call,
            about,
            io::Error::other("the kernel returned an address that is not IPv4 or IPv6"),
        )
    })
}

/// `setsockopt(SO_RCVBUF)` and `setsockopt(SO_SNDBUF)`, where asked for.
#[track_caller]
pub(super) fn set_buffers(
    socket: &Socket,
    rcvbuf: Option<u32>,
    sndbuf: Option<u32>,
    addr: SocketAddr,
    observer: &mut dyn Observer,
) -> Result<(), CallError> {
    let fd = Some(socket.as_raw_fd());
    type Setter = fn(&Socket, usize) -> io::Result<()>;
    let options: [(&'static str, Option<u32>, Setter); 2] = [
        ("SO_RCVBUF", rcvbuf, Socket::set_recv_buffer_size),
        ("SO_SNDBUF", sndbuf, Socket::set_send_buffer_size),
    ];
    for (option, size, set) in options {
        let Some(size) = size else { continue };
        let call = Call::Setsockopt {
            option: option.to_owned(),
            value: i32::try_from(size).unwrap_or(i32::MAX),
        };
        traced(observer, fd, call, || set(socket, size as usize), done)
            .map_err(|e| CallError::setsockopt(option, addr, e))?;
    }
    Ok(())
}

pub(super) fn done(_: &()) -> CallResult {
    CallResult::Done
}
