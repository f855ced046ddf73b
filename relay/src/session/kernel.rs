//! Reading a socket's state from the kernel: `TCP_INFO`, `SIOCINQ`, `SIOCOUTQ`,
//! and whether a thread is asleep in a system call.

use std::{io, mem, os::fd::RawFd};

use protocol::{KernelState, TcpState};

/// The kernel's view of the socket `fd`, or `None` if it is not a TCP socket
/// (or no longer open).
pub fn socket_state(fd: RawFd) -> Option<KernelState> {
    let info = tcp_info(fd).ok()?;
    let state = TcpState::from_linux(info.tcpi_state)?;
    if state == TcpState::Listen {
        // For a listener, Linux reports the accept queue in tcpi_unacked and
        // the backlog it was given in tcpi_sacked (net/ipv4/tcp.c, tcp_get_info).
        return Some(KernelState {
            state,
            recv_queue: 0,
            send_queue: 0,
            accept_queue: Some(info.tcpi_unacked),
            backlog: Some(info.tcpi_sacked),
        });
    }
    // In CLOSE (never connected, or reset) nothing can be sent: SIOCOUTQ's
    // count is a leftover (a refused connect leaves its SYN counted). Unread
    // bytes, though, stay readable after a reset, and SIOCINQ counts them.
    let send_queue = match state {
        TcpState::Close => 0,
        _ => queue_len(fd, libc::TIOCOUTQ).unwrap_or(0),
    };
    Some(KernelState {
        state,
        recv_queue: queue_len(fd, libc::FIONREAD).unwrap_or(0),
        send_queue,
        accept_queue: None,
        backlog: None,
    })
}

fn tcp_info(fd: RawFd) -> io::Result<libc::tcp_info> {
    // SAFETY: tcp_info is plain old data; the kernel fills at most `len` bytes of it.
    let mut info: libc::tcp_info = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(info)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `SIOCINQ` (= `FIONREAD`) or `SIOCOUTQ` (= `TIOCOUTQ`) on a TCP socket.
fn queue_len(fd: RawFd, request: libc::Ioctl) -> io::Result<u32> {
    let mut n: libc::c_int = 0;
    // SAFETY: both requests write one int.
    let rc = unsafe { libc::ioctl(fd, request, &mut n) };
    if rc == 0 {
        Ok(u32::try_from(n).unwrap_or(0))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The calling thread's id, as `/proc/self/task/` names it.
pub fn current_tid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// Whether thread `tid` of this process is asleep in the kernel (state `S` or
/// `D` in `/proc/self/task/TID/stat`): a blocking call that is waiting.
pub fn thread_sleeping(tid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "S" || state == "D")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        io::Write,
        net::{TcpListener, TcpStream},
        os::fd::AsRawFd,
        sync::mpsc,
        thread,
        time::{Duration, Instant},
    };

    #[test]
    fn a_listener_reports_its_accept_queue_and_backlog() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let state = socket_state(listener.as_raw_fd()).expect("a TCP socket");
        assert_eq!(state.state, TcpState::Listen);
        assert_eq!(state.accept_queue, Some(0));
        assert_eq!(
            state.backlog,
            Some(128),
            "std listens with a backlog of 128"
        );

        let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let state = socket_state(listener.as_raw_fd()).expect("a TCP socket");
        assert_eq!(
            state.accept_queue,
            Some(1),
            "the kernel finished the handshake"
        );
    }

    #[test]
    fn a_connection_reports_unread_bytes() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        client.write_all(b"hello").expect("send");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = socket_state(server.as_raw_fd()).expect("a TCP socket");
            assert_eq!(state.state, TcpState::Established);
            if state.recv_queue == 5 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "5 bytes never arrived: {state:?}"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn not_a_socket_has_no_state() {
        let file = std::fs::File::open("/proc/self/stat").expect("open");
        assert_eq!(socket_state(file.as_raw_fd()), None);
    }

    #[test]
    fn a_thread_blocked_in_accept_is_seen_sleeping() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = mpsc::channel();
        let t = thread::spawn(move || {
            tx.send(current_tid()).expect("send tid");
            listener.accept().map(drop)
        });
        let tid = rx.recv().expect("tid");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !thread_sleeping(tid) {
            assert!(Instant::now() < deadline, "never saw the thread asleep");
            thread::sleep(Duration::from_millis(1));
        }
        TcpStream::connect(addr).expect("wake it");
        t.join().expect("thread").expect("accepted");
    }
}
