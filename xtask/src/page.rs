//! Serving the built page for the browser tests.
//!
//! `trunk serve` builds and serves the visualiser exactly as a user gets it;
//! the page tests (relay/tests/page.rs) then drive it in headless Chromium.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

/// A `trunk serve` of the visualiser on a free loopback port, stopped when dropped.
pub struct TrunkServe {
    child: Child,
    pub url: String,
}

impl TrunkServe {
    /// Starts `trunk serve` and waits until it answers (the first build of the
    /// wasm can take minutes).
    pub fn start(release: bool) -> Result<Self> {
        let port = free_port()?;
        let mut cmd = Command::new("trunk");
        cmd.current_dir(crate::root())
            .args(["serve", "--no-autoreload", "--port", &port.to_string()])
            .stdin(Stdio::null());
        if release {
            cmd.arg("--release");
        }
        println!(
            "$ trunk serve --no-autoreload --port {port}{}",
            if release { " --release" } else { "" }
        );
        let child = cmd.spawn().context("cannot start trunk serve")?;
        let mut serve = TrunkServe {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        };
        serve.wait_until_serving(SocketAddr::from(([127, 0, 0, 1], port)))?;
        Ok(serve)
    }

    fn wait_until_serving(&mut self, addr: SocketAddr) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15 * 60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("trunk serve exited before serving ({status})");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(250));
        }
        bail!("trunk serve did not start serving within 15 minutes")
    }
}

impl Drop for TrunkServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let probe = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(probe.local_addr()?.port())
}
