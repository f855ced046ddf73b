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
    if let Some(retries) = config.syn_retries {
        let call = Call::Setsockopt {
            option: "TCP_SYNCNT".to_owned(),
            value: retries.into(),
        };
        traced(
            observer,
            fd,
            call,
            || set_syn_retries(&socket, retries),
            done,
        )
        .map_err(|e| CallError::setsockopt("TCP_SYNCNT", addr, e))?;
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

/// `setsockopt(IPPROTO_TCP, TCP_SYNCNT, retries)`, which socket2 does not offer.
fn set_syn_retries(socket: &socket2::Socket, retries: u8) -> std::io::Result<()> {
    let value = libc::c_int::from(retries);
    // SAFETY: setsockopt reads an int of the size given, from a live local.
    let ret = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_SYNCNT,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
