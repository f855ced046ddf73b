//! Reading a socket's state from the kernel: `TCP_INFO`, `SIOCINQ`, `SIOCOUTQ`,
//! and whether a thread is asleep in a system call.

use std::{
    collections::HashMap,
    io, mem,
    net::{Ipv4Addr, SocketAddr},
    os::fd::RawFd,
};

use protocol::{Call, KernelState, TcpState};

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

/// The kernel's state of every IPv4 TCP connection of this network
/// namespace, by (local, remote) address, from `/proc/net/tcp`.
///
/// A socket's fd is gone once its program closes it, but the kernel keeps
/// the connection a while longer (`FIN_WAIT_2`, `LAST_ACK`, `TIME_WAIT`):
/// this table is the only place those states can still be read.
pub fn connections() -> io::Result<HashMap<(SocketAddr, SocketAddr), KernelState>> {
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    Ok(table.lines().skip(1).filter_map(parse_tcp_line).collect())
}

/// One line of `/proc/net/tcp`:
/// `sl local rem st tx_queue:rx_queue ...`, addresses as `HEXIP:HEXPORT`
/// with the IP in the kernel's (little-endian) byte order.
fn parse_tcp_line(line: &str) -> Option<((SocketAddr, SocketAddr), KernelState)> {
    let mut fields = line.split_whitespace().skip(1);
    let local = hex_addr(fields.next()?)?;
    let remote = hex_addr(fields.next()?)?;
    let state = TcpState::from_linux(u8::from_str_radix(fields.next()?, 16).ok()?)?;
    let (tx, rx) = fields.next()?.split_once(':')?;
    let state = KernelState {
        state,
        recv_queue: u32::from_str_radix(rx, 16).ok()?,
        send_queue: u32::from_str_radix(tx, 16).ok()?,
        accept_queue: None,
        backlog: None,
    };
    Some(((local, remote), state))
}

fn hex_addr(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketAddr::from((Ipv4Addr::from(ip.swap_bytes()), port)))
}

/// The calling thread's id, as `/proc/self/task/` names it.
pub fn current_tid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// Whether thread `tid` of this process is asleep in the kernel inside the
/// system call that makes `call`: a blocking socket call that is waiting.
///
/// Asleep alone is not enough: a thread is asleep too while it waits for a
/// lock (ours: the feed's, the sockets') or in a pause, and that is not the
/// call waiting for the network. So the thread's current system call, from
/// `/proc/self/task/TID/syscall`, must be one of those that make `call`.
/// Where that file cannot be read (a kernel built without it), the state
/// alone decides, as it did before the file was read.
pub fn asleep_in(tid: libc::pid_t, call: &Call) -> bool {
    // The prober asks this every few milliseconds of every call: a thread
    // that is not asleep costs one read, not two.
    thread_sleeping(tid)
        && match current_syscall(tid) {
            Ok(Some(nr)) => syscalls(call).contains(&nr),
            // Running, or asleep outside any system call (a page fault).
            Ok(None) => false,
            Err(_) => true,
        }
}

/// The system call thread `tid` of this process is asleep in, from the first
/// field of `/proc/self/task/TID/syscall`: its number, `-1` when the thread
/// is stopped outside a system call, or `running` (the kernel reads a
/// thread's registers only while it is off the CPU). `Ok(None)` for the last
/// two.
fn current_syscall(tid: libc::pid_t) -> io::Result<Option<libc::c_long>> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall"))?;
    let first = text.split_whitespace().next().unwrap_or("running");
    Ok(first.parse().ok().filter(|&nr: &libc::c_long| nr >= 0))
}

/// The system calls that make `call`, as the pair makes it (std and
/// socket2 on Linux: `accept4`, `recv` as `recvfrom`, `send` as `sendto`),
/// with the other calls the C library may use for the same thing.
fn syscalls(call: &Call) -> &'static [libc::c_long] {
    match call {
        Call::Socket => &[libc::SYS_socket],
        Call::Setsockopt { .. } => &[libc::SYS_setsockopt],
        Call::Bind { .. } => &[libc::SYS_bind],
        Call::Listen { .. } => &[libc::SYS_listen],
        Call::Accept => &[libc::SYS_accept, libc::SYS_accept4],
        Call::Connect { .. } => &[libc::SYS_connect],
        Call::Send { .. } => &[
            libc::SYS_sendto,
            libc::SYS_sendmsg,
            libc::SYS_write,
            libc::SYS_writev,
        ],
        Call::Recv { .. } => &[
            libc::SYS_recvfrom,
            libc::SYS_recvmsg,
            libc::SYS_read,
            libc::SYS_readv,
        ],
        Call::Getsockname => &[libc::SYS_getsockname],
        Call::Getpeername => &[libc::SYS_getpeername],
        Call::Shutdown { .. } => &[libc::SYS_shutdown],
        // A close() with SO_LINGER set sleeps until the data is sent.
        Call::Close => &[libc::SYS_close],
    }
}

