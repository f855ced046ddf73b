//! Scenarios: what a session runs. Data, so that the browser and the command
//! line can choose one and a recorded trace can say which it was.

use serde::{Deserialize, Serialize};

/// A session's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// The scenario's name: `classic` is the pair exactly as DESIGN.md gives it.
    pub name: String,
    /// How many clients connect, one after the other's `connect()`.
    pub clients: u32,
    /// The port the server listens on; `None` picks a free one for each session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl Scenario {
    /// The classic exchange: one server, one client.
    pub fn classic() -> Scenario {
        Scenario {
            name: "classic".to_owned(),
            clients: 1,
            port: None,
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::classic()
    }
}
