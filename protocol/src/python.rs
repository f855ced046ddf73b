//! The pair in Python, as the sockets chapter writes such programs, and
//! which line of it makes each call the relay's programs make.
//!
//! The relay runs Rust; a reader of the chapter reads Python. [`SOURCE`] is
//! the same two programs written with the `socket` module, line for line:
//! every socket call the relay makes, with every option a scenario can
//! give, has its line there, in the same order, and the file runs under
//! `python3` as the relay's `server` and `client` commands do, printing the
//! same lines. [`TABLE`] says which line is which call: it is data, found
//! in the text by the line's own words, so that editing the Python cannot
//! silently move a mark (a test finds every row exactly once).
//!
//! This crate builds for the page too, so the page marks each program's
//! current line with the same table the tests check.

use std::sync::OnceLock;

use crate::{Actor, Call, SocketRole};

/// Where the file lives in the repository, and the name the page shows.
pub const PATH: &str = "protocol/python/tcp_pair.py";

/// The Python program.
pub const SOURCE: &str = include_str!("../python/tcp_pair.py");

/// Which of the two programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    Server,
    Client,
}

impl Program {
    /// The program an actor runs; the kernel, the wire and the relay run none.
    pub fn of(actor: Actor) -> Option<Program> {
        match actor {
            Actor::Server => Some(Program::Server),
            Actor::Client(_) => Some(Program::Client),
            Actor::Kernel | Actor::Wire | Actor::Relay => None,
        }
    }
}

/// What tells apart calls of the same name made by one program from
/// different lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The program makes this call from one line only.
    Any,
    /// `setsockopt` of this option.
    Option(&'static str),
    /// A call on a socket in this role: the server asks the name of its
    /// listener and of each connection socket.
    On(SocketRole),
    /// The client's `send`s when it sends its message in pieces...
    InPieces,
    /// ...and when it sends it whole.
    Whole,
}

/// What the viewer knows of a call beyond the call itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Context {
    /// The role of the socket the call is made on, if known.
    pub role: Option<SocketRole>,
    /// Whether the session's client sends its message in pieces (the
    /// scenario's `chunk`).
    pub in_pieces: bool,
}

/// One row of the table: a call one program makes, and its Python line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub program: Program,
    /// The call's name, as [`Call::name`] gives it.
    pub call: &'static str,
    pub detail: Detail,
    /// The function of [`SOURCE`] the line is in: the same words may be in
    /// both programs (both make a socket).
    pub function: &'static str,
    /// The line's code, without its indentation or a trailing comment.
    pub text: &'static str,
}

const fn row(
    program: Program,
    call: &'static str,
    detail: Detail,
    function: &'static str,
    text: &'static str,
) -> Row {
    Row {
        program,
        call,
        detail,
        function,
        text,
    }
}

use Detail::{Any, InPieces, On, Option as Opt, Whole};
use Program::{Client, Server};

/// Every call the relay's programs make, and the Python line that makes it.
#[rustfmt::skip]
pub const TABLE: &[Row] = &[
    row(Server, "socket", Any, "server", "sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)"),
    row(Server, "setsockopt", Opt("SO_REUSEADDR"), "server", "sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)"),
    row(Server, "setsockopt", Opt("SO_RCVBUF"), "server", "sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)"),
    row(Server, "setsockopt", Opt("SO_SNDBUF"), "server", "sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)"),
    row(Server, "bind", Any, "server", "sock.bind((interface, port))"),
    row(Server, "listen", Any, "server", "sock.listen(backlog)"),
    row(Server, "getsockname", On(SocketRole::Listener), "server", "print('Listening at', sock.getsockname())"),
    row(Server, "accept", Any, "server", "sc, sockname = sock.accept()"),
    row(Server, "getsockname", On(SocketRole::Accepted), "server", "print('  Socket name:', sc.getsockname())"),
    row(Server, "getpeername", Any, "server", "print('  Socket peer:', sc.getpeername())"),
    row(Server, "recv", Any, "recvall", "more = sock.recv(length - len(data))"),
    row(Server, "send", Any, "server", "sc.sendall(reply)"),
    row(Server, "close", Any, "server", "sc.close()"),
    row(Client, "socket", Any, "client", "sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)"),
    row(Client, "setsockopt", Opt("SO_RCVBUF"), "client", "sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)"),
    row(Client, "setsockopt", Opt("SO_SNDBUF"), "client", "sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)"),
    row(Client, "setsockopt", Opt("TCP_NODELAY"), "client", "sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)"),
    row(Client, "setsockopt", Opt("TCP_SYNCNT"), "client", "sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, syn_retries)"),
    row(Client, "connect", Any, "client", "sock.connect((host, port))"),
    row(Client, "getsockname", Any, "client", "print('Client has been assigned the socket: ', sock.getsockname())"),
    row(Client, "send", Whole, "client", "sock.sendall(message)"),
    row(Client, "send", InPieces, "send_in_pieces", "sock.sendall(message[i:i + size])"),
    row(Client, "shutdown", Any, "client", "sock.shutdown(socket.SHUT_WR)"),
    row(Client, "recv", Any, "recvall", "more = sock.recv(length - len(data))"),
    row(Client, "setsockopt", Opt("SO_LINGER"), "client", "sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))"),
    row(Client, "close", Any, "client", "sock.close()"),
];

