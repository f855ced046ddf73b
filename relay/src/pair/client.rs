//! The client half of the pair: connect, send the greeting, read the 16-byte reply.

use std::{
    net::{SocketAddr, ToSocketAddrs},
    os::fd::AsRawFd,
};

use protocol::{
    classic::{CLIENT_EXPECTS, GREETING},
    Call, CallResult,
};

use super::{
    recv_all, send_all,
    server::{new_socket, sockname},
    traced::traced,
    ByteString, CallError, Connection, Observer, PairError,
};

/// Turns `host` and `port` into the address the client connects to.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, CallError> {
    let about = format!("{host}:{port}");
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| CallError::new("resolve", &about, e))?;
    addrs.next().ok_or_else(|| {
        CallError::new(
            "resolve",
            &about,
            std::io::Error::other("the name has no address"),
        )
    })
}

/// Connects to `addr`, sends the greeting, and returns the server's reply.
pub fn client(addr: SocketAddr, observer: &mut dyn Observer) -> Result<Vec<u8>, PairError> {
    let socket = new_socket(addr, observer).map_err(|e| CallError::new("socket", addr, e))?;
    let connect = Call::Connect {
        addr: addr.to_string(),
    };
    traced(
        observer,
        Some(socket.as_raw_fd()),
        connect,
        || socket.connect(&addr.into()),
        |_| CallResult::Done,
    )
    .map_err(|e| CallError::new("connect", addr, e))?;
    let local = sockname(&socket, observer, addr)?;
    observer.line(&format!("Client has been assigned socket name {local}"));
    let conn = Connection::new(socket, local, addr);

    send_all(&conn, GREETING, observer)?;
    let reply = recv_all(&conn, CLIENT_EXPECTS, observer)?;
    observer.line(&format!("The server said {}", ByteString(&reply)));
    conn.close(observer)?;
    Ok(reply)
}
