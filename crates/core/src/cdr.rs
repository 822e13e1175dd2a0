//! CDR files: a gzip-compressed (or plain) CSV with a header row, read one
//! row at a time with constant memory.
//!
//! Columns are found by header name, never by position. The inbound (`cdr_in`)
//! columns DIDWW publishes are typed; every other column is kept by name, so
//! outbound and future formats read too. Every amount column (a header
//! containing `Amount`) is an exact decimal.
//!
//! ```
//! use didww_exports_core::cdr::CdrReader;
//!
//! let file = "Date/Time Start (UTC),Date/Time Connect (UTC),Date/Time End (UTC),Source,DID,Destination,Duration (secs),Disconnect Initiator,Disconnect Code,Response,TollFree Amount (USD),Termination Amount (USD),Metered Channels Amount (USD),Customer ID,Sell Amount (Points)
//! 2018-12-06 05:20:58,,,4,972397239159652,sip:972397239159652@didww.com,0,Destination,408,SIP transaction timeout,0.000,0.000,0.000,,0.000
//! ";
//! let mut reader = CdrReader::new(file.as_bytes()).unwrap();
//! let row = reader.next_row().unwrap().unwrap();
//! assert!(!row.is_answered());
//! assert_eq!(row.disconnect_code(), Some(408));
//! assert_eq!(row.to_record().did.as_deref(), Some("972397239159652"));
//! ```

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDate, Utc};

use crate::amount::Amount;
use crate::time::parse_time;

/// The published header of inbound (`cdr_in`) exports, in DIDWW's order.
pub const INBOUND_HEADER: [&str; 15] = [
    "Date/Time Start (UTC)",
    "Date/Time Connect (UTC)",
    "Date/Time End (UTC)",
    "Source",
    "DID",
    "Destination",
    "Duration (secs)",
    "Disconnect Initiator",
    "Disconnect Code",
    "Response",
    "TollFree Amount (USD)",
    "Termination Amount (USD)",
    "Metered Channels Amount (USD)",
    "Customer ID",
    "Sell Amount (Points)",
];

/// The published sample row of an inbound export (an unanswered call).
pub const INBOUND_SAMPLE_ROW: &str = "2018-12-06 05:20:58,,,4,972397239159652,sip:972397239159652@didww.com,0,Destination,408,SIP transaction timeout,0.000,0.000,0.000,,0.000";

/// The time format of CDR files: `YYYY-MM-DD HH:MM:SS`, UTC.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A column this crate types, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Column {
    /// When the call started (`Date/Time Start (UTC)`, or `Date/Time (UTC)` in the older format).
    Start,
    /// When it was answered; empty for an unanswered call.
    Connect,
    /// When it ended; empty for an unanswered call.
    End,
    /// The caller.
    Source,
    /// The DID called.
    Did,
    /// Where the call was delivered.
    Destination,
    /// Whole seconds.
    Duration,
    /// Which side hung up.
    DisconnectInitiator,
    /// The SIP code.
    DisconnectCode,
    /// The SIP reason.
    Response,
    /// The customer's id.
    CustomerId,
}

/// Every typed column: role, accepted header names, snake_case key.
const KNOWN: [(Column, &[&str], &str); 11] = [
    (Column::Start, &["Date/Time Start (UTC)", "Date/Time (UTC)"], "start"),
    (Column::Connect, &["Date/Time Connect (UTC)"], "connect"),
    (Column::End, &["Date/Time End (UTC)"], "end"),
    (Column::Source, &["Source"], "source"),
    (Column::Did, &["DID"], "did"),
    (Column::Destination, &["Destination"], "destination"),
    (Column::Duration, &["Duration (secs)"], "duration_secs"),
    (
        Column::DisconnectInitiator,
        &["Disconnect Initiator"],
        "disconnect_initiator",
    ),
    (Column::DisconnectCode, &["Disconnect Code"], "disconnect_code"),
    (Column::Response, &["Response"], "response"),
    (Column::CustomerId, &["Customer ID"], "customer_id"),
];

