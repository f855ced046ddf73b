//! The client half of the pair: connect, send the greeting, read the 16-byte reply.

use std::{
    net::{SocketAddr, ToSocketAddrs},
    os::fd::AsRawFd,
};

use protocol::{Call, CallResult};

use super::{
    recv_all, send_all,
    server::{done, new_socket, set_buffers, sockname},
    traced::traced,
    ByteString, CallError, ClientConfig, Connection, Observer, PairError, PyAddr,
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

/// Connects to `addr`, sends the greeting, and returns the server's reply
/// (`None` for a client configured to hang up without reading it).
pub fn client(
    addr: SocketAddr,
    config: &ClientConfig,
    observer: &mut dyn Observer,
) -> Result<Option<Vec<u8>>, PairError> {
    let err = |call| move |e| CallError::new(call, addr, e);
    let socket = new_socket(addr, observer).map_err(err("socket"))?;
    let fd = Some(socket.as_raw_fd());
    set_buffers(&socket, config.rcvbuf, config.sndbuf, addr, observer)?;
    if config.nodelay {
        let call = Call::Setsockopt {
            option: "TCP_NODELAY".to_owned(),
            value: 1,
        };
        traced(observer, fd, call, || socket.set_tcp_nodelay(true), done)
            .map_err(|e| CallError::setsockopt("TCP_NODELAY", addr, e))?;
    }
    let connect = Call::Connect {
        addr: addr.to_string(),
    };
    traced(
        observer,
        fd,
        connect,
        || socket.connect(&addr.into()),
        |_| CallResult::Done,
    )
    .map_err(err("connect"))?;
    let local = sockname(&socket, observer, addr)?;
    observer.line(&format!(
        "Client has been assigned the socket:  {}",
        PyAddr(local)
    ));
    let conn = Connection::new(socket, local, addr);

    match config.chunk {
        Some(size) if size > 0 => {
            for (i, piece) in config.message.chunks(size).enumerate() {
                if i > 0 {
                    observer.pause(config.pause);
                }
                send_all(&conn, piece, observer)?;
            }
        }
        _ => send_all(&conn, &config.message, observer)?,
    }
    if config.half_close {
        conn.shutdown_write(observer)?;
        observer.line("Sending side shut down: the server sees end of stream");
    }
    let reply = match config.expects {
        Some(n) => {
            let reply = recv_all(&conn, n, observer)?;
            observer.line(&format!("Server:  {}", ByteString(&reply)));
            Some(reply)
        }
        None => None,
    };
    if config.abort {
        conn.linger_zero(observer)?;
    }
    conn.close(observer)?;
    Ok(reply)
}
