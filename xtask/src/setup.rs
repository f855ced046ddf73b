//! Set-up: check each tool the build and the tests need, install what is missing.
//!
//! Versions are pinned where the machine requires it (see DESIGN.md's
//! toolchain facts): trunk 0.21 (0.22 needs a newer rustc), wasm-bindgen-cli at
//! exactly the version in Cargo.lock (trunk runs offline and will not fetch
//! one), and binaryen's wasm-opt from npm (Debian's is too old).
//!
//! axe-core, the accessibility checker the page tests inject into the page,
//! comes from npm too, at one pinned version: a newer axe brings new rules,
//! and a test that starts failing should be a change someone chose. It goes
//! into a folder of the project's own (under `target/`), not the system's, so
//! no other project's axe can stand in for it and no root is needed.

use std::{fs, path::PathBuf, process::Command};

use anyhow::{bail, Context, Result};

use crate::cmd::{exec, probe, step};

pub const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_MIN: u32 = 132;
/// The axe-core release whose rules the page tests hold the page to.
const AXE_VERSION: &str = "4.14.1";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian packages: the browser and its driver for the page tests, libpcap
/// for capture, iptables for the wire rules inside each session's sandbox.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "headless browser for the page tests"),
    ("chromium-driver", "WebDriver for the page tests"),
    ("libpcap-dev", "packet capture library for the relay"),
    (
        "iptables",
        "netfilter rules that queue a sandboxed session's segments",
    ),
];

pub fn run() -> Result<()> {
    step("Set-up: checking tools, installing what is missing");
    ensure_apt_packages()?;
    ensure(
        &format!("rust target {WASM_TARGET}"),
        || {
            let installed = probe("rustup", &["target", "list", "--installed"])?;
            installed
                .lines()
                .any(|l| l.trim() == WASM_TARGET)
                .then(|| "installed".to_owned())
        },
        || exec(Command::new("rustup").args(["target", "add", WASM_TARGET])),
    )?;
    ensure(
        &format!("trunk {TRUNK_VERSION}"),
        || {
            let v = probe("trunk", &["--version"])?;
            (v == format!("trunk {TRUNK_VERSION}")).then_some(v)
        },
        || {
            println!("(a fresh trunk build takes about 8 minutes on 2 cores)");
            exec(Command::new("cargo").args([
                "install",
                "trunk",
                "--version",
                TRUNK_VERSION,
                "--locked",
            ]))
        },
    )?;
    let bindgen = wasm_bindgen_version()?;
    ensure(
        &format!("wasm-bindgen-cli {bindgen} (the version in Cargo.lock)"),
        || {
            let v = probe("wasm-bindgen", &["--version"])?;
            (v == format!("wasm-bindgen {bindgen}")).then_some(v)
        },
        || {
            // Not --locked: the CLI's own lock file pins crates this rustc rejects.
            exec(Command::new("cargo").args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                &bindgen,
                "--force",
            ]))
        },
    )?;
    ensure(
        &format!("wasm-opt (binaryen {BINARYEN_MIN} or newer)"),
        || {
            let v = probe("wasm-opt", &["--version"])?;
            (binaryen_version(&v)? >= BINARYEN_MIN).then_some(v)
        },
        || {
            exec(Command::new("npm").args([
                "install",
                "--global",
                &format!("binaryen@{BINARYEN_MIN}"),
            ]))
        },
    )?;
    ensure(
        &format!("axe-core {AXE_VERSION} (accessibility rules for the page tests)"),
        || {
            let package = fs::read_to_string(axe_dir().join("package.json")).ok()?;
            let v = package_version(&package)?;
            (v == AXE_VERSION && axe_script().is_file())
                .then(|| format!("{v} in {}", axe_dir().display()))
        },
        || {
            let prefix = npm_prefix();
            fs::create_dir_all(&prefix)
                .with_context(|| format!("creating {}", prefix.display()))?;
            exec(
                Command::new("npm")
                    .arg("install")
                    .arg("--prefix")
                    .arg(&prefix)
                    .args([
                        "--no-audit",
                        "--no-fund",
                        &format!("axe-core@{AXE_VERSION}"),
                    ]),
            )
        },
    )?;
    Ok(())
}

