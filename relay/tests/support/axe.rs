//! axe-core, the accessibility checker, run inside the page as it stands.
//!
//! `cargo xtask setup` installs axe-core at a pinned version and `cargo xtask
//! test` passes its script's path in TCPSTEP_AXE_JS. A missing script fails
//! the test: a check that quietly did not run would read as a page that passed.

use serde_json::{json, Value};

use super::webdriver::Browser;

/// Impacts that fail a test: what stops someone from using the page at all.
const FAILING: &[&str] = &["serious", "critical"];

/// How many of a violation's elements a report names.
const TARGETS_SHOWN: usize = 5;

/// The text of axe-core's script, from where set-up put it.
pub fn script() -> String {
    let path = std::env::var("TCPSTEP_AXE_JS").unwrap_or_else(|_| {
        panic!(
            "TCPSTEP_AXE_JS is not set: it names axe-core's axe.min.js, which `cargo xtask setup` \
             installs under target/tools/npm; run this test through `cargo xtask test`, or set it \
             to target/tools/npm/node_modules/axe-core/axe.min.js"
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read axe-core's script at {path} (TCPSTEP_AXE_JS): {e}; run `cargo xtask setup`")
    })
}

/// One rule axe found broken, and where.
#[derive(Debug)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub nodes: usize,
    pub targets: Vec<String>,
    pub summary: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}; {} element(s), first: {}",
            self.id,
            self.impact,
            self.help,
            self.nodes,
            self.targets.join(" | ")
        )?;
        if !self.summary.is_empty() {
            write!(f, "\n    {}", self.summary.replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

/// Runs axe-core on the page as it is now (injecting it first if needed)
/// and returns every violation it reports, whatever its impact.
pub fn violations(browser: &Browser, axe: &str) -> Vec<Violation> {
    // A real <script> element, as a page would load it: axe sets window.axe.
    let loaded = browser.run(
        "if (!window.axe) { const s = document.createElement('script'); s.textContent = arguments[0]; \
         document.head.appendChild(s); s.remove(); } return typeof window.axe === 'object';",
        json!([axe]),
    );
    assert_eq!(loaded, json!(true), "axe-core did not load into the page");
    let found = browser.run_async(
        &format!(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {{resultTypes: ['violations']}}).then(r => done(r.violations.map(v => ({{ \
               id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.length, \
               targets: v.nodes.slice(0, {TARGETS_SHOWN}).map(n => n.target.join(' ')), \
               summary: v.nodes.length ? (v.nodes[0].failureSummary || '') : '' }})))) \
             .catch(e => done({{error: String(e)}}));"
        ),
        json!([]),
    );
    if let Some(error) = found.get("error") {
        panic!("axe.run() failed: {error}");
    }
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    found
        .as_array()
        .expect("axe's violations")
        .iter()
        .map(|v| Violation {
            id: text(v, "id"),
            impact: text(v, "impact"),
            help: text(v, "help"),
            nodes: v["nodes"].as_u64().unwrap_or_default() as usize,
            targets: v["targets"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            summary: text(v, "summary"),
        })
        .collect()
}

/// Fails, naming each one, if axe finds a serious or critical violation on
/// the page in the state `state` describes; prints the lesser ones.
pub fn assert_accessible(browser: &Browser, axe: &str, state: &str) {
    let all = violations(browser, axe);
    let (failing, lesser): (Vec<_>, Vec<_>) = all
        .iter()
        .partition(|v| FAILING.contains(&v.impact.as_str()));
    for v in &lesser {
        println!("axe, {state}, not failing: {v}");
    }
    let list: Vec<String> = failing.iter().map(|v| format!("  {v}")).collect();
    assert!(
        failing.is_empty(),
        "axe-core finds {} serious or critical violation(s) {state}:\n{}",
        failing.len(),
        list.join("\n")
    );
    println!("axe, {state}: no serious or critical violation");
}
