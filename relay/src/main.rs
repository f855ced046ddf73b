//! `relay`: run the classic TCP pair from the terminal.

use std::{net::SocketAddr, process::ExitCode};

use clap::{Parser, Subcommand};
use protocol::classic::DEFAULT_PORT;
use tcpstep_relay::pair::{self, Server, Stdout};

/// Real TCP on real kernel sockets, made visible.
#[derive(Debug, Parser)]
#[command(name = "relay", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server { port } => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            Server::listen(addr, &mut Stdout)
                .map_err(pair::PairError::from)
                .and_then(|server| {
                    server
                        .serve_forever(&mut Stdout)
                        .map(|never| match never {})
                })
        }
        Command::Client { port, host } => pair::resolve(&host, port)
            .map_err(pair::PairError::from)
            .and_then(|addr| pair::client(addr, &mut Stdout).map(drop)),
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
