//! Deterministic, realistic CDR rows, streamed as gzip.
//!
//! The same seed and export id always give the same bytes. Rows are generated
//! and compressed on a blocking thread and handed to the response a chunk at a
//! time through a small bounded channel, so memory stays flat whatever the row
//! count and a slow client slows the generator instead of filling memory.

use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};
use didww_exports_core::cdr::INBOUND_HEADER;
use didww_exports_core::retry::{RandomSource, SplitMix64};
use flate2::Compression;
use flate2::write::GzEncoder;

/// The emulator's own header for outbound (`cdr_out`) files. DIDWW publishes
/// none; clients must read columns by name, so this one differs on purpose.
pub const OUTBOUND_HEADER: [&str; 14] = [
    "Date/Time Start (UTC)",
    "Date/Time Connect (UTC)",
    "Date/Time End (UTC)",
    "Source",
    "Destination",
    "Voice Out Trunk ID",
    "Duration (secs)",
    "Billed Duration (secs)",
    "Disconnect Initiator",
    "Disconnect Code",
    "Response",
    "Rate (USD/min)",
    "Termination Amount (USD)",
    "Customer ID",
];

const CHUNK: usize = 64 * 1024;

/// What to generate.
#[derive(Debug, Clone)]
pub struct CdrSpec {
    /// Inbound (`cdr_in`) or outbound.
    pub inbound: bool,
    /// Start of the range (inclusive).
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// The DID filter, when one was given.
    pub did_number: Option<String>,
    /// The trunk filter, when one was given.
    pub trunk_id: Option<String>,
    /// Rows to generate.
    pub rows: u64,
    /// Seed mixed from the emulator's seed and the export id.
    pub seed: u64,
    /// Gzip members to split the file into (at least 1).
    pub members: u32,
}

const FAILURES: [(&str, &str, &str); 6] = [
    ("408", "SIP transaction timeout", "Destination"),
    ("480", "Temporarily Unavailable", "Destination"),
    ("486", "Busy Here", "Destination"),
    ("487", "Request Terminated", "Origination"),
    ("503", "Service Unavailable", "Destination"),
    ("404", "Not Found", "Destination"),
];

struct Rows {
    spec: CdrSpec,
    rng: SplitMix64,
    next: u64,
    dids: Vec<String>,
    trunks: Vec<String>,
    span: i64,
}

fn push_2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_time(out: &mut Vec<u8>, secs: i64) {
    let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
    let year = t.year().clamp(0, 9999) as u64;
    for d in [1000, 100, 10, 1] {
        out.push(b'0' + (year / d % 10) as u8);
    }
    out.push(b'-');
    push_2(out, t.month());
    out.push(b'-');
    push_2(out, t.day());
    out.push(b' ');
    push_2(out, t.hour());
    out.push(b':');
    push_2(out, t.minute());
    out.push(b':');
    push_2(out, t.second());
}

/// An amount in thousandths, written with three decimals.
fn push_amount(out: &mut Vec<u8>, thousandths: u64) {
    push_u64(out, thousandths / 1000);
    out.push(b'.');
    let frac = (thousandths % 1000) as u32;
    out.push(b'0' + (frac / 100) as u8);
    push_2(out, frac % 100);
}

impl Rows {
    fn new(spec: CdrSpec) -> Self {
        let mut rng = SplitMix64::new(spec.seed);
        let mut digits = |len: u32, prefix: &str| {
            let mut s = String::from(prefix);
            while s.len() < len as usize {
                s.push(char::from(b'0' + (rng.next_u64() % 10) as u8));
            }
            s
        };
        let dids = match &spec.did_number {
            Some(d) => vec![d.clone()],
            None => (0..5)
                .map(|i| digits(12, if i == 0 { "1800" } else { "4420" }))
                .collect(),
        };
        let trunks = match &spec.trunk_id {
            Some(t) => vec![t.clone()],
            None => (0..3)
                .map(|_| {
                    let n = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
                    // A version-4-shaped UUID string.
                    let h = format!("{n:032x}");
                    format!(
                        "{}-{}-4{}-a{}-{}",
                        &h[0..8],
                        &h[8..12],
                        &h[13..16],
                        &h[17..20],
                        &h[20..32]
                    )
                })
                .collect(),
        };
        let span = (spec.to - spec.from).num_seconds().max(1);
        Rows {
            spec,
            rng,
            next: 0,
            dids,
            trunks,
            span,
        }
    }

