//! A connected socket, and the two loops every TCP program needs.
//!
//! TCP delivers a stream of bytes, not messages: one `recv` may return fewer
//! bytes than were asked for, and one `send` may accept fewer than were
//! offered. `recv_all` and `send_all` loop until the whole message is through,
//! and report each turn so that a viewer can see how many it really took.

use std::{
    io::{self, Read, Write},
    net::SocketAddr,
};

use socket2::Socket;

use super::{Call, CallError, Observer, PairError};

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

    /// The kernel socket itself, for reading its state.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// One `recv(2)` of at most `buf.len()` bytes. Retries only when a signal interrupted it.
    fn recv(&self, buf: &mut [u8]) -> Result<usize, CallError> {
        loop {
            match (&self.socket).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(|e| CallError::new(Call::Recv, self.peer, e)),
            }
        }
    }

    /// One `send(2)` of `data`; the kernel may accept only a prefix of it.
    fn send(&self, data: &[u8]) -> Result<usize, CallError> {
        loop {
            match (&self.socket).write(data) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(|e| CallError::new(Call::Send, self.peer, e)),
            }
        }
    }
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
    let mut data = Vec::with_capacity(n);
    let mut buf = vec![0; n];
    let mut number = 0;
    while data.len() < n {
        let asked = n - data.len();
        let got = conn.recv(&mut buf[..asked])?;
        number += 1;
        data.extend_from_slice(&buf[..got]);
        observer.recv_iteration(&RecvIteration {
            number,
            asked,
            got,
            total: data.len(),
            bytes: &buf[..got],
        });
        if got == 0 {
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
        let accepted = conn.send(&data[total..])?;
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