/// The project's own npm folder: tools only the tests use, kept out of the system's.
fn npm_prefix() -> PathBuf {
    crate::root().join("target/tools/npm")
}

fn axe_dir() -> PathBuf {
    npm_prefix().join("node_modules/axe-core")
}

/// axe-core's script, as the page tests inject it (xtask test passes its
/// path in TCPSTEP_AXE_JS).
pub fn axe_script() -> PathBuf {
    axe_dir().join("axe.min.js")
}

/// The `"version"` of a package.json's text (the first one: npm writes the
/// package's own version near the top, before any nested object has one).
fn package_version(json: &str) -> Option<String> {
    let after = &json[json.find("\"version\"")? + "\"version\"".len()..];
    let value = after
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(value[..value.find('"')?].to_owned())
}

/// Makes sure a tool is there: says what it found, or installs it and checks again.
fn ensure(
    what: &str,
    found: impl Fn() -> Option<String>,
    install: impl FnOnce() -> Result<()>,
) -> Result<()> {
    if let Some(version) = found() {
        println!("ok      {what}: {version}");
        return Ok(());
    }
    println!("missing {what}: installing");
    install().with_context(|| format!("installing {what}"))?;
    match found() {
        Some(version) => {
            println!("ok      {what}: {version}");
            Ok(())
        }
        None => bail!("{what} is still missing after installing it; is it on PATH?"),
    }
}

fn ensure_apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter_map(|&(package, why)| {
            let status = probe("dpkg-query", &["-W", "-f=${Status}", package]);
            if status.as_deref() == Some("install ok installed") {
                println!("ok      {package} ({why})");
                None
            } else {
                println!("missing {package} ({why})");
                Some(package)
            }
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if probe("apt-get", &["--version"]).is_none() {
        bail!(
            "cannot install {}: this machine has no apt-get; install them with its package manager",
            missing.join(" ")
        );
    }
    let root = probe("id", &["-u"]).as_deref() == Some("0");
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    exec(&mut apt(&["update", "-q"]))?;
    // With recommends: Chromium's fonts come that way, and pages need text.
    let mut install = apt(&["install", "-y", "-q"]);
    install.args(&missing);
    exec(&mut install)
}

/// The wasm-bindgen version Cargo.lock pins: the CLI must match it exactly.
pub fn wasm_bindgen_version() -> Result<String> {
    let path = crate::root().join("Cargo.lock");
    let lock = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    lock_version(&lock, "wasm-bindgen")
        .with_context(|| format!("{} does not list wasm-bindgen", path.display()))
}

/// The version of `package` in a Cargo.lock's text.
fn lock_version(lock: &str, package: &str) -> Option<String> {
    let name = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    lines.by_ref().find(|l| l.trim() == name)?;
    let version = lines.next()?.trim().strip_prefix("version = \"")?;
    Some(version.trim_end_matches('"').to_owned())
}

/// `wasm-opt version 132 (version_132)` -> 132
fn binaryen_version(text: &str) -> Option<u32> {
    let rest = text.split("version ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_package_version_from_a_lock_file() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.1.0\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            lock_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(lock_version(lock, "yew"), None);
    }

    #[test]
    fn reads_a_package_json_version() {
        let json = "{\n  \"name\": \"axe-core\",\n  \"version\" : \"4.14.1\",\n  \"x\": {\"version\": \"9\"}\n}";
        assert_eq!(package_version(json).as_deref(), Some("4.14.1"));
        assert_eq!(package_version("{\"name\": \"axe-core\"}"), None);
    }

    #[test]
    fn reads_binaryen_version_lines() {
        assert_eq!(
            binaryen_version("wasm-opt version 132 (version_132)"),
            Some(132)
        );
        assert_eq!(binaryen_version("wasm-opt version 116"), Some(116));
        assert_eq!(binaryen_version("something else"), None);
    }
}