    fn header(&self, out: &mut Vec<u8>) {
        let names: &[&str] = if self.spec.inbound {
            &INBOUND_HEADER
        } else {
            &OUTBOUND_HEADER
        };
        out.extend_from_slice(names.join(",").as_bytes());
        out.push(b'\n');
    }

    /// Writes the next row, or returns false when all are written.
    fn row(&mut self, out: &mut Vec<u8>) -> bool {
        if self.next >= self.spec.rows {
            return false;
        }
        let i = self.next;
        self.next += 1;
        let r = self.rng.next_u64();
        // Start times spread over [from, to), non-decreasing.
        let slot = (i128::from(self.span) * i128::from(i) / i128::from(self.spec.rows.max(1))) as i64;
        let width = (self.span / self.spec.rows.max(1) as i64).max(1);
        let start = self.spec.from.timestamp() + (slot + (r % width as u64) as i64).min(self.span - 1);
        let answered = r >> 60 < 11; // about 70 %
        let duration = if answered {
            1 + (self.rng.next_u64() % 900) * (1 + (r >> 56 & 3))
        } else {
            0
        };
        let ring = 1 + (r >> 20) % 15;
        let source_digits = self.rng.next_u64() % 10_000_000_000;

        push_time(out, start);
        out.push(b',');
        if answered {
            push_time(out, start + ring as i64);
            out.push(b',');
            push_time(out, start + ring as i64 + duration as i64);
        } else {
            out.push(b',');
        }
        out.push(b',');
        out.extend_from_slice(b"49");
        push_u64(out, 1_000_000_000 + source_digits);
        out.push(b',');
        let (code, response, initiator) = if answered {
            ("200", "OK", if r & 1 == 0 { "Origination" } else { "Destination" })
        } else {
            FAILURES[(r >> 8) as usize % FAILURES.len()]
        };
        let customer = (r >> 32) % 4;
        if self.spec.inbound {
            let did = &self.dids[(r >> 40) as usize % self.dids.len()];
            out.extend_from_slice(did.as_bytes());
            out.extend_from_slice(b",sip:");
            out.extend_from_slice(did.as_bytes());
            out.extend_from_slice(b"@didww.com,");
            push_u64(out, duration);
            for field in [initiator, code, response] {
                out.push(b',');
                out.extend_from_slice(field.as_bytes());
            }
            out.push(b',');
            let toll_free = did.starts_with("1800");
            // Per-minute prices in thousandths of a dollar.
            let minutes_x1000 = duration * 1000 / 60;
            push_amount(out, if toll_free { minutes_x1000 * 25 / 1000 } else { 0 });
            out.push(b',');
            push_amount(out, minutes_x1000 * 7 / 1000);
            out.push(b',');
            push_amount(out, if answered { 1 + (r >> 24) % 5 } else { 0 });
            out.push(b',');
            if customer != 0 {
                push_u64(out, 1000 + customer);
            }
            out.push(b',');
            push_amount(out, minutes_x1000 * 12 / 1000);
        } else {
            push_u64(out, 10_000_000_000 + self.rng.next_u64() % 90_000_000_000);
            out.push(b',');
            out.extend_from_slice(self.trunks[(r >> 40) as usize % self.trunks.len()].as_bytes());
            out.push(b',');
            push_u64(out, duration);
            out.push(b',');
            push_u64(out, duration.div_ceil(60) * 60);
            for field in [initiator, code, response] {
                out.push(b',');
                out.extend_from_slice(field.as_bytes());
            }
            out.push(b',');
            let rate = 5 + (r >> 44) % 40; // thousandths of a dollar a minute
            push_amount(out, rate);
            out.push(b',');
            push_amount(out, duration.div_ceil(60) * rate);
            out.push(b',');
            if customer != 0 {
                push_u64(out, 1000 + customer);
            }
        }
        out.push(b'\n');
        true
    }
}

