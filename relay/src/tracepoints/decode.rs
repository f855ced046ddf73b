//! From a raw record to what the kernel said, and of which socket.
//!
//! Each record starts with its event's id (`common_type`); the event's
//! [`Format`] says where its fields lie. A socket is named by its kernel
//! address (`skaddr`; `rx_sk` in a drop), and by its cookie (`sock_cookie`)
//! in the events that carry one. States and reasons are named from the
//! format's tables; where a table names a kernel constant instead of a
//! number (`tcp_send_reset`'s states), the number is the one
//! `inet_sock_set_state` gives that name.

use std::collections::HashMap;

use protocol::{KernelWord, Probe};

use super::format::{Field, Format, Value};

/// The tracepoints the relay reads, as `system/name`.
pub const EVENTS: [&str; 8] = [
    "sock/inet_sock_set_state",
    "tcp/tcp_send_reset",
    "tcp/tcp_receive_reset",
    "tcp/tcp_retransmit_skb",
    "tcp/tcp_retransmit_synack",
    "skb/kfree_skb",
    "tcp/tcp_probe",
    "tcp/tcp_destroy_sock",
];

/// What each event is kept to (the instance's own filters, so that the
/// machine's other traffic costs little). `kfree_skb` fires for every
/// protocol: only drops with a receiving socket can be tied to one.
pub fn filter(event: &str) -> Option<&'static str> {
    match event {
        "sock/inet_sock_set_state" => Some("protocol == 6"),
        "skb/kfree_skb" => Some("rx_sk != 0"),
        _ => None,
    }
}

/// What one record said, with the socket it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub time_ns: u64,
    /// The socket's kernel address: 0 when the kernel acted for no socket
    /// (a RST answering a segment no socket wanted).
    pub skaddr: u64,
    /// The socket's cookie, in the events that carry one.
    pub cookie: Option<u64>,
    pub word: KernelWord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SetState,
    SendReset,
    ReceiveReset,
    Retransmit,
    RetransmitSynack,
    Drop,
    Probe,
    Destroy,
}

impl Kind {
    fn of(event: &str) -> Option<Kind> {
        Some(match event {
            "sock/inet_sock_set_state" => Kind::SetState,
            "tcp/tcp_send_reset" => Kind::SendReset,
            "tcp/tcp_receive_reset" => Kind::ReceiveReset,
            "tcp/tcp_retransmit_skb" => Kind::Retransmit,
            "tcp/tcp_retransmit_synack" => Kind::RetransmitSynack,
            "skb/kfree_skb" => Kind::Drop,
            "tcp/tcp_probe" => Kind::Probe,
            "tcp/tcp_destroy_sock" => Kind::Destroy,
            _ => return None,
        })
    }
}

/// Decodes records of the events in [`EVENTS`].
#[derive(Debug, Default)]
pub struct Decoder {
    by_id: HashMap<u16, (Kind, Format)>,
    /// State names by number, from `inet_sock_set_state`'s table.
    states: HashMap<String, i64>,
}

/// Why the decoder cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{event}'s format has no field `{field}`")]
    NoField { event: String, field: &'static str },
}

impl Decoder {
    /// A decoder for `formats`, given as (`system/name`, format).
    pub fn new(formats: Vec<(String, Format)>) -> Result<Decoder, DecodeError> {
        let mut decoder = Decoder::default();
        for (event, format) in formats {
            let Some(kind) = Kind::of(&event) else {
                continue;
            };
            let socket_field = if kind == Kind::Drop {
                "rx_sk"
            } else {
                "skaddr"
            };
            if format.field(socket_field).is_none() {
                return Err(DecodeError::NoField {
                    event,
                    field: socket_field,
                });
            }
            if kind == Kind::SetState {
                for (value, name) in format.symbols.get("newstate").into_iter().flatten() {
                    if let Value::Number(n) = value {
                        decoder.states.insert(name.clone(), *n);
                    }
                }
            }
            decoder.by_id.insert(format.id, (kind, format));
        }
        Ok(decoder)
    }

    /// What the record says, if it is one of ours and whole.
    pub fn decode(&self, time_ns: u64, data: &[u8]) -> Option<Said> {
        let id = u16::from_le_bytes(data.get(0..2)?.try_into().ok()?);
        let (kind, f) = self.by_id.get(&id)?;
        let num = |name: &str| f.field(name).and_then(|field| read(data, field));
        let name = |name: &str| -> Option<String> {
            let value = num(name)?;
            Some(self.symbol(f, name, value))
        };
        let skaddr = num(if *kind == Kind::Drop {
            "rx_sk"
        } else {
            "skaddr"
        })? as u64;
        let cookie = num("sock_cookie").map(|c| c as u64).filter(|&c| c != 0);
        let word = match kind {
            Kind::SetState => KernelWord::StateChanged {
                old: name("oldstate")?,
                new: name("newstate")?,
            },
            Kind::SendReset => KernelWord::ResetSent {
                reason: name("reason").unwrap_or_else(|| "NOT_SPECIFIED".into()),
                // 0 is no state: the kernel prints "UNKNOWN".
                state: num("state").filter(|&s| s != 0).and_then(|_| name("state")),
            },
            Kind::ReceiveReset => KernelWord::ResetReceived {
                reason: name("reason"),
            },
            Kind::Retransmit => KernelWord::Retransmitted {
                state: name("state"),
            },
            Kind::RetransmitSynack => KernelWord::SynAckRetransmitted,
            Kind::Drop => KernelWord::Dropped {
                reason: name("reason")?,
            },
            Kind::Probe => {
                let n = |field: &str| num(field).map(|v| v as u32).unwrap_or(0);
                KernelWord::Probe(Probe {
                    cwnd: n("snd_cwnd"),
                    ssthresh: n("ssthresh"),
                    srtt_us: n("srtt"),
                    snd_wnd: n("snd_wnd"),
                    rcv_wnd: n("rcv_wnd"),
                    snd_nxt: n("snd_nxt"),
                    snd_una: n("snd_una"),
                    data_len: n("data_len"),
                })
            }
            Kind::Destroy => KernelWord::Destroyed,
        };
        Some(Said {
            time_ns,
            skaddr,
            cookie,
            word,
        })
    }

