//! An event's `format` file: where each field lies in a raw record, and the
//! names the kernel prints for its numbered values.
//!
//! The kernel describes every tracepoint in `events/SYSTEM/NAME/format`:
//! its id (the `common_type` of its records), each field's offset, size and
//! sign, and a `print fmt` whose `__print_symbolic(REC->field, { 1,
//! "TCP_ESTABLISHED" }, ...)` tables name the values of states and reasons.
//! Reading those here, rather than copying the kernel's enums into the
//! relay, keeps a kernel that adds or renumbers a reason read right.

use std::collections::HashMap;

/// One field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub offset: usize,
    pub size: usize,
    pub signed: bool,
}

/// A value in a `__print_symbolic` table: a number, or (in some events) the
/// name of a kernel constant, as `{ TCP_ESTABLISHED, "TCP_ESTABLISHED" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Number(i64),
    Constant(String),
}

/// A tracepoint's format.
#[derive(Debug, Clone, Default)]
pub struct Format {
    pub name: String,
    pub id: u16,
    pub fields: HashMap<String, Field>,
    /// For each field printed with `__print_symbolic`: its values' names.
    pub symbols: HashMap<String, Vec<(Value, String)>>,
}

/// Why a `format` file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("no `ID:` line")]
    NoId,
    #[error("the field line `{0}` has no offset or size")]
    BadField(String),
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, FormatError> {
        let mut format = Format::default();
        let mut id = None;
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix("name:") {
                format.name = name.trim().to_owned();
            } else if let Some(n) = line.strip_prefix("ID:") {
                id = n.trim().parse().ok();
            } else if let Some(rest) = line.strip_prefix("field:") {
                let (name, field) =
                    parse_field(rest).ok_or_else(|| FormatError::BadField(line.to_owned()))?;
                format.fields.insert(name, field);
            } else if let Some(print) = line.strip_prefix("print fmt:") {
                format.symbols = symbolic_tables(print);
            }
        }
        format.id = id.ok_or(FormatError::NoId)?;
        Ok(format)
    }

    /// The field `name`, if the event has it.
    pub fn field(&self, name: &str) -> Option<Field> {
        self.fields.get(name).copied()
    }
}

/// `const void * skaddr; offset:8; size:8; signed:0;` → ("skaddr", ...).
fn parse_field(rest: &str) -> Option<(String, Field)> {
    let mut parts = rest.split(';').map(str::trim);
    let declaration = parts.next()?;
    let mut offset = None;
    let mut size = None;
    let mut signed = false;
    for part in parts {
        if let Some(v) = part.strip_prefix("offset:") {
            offset = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("size:") {
            size = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("signed:") {
            signed = v == "1";
        }
    }
    // The name is the declaration's last word, less any array bounds:
    // `__u8 saddr[4]` → `saddr`.
    let last = declaration.split_whitespace().last()?;
    let name = last.split('[').next()?.trim_start_matches('*');
    let field = Field {
        offset: offset?,
        size: size?,
        signed,
    };
    Some((name.to_owned(), field))
}

/// Every `__print_symbolic(REC->FIELD, { V, "NAME" }, ...)` in a print fmt.
fn symbolic_tables(print: &str) -> HashMap<String, Vec<(Value, String)>> {
    const OPEN: &str = "__print_symbolic(REC->";
    let mut tables = HashMap::new();
    let mut rest = print;
    while let Some(at) = rest.find(OPEN) {
        rest = &rest[at + OPEN.len()..];
        let Some(comma) = rest.find(',') else { break };
        let field = rest[..comma].trim().to_owned();
        rest = &rest[comma + 1..];
        let mut table = Vec::new();
        // Entries until the call's closing parenthesis.
        loop {
            let trimmed = rest.trim_start();
            let Some(entry) = trimmed.strip_prefix('{') else {
                break;
            };
            let Some(close) = entry.find('}') else { break };
            if let Some(pair) = parse_entry(&entry[..close]) {
                table.push(pair);
            }
            rest = entry[close + 1..].trim_start();
            match rest.strip_prefix(',') {
                Some(next) => rest = next,
                None => break,
            }
        }
        tables.insert(field, table);
    }
    tables
}

/// ` 1, "TCP_ESTABLISHED" ` → (Number(1), "TCP_ESTABLISHED").
fn parse_entry(entry: &str) -> Option<(Value, String)> {
    let (value, name) = entry.split_once(',')?;
    let value = value.trim();
    let name = name.trim().strip_prefix('"')?.strip_suffix('"')?.to_owned();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    };
    Some((
        parsed.map_or_else(|| Value::Constant(value.to_owned()), Value::Number),
        name,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tcp:tcp_send_reset` as kernel 6.18 writes it (shortened reasons).
    const SEND_RESET: &str = r#"name: tcp_send_reset
ID: 2280
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:const void * skaddr;	offset:16;	size:8;	signed:0;
	field:int state;	offset:24;	size:4;	signed:1;
	field:enum sk_rst_reason reason;	offset:28;	size:4;	signed:0;
	field:__u8 saddr[28];	offset:32;	size:28;	signed:0;

print fmt: "skbaddr=%p skaddr=%p src=%pISpc dest=%pISpc state=%s reason=%s", REC->skbaddr, REC->skaddr, REC->saddr, REC->daddr, REC->state ? __print_symbolic(REC->state, { TCP_ESTABLISHED, "TCP_ESTABLISHED" }, { TCP_CLOSE, "TCP_CLOSE" }) : "UNKNOWN", __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, { 1, "NO_SOCKET" }, { 11, "TCP_ABORT_ON_CLOSE" }, { 25, "MAX" })
"#;

    #[test]
    fn fields_and_symbols_are_read_from_the_format() {
        let f = Format::parse(SEND_RESET).expect("parses");
        assert_eq!(f.name, "tcp_send_reset");
        assert_eq!(f.id, 2280);
        assert_eq!(
            f.field("skaddr"),
            Some(Field {
                offset: 16,
                size: 8,
                signed: false
            })
        );
        assert_eq!(f.field("saddr").map(|f| f.size), Some(28));
        assert_eq!(f.field("common_pid").map(|f| f.signed), Some(true));
        let reasons = &f.symbols["reason"];
        assert!(reasons.contains(&(Value::Number(11), "TCP_ABORT_ON_CLOSE".into())));
        assert_eq!(reasons.len(), 4);
        assert_eq!(
            f.symbols["state"][0],
            (
                Value::Constant("TCP_ESTABLISHED".into()),
                "TCP_ESTABLISHED".into()
            )
        );
    }

    #[test]
    fn a_format_without_an_id_is_refused() {
        assert_eq!(Format::parse("name: x\n").unwrap_err(), FormatError::NoId);
    }
}