/// Generates the gzip file, calling `emit` with each compressed chunk; stops
/// early (returning false) when `emit` returns false.
pub fn generate(spec: CdrSpec, mut emit: impl FnMut(Bytes) -> bool) -> bool {
    let members = u64::from(spec.members.max(1));
    let per_member = spec.rows.div_ceil(members).max(1);
    let mut rows = Rows::new(spec);
    let mut csv = Vec::with_capacity(CHUNK + 1024);
    let mut gz = GzEncoder::new(Vec::with_capacity(CHUNK * 2), Compression::fast());
    rows.header(&mut csv);
    let mut in_member = 0u64;
    loop {
        let more = rows.row(&mut csv);
        if more {
            in_member += 1;
        }
        let member_done = more && in_member == per_member && rows.next < rows.spec.rows;
        if csv.len() >= CHUNK || !more || member_done {
            if gz.write_all(&csv).is_err() {
                return false;
            }
            csv.clear();
        }
        if member_done || !more {
            let finished = std::mem::replace(
                &mut gz,
                GzEncoder::new(Vec::with_capacity(CHUNK * 2), Compression::fast()),
            );
            let bytes = match finished.finish() {
                Ok(b) => b,
                Err(_) => return false,
            };
            in_member = 0;
            if !bytes.is_empty() && !emit(Bytes::from(bytes)) {
                return false;
            }
            if !more {
                return true;
            }
        } else if gz.get_ref().len() >= CHUNK {
            let chunk = std::mem::take(gz.get_mut());
            if !emit(Bytes::from(chunk)) {
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use flate2::read::MultiGzDecoder;
    use std::io::Read;

    fn spec(rows: u64, members: u32, inbound: bool) -> CdrSpec {
        CdrSpec {
            inbound,
            from: Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap(),
            to: Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap(),
            did_number: Some("123456789".into()),
            trunk_id: None,
            rows,
            seed: 42,
            members,
        }
    }

    fn file(s: CdrSpec) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(generate(s, |b| {
            out.extend_from_slice(&b);
            true
        }));
        out
    }

    fn text(gz: &[u8]) -> String {
        let mut s = String::new();
        MultiGzDecoder::new(gz).read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn deterministic_and_well_formed() {
        let a = file(spec(5000, 1, true));
        assert_eq!(a, file(spec(5000, 1, true)));
        let t = text(&a);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5001);
        assert_eq!(lines[0], INBOUND_HEADER.join(","));
        let mut answered = 0;
        let mut last_start = String::new();
        for line in &lines[1..] {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 15, "{line}");
            assert!(f[0] >= "2025-12-01 00:00:00" && f[0] < "2025-12-31 23:59:59", "{line}");
            assert!(f[0] >= last_start.as_str());
            last_start = f[0].to_owned();
            assert_eq!(f[4], "123456789");
            if !f[1].is_empty() {
                answered += 1;
            } else {
                assert_eq!(f[6], "0");
            }
            for amount in [f[10], f[11], f[12], f[14]] {
                let (_, frac) = amount.split_once('.').unwrap();
                assert_eq!(frac.len(), 3, "{amount}");
            }
        }
        assert!((2500..4500).contains(&answered), "{answered}");
    }

    #[test]
    fn members_and_outbound() {
        let multi = file(spec(1000, 3, false));
        let t = text(&multi);
        assert_eq!(t.lines().count(), 1001);
        assert_eq!(t.lines().next().unwrap(), OUTBOUND_HEADER.join(","));
        // Three gzip headers.
        assert!(multi.windows(3).filter(|w| *w == [0x1f, 0x8b, 8]).count() >= 3);
        assert_eq!(text(&file(spec(0, 1, true))).lines().count(), 1);
    }

    #[test]
    fn stops_when_the_receiver_is_gone() {
        let mut chunks = 0;
        assert!(!generate(spec(200_000, 1, true), |_| {
            chunks += 1;
            chunks < 2
        }));
        assert_eq!(chunks, 2);
    }
}