/// `TollFree Amount (USD)` is `tollfree_amount_usd`: lowercase ASCII letters and
/// digits, every other run of characters one `_`.
pub fn snake_case(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// What a column of the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A typed column.
    Known(Column),
    /// An amount (its header contains `Amount`).
    Amount,
    /// Anything else, kept by name.
    Other,
}

/// The columns of a file, found by header name.
#[derive(Debug, Clone)]
pub struct Columns {
    headers: Vec<String>,
    kinds: Vec<ColumnKind>,
    index: [Option<usize>; KNOWN.len()],
    amounts: Vec<usize>,
}

impl Columns {
    fn new(headers: Vec<String>) -> Self {
        let mut index = [None; KNOWN.len()];
        let mut amounts = Vec::new();
        let kinds = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if let Some(k) = KNOWN.iter().position(|(_, names, _)| names.contains(&h.as_str())) {
                    if index[k].is_none() {
                        index[k] = Some(i);
                        return ColumnKind::Known(KNOWN[k].0);
                    }
                }
                if h.contains("Amount") {
                    amounts.push(i);
                    ColumnKind::Amount
                } else {
                    ColumnKind::Other
                }
            })
            .collect();
        Columns {
            headers,
            kinds,
            index,
            amounts,
        }
    }

    /// The header names, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The kind of each column, in file order.
    pub fn kinds(&self) -> &[ColumnKind] {
        &self.kinds
    }

    /// The position of a typed column, if the file has it.
    pub fn position(&self, column: Column) -> Option<usize> {
        KNOWN
            .iter()
            .position(|(c, _, _)| *c == column)
            .and_then(|k| self.index[k])
    }

    /// The headers of the amount columns, in file order.
    pub fn amount_headers(&self) -> impl Iterator<Item = &str> + '_ {
        self.amounts.iter().map(|&i| self.headers[i].as_str())
    }

    /// The key a column has in JSON output: the snake_case name of a typed or
    /// amount column, the header itself for any other.
    pub fn json_key(&self, i: usize) -> String {
        match self.kinds[i] {
            ColumnKind::Known(c) => KNOWN
                .iter()
                .find(|(k, _, _)| *k == c)
                .map_or_else(String::new, |(_, _, s)| (*s).to_owned()),
            ColumnKind::Amount => snake_case(&self.headers[i]),
            ColumnKind::Other => self.headers[i].clone(),
        }
    }
}

/// What is wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CdrProblem {
    /// No header row.
    MissingHeader,
    /// A row with another number of fields than the header.
    FieldCount {
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// Not a time.
    BadTime,
    /// Not a whole number.
    BadNumber,
    /// Not a decimal amount.
    BadAmount,
    /// Not UTF-8 text.
    BadText,
    /// The bytes could not be read (a broken gzip stream, an I/O error).
    Unreadable(String),
}

/// A malformed file: where (line counted from 1 at the header, as an editor
/// shows it; column by header name), the value, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CdrError {
    /// The line the row starts on (the header is line 1).
    pub line: u64,
    /// The column, by header name.
    pub column: Option<String>,
    /// The offending value (at most 64 characters of it).
    pub value: Option<String>,
    /// What is wrong.
    pub problem: CdrProblem,
}

impl fmt::Display for CdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c:?}")?;
        }
        f.write_str(": ")?;
        if let Some(v) = &self.value {
            write!(f, "{v:?} ")?;
        }
        match &self.problem {
            CdrProblem::MissingHeader => f.write_str("no header row (the file is empty)"),
            CdrProblem::FieldCount { expected, found } => {
                write!(f, "has {found} fields where the header has {expected}")
            }
            CdrProblem::BadTime => f.write_str("is not a time (YYYY-MM-DD HH:MM:SS)"),
            CdrProblem::BadNumber => f.write_str("is not a whole number"),
            CdrProblem::BadAmount => f.write_str("is not a decimal amount"),
            CdrProblem::BadText => f.write_str("is not UTF-8 text"),
            CdrProblem::Unreadable(why) => write!(f, "the file cannot be read: {why}"),
        }
    }
}

/// The input with the bytes peeked at put back in front.
type Peeked<R> = io::Chain<io::Cursor<Vec<u8>>, BufReader<R>>;