    /// The name the format gives `value` of `field`; the number itself,
    /// written `#N`, if it gives none (a kernel newer than its table).
    fn symbol(&self, format: &Format, field: &str, value: i64) -> String {
        let table = format.symbols.get(field).into_iter().flatten();
        for (v, name) in table {
            let n = match v {
                Value::Number(n) => Some(*n),
                Value::Constant(c) => self.states.get(c).copied(),
            };
            if n == Some(value) {
                return name.clone();
            }
        }
        format!("#{value}")
    }
}

/// A field's value, sign-extended where the format says it is signed.
fn read(data: &[u8], field: Field) -> Option<i64> {
    let bytes = data.get(field.offset..field.offset + field.size)?;
    Some(match (field.size, field.signed) {
        (1, false) => i64::from(bytes[0]),
        (1, true) => i64::from(bytes[0] as i8),
        (2, false) => i64::from(u16::from_le_bytes(bytes.try_into().ok()?)),
        (2, true) => i64::from(i16::from_le_bytes(bytes.try_into().ok()?)),
        (4, false) => i64::from(u32::from_le_bytes(bytes.try_into().ok()?)),
        (4, true) => i64::from(i32::from_le_bytes(bytes.try_into().ok()?)),
        (8, _) => i64::from_le_bytes(bytes.try_into().ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET_STATE: &str = r#"name: inet_sock_set_state
ID: 7
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:const void * skaddr;	offset:8;	size:8;	signed:0;
	field:int oldstate;	offset:16;	size:4;	signed:1;
	field:int newstate;	offset:20;	size:4;	signed:1;

print fmt: "oldstate=%s newstate=%s", __print_symbolic(REC->oldstate, { 2, "TCP_SYN_SENT" }, { 7, "TCP_CLOSE" }), __print_symbolic(REC->newstate, { 1, "TCP_ESTABLISHED" }, { 2, "TCP_SYN_SENT" }, { 7, "TCP_CLOSE" })
"#;

    const SEND_RESET: &str = r#"name: tcp_send_reset
ID: 9
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:const void * skaddr;	offset:16;	size:8;	signed:0;
	field:int state;	offset:24;	size:4;	signed:1;
	field:enum sk_rst_reason reason;	offset:28;	size:4;	signed:0;

print fmt: "state=%s reason=%s", REC->state ? __print_symbolic(REC->state, { TCP_ESTABLISHED, "TCP_ESTABLISHED" }, { TCP_CLOSE, "TCP_CLOSE" }) : "UNKNOWN", __print_symbolic(REC->reason, { 1, "NO_SOCKET" }, { 11, "TCP_ABORT_ON_CLOSE" })
"#;

    fn decoder() -> Decoder {
        Decoder::new(vec![
            (
                "sock/inet_sock_set_state".into(),
                Format::parse(SET_STATE).unwrap(),
            ),
            (
                "tcp/tcp_send_reset".into(),
                Format::parse(SEND_RESET).unwrap(),
            ),
        ])
        .expect("decoder")
    }

    #[test]
    fn a_state_change_is_named_from_its_format() {
        let mut record = vec![0u8; 24];
        record[0..2].copy_from_slice(&7u16.to_le_bytes());
        record[8..16].copy_from_slice(&0xffff_8880_1234_5678u64.to_le_bytes());
        record[16..20].copy_from_slice(&7i32.to_le_bytes());
        record[20..24].copy_from_slice(&2i32.to_le_bytes());
        let said = decoder().decode(99, &record).expect("decodes");
        assert_eq!(said.skaddr, 0xffff_8880_1234_5678);
        assert_eq!(said.cookie, None);
        assert_eq!(
            said.word,
            KernelWord::StateChanged {
                old: "TCP_CLOSE".into(),
                new: "TCP_SYN_SENT".into()
            }
        );
    }

    #[test]
    fn a_reset_names_its_state_through_the_state_table_and_its_reason() {
        let mut record = vec![0u8; 32];
        record[0..2].copy_from_slice(&9u16.to_le_bytes());
        record[16..24].copy_from_slice(&0x10u64.to_le_bytes());
        record[24..28].copy_from_slice(&7i32.to_le_bytes());
        record[28..32].copy_from_slice(&11u32.to_le_bytes());
        let d = decoder();
        assert_eq!(
            d.decode(1, &record).expect("decodes").word,
            KernelWord::ResetSent {
                reason: "TCP_ABORT_ON_CLOSE".into(),
                state: Some("TCP_CLOSE".into())
            }
        );
        // No state, and a reason this table does not know.
        record[24..28].copy_from_slice(&0i32.to_le_bytes());
        record[28..32].copy_from_slice(&77u32.to_le_bytes());
        assert_eq!(
            d.decode(1, &record).expect("decodes").word,
            KernelWord::ResetSent {
                reason: "#77".into(),
                state: None
            }
        );
        // Not one of ours; cut short.
        record[0..2].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(d.decode(1, &record), None);
        assert_eq!(d.decode(1, &record[..3]), None);
    }
}
