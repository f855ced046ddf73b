//! `relay`: the tcpstep relay, and the classic TCP pair from the terminal.

use std::{
    ffi::OsStr,
    io::IsTerminal,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::ExitCode,
    sync::Arc,
};

use anyhow::{anyhow, Context, Result};
use clap::{
    builder::{PossibleValue, StringValueParser, TypedValueParser},
    Parser, Subcommand,
};
use protocol::{classic::DEFAULT_PORT, Scenario};
use tcpstep_relay::{
    feed::LIVE_BUFFER,
    hub::{self, OriginPolicy, TRUNK_PORT, WS_PATH},
    pair::{self, ClientConfig, Server, ServerConfig, Stdout},
    record,
    rooms::{self, Room, Rooms, RoomsConfig},
    sandbox,
    tracepoints::KernelTrace,
};
use tokio::signal::unix::{signal, SignalKind};

/// Real TCP on real kernel sockets, made visible.
///
/// With no command, runs `relay serve` (and takes its options).
#[derive(Debug, Parser)]
#[command(name = "relay", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run sessions of the pair on real sockets and stream them to the visualiser over a WebSocket.
    Serve(ServeArgs),
    /// Listen on 127.0.0.1:PORT; for each connection read exactly 16 bytes, reply, close.
    Server {
        /// TCP port to listen on (0: let the kernel choose one)
        #[arg(short, long, default_value_t = DEFAULT_PORT)]
        port: u16,
    },
    /// Run a session in play mode without a browser; write its events (and captured segments).
    Record(RecordArgs),
    /// Connect to HOST:PORT, send a 17-byte greeting, read the 16-byte reply.
    Client {
        /// TCP port of the server
        #[arg(short, long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Host name or address of the server
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
    /// One session in a sandbox of its own, for the relay that started it (not for people).
    #[command(hide = true)]
    Worker {
        /// Only check that a sandbox can be made here, and say so
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to accept viewers on; anything but loopback lets other machines drive the relay
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Port of the WebSocket (the visualiser's Trunk.toml proxies /ws to 9001)
    #[arg(long, default_value_t = 9001)]
    port: u16,
    /// A web origin (scheme://host:port) whose pages may drive the relay, besides its own and trunk's; repeatable
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// The first session's scenario
    #[arg(long, default_value = "classic", value_parser = Presets)]
    scenario: String,
    #[command(flatten)]
    rooms: RoomArgs,
    #[command(flatten)]
    options: ScenarioArgs,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// Where sessions run.
#[derive(Debug, clap::Args)]
struct SandboxArgs {
    /// Run sessions in the relay's own process and network namespace, not each in a sandbox of its own
    #[arg(long)]
    no_sandbox: bool,
}

impl SandboxArgs {
    /// Decides where this process's sessions run (a sandbox that cannot
    /// be made is logged as a warning, once) and returns what capture is
    /// like there.
    fn choose(&self) -> protocol::CaptureStatus {
        if self.no_sandbox {
            sandbox::refuse_worker();
        } else {
            // /proc/self/exe, not the path we were started by: the same
            // binary even if a rebuild replaced the file since.
            sandbox::use_worker("/proc/self/exe".into());
        }
        sandbox::capture_status()
    }
}

/// The class session's presenter and the limits on sessions.
#[derive(Debug, clap::Args)]
struct RoomArgs {
    /// Only viewers holding a secret key (printed as a link) step, play, pause and reset the class session; everyone else watches and may try it in a session of their own
    #[arg(long)]
    presenter: bool,
    /// The most sessions at once, the class session included (each is a few threads and sockets; 16 suits 2 cores)
    #[arg(long, value_name = "N", default_value_t = rooms::DEFAULT_MAX_SESSIONS, value_parser = clap::value_parser!(u32).range(1..))]
    max_sessions: u32,
    /// A private session nobody has watched for this many seconds ends by itself
    #[arg(long, value_name = "SECONDS", default_value_t = rooms::DEFAULT_IDLE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    private_idle: u64,
}

impl RoomArgs {
    /// The rooms' settings, with a fresh presenter key if asked for one.
    fn config(&self) -> Result<RoomsConfig> {
        let presenter = match self.presenter {
            true => Some(
                rooms::secret::random_name(rooms::secret::KEY_LEN)
                    .context("cannot make a presenter key (reading /dev/urandom)")?,
            ),
            false => None,
        };
        Ok(RoomsConfig {
            max_sessions: self.max_sessions,
            idle: std::time::Duration::from_secs(self.private_idle),
            presenter,
        })
    }
}

#[derive(Debug, clap::Args)]
struct RecordArgs {
    /// The session's scenario
    #[arg(long, default_value = "classic", value_parser = Presets)]
    scenario: String,
    /// Where to write the events, as JSON lines
    #[arg(long, value_name = "FILE")]
    out: std::path::PathBuf,
    /// Where to write the captured segments, as a pcap file (Wireshark, tshark)
    #[arg(long, value_name = "FILE")]
    pcap: Option<std::path::PathBuf>,
    /// Give up if the session has not finished after this many seconds
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    #[command(flatten)]
    options: ScenarioArgs,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// `--scenario`'s values: the presets themselves, offered in the help (and
/// to shell completion) each with what it shows, so that nothing typed by
/// hand falls behind them. The name is checked when the scenario is built
/// ([`ScenarioArgs::apply`], against the same presets), so that a wrong one
/// gets the relay's one-line error and exit status 1, as every other
/// mistake does, rather than clap's usage text.
#[derive(Debug, Clone, Copy)]
struct Presets;

impl TypedValueParser for Presets {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let presets = Scenario::presets().into_iter();
        Some(Box::new(presets.map(|s| {
            let help = s.description();
            PossibleValue::new(s.name).help(help)
        })))
    }
}

/// Changes to a scenario's settings; any of them makes it a custom one.
#[derive(Debug, Default, clap::Args)]
struct ScenarioArgs {
    /// The port the pair's server listens on (default: 3000 in a sandbox, else a free one for each session)
    #[arg(long = "server-port", value_name = "PORT")]
    server_port: Option<u16>,
    /// What each client sends
    #[arg(long)]
    message: Option<String>,
    /// How many bytes the server's recv_all waits for
    #[arg(long)]
    expected: Option<usize>,
    /// What the server replies
    #[arg(long)]
    reply: Option<String>,
    /// Clients send in pieces of this many bytes
    #[arg(long)]
    chunk: Option<usize>,
    /// Milliseconds between pieces
    #[arg(long)]
    pause_ms: Option<u64>,
    /// Clients hang up after sending, without reading the reply
    #[arg(long)]
    no_reply: bool,
    /// How many clients
    #[arg(long)]
    clients: Option<u32>,
    /// The server's listen() backlog
    #[arg(long)]
    backlog: Option<i32>,
    /// SO_RCVBUF for every socket, in bytes
    #[arg(long)]
    rcvbuf: Option<u32>,
    /// SO_SNDBUF for every socket, in bytes
    #[arg(long)]
    sndbuf: Option<u32>,
    /// Clients send their message this many times over
    #[arg(long)]
    repeat: Option<u32>,
    /// Clients call shutdown(SHUT_WR) once they have sent (half-close)
    #[arg(long)]
    half_close: bool,
    /// Clients close with SO_LINGER {on, 0}: RST instead of FIN (abortive close)
    #[arg(long)]
    abort: bool,
    /// The server closes without replying
    #[arg(long)]
    silent_server: bool,
    /// The server pauses this long before each recv after its first (a slow reader)
    #[arg(long)]
    read_pause_ms: Option<u64>,
    /// The server pauses this long before each accept (a busy server)
    #[arg(long)]
    accept_pause_ms: Option<u64>,
    /// TCP_SYNCNT on each client: how many times its kernel resends the SYN before connect() gives up
    #[arg(long)]
    syn_retries: Option<u8>,
}

impl ScenarioArgs {
    /// The preset `name` with these changes.
    fn apply(&self, name: &str) -> Result<Scenario> {
        let mut s = Scenario::preset(name).ok_or_else(|| {
            let names: Vec<String> = Scenario::presets().into_iter().map(|p| p.name).collect();
            anyhow!(
                "unknown scenario {name:?}: choose one of {}",
                names.join(", ")
            )
        })?;
        s.port = self.server_port.or(s.port);
        if let Some(m) = &self.message {
            s.message = m.clone();
        }
        s.expected = self.expected.unwrap_or(s.expected);
        if let Some(r) = &self.reply {
            s.reply = r.clone();
        }
        s.chunk = self.chunk.or(s.chunk);
        s.pause_ms = self.pause_ms.unwrap_or(s.pause_ms);
        s.reads_reply &= !self.no_reply;
        s.clients = self.clients.unwrap_or(s.clients);
        s.backlog = self.backlog.unwrap_or(s.backlog);
        s.rcvbuf = self.rcvbuf.or(s.rcvbuf);
        s.sndbuf = self.sndbuf.or(s.sndbuf);
        s.repeat = self.repeat.unwrap_or(s.repeat);
        s.half_close |= self.half_close;
        s.abort |= self.abort;
        s.replies &= !self.silent_server;
        s.read_pause_ms = self.read_pause_ms.unwrap_or(s.read_pause_ms);
        s.accept_pause_ms = self.accept_pause_ms.unwrap_or(s.accept_pause_ms);
        s.syn_retries = self.syn_retries.or(s.syn_retries);
        Ok(tcpstep_relay::scenario::named_truly(s))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, no backtrace: this is an error the user caused and can fix.
            eprintln!("relay: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sends the relay's logs (a viewer's connection failing, a session's
/// capture refused, a thread left behind) to stderr through `tracing`;
/// what a command prints goes to stdout. Only sessions log: `relay server`
/// and `relay client` print their lines and nothing else, and start
/// without it.
fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            log_to_stderr();
            serve(cli.serve)
        }
        Some(Command::Serve(args)) => {
            log_to_stderr();
            serve(args)
        }
        Some(Command::Record(args)) => {
            log_to_stderr();
            record_session(args)
        }
        Some(Command::Server { port }) => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let server = Server::listen(addr, &ServerConfig::default(), &mut Stdout)?;
            match server.serve_forever(&mut Stdout)? {}
        }
        Some(Command::Client { port, host }) => {
            let addr = pair::resolve(&host, port)?;
            pair::client(addr, &ClientConfig::default(), &mut Stdout)?;
            Ok(())
        }
        Some(Command::Worker { check }) => {
            log_to_stderr();
            sandbox::worker::run(check).context("worker")
        }
    }
}

fn record_session(args: RecordArgs) -> Result<()> {
    let scenario = args.options.apply(&args.scenario)?;
    tcpstep_relay::scenario::plan(&scenario)?;
    let capture = args.sandbox.choose();
    if args.pcap.is_some() && !capture.enabled {
        return Err(anyhow!(capture.reason));
    }
    let recording = record::record(
        scenario,
        capture.enabled,
        std::time::Duration::from_secs(args.timeout),
    )?;
    let lines = recording.json_lines();
    std::fs::write(&args.out, lines)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "{} events of a {} session written to {}",
        recording.events.len(),
        recording.session.scenario.name,
        args.out.display()
    );
    if let (Some(path), Some(pcap)) = (&args.pcap, &recording.pcap) {
        std::fs::write(path, pcap).with_context(|| format!("cannot write {}", path.display()))?;
        let segments = recording
            .events
            .iter()
            .filter(|e| matches!(e.kind, protocol::EventKind::Segment { .. }))
            .count();
        println!("{segments} segments written to {}", path.display());
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| pair::CallError::new("bind", addr, e))?;
        let addr = listener.local_addr()?;
        // Listen for ctrl-c (and a polite kill) before saying we are ready,
        // so that a signal sent the moment we are never goes unheard.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let capture = args.sandbox.choose();
        let scenario = args.options.apply(&args.scenario)?;
        let class = Room::start(scenario, capture.clone(), LIVE_BUFFER)
            .context("cannot start a session")?;
        let rooms = Rooms::new(class, args.rooms.config()?);
        println!(
            "tcpstep relay {} (protocol {})",
            env!("CARGO_PKG_VERSION"),
            protocol::PROTOCOL_VERSION
        );
        println!("viewers connect to ws://{addr}{WS_PATH}");
        println!(
            "open the visualiser at http://127.0.0.1:{TRUNK_PORT}/ (`cargo xtask dev` serves it)"
        );
        println!("sandbox: {}", sandbox::status().reason);
        println!("capture: {}", capture.reason);
        // The kernel's own account of every session's sockets, read here,
        // once per relay, in a private trace instance removed at the end.
        let kernel = match KernelTrace::start() {
            Ok(trace) => {
                let trace = Arc::new(trace);
                rooms
                    .class()
                    .follow_kernel(trace.clone())
                    .context("cannot follow the sessions for the kernel's tracepoints")?;
                println!(
                    "kernel tracepoints: on, in {}",
                    trace.instance().display()
                );
                Some(trace)
            }
            Err(reason) => {
                println!("kernel tracepoints: off: {reason}");
                None
            }
        };
        if let Some(key) = &rooms.config().presenter {
            println!(
                "presenter link (keep it to yourself: whoever opens it steps the class session): \
                 http://127.0.0.1:{TRUNK_PORT}/?key={key}"
            );
        }
        println!(
            "sessions: at most {} at once; a private one nobody watches ends after {} s",
            rooms.config().max_sessions,
            rooms.config().idle.as_secs()
        );
        if !args.bind.is_loopback() {
            println!(
                "warning: listening on {}: other machines can drive this relay",
                args.bind
            );
        }
        let origins = OriginPolicy::new(addr, &args.allow_origin);
        let shutdown = async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        };
        // Returns once every viewer has had its close frame (or the hub's patience ran out).
        hub::run(listener, rooms.clone(), origins, shutdown).await;
        println!("stopping: closing the sessions' sockets");
        tokio::task::spawn_blocking(move || rooms.shutdown())
            .await
            .context("the session's shutdown failed")?;
        if let Some(trace) = kernel {
            let left_out = trace.left_out();
            tracing::info!(
                "kernel tracepoints left out: {} about no socket, {} about sockets of no session, {} lost",
                left_out.no_socket,
                left_out.unclaimed,
                left_out.lost
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks the command line's definition (unique names, say) only
    /// when it parses one in a debug build: check it here, once.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// `--scenario` takes exactly the presets, in their order, each with its
    /// description as help: nothing typed by hand to fall behind them.
    #[test]
    fn the_scenarios_on_offer_are_the_presets() {
        let presets = protocol::Scenario::presets();
        let mut cli = super::Cli::command();
        for command in ["serve", "record"] {
            let sub = cli.find_subcommand_mut(command).expect(command);
            let arg = sub
                .get_arguments()
                .find(|a| a.get_id() == "scenario")
                .expect("a --scenario option");
            let offered: Vec<(String, String)> = arg
                .get_possible_values()
                .iter()
                .map(|v| {
                    let help = v.get_help().map(|h| h.to_string()).unwrap_or_default();
                    (v.get_name().to_owned(), help)
                })
                .collect();
            let expected: Vec<(String, String)> = presets
                .iter()
                .map(|s| (s.name.clone(), s.description().to_owned()))
                .collect();
            assert_eq!(offered, expected, "relay {command} --scenario");
        }
        let help = cli
            .find_subcommand_mut("record")
            .expect("record")
            .render_long_help()
            .to_string();
        for preset in &presets {
            assert!(
                help.contains(&preset.name),
                "{} missing from:\n{help}",
                preset.name
            );
        }
    }
}
