//! Bytes on the wire format: a lower-case hex string, compact and unambiguous
//! for any byte, where JSON strings are made for text.

use serde::{de::Error, Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    s.serialize_str(&hex)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let hex = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    if hex.len() % 2 != 0 {
        return Err(D::Error::custom(
            "hex bytes must have an even number of digits",
        ));
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| {
                char::from(c).to_digit(16).ok_or_else(|| {
                    D::Error::custom(format!("{:?} is not a hex digit", char::from(c)))
                })
            };
            Ok(((digit(pair[0])? << 4) | digit(pair[1])?) as u8)
        })
        .collect()
}