/// The input, decompressed when it starts with gzip's magic bytes (every member).
enum Decoded<R: Read> {
    Plain(Peeked<R>),
    Gzip(Box<flate2::bufread::MultiGzDecoder<BufReader<Peeked<R>>>>),
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gzip(r) => r.read(buf),
        }
    }
}

const BUFFER: usize = 256 * 1024;

fn decode<R: Read>(input: R) -> io::Result<Decoded<R>> {
    let mut inner = BufReader::with_capacity(BUFFER, input);
    // Peek at up to two bytes, however the source delivers them.
    let mut magic = Vec::with_capacity(2);
    while magic.len() < 2 {
        let buf = inner.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let take = (2 - magic.len()).min(buf.len());
        magic.extend_from_slice(&buf[..take]);
        inner.consume(take);
    }
    let gzip = magic == [0x1f, 0x8b];
    let chained = io::Cursor::new(magic).chain(inner);
    Ok(if gzip {
        Decoded::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(BUFFER, chained),
        )))
    } else {
        Decoded::Plain(chained)
    })
}

/// The bytes of a CDR file as CSV: decompressed when they start with gzip's
/// magic bytes (every member), passed through otherwise.
pub fn decompressed<R: Read>(input: R) -> io::Result<impl Read> {
    decode(input)
}

/// Reads `YYYY-MM-DD HH:MM:SS` fast, anything [`parse_time`] takes otherwise.
fn parse_cdr_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() == 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b' ' && b[13] == b':' && b[16] == b':' {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
        return Some(date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?.and_utc());
    }
    parse_time(s).ok()
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One row, validated, borrowed from the reader (no allocation).
#[derive(Debug)]
pub struct CdrRow<'a> {
    columns: &'a Columns,
    fields: &'a csv::ByteRecord,
    line: u64,
    times: [Option<DateTime<Utc>>; 3],
    duration: Option<u64>,
    code: Option<u16>,
    amounts: &'a [Option<Amount>],
}

impl<'a> CdrRow<'a> {
    /// The line the row starts on (the header is line 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Field `i` as text (validated UTF-8).
    pub fn field(&self, i: usize) -> &'a str {
        self.fields
            .get(i)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// A column by header name.
    pub fn get(&self, header: &str) -> Option<&'a str> {
        self.columns
            .headers
            .iter()
            .position(|h| h == header)
            .map(|i| self.field(i))
    }

    /// A typed text column; `None` when the file lacks it or the field is empty.
    pub fn text(&self, column: Column) -> Option<&'a str> {
        self.columns
            .position(column)
            .map(|i| self.field(i))
            .filter(|s| !s.is_empty())
    }

    /// When the call started.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.times[0]
    }
    /// When it was answered.
    pub fn connect(&self) -> Option<DateTime<Utc>> {
        self.times[1]
    }
    /// When it ended.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.times[2]
    }
    /// Whether it was answered (a connect time is present).
    pub fn is_answered(&self) -> bool {
        self.times[1].is_some()
    }
    /// Whole seconds.
    pub fn duration_secs(&self) -> Option<u64> {
        self.duration
    }
    /// The SIP code.
    pub fn disconnect_code(&self) -> Option<u16> {
        self.code
    }
    /// Each amount column's value (`None` when empty), in file order.
    pub fn amounts(&self) -> &'a [Option<Amount>] {
        self.amounts
    }

    /// An owned copy with every typed field and every other column by name.
    pub fn to_record(&self) -> CdrRecord {
        let owned = |c| self.text(c).map(str::to_owned);
        let mut record = CdrRecord {
            start: self.times[0],
            connect: self.times[1],
            end: self.times[2],
            source: owned(Column::Source),
            did: owned(Column::Did),
            destination: owned(Column::Destination),
            duration_secs: self.duration,
            disconnect_initiator: owned(Column::DisconnectInitiator),
            disconnect_code: self.code,
            response: owned(Column::Response),
            customer_id: owned(Column::CustomerId),
            amounts: Vec::new(),
            other: Vec::new(),
        };
        for (n, &i) in self.columns.amounts.iter().enumerate() {
            record.amounts.push((self.columns.headers[i].clone(), self.amounts[n]));
        }
        for (i, kind) in self.columns.kinds.iter().enumerate() {
            if *kind == ColumnKind::Other {
                record
                    .other
                    .push((self.columns.headers[i].clone(), self.field(i).to_owned()));
            }
        }
        record
    }
}

