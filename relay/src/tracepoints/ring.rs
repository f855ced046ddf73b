//! The raw ring buffer: one sub-buffer ("page") of `trace_pipe_raw`, split
//! into records with their timestamps.
//!
//! Each CPU has its own buffer; a read of `per_cpu/cpuN/trace_pipe_raw`
//! gives one page as the kernel keeps it (Documentation/trace/
//! ring-buffer-design.rst; libtraceevent's `kbuffer-parse.c` reads the same
//! layout). A page starts with the time of its first event and a commit
//! word (how many bytes of events follow, and flags for events lost to an
//! overrun). Each event has a 4-byte header: a 5-bit `type_len` and a
//! 27-bit time delta from the previous event. Types 29-31 are not records:
//! padding (a discarded event, or the end of the page), a time extend (a
//! delta too large for 27 bits) and an absolute time stamp. Records of up to
//! 112 bytes give their length in `type_len` (in 4-byte words); longer ones
//! (type 0) in the word after the header.
//!
//! Here pointers keep their real values (the text `trace` hashes them),
//! which is what ties the kernel's events to one socket.

/// Bytes before the first event: the page's timestamp and its commit word
/// (a `local_t`, 8 bytes on the 64-bit machines the relay runs on).
const PAGE_HEADER: usize = 16;
/// The commit word's low bits: how many bytes of events the page holds.
const COMMIT_MASK: u64 = (1 << 27) - 1;
/// Set in the commit word when events were lost before this page.
const MISSED_EVENTS: u64 = 1 << 31;
/// Set when the number lost is stored after the page's events.
const MISSED_STORED: u64 = 1 << 30;
const TS_SHIFT: u32 = 27;
/// An absolute time stamp has 59 bits; the top 5 come from the page's time.
const TS_MSB: u64 = 0xf8 << 56;

const TYPE_PADDING: u32 = 29;
const TYPE_TIME_EXTEND: u32 = 30;
const TYPE_TIME_STAMP: u32 = 31;

/// One event's record: when (on the instance's trace clock, nanoseconds) and
/// its bytes (its `format` says what they mean).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub time_ns: u64,
    pub data: &'a [u8],
}

