//! The client half of the pair: connect, send the greeting, read the 16-byte reply.

use std::net::{SocketAddr, ToSocketAddrs};

use protocol::classic::{CLIENT_EXPECTS, GREETING};
use socket2::{Domain, Protocol, Socket, Type};

use super::{
    recv_all, send_all, server::inet, ByteString, Call, CallError, Connection, Observer, PairError,
};

/// Turns `host` and `port` into the address the client connects to.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, CallError> {
    let about = format!("{host}:{port}");
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| CallError::new(Call::Resolve, &about, e))?;
    addrs.next().ok_or_else(|| {
        CallError::new(
            Call::Resolve,
            &about,
            std::io::Error::other("the name has no address"),
        )
    })
}

/// Connects to `addr`, sends the greeting, and returns the server's reply.
pub fn client(addr: SocketAddr, observer: &mut dyn Observer) -> Result<Vec<u8>, PairError> {
    let err = |call| move |e| CallError::new(call, addr, e);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(err(Call::Socket))?;
    socket.connect(&addr.into()).map_err(err(Call::Connect))?;
    let local = inet(socket.local_addr(), Call::GetSockName, addr)?;
    observer.line(&format!("Client has been assigned socket name {local}"));
    let conn = Connection::new(socket, local, addr);

    send_all(&conn, GREETING, observer)?;
    let reply = recv_all(&conn, CLIENT_EXPECTS, observer)?;
    observer.line(&format!("The server said {}", ByteString(&reply)));
    drop(conn); // close()
    Ok(reply)
}
