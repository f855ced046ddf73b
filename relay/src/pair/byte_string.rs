//! Bytes shown the way a programmer reads a byte string: `b'Goodbye, client!'`.
//!
//! This is Python's `repr(bytes)`, which is what the classic pair printed in
//! the textbook it comes from, and which shows unprintable bytes unambiguously.

use std::fmt;

/// Displays a byte slice as a byte-string literal.
pub struct ByteString<'a>(pub &'a [u8]);

impl fmt::Display for ByteString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Like Python: single quotes, unless that would need escaping and double would not.
        let quote = if self.0.contains(&b'\'') && !self.0.contains(&b'"') {
            '"'
        } else {
            '\''
        };
        write!(f, "b{quote}")?;
        for &byte in self.0 {
            match byte {
                b'\\' => f.write_str("\\\\")?,
                b'\t' => f.write_str("\\t")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                _ if char::from(byte) == quote => write!(f, "\\{quote}")?,
                0x20..=0x7e => write!(f, "{}", char::from(byte))?,
                _ => write!(f, "\\x{byte:02x}")?,
            }
        }
        write!(f, "{quote}")
    }
}

#[cfg(test)]
mod tests {
    use super::ByteString;

    fn show(bytes: &[u8]) -> String {
        ByteString(bytes).to_string()
    }

    #[test]
    fn printable_ascii_is_shown_as_is() {
        assert_eq!(show(b"Goodbye, client!"), "b'Goodbye, client!'");
        assert_eq!(show(b""), "b''");
    }

    #[test]
    fn control_and_high_bytes_are_escaped() {
        assert_eq!(show(b"a\tb\nc\rd"), r"b'a\tb\nc\rd'");
        assert_eq!(show(&[0, 0x7f, 0xff]), r"b'\x00\x7f\xff'");
        assert_eq!(show(b"back\\slash"), r"b'back\\slash'");
    }

    #[test]
    fn quotes_are_chosen_as_python_chooses_them() {
        assert_eq!(show(b"it's"), r#"b"it's""#);
        assert_eq!(show(br#"say "hi""#), r#"b'say "hi"'"#);
        assert_eq!(show(br#"it's "both""#), r#"b'it\'s "both"'"#);
    }
}