/// A row as an owned value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CdrRecord {
    /// When the call started.
    pub start: Option<DateTime<Utc>>,
    /// When it was answered.
    pub connect: Option<DateTime<Utc>>,
    /// When it ended.
    pub end: Option<DateTime<Utc>>,
    /// The caller.
    pub source: Option<String>,
    /// The DID called.
    pub did: Option<String>,
    /// Where the call was delivered.
    pub destination: Option<String>,
    /// Whole seconds.
    pub duration_secs: Option<u64>,
    /// Which side hung up.
    pub disconnect_initiator: Option<String>,
    /// The SIP code.
    pub disconnect_code: Option<u16>,
    /// The SIP reason.
    pub response: Option<String>,
    /// The customer's id.
    pub customer_id: Option<String>,
    /// Every amount column, by header, in file order (`None` when empty).
    pub amounts: Vec<(String, Option<Amount>)>,
    /// Every other column, by header, in file order.
    pub other: Vec<(String, String)>,
}

/// Reads a CDR file one row at a time: plain CSV or gzip (detected by its
/// magic bytes, every member decoded), memory independent of the file's size.
pub struct CdrReader<R: Read> {
    csv: csv::Reader<Decoded<R>>,
    columns: Columns,
    record: csv::ByteRecord,
    amounts: Vec<Option<Amount>>,
}

impl<R: Read> fmt::Debug for CdrReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CdrReader")
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

fn unreadable(line: u64, e: impl fmt::Display) -> CdrError {
    CdrError {
        line,
        column: None,
        value: None,
        problem: CdrProblem::Unreadable(e.to_string()),
    }
}

impl<R: Read> CdrReader<R> {
    /// Opens a file and reads its header.
    pub fn new(input: R) -> Result<Self, CdrError> {
        let decoded = decode(input).map_err(|e| unreadable(1, e))?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(BUFFER)
            .from_reader(decoded);
        let mut header = csv::ByteRecord::new();
        let found = csv.read_byte_record(&mut header).map_err(|e| unreadable(1, e))?;
        if !found || header.iter().all(|f| f.is_empty()) {
            return Err(CdrError {
                line: 1,
                column: None,
                value: None,
                problem: CdrProblem::MissingHeader,
            });
        }
        let headers = header
            .iter()
            .map(|h| {
                std::str::from_utf8(h)
                    .map(|s| s.trim_start_matches('\u{feff}').to_owned())
                    .map_err(|_| CdrError {
                        line: 1,
                        column: None,
                        value: Some(String::from_utf8_lossy(h).into_owned()),
                        problem: CdrProblem::BadText,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let columns = Columns::new(headers);
        Ok(CdrReader {
            csv,
            amounts: vec![None; columns.amounts.len()],
            columns,
            record: csv::ByteRecord::new(),
        })
    }

    /// The file's columns.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The next row, validated, or `None` at the end. After an error, reading
    /// may continue with the next row.
    pub fn next_row(&mut self) -> Option<Result<CdrRow<'_>, CdrError>> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Some(Err(unreadable(line, e)));
            }
        }
        let line = self.record.position().map_or(0, |p| p.line());
        Some(self.validate(line))
    }

    fn validate(&mut self, line: u64) -> Result<CdrRow<'_>, CdrError> {
        let columns = &self.columns;
        let record = &self.record;
        if record.len() != columns.headers.len() {
            return Err(CdrError {
                line,
                column: None,
                value: None,
                problem: CdrProblem::FieldCount {
                    expected: columns.headers.len(),
                    found: record.len(),
                },
            });
        }
        let bad = |i: usize, problem: CdrProblem| CdrError {
            line,
            column: Some(columns.headers[i].clone()),
            value: Some(String::from_utf8_lossy(&record[i]).chars().take(64).collect()),
            problem,
        };
        for (i, field) in record.iter().enumerate() {
            if std::str::from_utf8(field).is_err() {
                return Err(bad(i, CdrProblem::BadText));
            }
        }
        let text = |i: usize| std::str::from_utf8(&record[i]).unwrap_or("");
        let mut times = [None; 3];
        for (slot, column) in [Column::Start, Column::Connect, Column::End].into_iter().enumerate() {
            if let Some(i) = columns.position(column) {
                let s = text(i);
                if !s.is_empty() {
                    times[slot] = Some(parse_cdr_time(s).ok_or_else(|| bad(i, CdrProblem::BadTime))?);
                }
            }
        }
        let number = |column| -> Result<Option<u64>, CdrError> {
            match columns.position(column) {
                Some(i) if !text(i).is_empty() => parse_u64(text(i))
                    .map(Some)
                    .ok_or_else(|| bad(i, CdrProblem::BadNumber)),
                _ => Ok(None),
            }
        };
        let duration = number(Column::Duration)?;
        let code = match number(Column::DisconnectCode)? {
            Some(c) => Some(u16::try_from(c).map_err(|_| {
                bad(
                    columns.position(Column::DisconnectCode).unwrap_or(0),
                    CdrProblem::BadNumber,
                )
            })?),
            None => None,
        };
        for (n, &i) in columns.amounts.iter().enumerate() {
            let s = text(i);
            self.amounts[n] = if s.is_empty() {
                None
            } else {
                Some(Amount::parse(s).map_err(|_| bad(i, CdrProblem::BadAmount))?)
            };
        }
        Ok(CdrRow {
            columns: &self.columns,
            fields: &self.record,
            line,
            times,
            duration,
            code,
            amounts: &self.amounts,
        })
    }

