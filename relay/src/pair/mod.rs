//! The classic TCP teaching pair, on real kernel sockets.
//!
//! The server accepts a connection, `recv_all`s exactly 16 bytes and
//! `send_all`s a 16-byte reply; the client connects, sends a 17-byte greeting
//! and `recv_all`s the reply. Every call here is one real system call on a
//! blocking socket, made in the order the textbook program makes it, so that
//! what the kernel does in response is exactly what a learner's own program
//! would meet.
//!
//! What the programs do that a viewer may want to see (the lines they print,
//! each turn of the `recv_all` and `send_all` loops) goes to an [`Observer`]:
//! the terminal commands print it, tests count it.

mod byte_string;
mod client;
mod error;
mod server;
mod stream;

pub use byte_string::ByteString;
pub use client::{client, resolve};
pub use error::{Call, CallError, PairError};
pub use server::Server;
pub use stream::{recv_all, send_all, Connection, RecvIteration, SendIteration};

/// Whoever watches the pair run.
pub trait Observer {
    /// A line the program prints, without its newline.
    fn line(&mut self, line: &str);

    /// One turn of a `recv_all` loop has returned.
    fn recv_iteration(&mut self, _iteration: &RecvIteration<'_>) {}

    /// One `send()` of a `send_all` loop has returned.
    fn send_iteration(&mut self, _iteration: &SendIteration) {}
}

/// The terminal programs' observer: lines go to standard output, as printed.
pub struct Stdout;

impl Observer for Stdout {
    fn line(&mut self, line: &str) {
        println!("{line}");
    }
}
