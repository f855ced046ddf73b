//! A connected socket, and the two loops every TCP program needs.
//!
//! TCP delivers a stream of bytes, not messages: one `recv` may return fewer
//! bytes than were asked for, and one `send` may accept fewer than were
//! offered. `recv_all` and `send_all` loop until the whole message is through,
//! and report each turn so that a viewer can see how many it really took.

use std::{
    io::{self, Read, Write},
    net::{Shutdown, SocketAddr},
    os::fd::{AsRawFd, IntoRawFd, RawFd},
    time::Duration,
};

use protocol::{Call, CallResult};
use socket2::Socket;

use super::{traced::traced, CallError, Observer, PairError};

/// A connected TCP socket and the two ends of its connection.
#[derive(Debug)]
pub struct Connection {
    socket: Socket,
    local: SocketAddr,
    peer: SocketAddr,
}

impl Connection {
    pub(crate) fn new(socket: Socket, local: SocketAddr, peer: SocketAddr) -> Self {
        Connection {
            socket,
            local,
            peer,
        }
    }

    /// This end's address, as `getsockname()` gave it.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The other end's address, as `getpeername()` (or `accept()`) gave it.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// One `recv(2)` of at most `len` bytes.
    #[track_caller]
    fn recv(&self, len: usize, observer: &mut dyn Observer) -> Result<Vec<u8>, CallError> {
        let mut buf = vec![0; len];
        traced(
            observer,
            Some(self.fd()),
            Call::Recv { len },
            || {
                let n = (&self.socket).read(&mut buf)?;
                Ok(buf[..n].to_vec())
            },
            |data| CallResult::Bytes {
                n: data.len(),
                data: data.clone(),
            },
        )
        .map_err(|e| CallError::new("recv", self.peer, e))
    }

    /// One `send(2)` of `data`; the kernel may accept only a prefix of it.
    #[track_caller]
    fn send(&self, data: &[u8], observer: &mut dyn Observer) -> Result<usize, CallError> {
        traced(
            observer,
            Some(self.fd()),
            Call::Send {
                bytes: data.to_vec(),
            },
            || (&self.socket).write(data),
            |&n| CallResult::Bytes {
                n,
                data: data[..n].to_vec(),
            },
        )
        .map_err(|e| CallError::new("send", self.peer, e))
    }

    /// `shutdown(SHUT_WR)`: this side will send no more (its kernel sends a
    /// FIN), but it can still receive what the peer sends.
    #[track_caller]
    pub fn shutdown_write(&self, observer: &mut dyn Observer) -> Result<(), CallError> {
        let call = Call::Shutdown {
            how: "SHUT_WR".to_owned(),
        };
        traced(
            observer,
            Some(self.fd()),
            call,
            || self.socket.shutdown(Shutdown::Write),
            |_| CallResult::Done,
        )
        .map_err(|e| CallError::new("shutdown", self.peer, e))
    }

    /// `setsockopt(SO_LINGER, {on, 0})`: a later `close()` discards whatever
    /// is unsent and resets the connection (RST) instead of closing it (FIN).
    #[track_caller]
    pub fn linger_zero(&self, observer: &mut dyn Observer) -> Result<(), CallError> {
        let call = Call::Setsockopt {
            option: "SO_LINGER".to_owned(),
            value: 0,
        };
        traced(
            observer,
            Some(self.fd()),
            call,
            || self.socket.set_linger(Some(Duration::ZERO)),
            |_| CallResult::Done,
        )
        .map_err(|e| CallError::setsockopt("SO_LINGER", self.peer, e))
    }

    /// `close(2)`: the program is done with the socket.
    #[track_caller]
    pub fn close(self, observer: &mut dyn Observer) -> Result<(), CallError> {
        close(self.socket, observer).map_err(|e| CallError::new("close", self.peer, e))
    }
}

/// `close(2)` on a socket, reported like every other call. If the observer
/// stops the program before it, the socket is closed all the same.
#[track_caller]
pub(super) fn close(socket: Socket, observer: &mut dyn Observer) -> io::Result<()> {
    let fd = socket.as_raw_fd();
    let mut socket = Some(socket);
    traced(
        observer,
        Some(fd),
        Call::Close,
        || match socket.take() {
            // SAFETY: the fd is ours alone: into_raw_fd gave up the Socket's ownership.
            Some(s) => match unsafe { libc::close(s.into_raw_fd()) } {
                0 => Ok(()),
                _ => Err(io::Error::last_os_error()),
            },
            // close() is never retried: on Linux the fd is gone even after EINTR.
            None => Ok(()),
        },
        |_| CallResult::Done,
    )
}

/// One turn of the `recv_all` loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvIteration<'a> {
    /// 1 for the first `recv`, 2 for the second, ...
    pub number: usize,
    /// How many bytes this `recv` asked for: what was still missing.
    pub asked: usize,
    /// How many it returned; 0 means the peer closed its side.
    pub got: usize,
    /// How many are in hand after it.
    pub total: usize,
    /// The bytes it returned.
    pub bytes: &'a [u8],
}

/// One `send` of the `send_all` loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendIteration {
    pub number: usize,
    /// How many bytes were offered to the kernel.
    pub offered: usize,
    /// How many it took.
    pub accepted: usize,
    /// How many have been accepted so far, this one included.
    pub total: usize,
}

/// Receives exactly `n` bytes, calling `recv` as often as it takes.
///
/// A `recv` that returns 0 bytes before all `n` are in hand means the peer
/// closed its side: that is [`PairError::EarlyEof`], naming both counts.
pub fn recv_all(
    conn: &Connection,
    n: usize,
    observer: &mut dyn Observer,
) -> Result<Vec<u8>, PairError> {
    recv_all_slowly(conn, n, Duration::ZERO, observer)
}

/// [`recv_all`], pausing for `pause` before every `recv` after the first:
/// a slow reader, whose receive buffer fills while it dawdles.
pub fn recv_all_slowly(
    conn: &Connection,
    n: usize,
    pause: Duration,
    observer: &mut dyn Observer,
) -> Result<Vec<u8>, PairError> {
    let mut data = Vec::with_capacity(n);
    let mut number = 0;
    while data.len() < n {
        if number > 0 && !pause.is_zero() {
            observer.pause(pause);
        }
        let asked = n - data.len();
        let more = conn.recv(asked, observer)?;
        number += 1;
        data.extend_from_slice(&more);
        observer.recv_iteration(&RecvIteration {
            number,
            asked,
            got: more.len(),
            total: data.len(),
            bytes: &more,
        });
        if more.is_empty() {
            return Err(PairError::EarlyEof {
                peer: conn.peer,
                expected: n,
                received: data.len(),
            });
        }
    }
    Ok(data)
}

/// Sends all of `data`, calling `send` until the kernel has accepted every byte.
pub fn send_all(
    conn: &Connection,
    data: &[u8],
    observer: &mut dyn Observer,
) -> Result<(), PairError> {
    let mut total = 0;
    let mut number = 0;
    while total < data.len() {
        let offered = data.len() - total;
        let accepted = conn.send(&data[total..], observer)?;
        number += 1;
        total += accepted;
        observer.send_iteration(&SendIteration {
            number,
            offered,
            accepted,
            total,
        });
    }
    Ok(())
}
