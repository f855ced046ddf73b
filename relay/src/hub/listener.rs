//! The hub's listener: each accepted connection set up for a viewer, and
//! let go if it says nothing.
//!
//! A connection that never sends a byte would otherwise be kept for ever
//! (axum's server sets no read timeout), one file descriptor each: a
//! careless tool, or a deliberate crowd of them, could use up the relay's.
//! So a connection gets [`FIRST_BYTE_PATIENCE`] for its first byte; once
//! it has spoken, hyper reads its request and the viewer's task takes over.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::Sleep,
};

use super::VIEWER_SEND_BUFFER;

/// How long a new connection may stay silent before it is closed.
pub const FIRST_BYTE_PATIENCE: Duration = Duration::from_secs(10);

/// The relay's TCP listener, as axum's server takes one.
pub(super) struct Viewers(pub TcpListener);

impl axum::serve::Listener for Viewers {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, peer)) => {
                    // Bounds what the kernel buffers for a viewer that stops
                    // reading; past it, that viewer's task waits, not the session.
                    let _ =
                        socket2::SockRef::from(&stream).set_send_buffer_size(VIEWER_SEND_BUFFER);
                    let _ = stream.set_nodelay(true);
                    let silence = Some(Box::pin(tokio::time::sleep(FIRST_BYTE_PATIENCE)));
                    return (Connection { stream, silence }, peer);
                }
                // Out of file descriptors and the like: say so, and keep serving.
                Err(err) => {
                    tracing::warn!("cannot accept a viewer: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// An accepted connection: a TCP stream whose first byte has a deadline.
pub(super) struct Connection {
    stream: TcpStream,
    /// Until the first byte arrives: when the connection is given up.
    silence: Option<Pin<Box<Sleep>>>,
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if read.is_ready() && buf.filled().len() > before {
            self.silence = None;
        } else if read.is_pending() {
            let silent_too_long = self
                .silence
                .as_mut()
                .is_some_and(|silence| silence.as_mut().poll(cx).is_ready());
            if silent_too_long {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("nothing was said within {FIRST_BYTE_PATIENCE:?}"),
                )));
            }
        }
        read
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