    /// Owned records, one at a time.
    pub fn records(self) -> Records<R> {
        Records(self)
    }
}

/// Iterator over owned [`CdrRecord`]s.
#[derive(Debug)]
pub struct Records<R: Read>(CdrReader<R>);

impl<R: Read> Iterator for Records<R> {
    type Item = Result<CdrRecord, CdrError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_row().map(|r| r.map(|row| row.to_record()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn file(rows: &[&str]) -> String {
        let mut s = INBOUND_HEADER.join(",");
        for r in rows {
            s.push('\n');
            s.push_str(r);
        }
        s.push('\n');
        s
    }

    #[test]
    fn the_published_sample_row() {
        let text = file(&[INBOUND_SAMPLE_ROW]);
        let mut reader = CdrReader::new(text.as_bytes()).unwrap();
        let r = reader.next_row().unwrap().unwrap().to_record();
        assert_eq!(r.start, Some(Utc.with_ymd_and_hms(2018, 12, 6, 5, 20, 58).unwrap()));
        assert_eq!((r.connect, r.end), (None, None));
        assert_eq!(r.source.as_deref(), Some("4"));
        assert_eq!(r.did.as_deref(), Some("972397239159652"));
        assert_eq!(r.destination.as_deref(), Some("sip:972397239159652@didww.com"));
        assert_eq!(r.duration_secs, Some(0));
        assert_eq!(r.disconnect_initiator.as_deref(), Some("Destination"));
        assert_eq!(r.disconnect_code, Some(408));
        assert_eq!(r.response.as_deref(), Some("SIP transaction timeout"));
        assert_eq!(r.customer_id, None);
        let zero = Some(Amount::parse("0.000").unwrap());
        assert_eq!(
            r.amounts,
            vec![
                ("TollFree Amount (USD)".to_owned(), zero),
                ("Termination Amount (USD)".to_owned(), zero),
                ("Metered Channels Amount (USD)".to_owned(), zero),
                ("Sell Amount (Points)".to_owned(), zero),
            ]
        );
        assert!(r.other.is_empty());
        assert!(reader.next_row().is_none());
    }

    #[test]
    fn columns_by_name_and_unknown_columns_kept() {
        let text = "Rate,Source,Date/Time (UTC),Extra Amount (EUR),Note\n0.5,123,2026-01-02 03:04:05,1.25,\"a, quoted\nnote\"\n";
        let mut reader = CdrReader::new(text.as_bytes()).unwrap();
        assert_eq!(
            reader.columns().amount_headers().collect::<Vec<_>>(),
            ["Extra Amount (EUR)"]
        );
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(row.line(), 2);
        let r = row.to_record();
        assert_eq!(r.source.as_deref(), Some("123"));
        assert!(r.start.is_some());
        assert_eq!(
            r.other,
            vec![("Rate".into(), "0.5".into()), ("Note".into(), "a, quoted\nnote".into())]
        );
        assert_eq!(reader.columns().json_key(3), "extra_amount_eur");
        assert_eq!(reader.columns().json_key(0), "Rate");
    }

    #[test]
    fn malformed_rows_name_line_column_and_value() {
        let text = file(&[
            INBOUND_SAMPLE_ROW,
            "2018-12-06 05:20:58,,,4,1,d,0,Destination,408,x,0.000,0.000",
            "2018-12-32 05:20:58,,,4,1,d,0,Destination,408,x,0.000,0.000,0.000,,0.000",
            "2018-12-06 05:20:58,,,4,1,d,12x,Destination,408,x,0.000,0.000,0.000,,0.000",
            "2018-12-06 05:20:58,,,4,1,d,0,Destination,408,x,0.000,1.2.3,0.000,,0.000",
            INBOUND_SAMPLE_ROW,
        ]);
        let mut reader = CdrReader::new(text.as_bytes()).unwrap();
        assert!(reader.next_row().unwrap().is_ok());
        let errors: Vec<CdrError> = (0..4).map(|_| reader.next_row().unwrap().unwrap_err()).collect();
        assert_eq!(errors[0].line, 3);
        assert_eq!(
            errors[0].problem,
            CdrProblem::FieldCount {
                expected: 15,
                found: 12
            }
        );
        assert_eq!(
            (errors[1].line, errors[1].column.as_deref()),
            (4, Some("Date/Time Start (UTC)"))
        );
        assert_eq!(errors[1].value.as_deref(), Some("2018-12-32 05:20:58"));
        assert_eq!(
            errors[2].to_string(),
            "line 5, column \"Duration (secs)\": \"12x\" is not a whole number"
        );
        assert_eq!(errors[3].column.as_deref(), Some("Termination Amount (USD)"));
        assert!(reader.next_row().unwrap().is_ok(), "reading goes on after a bad row");
        assert!(reader.next_row().is_none());
    }

    #[test]
    fn empty_and_header_only_files() {
        assert_eq!(CdrReader::new(&b""[..]).unwrap_err().problem, CdrProblem::MissingHeader);
        let header_only = INBOUND_HEADER.join(",");
        let mut reader = CdrReader::new(header_only.as_bytes()).unwrap();
        assert!(reader.next_row().is_none());
    }

    #[test]
    fn gzip_with_several_members() {
        use std::io::Write;
        let gz = |s: &str| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(s.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let mut bytes = gz(&format!("{}\n", INBOUND_HEADER.join(",")));
        bytes.extend(gz(&format!("{INBOUND_SAMPLE_ROW}\n")));
        bytes.extend(gz(&format!("{INBOUND_SAMPLE_ROW}\n")));
        let n = CdrReader::new(&bytes[..]).unwrap().records().count();
        assert_eq!(n, 2);
        // One byte at a time still finds the magic.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        assert_eq!(CdrReader::new(Trickle(&bytes)).unwrap().records().count(), 2);
        let truncated = &bytes[..bytes.len() - 4];
        let results: Vec<_> = CdrReader::new(truncated).unwrap().records().collect();
        assert!(results.iter().any(Result::is_err));
    }

    #[test]
    fn snake_case_keys() {
        assert_eq!(snake_case("TollFree Amount (USD)"), "tollfree_amount_usd");
        assert_eq!(snake_case("Sell Amount (Points)"), "sell_amount_points");
        assert_eq!(
            snake_case("Metered Channels Amount (USD)"),
            "metered_channels_amount_usd"
        );
    }
}
