//! Turning a [`Scenario`] into what each program does, after checking that
//! it asks for nothing unreasonable.

use std::time::Duration;

use protocol::Scenario;

use crate::pair::{ClientConfig, ServerConfig};

/// The most clients a session runs (each is a thread with a socket).
pub const MAX_CLIENTS: u32 = 1000;
/// The most bytes a message, a reply or an expected count may be.
pub const MAX_BYTES: usize = 64 * 1024;
/// The longest pause between pieces.
pub const MAX_PAUSE_MS: u64 = 10_000;
/// Socket buffer sizes a scenario may ask for.
pub const BUFFER_RANGE: std::ops::RangeInclusive<u32> = 256..=16 * 1024 * 1024;

/// Why a scenario was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario {0:?}: this relay offers {1}")]
    Unknown(String, String),
    #[error("{0} must be between {1} and {2}")]
    OutOfRange(&'static str, u64, u64),
    #[error("{0}")]
    Wire(String),
}

/// What a session runs: the server's part (if one listens) and each client's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub server: Option<ServerConfig>,
    pub client: ClientConfig,
    pub clients: u32,
}

fn within(what: &'static str, value: u64, low: u64, high: u64) -> Result<(), ScenarioError> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(ScenarioError::OutOfRange(what, low, high))
    }
}

/// Checks `scenario` and says what each program is to do.
pub fn plan(scenario: &Scenario) -> Result<Plan, ScenarioError> {
    let presets = Scenario::presets();
    if !presets.iter().any(|p| p.name == scenario.name) {
        let names: Vec<String> = presets.into_iter().map(|p| p.name).collect();
        return Err(ScenarioError::Unknown(
            scenario.name.clone(),
            names.join(", "),
        ));
    }
    scenario.wire.check().map_err(ScenarioError::Wire)?;
    if let Some(retries) = scenario.syn_retries {
        // The kernel refuses TCP_SYNCNT outside 1..=127.
        within("syn_retries", retries.into(), 1, 127)?;
    }
    let max = MAX_BYTES as u64;
    within("clients", scenario.clients.into(), 1, MAX_CLIENTS.into())?;
    within("repeat", scenario.repeat.into(), 1, max)?;
    within(
        "the message's length (times repeat)",
        (scenario.message.len() as u64).saturating_mul(scenario.repeat.into()),
        0,
        max,
    )?;
    within("expected", scenario.expected as u64, 1, max)?;
    within("the reply's length", scenario.reply.len() as u64, 1, max)?;
    if let Some(chunk) = scenario.chunk {
        within("chunk", chunk as u64, 1, max)?;
    }
    within("pause_ms", scenario.pause_ms, 0, MAX_PAUSE_MS)?;
    within("read_pause_ms", scenario.read_pause_ms, 0, MAX_PAUSE_MS)?;
    within("accept_pause_ms", scenario.accept_pause_ms, 0, MAX_PAUSE_MS)?;
    within(
        "backlog",
        u64::try_from(scenario.backlog).unwrap_or(u64::MAX),
        0,
        4096,
    )?;
    for (what, size) in [("rcvbuf", scenario.rcvbuf), ("sndbuf", scenario.sndbuf)] {
        if let Some(size) = size {
            within(
                what,
                size.into(),
                (*BUFFER_RANGE.start()).into(),
                (*BUFFER_RANGE.end()).into(),
            )?;
        }
    }
    let server = scenario.server.then(|| ServerConfig {
        expected: scenario.expected,
        reply: scenario.reply.as_bytes().to_vec(),
        replies: scenario.replies,
        read_pause: Duration::from_millis(scenario.read_pause_ms),
        backlog: scenario.backlog,
        accept_pause: Duration::from_millis(scenario.accept_pause_ms),
        rcvbuf: scenario.rcvbuf,
        sndbuf: scenario.sndbuf,
    });
    let client = ClientConfig {
        message: scenario
            .message
            .repeat(scenario.repeat as usize)
            .into_bytes(),
        chunk: scenario.chunk,
        pause: Duration::from_millis(scenario.pause_ms),
        expects: scenario.reads_reply.then_some(scenario.reply.len()),
        // Small pieces must leave at once to arrive as pieces.
        nodelay: scenario.chunk.is_some(),
        half_close: scenario.half_close,
        abort: scenario.abort,
        rcvbuf: scenario.rcvbuf,
        sndbuf: scenario.sndbuf,
        syn_retries: scenario.syn_retries,
    };
    Ok(Plan {
        server,
        client,
        clients: scenario.clients,
    })
}