/// Whether thread `tid` of this process is asleep (state `S` or `D` in
/// `/proc/self/task/TID/stat`), in whatever it waits for.
fn thread_sleeping(tid: libc::pid_t) -> bool {
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
    fn proc_net_tcp_lines_are_read_as_the_kernel_writes_them() {
        let line = "   3: 0100007F:0BB8 0100007F:A2C4 06 00000000:00000011 03:00001770 00000000     0        0 0 3 0000000000000000";
        let ((local, remote), state) = parse_tcp_line(line).expect("a line");
        assert_eq!(local, "127.0.0.1:3000".parse().expect("addr"));
        assert_eq!(remote, "127.0.0.1:41668".parse().expect("addr"));
        assert_eq!(state.state, TcpState::TimeWait);
        assert_eq!((state.send_queue, state.recv_queue), (0, 17));
        assert_eq!(parse_tcp_line("garbage"), None);
    }

    #[test]
    fn a_connection_closed_first_is_seen_in_time_wait() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let key = (
            client.local_addr().expect("local"),
            client.peer_addr().expect("peer"),
        );
        assert_eq!(
            connections().expect("read")[&key].state,
            TcpState::Established
        );
        drop(client);
        drop(server);
        let deadline = Instant::now() + Duration::from_secs(5);
        while connections().expect("read").get(&key).map(|s| s.state) != Some(TcpState::TimeWait) {
            assert!(Instant::now() < deadline, "never saw TIME_WAIT");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn not_a_socket_has_no_state() {
        let file = std::fs::File::open("/proc/self/stat").expect("open");
        assert_eq!(socket_state(file.as_raw_fd()), None);
    }

    /// Starts `wait` on a thread and returns its id once the thread is
    /// asleep in the kernel (in whatever `wait` waits for), with its handle.
    fn asleep<T: Send + 'static>(
        wait: impl FnOnce() -> T + Send + 'static,
    ) -> (libc::pid_t, thread::JoinHandle<T>) {
        let (tx, rx) = mpsc::channel();
        let t = thread::spawn(move || {
            tx.send(current_tid()).expect("send tid");
            wait()
        });
        let tid = rx.recv().expect("tid");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(thread_sleeping(tid) && current_syscall(tid).expect("read").is_some()) {
            assert!(Instant::now() < deadline, "never saw the thread asleep");
            thread::sleep(Duration::from_millis(1));
        }
        (tid, t)
    }

    /// Every socket call the pair makes, for the negative cases.
    fn every_call() -> Vec<Call> {
        vec![
            Call::Socket,
            Call::Accept,
            Call::Connect { addr: "x".into() },
            Call::Send { bytes: vec![1] },
            Call::Recv { len: 16 },
            Call::Shutdown {
                how: "SHUT_WR".into(),
            },
            Call::Close,
        ]
    }

    #[test]
    fn a_thread_blocked_in_accept_is_seen_asleep_in_accept() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tid, t) = asleep(move || listener.accept().map(drop));
        // Two looks, as the prober makes them.
        assert!(asleep_in(tid, &Call::Accept));
        thread::sleep(Duration::from_millis(2));
        assert!(asleep_in(tid, &Call::Accept));
        assert!(
            !asleep_in(tid, &Call::Recv { len: 16 }),
            "accept is not recv"
        );
        TcpStream::connect(addr).expect("wake it");
        t.join().expect("thread").expect("accepted");
    }

    #[test]
    fn a_thread_blocked_in_recv_is_seen_asleep_in_recv() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let (tid, t) = asleep(move || {
            let mut buf = [0; 16];
            std::io::Read::read(&mut &server, &mut buf)
        });
        assert!(asleep_in(tid, &Call::Recv { len: 16 }));
        client.write_all(b"x").expect("wake it");
        assert_eq!(t.join().expect("thread").expect("read"), 1);
    }

    #[test]
    fn a_thread_waiting_for_a_lock_is_not_asleep_in_a_socket_call() {
        let lock = std::sync::Arc::new(std::sync::Mutex::new(()));
        let held = lock.lock().expect("lock");
        let theirs = lock.clone();
        // The relay's own locks are futexes: a wait on one is no socket call.
        let (tid, t) = asleep(move || drop(theirs.lock().expect("lock")));
        assert_eq!(current_syscall(tid).expect("read"), Some(libc::SYS_futex));
        for call in every_call() {
            assert!(
                !asleep_in(tid, &call),
                "{} while waiting for a lock",
                call.name()
            );
        }
        drop(held);
        t.join().expect("thread");
    }

    #[test]
    fn a_thread_in_a_pause_is_not_asleep_in_a_socket_call() {
        let (tid, t) = asleep(|| thread::sleep(Duration::from_millis(500)));
        assert!(thread_sleeping(tid), "asleep, but in a pause");
        for call in every_call() {
            assert!(!asleep_in(tid, &call), "{} during a pause", call.name());
        }
        t.join().expect("thread");
    }
}
