//! Unguessable names: private sessions' ids and the presenter's key.
//!
//! A private session is joined by whoever holds its id, and the class
//! session is driven by whoever holds the key, so both must be impossible to
//! guess or count up to. They are read from the kernel's random source
//! (`/dev/urandom`, which never blocks once the system has booted) and
//! written in a 32-letter alphabet without look-alikes (no `0`/`o`,
//! `1`/`l`/`i`), 5 bits a letter, so that a link read aloud or copied by
//! hand still works. Nothing here is a dependency: one read of a file.

use std::io::Read;

/// The letters of an id or key: lowercase, digits, no look-alikes.
const ALPHABET: &[u8; 32] = b"23456789abcdefghjkmnpqrstuvwxyz_";

/// Letters in a private session's id: 60 bits, far more than a class could
/// try, and short enough for a URL someone reads out.
pub const ID_LEN: usize = 12;

/// Letters in the presenter's key: 120 bits.
pub const KEY_LEN: usize = 24;

/// `len` random letters of [`ALPHABET`].
pub fn random_name(len: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect())
}

/// Whether `text` could be a name made here: a cheap check before any
/// lookup, so that what a stranger sends is never echoed back unchecked.
pub fn well_formed(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| ALPHABET.contains(&b))
}

/// Compares a key someone sent with the real one in time that does not
/// depend on where they first differ, so that timing cannot spell it out.
pub fn same_key(sent: &str, key: &str) -> bool {
    let (sent, key) = (sent.as_bytes(), key.as_bytes());
    sent.len() == key.len() && sent.iter().zip(key).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_random_and_well_formed() {
        let a = random_name(ID_LEN).expect("urandom");
        let b = random_name(ID_LEN).expect("urandom");
        assert_ne!(a, b);
        assert!(well_formed(&a, ID_LEN), "{a}");
        assert!(!well_formed("class", ID_LEN));
        assert!(
            !well_formed("ABCDEFGHJKMN", ID_LEN),
            "upper case is not ours"
        );
        assert!(!well_formed("abc/../../xy", ID_LEN));
    }

    #[test]
    fn keys_compare_whole() {
        assert!(same_key("abc", "abc"));
        assert!(!same_key("abd", "abc"));
        assert!(!same_key("ab", "abc"));
        assert!(!same_key("", "abc"));
    }
}
