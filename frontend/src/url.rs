//! The page's URL parameters: the same URL reproduces the same view.
//!
//! - `relay=ws://HOST:PORT/ws`: the relay to connect to (default: this
//!   page's own origin at `/ws`, which `trunk serve` proxies to the relay);
//! - `scenario=NAME`: the scenario to reset to on connecting, if another runs;
//! - `autoplay=1`: start playing on connecting;
//! - `speed=MS`: the play interval, in milliseconds;
//! - `step=N`: open at the moment after the first N events (time travel),
//!   not live;
//! - `predict=1`: start in "Predict, then step" mode: before each step the
//!   page asks what will happen, and the real events answer;
//! - `trace=URL`: open the trace at URL (JSON lines, as Download or `relay
//!   record` writes them) instead of connecting to a relay. Only a file
//!   served beside the page (the same origin) is opened: a path such as
//!   `traces/classic.jsonl`, or a full URL on this page's origin;
//! - `session=ID`: a private session of the relay (the class session
//!   without it); the link opens the same session for whoever has it;
//! - `key=KEY`: the presenter's key, which lets this page drive the class
//!   session of a relay started with `--presenter`;
//! - `open=SCENARIO` (with `session=ID`): start session ID, of that
//!   scenario, if it does not run yet: how the page starts a session of
//!   one's own (it names the session itself, so that a load balancer with
//!   affinity on the id sends it to the relay that will hold it); taken out
//!   of the URL once the session is open;
//! - `embed=1`: a compact page for an iframe in a course page: the ladder,
//!   the sockets, the step controls and what happened, the other panels
//!   hidden. With `trace=`, a static `trunk build` plus trace files is a
//!   whole course page, with no relay.

/// The page's parameters, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub relay: String,
    pub scenario: Option<String>,
    pub autoplay: bool,
    pub speed_ms: u64,
    pub step: Option<usize>,
    pub predict: bool,
    /// `trace=` as given: check it with [`trace_url`] before fetching.
    pub trace: Option<String>,
    pub embed: bool,
    /// `session=`: a private session's id; `None` is the class session.
    pub session: Option<String>,
    /// `key=`: the presenter's key.
    pub key: Option<String>,
    /// `open=`: the scenario to start session `session` with, if it does not run.
    pub open: Option<String>,
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
        let on = |key: &str| get(key).is_some_and(|v| v == "1" || v == "true");
        Params {
            relay: get("relay")
                .filter(|r| !r.is_empty())
                .unwrap_or(default_relay),
            scenario: get("scenario").filter(|s| !s.is_empty()),
            autoplay: on("autoplay"),
            speed_ms: get("speed")
                .and_then(|v| v.parse().ok())
                .filter(|&ms| ms > 0)
                .unwrap_or(DEFAULT_SPEED_MS),
            step: get("step").and_then(|v| v.parse().ok()),
            predict: on("predict"),
            trace: get("trace").filter(|t| !t.trim().is_empty()),
            embed: on("embed"),
            session: get("session").filter(|s| !s.is_empty()),
            key: get("key").filter(|k| !k.is_empty()),
            open: get("open").filter(|o| !o.is_empty()),
        }
    }

    /// The WebSocket to open: the relay's, with the session and key the
    /// page was given (the relay serves each session at `/ws?session=ID`).
    pub fn socket_url(&self) -> String {
        let mut url = self.relay.clone();
        let open = self.open.as_ref().filter(|_| self.session.is_some());
        for (name, value) in [
            ("session", self.session.as_ref()),
            ("key", self.key.as_ref()),
            ("open", open),
        ] {
            if let Some(value) = value {
                let joiner = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{joiner}{name}={}", encode(value));
            }
        }
        url
    }
}

