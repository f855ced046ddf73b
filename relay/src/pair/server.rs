//! The server half of the pair: listen once, then accept, read 16, reply, close.

use std::{convert::Infallible, io, net::SocketAddr};

use protocol::classic::{BACKLOG, REPLY, SERVER_EXPECTS};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{recv_all, send_all, ByteString, Call, CallError, Connection, Observer, PairError};

/// A listening socket, as the classic server sets it up.
#[derive(Debug)]
pub struct Server {
    listener: Socket,
    local: SocketAddr,
}

impl Server {
    /// `socket()`, `setsockopt(SO_REUSEADDR)`, `bind(addr)`, `listen(1)`, then
    /// prints the address it listens at. Port 0 lets the kernel choose one.
    pub fn listen(addr: SocketAddr, observer: &mut dyn Observer) -> Result<Server, CallError> {
        let err = |call| move |e| CallError::new(call, addr, e);
        let listener = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(err(Call::Socket))?;
        // Lets a restarted server bind at once although the previous run's
        // connections still sit in TIME_WAIT on this port.
        listener
            .set_reuse_address(true)
            .map_err(err(Call::SetSockOpt))?;
        listener.bind(&addr.into()).map_err(err(Call::Bind))?;
        listener.listen(BACKLOG).map_err(err(Call::Listen))?;
        let local = inet(listener.local_addr(), Call::GetSockName, addr)?;
        observer.line(&format!("Listening at {local}"));
        Ok(Server { listener, local })
    }

    /// The address the server listens at (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The listening socket itself, for reading its state.
    pub fn socket(&self) -> &Socket {
        &self.listener
    }

    /// Serves connections one after the other until one fails.
    pub fn serve_forever(&self, observer: &mut dyn Observer) -> Result<Infallible, PairError> {
        loop {
            self.serve_one(observer)?;
        }
    }

    /// Accepts one connection, reads exactly 16 bytes from it, replies and closes it.
    pub fn serve_one(&self, observer: &mut dyn Observer) -> Result<(), PairError> {
        observer.line("Waiting to accept a new connection");
        let (socket, from) = self.accept()?;
        observer.line(&format!("We have accepted a connection from {from}"));
        let local = inet(socket.local_addr(), Call::GetSockName, from)?;
        observer.line(&format!("  Socket name: {local}"));
        let peer = inet(socket.peer_addr(), Call::GetPeerName, from)?;
        observer.line(&format!("  Socket peer: {peer}"));
        let conn = Connection::new(socket, local, peer);

        let message = recv_all(&conn, SERVER_EXPECTS, observer)?;
        observer.line(&format!(
            "  Incoming sixteen-octet message: {}",
            ByteString(&message)
        ));
        send_all(&conn, REPLY, observer)?;
        drop(conn); // close()
        observer.line("  Reply sent, socket closed");
        Ok(())
    }

    fn accept(&self) -> Result<(Socket, SocketAddr), CallError> {
        loop {
            match self.listener.accept() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CallError::new(Call::Accept, self.local, e)),
                Ok((socket, from)) => {
                    return Ok((socket, inet(Ok(from), Call::Accept, self.local)?));
                }
            }
        }
    }
}

/// An address the kernel gave back, which for a TCP/IP socket is always an IP address.
pub(super) fn inet(
    addr: io::Result<SockAddr>,
    call: Call,
    about: impl std::fmt::Display,
) -> Result<SocketAddr, CallError> {
    let addr = addr.map_err(|e| CallError::new(call, &about, e))?;
    addr.as_socket().ok_or_else(|| {
        CallError::new(
            call,
            &about,
            io::Error::other("the kernel returned an address that is not IPv4 or IPv6"),
        )
    })
}
