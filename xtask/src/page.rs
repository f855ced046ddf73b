//! The built page in a real headless Chromium.
//!
//! `trunk serve` builds and serves the visualiser exactly as a user gets it;
//! Chromium loads it, runs the wasm, and we read back the DOM it rendered and
//! a screenshot of it.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

/// Chromium as root in a sandbox with no network: no sandbox of its own, and
/// none of the background fetches that would fail here at every start.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

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

/// The DOM of `url` after Chromium has loaded it and run its scripts.
pub fn rendered_dom(url: &str) -> Result<String> {
    let out = Command::new("chromium")
        .args(CHROMIUM_FLAGS)
        .args(["--virtual-time-budget=15000", "--dump-dom", url])
        .stderr(Stdio::null())
        .output()
        .context("cannot start chromium")?;
    if !out.status.success() {
        bail!("chromium --dump-dom {url} failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Saves a screenshot of `url` to `path`.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32) -> Result<PathBuf> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let status = Command::new("chromium")
        .args(CHROMIUM_FLAGS)
        .arg("--virtual-time-budget=15000")
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", path.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot start chromium")?;
    if !status.success() || !path.exists() {
        bail!("chromium could not take a screenshot of {url} ({status})");
    }
    Ok(path.to_owned())
}

fn free_port() -> Result<u16> {
    let probe = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(probe.local_addr()?.port())
}
