//! The private sessions this browser started or opened, so that the page
//! can offer them again: kept in the browser's local storage, never sent to
//! anyone but the relay that runs them (which lists only ids it is asked
//! about). And the presenter's key, kept for this tab only, so that it
//! leaves the address bar (where a shared screen or a copied link would
//! show it) but not the presenter's page.

/// Where the ids are kept, comma-separated.
const KEY: &str = "tcpstep.sessions";

/// The most ids kept: the latest ones.
const MAX_KEPT: usize = 8;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The letters of a session's id, as the relay makes them
/// (`relay/src/rooms/secret.rs`): lowercase, digits, no look-alikes.
const ALPHABET: &[u8; 32] = b"23456789abcdefghjkmnpqrstuvwxyz_";

/// Letters in an id: 60 bits.
const ID_LEN: usize = 12;

/// A new session id from the browser's cryptographic random source.
pub fn new_id() -> Option<String> {
    let mut bytes = [0u8; ID_LEN];
    web_sys::window()?
        .crypto()
        .ok()?
        .get_random_values_with_u8_array(&mut bytes)
        .ok()?;
    Some(
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect(),
    )
}

/// Where this tab keeps the presenter's key.
const PRESENTER_KEY: &str = "tcpstep.presenter-key";

fn tab_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The presenter's key this tab was given, if any.
pub fn presenter_key() -> Option<String> {
    tab_storage()?
        .get_item(PRESENTER_KEY)
        .ok()
        .flatten()
        .filter(|k| !k.is_empty())
}

/// Keeps the presenter's key for this tab.
pub fn keep_presenter_key(key: &str) {
    if let Some(storage) = tab_storage() {
        let _ = storage.set_item(PRESENTER_KEY, key);
    }
}

/// The ids kept, latest last.
pub fn known() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|text| parse(&text))
        .unwrap_or_default()
}

/// Keeps `id` (as the latest).
pub fn remember(id: &str) {
    let mut ids = known();
    ids.retain(|known| known != id);
    ids.push(id.to_owned());
    store(&ids);
}

/// Keeps only the ids in `running`: the others have ended.
pub fn keep_only(running: &[String]) {
    let mut ids = known();
    ids.retain(|id| running.contains(id));
    store(&ids);
}

fn store(ids: &[String]) {
    let start = ids.len().saturating_sub(MAX_KEPT);
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, &ids[start..].join(","));
    }
}

/// The ids in stored text; anything that is not an id's letters is dropped.
fn parse(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|id| !id.is_empty() && id.len() <= 32)
        .filter(|id| id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_ids_are_read_back() {
        assert_eq!(
            super::parse("k3v9q2m7x4bd,,<x>,ab_2"),
            ["k3v9q2m7x4bd", "ab_2"]
        );
    }
}