/// `search` for the page of session `session` (`None`: the class
/// session): other parameters kept, but not the moment shown (`step`), nor
/// the presenter's key, which must not travel in a link to someone's own
/// session.
pub fn with_session(search: &str, session: Option<&str>) -> String {
    let mut pairs: Vec<String> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| {
            let name = p.split('=').next().unwrap_or_default();
            !p.is_empty() && !matches!(name, "step" | "session" | "key" | "open")
        })
        .map(str::to_owned)
        .collect();
    if let Some(id) = session {
        pairs.push(format!("session={}", encode(id)));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// `search` for starting a session of one's own, `id`, running `scenario`
/// (as [`with_session`], with `open=SCENARIO`).
pub fn opening(search: &str, id: &str, scenario: &str) -> String {
    format!(
        "{}&open={}",
        with_session(search, Some(id)),
        encode(scenario)
    )
}

/// `search` without `open=` (once the session is open, the link that is
/// passed on only joins it) and without `key=` (once the relay has taken
/// the presenter's key, the page keeps it out of sight).
pub fn without_open(search: &str) -> String {
    let pairs: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && !matches!(p.split('=').next(), Some("open" | "key")))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Percent-encoding of a query value: all but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where `trace=` points, if it is on the page's own `origin`
/// (`http://host:port`): a path (`traces/a.jsonl`, `/course/a.jsonl`) or a
/// full URL on that origin. Anything else is refused, saying why: a course
/// page opens only traces served beside it (the browser would refuse
/// another origin's file anyway, unless that server allowed it).
///
/// The URL parser's own leniency is followed, as WHATWG's URL Standard
/// writes it: C0 controls and spaces at either end are stripped, tabs and
/// newlines anywhere are dropped, and `\` counts as `/`. So
/// `\x01//evil.example/x` and `/\evil.example/x` are seen as the other host
/// they name, not as paths.
pub fn trace_url(origin: &str, raw: &str) -> Result<String, String> {
    let cleaned: String = raw
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let slashed = cleaned.replace('\\', "/");
    if cleaned.is_empty() {
        return Err(
            "trace= names no file: give the path of a trace served beside this page".into(),
        );
    }
    let page_scheme = origin.split_once("://").map_or("http", |(s, _)| s);
    let (scheme, after) = match scheme_of(&slashed) {
        Some(scheme) => (scheme.to_ascii_lowercase(), &slashed[scheme.len() + 1..]),
        None if slashed.starts_with("//") => (page_scheme.to_owned(), slashed.as_str()),
        // A path on this page's own origin.
        None => return Ok(cleaned),
    };
    let refused = |theirs: &str| {
        format!(
            "trace={raw} is not on this page's origin ({origin}) but {theirs}: a page opens \
             only traces served beside it. Put the file next to the page and give its path, \
             e.g. ?trace=traces/classic.jsonl"
        )
    };
    let Some(rest) = after.strip_prefix("//") else {
        return Err(refused(&format!("a {scheme}: URL")));
    };
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let theirs = format!("{scheme}://{}", without_default_port(&scheme, &authority));
    let ours = origin.to_ascii_lowercase();
    if theirs == without_default_port(page_scheme, &ours) || theirs == ours {
        Ok(cleaned)
    } else {
        Err(refused(&theirs))
    }
}

/// The scheme of an absolute URL (`https` of `https://...`), if it has one.
fn scheme_of(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// `host:80` for http (and `host:443` for https) as the browser writes it: `host`.
fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = match scheme {
        "http" | "ws" => ":80",
        "https" | "wss" => ":443",
        _ => return authority,
    };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// The name to show for a trace: the last part of its path.
pub fn trace_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or(path)
        .to_owned()
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

    #[test]
    fn predict_trace_and_embed_are_read() {
        let p = Params::parse(
            "http://h:1",
            "?predict=1&trace=traces%2Fclassic.jsonl&embed=true",
        );
        assert!(p.predict && p.embed);
        assert_eq!(p.trace.as_deref(), Some("traces/classic.jsonl"));
        let none = Params::parse("http://h:1", "?trace=&embed=0");
        assert!(!none.predict && !none.embed);
        assert_eq!(none.trace, None);
    }

    #[test]
    fn a_trace_is_opened_only_from_the_page_origin() {
        let origin = "http://127.0.0.1:8080";
        for ok in [
            "classic.jsonl",
            "traces/classic.jsonl",
            "/course/classic.jsonl?v=2",
            "http://127.0.0.1:8080/classic.jsonl",
            "HTTP://127.0.0.1:8080/classic.jsonl",
            "//127.0.0.1:8080/classic.jsonl",
        ] {
            assert!(trace_url(origin, ok).is_ok(), "{ok}");
        }
        assert_eq!(
            trace_url("http://example.org", "http://example.org:80/a.jsonl").as_deref(),
            Ok("http://example.org:80/a.jsonl")
        );
        for refused in [
            "http://127.0.0.1:9001/download/trace.jsonl",
            "https://127.0.0.1:8080/classic.jsonl",
            "http://evil.example/classic.jsonl",
            "//evil.example/classic.jsonl",
            "/\\evil.example/classic.jsonl",
            "/\t/evil.example/classic.jsonl",
            "\x01//evil.example/classic.jsonl",
            "\x1f\x00 //evil.example/classic.jsonl",
            " \x0b\x0c//evil.example/classic.jsonl \x1b",
            "http://user@127.0.0.1:8080/classic.jsonl",
            "data:text/plain,{}",
            "javascript:alert(1)",
        ] {
            let why = trace_url(origin, refused).expect_err(refused);
            assert!(
                why.contains("not on this page's origin"),
                "{refused}: {why}"
            );
        }
        assert!(trace_url(origin, "  ").is_err());
        assert!(
            trace_url(origin, "\x01\x02 ").is_err(),
            "nothing but controls"
        );
        // Stripped as the browser strips them, so the file fetched is the one checked.
        assert_eq!(
            trace_url(origin, "\x01 traces/a\t.jsonl\n\x1f").as_deref(),
            Ok("traces/a.jsonl")
        );
        assert_eq!(trace_name("/course/classic.jsonl?v=2"), "classic.jsonl");
        assert_eq!(trace_name("http://h:1/a/b.jsonl"), "b.jsonl");
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
mod session_tests {
    use super::*;

    #[test]
    fn the_session_and_key_reach_the_websocket() {
        let p = Params::parse(
            "http://127.0.0.1:8080",
            "?session=k3v9q2m7x4bd&key=s%20cret",
        );
        assert_eq!(p.session.as_deref(), Some("k3v9q2m7x4bd"));
        assert_eq!(
            p.socket_url(),
            "ws://127.0.0.1:8080/ws?session=k3v9q2m7x4bd&key=s%20cret"
        );
        let class = Params::parse("http://127.0.0.1:8080", "?session=");
        assert_eq!(class.session, None);
        assert_eq!(class.socket_url(), "ws://127.0.0.1:8080/ws");
        let elsewhere = Params::parse(
            "http://h:1",
            "?relay=ws%3A%2F%2Fr%3A9%2Fws%3Fx%3D1&session=ab",
        );
        assert_eq!(elsewhere.socket_url(), "ws://r:9/ws?x=1&session=ab");
    }

    #[test]
    fn a_link_to_a_session_drops_the_key_and_the_moment() {
        assert_eq!(
            with_session("?key=k&step=4&predict=1", Some("ab")),
            "?predict=1&session=ab"
        );
        assert_eq!(with_session("?session=ab&key=k", None), "");
        assert_eq!(with_session("", Some("a b")), "?session=a%20b");
    }

    #[test]
    fn a_session_is_opened_by_its_url_and_the_link_then_only_joins() {
        let search = opening("?key=k&predict=1", "k3v9q2m7x4bd", "half-close");
        assert_eq!(search, "?predict=1&session=k3v9q2m7x4bd&open=half-close");
        let p = Params::parse("http://h:1", &search);
        assert_eq!(
            p.socket_url(),
            "ws://h:1/ws?session=k3v9q2m7x4bd&open=half-close"
        );
        assert_eq!(without_open(&search), "?predict=1&session=k3v9q2m7x4bd");
        assert_eq!(without_open("?key=k&step=3"), "?step=3");
        // Without a session, there is nothing to open.
        assert_eq!(
            Params::parse("http://h:1", "?open=classic").socket_url(),
            "ws://h:1/ws"
        );
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
