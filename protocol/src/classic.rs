//! The classic teaching pair, as DESIGN.md fixes it.
//!
//! These numbers are deliberately a little off: the client sends 17 bytes but
//! the server reads exactly 16, so one byte is still unread in the server's
//! receive queue when it closes the connection. What the kernel does about
//! that is one of the things tcpstep exists to show.

/// The port `relay server` listens on and `relay client` connects to unless told otherwise.
pub const DEFAULT_PORT: u16 = 3000;

/// The greeting the client sends: 17 bytes.
pub const GREETING: &[u8] = b"Greetings, server";

/// The reply the server sends: 16 bytes.
pub const REPLY: &[u8] = b"Goodbye, client!";

/// How many bytes the server's `recv_all` waits for.
pub const SERVER_EXPECTS: usize = 16;

/// How many bytes the client's `recv_all` waits for.
pub const CLIENT_EXPECTS: usize = 16;

/// The backlog the server passes to `listen()`.
pub const BACKLOG: i32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lengths_are_the_ones_the_design_states() {
        assert_eq!(GREETING.len(), 17);
        assert_eq!(REPLY.len(), 16);
        assert_eq!(REPLY.len(), CLIENT_EXPECTS);
        assert!(
            GREETING.len() > SERVER_EXPECTS,
            "one greeting byte is left unread"
        );
    }
}
