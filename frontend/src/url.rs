//! The page's URL parameters: the same URL reproduces the same view.
//!
//! - `relay=ws://HOST:PORT/ws`: the relay to connect to (default: this
//!   page's own origin at `/ws`, which `trunk serve` proxies to the relay);
//! - `scenario=NAME`: the scenario to reset to on connecting, if another runs;
//! - `autoplay=1`: start playing on connecting;
//! - `speed=MS`: the play interval, in milliseconds;
//! - `step=N`: open at the moment after event N (time travel), not live.

/// The page's parameters, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub relay: String,
    pub scenario: Option<String>,
    pub autoplay: bool,
    pub speed_ms: u64,
    pub step: Option<usize>,
}

/// The play interval when the URL names none.
pub const DEFAULT_SPEED_MS: u64 = 600;

impl Params {
    /// Reads `search` (`?a=b&c=d`) for a page served at `origin` (`http://host:port`).
    pub fn parse(origin: &str, search: &str) -> Params {
        let pairs: Vec<(String, String)> = search
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let default_relay = match origin.split_once("://") {
            Some(("https", host)) => format!("wss://{host}/ws"),
            Some((_, host)) => format!("ws://{host}/ws"),
            None => "ws://127.0.0.1:9001/ws".to_owned(),
        };
        Params {
            relay: get("relay")
                .filter(|r| !r.is_empty())
                .unwrap_or(default_relay),
            scenario: get("scenario").filter(|s| !s.is_empty()),
            autoplay: get("autoplay").is_some_and(|v| v == "1" || v == "true"),
            speed_ms: get("speed")
                .and_then(|v| v.parse().ok())
                .filter(|&ms| ms > 0)
                .unwrap_or(DEFAULT_SPEED_MS),
            step: get("step").and_then(|v| v.parse().ok()),
        }
    }
}

/// Percent-decoding of a query component (`+` is a space); a `%` not
/// followed by two hex digits stays as it is.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_page_origin() {
        let p = Params::parse("http://127.0.0.1:8080", "");
        assert_eq!(p.relay, "ws://127.0.0.1:8080/ws");
        assert_eq!(p.scenario, None);
        assert!(!p.autoplay);
        assert_eq!(p.speed_ms, DEFAULT_SPEED_MS);
        assert_eq!(Params::parse("https://x.org", "").relay, "wss://x.org/ws");
    }

    #[test]
    fn parameters_are_read_and_decoded() {
        let p = Params::parse(
            "http://127.0.0.1:8080",
            "?relay=ws%3A%2F%2F127.0.0.1%3A9001%2Fws&scenario=classic&autoplay=1&speed=250",
        );
        assert_eq!(p.relay, "ws://127.0.0.1:9001/ws");
        assert_eq!(p.scenario.as_deref(), Some("classic"));
        assert!(p.autoplay);
        assert_eq!(p.speed_ms, 250);
        assert_eq!(p.step, None);
        assert_eq!(Params::parse("http://h:1", "?step=42").step, Some(42));
        assert_eq!(Params::parse("http://h:1", "?step=soon").step, None);
    }

    #[test]
    fn nonsense_falls_back_to_defaults() {
        let p = Params::parse("http://h:1", "?speed=fast&autoplay=maybe&relay=&%zz&x");
        assert_eq!(p.speed_ms, DEFAULT_SPEED_MS);
        assert!(!p.autoplay);
        assert_eq!(p.relay, "ws://h:1/ws");
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("a+b%21"), "a b!");
    }
}

/// `search` with `step` set to `step` (or removed), other parameters kept.
pub fn with_step(search: &str, step: Option<usize>) -> String {
    let mut pairs: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("step=") && *p != "step")
        .collect();
    let step = step.map(|n| format!("step={n}"));
    if let Some(step) = &step {
        pairs.push(step);
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod step_tests {
    use super::with_step;

    #[test]
    fn the_step_is_written_into_the_url_and_taken_out_again() {
        assert_eq!(with_step("", Some(3)), "?step=3");
        assert_eq!(
            with_step("?relay=x&step=1&autoplay=1", Some(9)),
            "?relay=x&autoplay=1&step=9"
        );
        assert_eq!(with_step("?relay=x&step=1", None), "?relay=x");
        assert_eq!(with_step("?step=1", None), "");
    }
}