/// A page's records, and how many events the kernel lost before it.
#[derive(Debug, Default)]
pub struct Page<'a> {
    pub records: Vec<Record<'a>>,
    /// `Some(n)`: `n` events were lost (overwritten or not stored) before
    /// this page; `Some(0)` when the kernel says some were lost but not how many.
    pub missed: Option<u64>,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Splits one page into its records. A page cut short (a record that runs
/// past the commit) ends there: what came before it stands.
pub fn parse(page: &[u8]) -> Page<'_> {
    let mut out = Page::default();
    let (Some(mut time), Some(commit)) = (u64_at(page, 0), u64_at(page, 8)) else {
        return out;
    };
    let size = usize::try_from(commit & COMMIT_MASK).unwrap_or(usize::MAX);
    let end = PAGE_HEADER.saturating_add(size).min(page.len());
    if commit & MISSED_EVENTS != 0 {
        let stored = (commit & MISSED_STORED != 0)
            .then(|| u64_at(page, end))
            .flatten();
        out.missed = Some(stored.unwrap_or(0));
    }
    let mut at = PAGE_HEADER;
    while at + 4 <= end {
        let Some(header) = u32_at(page, at) else {
            break;
        };
        at += 4;
        let type_len = header & 0x1f;
        let delta = u64::from(header >> 5);
        match type_len {
            TYPE_PADDING => {
                // A zero delta: the rest of the page is empty.
                if delta == 0 {
                    break;
                }
                let Some(len) = u32_at(page, at) else { break };
                time = time.wrapping_add(delta);
                at = at.saturating_add(len as usize);
            }
            TYPE_TIME_EXTEND | TYPE_TIME_STAMP => {
                let Some(high) = u32_at(page, at) else { break };
                at += 4;
                let value = (u64::from(high) << TS_SHIFT).wrapping_add(delta);
                time = if type_len == TYPE_TIME_STAMP {
                    value | (time & TS_MSB)
                } else {
                    time.wrapping_add(value)
                };
            }
            0 => {
                let Some(len) = u32_at(page, at) else { break };
                at += 4;
                // The length counts its own 4 bytes; records are 4-aligned.
                let len = ((len as usize).saturating_sub(4) + 3) & !3;
                time = time.wrapping_add(delta);
                let Some(data) = page.get(at..at.saturating_add(len).min(end)) else {
                    break;
                };
                if data.len() < len {
                    break;
                }
                out.records.push(Record {
                    time_ns: time,
                    data,
                });
                at += len;
            }
            words => {
                let len = words as usize * 4;
                time = time.wrapping_add(delta);
                if at + len > end {
                    break;
                }
                out.records.push(Record {
                    time_ns: time,
                    data: &page[at..at + len],
                });
                at += len;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a page the way the kernel lays one out.
    struct Builder {
        bytes: Vec<u8>,
    }

    impl Builder {
        fn new(time: u64) -> Builder {
            let mut bytes = time.to_le_bytes().to_vec();
            bytes.extend(0u64.to_le_bytes());
            Builder { bytes }
        }
        fn header(&mut self, type_len: u32, delta: u32) {
            self.bytes.extend((type_len | (delta << 5)).to_le_bytes());
        }
        fn small(mut self, delta: u32, data: &[u8]) -> Self {
            assert_eq!(data.len() % 4, 0);
            self.header(data.len() as u32 / 4, delta);
            self.bytes.extend(data);
            self
        }
        fn large(mut self, delta: u32, data: &[u8]) -> Self {
            self.header(0, delta);
            self.bytes.extend((data.len() as u32 + 4).to_le_bytes());
            self.bytes.extend(data);
            while self.bytes.len() % 4 != 0 {
                self.bytes.push(0);
            }
            self
        }
        fn extend(mut self, delta: u64) -> Self {
            self.header(TYPE_TIME_EXTEND, (delta & ((1 << 27) - 1)) as u32);
            self.bytes.extend(((delta >> 27) as u32).to_le_bytes());
            self
        }
        fn stamp(mut self, absolute: u64) -> Self {
            self.header(TYPE_TIME_STAMP, (absolute & ((1 << 27) - 1)) as u32);
            self.bytes.extend(((absolute >> 27) as u32).to_le_bytes());
            self
        }
        fn discarded(mut self, delta: u32, len: u32) -> Self {
            self.header(TYPE_PADDING, delta);
            self.bytes.extend(len.to_le_bytes());
            self.bytes.extend(vec![0xee; len as usize - 4]);
            self
        }
        fn done(mut self, flags: u64) -> Vec<u8> {
            let size = (self.bytes.len() - PAGE_HEADER) as u64;
            self.bytes[8..16].copy_from_slice(&(size | flags).to_le_bytes());
            // The rest of a page: never read.
            self.bytes.resize(4096, 0xaa);
            self.bytes
        }
    }

    #[test]
    fn records_carry_their_times_through_every_kind_of_header() {
        let long = [7u8; 136];
        let page = Builder::new(1_000)
            .small(5, &[1, 2, 3, 4])
            .large(10, &long)
            .extend(1 << 30)
            .small(0, &[9; 8])
            .discarded(3, 12)
            .stamp(5_000_000_000)
            .small(2, &[4; 4])
            .done(0);
        let parsed = parse(&page);
        let times: Vec<u64> = parsed.records.iter().map(|r| r.time_ns).collect();
        assert_eq!(
            times,
            [1_005, 1_015, 1_015 + (1 << 30), 5_000_000_002],
            "deltas add up, an extend adds its 59 bits, a stamp sets the time"
        );
        assert_eq!(parsed.records[0].data, [1, 2, 3, 4]);
        assert_eq!(parsed.records[1].data, long);
        assert_eq!(parsed.records[2].data, [9; 8]);
        assert_eq!(parsed.missed, None);
    }

    #[test]
    fn lost_events_are_counted_and_a_short_page_keeps_what_it_has() {
        let mut page = Builder::new(0)
            .small(1, &[1; 4])
            .done(MISSED_EVENTS | MISSED_STORED);
        // The count lost goes after the events.
        page[PAGE_HEADER + 8..PAGE_HEADER + 16].copy_from_slice(&42u64.to_le_bytes());
        let parsed = parse(&page);
        assert_eq!(parsed.missed, Some(42));
        assert_eq!(parsed.records.len(), 1);

        // A record that claims more than the page commits is not read.
        let mut page = Builder::new(0)
            .small(1, &[1; 4])
            .large(1, &[2; 200])
            .done(0);
        let size = (PAGE_HEADER + 8) as u64 + 100;
        page[8..16].copy_from_slice(&(size - PAGE_HEADER as u64).to_le_bytes());
        assert_eq!(parse(&page).records.len(), 1);
        assert!(parse(&[0u8; 5]).records.is_empty());
    }
}
