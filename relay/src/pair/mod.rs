//! The classic TCP teaching pair, on real kernel sockets.
//!
//! The server accepts a connection, `recv_all`s exactly 16 bytes and
//! `send_all`s a 16-byte reply; the client connects, sends a 17-byte greeting
//! and `recv_all`s the reply. Every call here is one real system call on a
//! blocking socket, made in the order the textbook program makes it, so that
//! what the kernel does in response is exactly what a learner's own program
//! would meet.
//!
//! The same pair in Python, as the chapter writes it, is
//! `protocol/python/tcp_pair.py`: each call made here has its line there
//! (`protocol::python::TABLE`), and the lines printed here are the ones
//! Python prints, tuples and byte strings included ([`PyAddr`], [`ByteString`]).
//! Change one and change the other.
//!
//! Everything the programs do goes past an [`Observer`]: each socket call
//! before and after it is made, each turn of the `recv_all` and `send_all`
//! loops, each printed line. The terminal commands print the lines; a session
//! turns all of it into events and holds each call until a viewer steps it.

mod address;
mod byte_string;
mod client;
mod config;
mod error;
mod server;
mod stream;
mod traced;

use std::{io, os::fd::RawFd, panic::Location};

pub use address::PyAddr;
pub use byte_string::ByteString;
pub use client::{client, resolve};
pub use config::{ClientConfig, ServerConfig};
pub use error::{CallError, PairError};
use protocol::{Call, CallResult};
pub use server::Server;
pub use stream::{recv_all, recv_all_slowly, send_all, Connection, RecvIteration, SendIteration};
pub use traced::error_result;

/// The programs' source, compiled in: what a viewer shows is exactly what
/// runs. Paths are as `std::panic::Location` names them.
pub fn sources() -> Vec<protocol::SourceFile> {
    [
        ("relay/src/pair/server.rs", include_str!("server.rs")),
        ("relay/src/pair/client.rs", include_str!("client.rs")),
        ("relay/src/pair/stream.rs", include_str!("stream.rs")),
    ]
    .into_iter()
    .map(|(path, text)| protocol::SourceFile {
        path: path.to_owned(),
        text: text.to_owned(),
    })
    .collect()
}

/// Whoever watches the pair run.
pub trait Observer {
    /// A line the program prints, without its newline.
    fn line(&mut self, line: &str);

    /// A socket call is about to be made on `fd` (`None` for `socket()`), by
    /// the line of source `at`. Returning an error stops the program before
    /// the call: it fails with that error, as if the call had.
    fn before(
        &mut self,
        _fd: Option<RawFd>,
        _call: &Call,
        _at: &'static Location<'static>,
    ) -> io::Result<()> {
        Ok(())
    }

    /// The call has returned.
    fn after(&mut self, _fd: Option<RawFd>, _call: &Call, _result: &CallResult) {}

    /// One turn of a `recv_all` loop has returned.
    fn recv_iteration(&mut self, _iteration: &RecvIteration<'_>) {}

    /// One `send()` of a `send_all` loop has returned.
    fn send_iteration(&mut self, _iteration: &SendIteration) {}

    /// The program pauses (between pieces of a message). An observer may
    /// cut the pause short, as a session does when it is reset.
    fn pause(&mut self, duration: std::time::Duration) {
        std::thread::sleep(duration);
    }
}

/// The terminal programs' observer: lines go to standard output, as printed.
pub struct Stdout;

impl Observer for Stdout {
    fn line(&mut self, line: &str) {
        println!("{line}");
    }
}
