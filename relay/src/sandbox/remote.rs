//! The relay's side of a sandboxed session: its worker process, the events
//! it sends up, and the commands sent down to it.
//!
//! A reader thread takes everything the worker says: events go straight
//! into the session's feed (at the next `seq` there, at their own time on
//! the session's clock), answers go to whoever asked. Commands are asked one
//! at a time and wait a bounded time for their answer. A worker that dies,
//! or stops answering (then it is killed), ends its session alone: the feed
//! gets one `session_lost` event saying how, commands get
//! [`StepError::Lost`], and the relay and every other session go on.

use std::{
    io,
    path::Path,
    process::{Child, ChildStdin, ExitStatus},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Mutex,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use protocol::{Actor, EventKind, Mode, RelayMessage, Scenario};

use super::{
    channel::{self, Frame, FromWorker, ToWorker},
    spare::{self, Spawned},
};
use crate::{feed::Feed, session::StepError, sync::lock};

/// How long a command waits for the worker's answer before the worker is
/// taken to have hung. Steps, modes and pcaps are answered in microseconds.
pub const ANSWER_PATIENCE: Duration = Duration::from_secs(3);

/// How long starting and stopping may take: stopping waits for the
/// programs to end (up to 5 s in the worker) before it answers.
pub const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// What the worker answered.
enum Answer {
    Message(FromWorker),
    Pcap(Vec<u8>),
}

/// One command at a time: the way down and the answers back.
struct Asking {
    to_worker: ChildStdin,
    answers: mpsc::Receiver<Answer>,
}

/// The worker process: what the reader thread and the commands share about it.
struct Process {
    session: u64,
    pid: u32,
    child: Mutex<Child>,
    feed: Arc<Feed>,
    /// Set once the session is over, by a stop or by a loss; the first to
    /// set it says what happened, so a lost session is reported once.
    over: AtomicBool,
    /// Why the session was lost, once it was.
    lost: Mutex<Option<String>>,
}

/// A session running in a worker process.
pub struct Remote {
    worker: Arc<Process>,
    asking: Mutex<Asking>,
    reader: Option<JoinHandle<()>>,
}

impl Remote {
    /// Starts session `id` in a worker of `program` (the spare one, made
    /// ahead, if there is one), and waits until it has begun (its `session`
    /// message is in `feed`).
    pub fn start(
        program: &Path,
        id: u64,
        scenario: Scenario,
        mode: Mode,
        capture: bool,
        feed: Arc<Feed>,
    ) -> io::Result<Remote> {
        let Spawned {
            child,
            to_worker,
            from_worker,
        } = spare::take(program)?;
        let worker = Arc::new(Process {
            session: id,
            pid: child.id(),
            child: Mutex::new(child),
            feed,
            over: AtomicBool::new(false),
            lost: Mutex::new(None),
        });
        let (answer, answers) = mpsc::channel();
        let reader = {
            let worker = worker.clone();
            thread::Builder::new()
                .name(format!("worker {id}"))
                .spawn(move || read(worker, from_worker, answer))?
        };
        let remote = Remote {
            worker,
            asking: Mutex::new(Asking { to_worker, answers }),
            reader: Some(reader),
        };
        let start = ToWorker::Start {
            id,
            scenario,
            mode,
            capture,
        };
        match remote.ask(&start, STOP_PATIENCE) {
            Ok(Answer::Message(FromWorker::Began { .. })) => Ok(remote),
            Ok(Answer::Message(FromWorker::Refused { reason })) => {
                remote.stop();
                Err(io::Error::other(reason))
            }
            Ok(_) => {
                remote.stop();
                Err(io::Error::other(
                    "the worker answered Start with something else",
                ))
            }
            Err(reason) => {
                remote.stop();
                Err(io::Error::other(reason))
            }
        }
    }

    /// Sends `command` and waits up to `patience` for the answer. A worker
    /// that does not answer in time is killed and its session lost.
    fn ask(&self, command: &ToWorker, patience: Duration) -> Result<Answer, String> {
        if let Some(reason) = lock(&self.worker.lost).clone() {
            return Err(reason);
        }
        let asking = lock(&self.asking);
        // Anything said since the last answer was not an answer to this.
        while asking.answers.try_recv().is_ok() {}
        let mut to_worker = &asking.to_worker;
        if let Err(err) = channel::write_message(&mut to_worker, command) {
            return Err(self.worker.lose(format!("its channel broke ({err})")));
        }
        match asking.answers.recv_timeout(patience) {
            Ok(answer) => Ok(answer),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.worker.kill();
                Err(self.worker.lose(format!(
                    "it did not answer within {patience:?}, so the relay killed it"
                )))
            }
            // The reader ended: it said why.
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(lock(&self.worker.lost)
                .clone()
                .unwrap_or_else(|| "it ended".to_owned())),
        }
    }

    /// The session's segments so far as a pcap file, if it captures.
    pub fn pcap(&self) -> Option<Vec<u8>> {
        match self.ask(&ToWorker::Pcap, ANSWER_PATIENCE) {
            Ok(Answer::Pcap(pcap)) => Some(pcap),
            _ => None,
        }
    }

    /// Releases one waiting call.
    pub fn step(&self, actor: Option<Actor>) -> Result<Actor, StepError> {
        match self.ask(&ToWorker::Step { actor }, ANSWER_PATIENCE) {
            Ok(Answer::Message(FromWorker::Stepped(result))) => result,
            Ok(_) => Err(StepError::Lost(
                "it answered a step with something else".into(),
            )),
            Err(reason) => Err(StepError::Lost(reason)),
        }
    }

    /// Plays or pauses (the worker's session makes the event).
    pub fn set_mode(&self, mode: Mode) {
        // A lost session has said so already; there is nothing to change.
        let _ = self.ask(&ToWorker::SetMode { mode }, ANSWER_PATIENCE);
    }

    /// Stops the session and waits for the worker to end (killing it if it
    /// will not), so its sockets, namespace and process are gone.
    pub fn stop(mut self) {
        let was_lost = self.worker.over.swap(true, Ordering::SeqCst);
        if !was_lost {
            // Its answer matters less than its exit, waited for below.
            let _ = self.ask(&ToWorker::Stop, STOP_PATIENCE);
        }
        // Closing its input tells a worker that missed Stop to stop too.
        drop(self.asking);
        let deadline = Instant::now() + Duration::from_secs(1);
        if self.worker.wait_until(deadline).is_none() {
            self.worker.kill();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Process {
    /// Marks the session lost (once) and tells its viewers why; returns the
    /// reason as commands report it.
    fn lose(&self, how: String) -> String {
        let reason = format!("its worker process ({}) {how}", self.pid);
        let mut lost = lock(&self.lost);
        if lost.is_none() {
            *lost = Some(reason.clone());
        }
        drop(lost);
        if !self.over.swap(true, Ordering::SeqCst) {
            tracing::warn!(session = self.session, "session lost: {reason}");
            self.feed.push(
                self.session,
                Actor::Relay,
                None,
                None,
                EventKind::SessionLost {
                    reason: reason.clone(),
                },
            );
        }
        reason
    }

    fn kill(&self) {
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Waits until the worker has exited or `deadline` passes.
    fn wait_until(&self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Ok(Some(status)) = lock(&self.child).try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// The reader thread: everything the worker says, until it closes its end.
fn read(
    worker: Arc<Process>,
    from_worker: std::process::ChildStdout,
    answer: mpsc::Sender<Answer>,
) {
    let mut input = io::BufReader::new(from_worker);
    let ended = loop {
        match channel::read::<FromWorker>(&mut input) {
            Ok(Some(Frame::Event(json))) => match serde_json::from_str(&json) {
                Ok(RelayMessage::Event(event)) => worker.feed.append(worker.session, event),
                _ => break format!("sent an event that does not decode: {json:.200}"),
            },
            Ok(Some(Frame::Message(FromWorker::Began {
                session,
                started_ns,
            }))) => {
                let ago = Duration::from_nanos(channel::monotonic_ns().saturating_sub(started_ns));
                let started = Instant::now().checked_sub(ago).unwrap_or_else(Instant::now);
                worker.feed.begin_session_at((*session).clone(), started);
                let _ = answer.send(Answer::Message(FromWorker::Began {
                    session,
                    started_ns,
                }));
            }
            Ok(Some(Frame::Message(message))) => {
                let _ = answer.send(Answer::Message(message));
            }
            Ok(Some(Frame::Pcap(pcap))) => {
                let _ = answer.send(Answer::Pcap(pcap));
            }
            Ok(None) => break "closed its channel".to_owned(),
            Err(err) => break format!("broke its channel ({err})"),
        }
    };
    if worker.over.load(Ordering::SeqCst) {
        return; // stopped, as asked
    }
    // Gone without being asked to: how, as its exit status says.
    let how = match worker.wait_until(Instant::now() + Duration::from_millis(500)) {
        Some(status) => describe(status),
        None => ended,
    };
    worker.lose(how);
}

/// An exit status in words: "was killed by signal 9 (SIGKILL)".
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!(
            "was killed by signal {signal}{}",
            match signal {
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGTERM => " (SIGTERM)",
                _ => "",
            }
        ),
        (None, None) => "ended".to_owned(),
    }
}
