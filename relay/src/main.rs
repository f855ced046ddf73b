//! `relay`: the tcpstep relay, and the classic TCP pair from the terminal.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use protocol::{classic::DEFAULT_PORT, Scenario};
use tcpstep_relay::{
    capture,
    feed::LIVE_BUFFER,
    host::Host,
    hub::{self, OriginPolicy, TRUNK_PORT, WS_PATH},
    pair::{self, Server, Stdout},
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
    /// Connect to HOST:PORT, send a 17-byte greeting, read the 16-byte reply.
    Client {
        /// TCP port of the server
        #[arg(short, long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Host name or address of the server
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Server { port }) => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            Server::listen(addr, &mut Stdout)
                .map_err(pair::PairError::from)
                .and_then(|server| {
                    server
                        .serve_forever(&mut Stdout)
                        .map(|never| match never {})
                })
                .map_err(|e| e.to_string())
        }
        Some(Command::Client { port, host }) => pair::resolve(&host, port)
            .map_err(pair::PairError::from)
            .and_then(|addr| pair::client(addr, &mut Stdout).map(drop))
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, no backtrace: this is an error the user caused and can fix.
            eprintln!("relay: {err}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| pair::CallError::new("bind", addr, e).to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // Listen for ctrl-c (and a polite kill) before saying we are ready,
        // so that a signal sent the moment we are never goes unheard.
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let capture = capture::status();
        let host = Host::start(Scenario::classic(), capture.clone(), LIVE_BUFFER)
            .map_err(|e| format!("cannot start a session: {e}"))?;
        println!(
            "tcpstep relay {} (protocol {})",
            env!("CARGO_PKG_VERSION"),
            protocol::PROTOCOL_VERSION
        );
        println!("viewers connect to ws://{addr}{WS_PATH}");
        println!(
            "open the visualiser at http://127.0.0.1:{TRUNK_PORT}/ (`cargo xtask dev` serves it)"
        );
        println!("capture: {}", capture.reason);
        if !args.bind.is_loopback() {
            println!(
                "warning: listening on {}: other machines can drive this relay",
                args.bind
            );
        }
        let origins = OriginPolicy::new(addr, &args.allow_origin);
        hub::run(listener, host.clone(), origins, async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
        .await;
        println!("stopping: closing the session's sockets");
        tokio::task::spawn_blocking(move || host.shutdown())
            .await
            .map_err(|e| e.to_string())
    })
}