/// A scenario named for a preset keeps the name only if it has the
/// preset's settings (its port aside); otherwise it is `custom`, so that a
/// session never claims to be what it is not.
pub fn named_truly(mut scenario: Scenario) -> Scenario {
    let same = Scenario::preset(&scenario.name).is_some_and(|preset| {
        Scenario {
            port: scenario.port,
            ..preset
        } == scenario
    });
    if !same {
        scenario.name = "custom".to_owned();
    }
    scenario
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_scenario_is_the_classic_pair() {
        let plan = plan(&Scenario::classic()).expect("valid");
        assert_eq!(plan.server, Some(ServerConfig::default()));
        assert_eq!(plan.client, ClientConfig::default());
        assert_eq!(plan.clients, 1);
    }

    #[test]
    fn every_preset_is_valid() {
        for preset in Scenario::presets() {
            plan(&preset).unwrap_or_else(|e| panic!("{}: {e}", preset.name));
        }
        let refused = plan(&Scenario::preset("refused").expect("preset")).expect("valid");
        assert_eq!(refused.server, None);
        let early = plan(&Scenario::preset("early-close").expect("preset")).expect("valid");
        assert_eq!(early.client.expects, None);
    }

    #[test]
    fn a_preset_changed_is_custom() {
        let fragmented = Scenario::preset("fragmented").expect("preset");
        assert_eq!(named_truly(fragmented.clone()).name, "fragmented");
        let elsewhere = Scenario {
            port: Some(4000),
            ..fragmented.clone()
        };
        assert_eq!(
            named_truly(elsewhere).name,
            "fragmented",
            "the port is where, not what"
        );
        let changed = Scenario {
            chunk: Some(2),
            ..fragmented
        };
        assert_eq!(named_truly(changed).name, "custom");
        let not_fragmented = Scenario {
            name: "fragmented".into(),
            ..Scenario::classic()
        };
        assert_eq!(named_truly(not_fragmented).name, "custom");
    }

    #[test]
    fn unreasonable_scenarios_are_refused_with_a_reason() {
        let bad = |change: fn(&mut Scenario)| {
            let mut s = Scenario::classic();
            change(&mut s);
            plan(&s).expect_err("refused").to_string()
        };
        assert!(bad(|s| s.name = "chaos".into()).contains("unknown scenario \"chaos\""));
        assert_eq!(bad(|s| s.clients = 0), "clients must be between 1 and 1000");
        assert_eq!(
            bad(|s| s.clients = 5000),
            "clients must be between 1 and 1000"
        );
        assert!(bad(|s| s.chunk = Some(0)).starts_with("chunk"));
        assert!(bad(|s| s.backlog = -1).starts_with("backlog"));
        assert!(bad(|s| s.rcvbuf = Some(1)).starts_with("rcvbuf"));
        assert!(bad(|s| s.expected = 0).starts_with("expected"));
        assert!(bad(|s| s.pause_ms = 60_000).starts_with("pause_ms"));
        assert!(bad(|s| s.read_pause_ms = 60_000).starts_with("read_pause_ms"));
        assert!(bad(|s| s.repeat = 0).starts_with("repeat"));
        assert!(bad(|s| s.repeat = 10_000).starts_with("the message's length (times repeat)"));
    }
}
