//! Shared by the model's tests: every preset, recorded for real once per
//! test binary, and what to do when the wire cannot be captured here.

use std::{sync::OnceLock, thread, time::Duration};

use protocol::Scenario;
use tcpstep_relay::record::Recording;

/// How long a recording may take. The crowd waits on the kernel's SYN
/// retries (1 s, then 3 s, 7 s...): on a loaded machine a dropped SYN can
/// cost a later retry, so this is generous. It bounds a hang, nothing else.
const PATIENCE: Duration = Duration::from_secs(180);

/// Every preset (but `custom`, which is classic's settings), recorded for
/// real, once: the recordings run side by side, as their time is mostly
/// the programs' own pauses.
pub fn recorded() -> &'static [Recording] {
    static TRACES: OnceLock<Vec<Recording>> = OnceLock::new();
    TRACES.get_or_init(|| {
        let capture = sandboxed().enabled;
        thread::scope(|scope| {
            let running: Vec<_> = Scenario::presets()
                .into_iter()
                .filter(|s| s.name != "custom")
                .map(|s| {
                    scope.spawn(move || {
                        let name = s.name.clone();
                        tcpstep_relay::record::record(s, capture, PATIENCE)
                            .unwrap_or_else(|e| panic!("{name}: {e}"))
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|r| r.join().expect("a recording"))
                .collect()
        })
    })
}

/// Runs this process's sessions as `relay record` runs them: each in a
/// sandbox of its own (the presets that take the wire in hand need one).
/// Says whether they can capture there.
#[allow(dead_code)] // each test binary uses part of this module
pub fn sandboxed() -> protocol::CaptureStatus {
    let sandbox = tcpstep_relay::sandbox::use_worker(relay_binary());
    assert!(
        sandbox.enabled,
        "the model's recordings are sandboxed (`cargo test --workspace` builds the relay they run; alone, `cargo build -p tcpstep-relay` first): {sandbox:?}"
    );
    tcpstep_relay::sandbox::capture_status()
}

/// The relay binary cargo built for this workspace, beside this test's own
/// (`target/debug/deps/model-…` → `target/debug/relay`).
fn relay_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("this test's path");
    let relay = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("relay"))
        .expect("a target directory");
    assert!(
        relay.exists(),
        "{} is not built: `cargo test --workspace` builds it",
        relay.display()
    );
    relay
}

/// The recording of the preset `name`.
pub fn recording(name: &str) -> &'static Recording {
    recorded()
        .iter()
        .find(|r| r.session.scenario.name == name)
        .unwrap_or_else(|| panic!("no recording of {name}"))
}

/// The environment variable that makes a missing capture a failure:
/// `cargo xtask test` sets it to 1, so that the wire parts of the tests are
/// never skipped where they are meant to run.
#[allow(dead_code)] // each test binary uses part of this module
pub const REQUIRE_CAPTURE: &str = "TCPSTEP_REQUIRE_CAPTURE";

/// Whether the wire is captured here, so that a test may check the parts
/// that need it (`what` names them, for the message). Without capture (no
/// root, no CAP_NET_RAW), a test fails if `TCPSTEP_REQUIRE_CAPTURE` is 1;
/// otherwise this says on stderr what is skipped and returns `false`, for
/// a developer's machine.
#[allow(dead_code)] // each test binary uses part of this module
pub fn capture_required(what: &str) -> bool {
    let status = sandboxed();
    if status.enabled {
        return true;
    }
    let required = std::env::var(REQUIRE_CAPTURE).is_ok_and(|v| v.trim() == "1");
    assert!(
        !required,
        "{what} needs the wire, and {REQUIRE_CAPTURE}=1 says it must be captured, but here {}",
        status.reason
    );
    eprintln!(
        "SKIPPED: {what}, as here {} (with {REQUIRE_CAPTURE}=1 this fails)",
        status.reason
    );
    false
}
