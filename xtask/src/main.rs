//! `cargo xtask`: the project's automation, in Rust rather than shell.
//!
//! - `setup`: install whatever the build and the tests need and is missing.
//! - `dev`:   set up, then run the visualiser (the relay and `trunk serve`).
//! - `test`:  set up, then run every check and test, as CI does.
//! - `bench`: set up, then run the benchmarks (docs/PERFORMANCE.md).
//!
//! Each step says what it does before doing it, and set-up skips what is
//! already installed, so running these again is cheap.

mod bench;
mod cmd;
mod dev;
mod page;
mod setup;
mod test;

use std::{path::PathBuf, process::ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup   install the wasm target, trunk, wasm-bindgen-cli, wasm-opt,
          Chromium and chromedriver, libpcap and axe-core, where missing
  dev     set up, then run the visualiser and open it in a browser
  test    set up, then run every check and test (what CI runs)
  bench   set up, then run the benchmarks; report in target/artifacts/bench.md";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(),
        Some("dev") => dev::run(),
        Some("test") => test::run(),
        Some("bench") => bench::run(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            if let Some(other) = other {
                eprintln!("xtask: unknown command {other:?}\n");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: every command runs from there.
fn root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().map(PathBuf::from).unwrap_or(xtask)
}