impl Row {
    /// Whether this row is the line of `call`, made by its program in `context`.
    fn matches(&self, call: &Call, context: Context) -> bool {
        if call.name() != self.call {
            return false;
        }
        match self.detail {
            Any => true,
            Opt(option) => matches!(call, Call::Setsockopt { option: o, .. } if o == option),
            On(role) => context.role == Some(role),
            InPieces => context.in_pieces,
            Whole => !context.in_pieces,
        }
    }
}

/// A line of [`SOURCE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// 1-based.
    pub number: u32,
    /// The line as written, indentation included.
    pub text: &'static str,
}

/// A line's code: without its indentation and without a trailing comment
/// (written after two spaces, as PEP 8 has it).
fn code(line: &str) -> &str {
    let line = line.trim();
    line.split_once("  #")
        .map_or(line, |(code, _)| code.trim_end())
}

/// The numbers (0-based) of the lines of `function` in `source`: from its
/// `def` to the next line that starts at the margin.
fn body(source: &str, function: &str) -> std::ops::Range<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let def = format!("def {function}(");
    let Some(start) = lines.iter().position(|l| l.starts_with(&def)) else {
        return 0..0;
    };
    let end = (start + 1..lines.len())
        .find(|&i| lines[i].starts_with(|c: char| !c.is_whitespace()))
        .unwrap_or(lines.len());
    start..end
}

/// Every line of `source` in the row's function whose code is the row's text.
fn found(source: &str, row: &Row) -> Vec<usize> {
    let lines: Vec<&str> = source.lines().collect();
    body(source, row.function)
        .filter(|&i| code(lines[i]) == row.text)
        .collect()
}

/// Each row's line in [`SOURCE`], if it is found exactly once.
fn resolved() -> &'static [Option<Line>] {
    static LINES: OnceLock<Vec<Option<Line>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let lines: Vec<&'static str> = SOURCE.lines().collect();
        TABLE
            .iter()
            .map(|row| match found(SOURCE, row)[..] {
                [i] => Some(Line {
                    number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    text: lines[i],
                }),
                _ => None,
            })
            .collect()
    })
}

/// Every row of [`TABLE`] with its line (`None` only if the text is not
/// found exactly once, which a test rules out).
pub fn rows() -> impl Iterator<Item = (&'static Row, Option<Line>)> {
    TABLE.iter().zip(resolved().iter().copied())
}

/// The Python line that makes `call` in `program`, in `context`.
pub fn line(program: Program, call: &Call, context: Context) -> Option<Line> {
    rows()
        .find(|(row, _)| row.program == program && row.matches(call, context))
        .and_then(|(_, line)| line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_found_exactly_once() {
        for row in TABLE {
            let found = found(SOURCE, row);
            assert_eq!(found.len(), 1, "{row:?} is on lines {found:?}");
        }
        assert!(resolved().iter().all(Option::is_some));
    }

    #[test]
    fn no_two_rows_claim_the_same_call() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                if a.program != b.program || a.call != b.call {
                    continue;
                }
                let apart = match (a.detail, b.detail) {
                    (Opt(x), Opt(y)) => x != y,
                    (On(x), On(y)) => x != y,
                    (InPieces, Whole) | (Whole, InPieces) => true,
                    _ => false,
                };
                assert!(apart, "{a:?} and {b:?} claim the same calls");
            }
        }
    }

    #[test]
    fn the_classic_accept_is_the_chapters_line() {
        let line = line(Program::Server, &Call::Accept, Context::default()).expect("a line");
        assert_eq!(line.text.trim(), "sc, sockname = sock.accept()");
        assert_eq!(
            SOURCE.lines().nth(line.number as usize - 1),
            Some(line.text)
        );
    }

    #[test]
    fn calls_of_one_name_are_told_apart() {
        let on = |role| Context {
            role: Some(role),
            ..Context::default()
        };
        let server = |call, context| line(Program::Server, &call, context).map(|l| code(l.text));
        assert_eq!(
            server(Call::Getsockname, on(SocketRole::Listener)),
            Some("print('Listening at', sock.getsockname())")
        );
        assert_eq!(
            server(Call::Getsockname, on(SocketRole::Accepted)),
            Some("print('  Socket name:', sc.getsockname())")
        );
        let send = |in_pieces| {
            let call = Call::Send {
                bytes: b"Gree".to_vec(),
            };
            let context = Context {
                in_pieces,
                ..Context::default()
            };
            line(Program::Client, &call, context).map(|l| code(l.text))
        };
        assert_eq!(send(false), Some("sock.sendall(message)"));
        assert_eq!(send(true), Some("sock.sendall(message[i:i + size])"));
        let linger = Call::Setsockopt {
            option: "SO_LINGER".into(),
            value: 0,
        };
        assert!(line(Program::Client, &linger, Context::default())
            .is_some_and(|l| l.text.contains("SO_LINGER")));
        assert_eq!(line(Program::Server, &linger, Context::default()), None);
    }

    #[test]
    fn a_comment_is_not_code() {
        assert_eq!(
            code("        sock.shutdown(socket.SHUT_WR)  # a FIN now"),
            "sock.shutdown(socket.SHUT_WR)"
        );
        assert_eq!(code("    sc.close()"), "sc.close()");
    }
}
