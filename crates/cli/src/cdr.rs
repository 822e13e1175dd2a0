//! `cdr summarize`, `cdr convert`, and summaries of downloads as they arrive.

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc;

use didww_exports_core::cdr::{self, CdrError, CdrProblem, CdrReader, Column, ColumnKind};
use didww_exports_core::summary::{GroupBy, Summary};
use didww_exports_fs::AtomicFile;
use serde_json::{Map, Value};

use crate::args::{ConvertTo, GroupByArg, Output};
use crate::error::{CliError, USAGE};
use crate::output::{print_json, write_out};

pub(crate) fn group_by(arg: Option<GroupByArg>) -> Option<GroupBy> {
    arg.map(|a| match a {
        GroupByArg::Did => GroupBy::Did,
        GroupByArg::Day => GroupBy::Day,
        GroupByArg::Source => GroupBy::Source,
        GroupByArg::Destination => GroupBy::Destination,
        GroupByArg::DisconnectCode => GroupBy::DisconnectCode,
    })
}

fn open(file: &Path) -> Result<Box<dyn Read + Send>, CliError> {
    if file.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    std::fs::File::open(file)
        .map(|f| Box::new(f) as Box<dyn Read + Send>)
        .map_err(|e| CliError::usage(format!("cannot open {}: {e}", file.display())))
}

fn bad_file(e: &CdrError) -> CliError {
    CliError::usage(format!("malformed CDR file: {e}"))
}

/// Reads `input` to the end into a summary; malformed rows stop it unless skipped.
pub(crate) fn summarize(input: impl Read, by: Option<GroupBy>, skip_bad_rows: bool) -> Result<Summary, CliError> {
    let mut reader = CdrReader::new(input).map_err(|e| bad_file(&e))?;
    let mut summary = Summary::new(reader.columns(), by);
    while let Some(row) = reader.next_row() {
        match row {
            Ok(row) => summary.add(&row).map_err(|e| CliError::usage(e.to_string()))?,
            // A broken stream cannot be skipped past.
            Err(e) if !skip_bad_rows || matches!(e.problem, CdrProblem::Unreadable(_)) => return Err(bad_file(&e)),
            Err(e) => {
                eprintln!("skipped {e}");
                summary.skip_bad_row();
            }
        }
    }
    Ok(summary)
}

/// The summary as a table: a TOTAL line, then one line per group.
pub(crate) fn summary_table(summary: &Summary) -> String {
    let mut header = vec![
        "KEY".to_owned(),
        "CALLS".into(),
        "ANSWERED".into(),
        "DURATION (s)".into(),
    ];
    header.extend(summary.amount_headers().iter().cloned());
    let line = |key: &str, t: &didww_exports_core::summary::Totals| {
        let mut cells = vec![
            key.to_owned(),
            t.calls.to_string(),
            t.answered.to_string(),
            t.duration_secs.to_string(),
        ];
        cells.extend(t.amounts.iter().map(ToString::to_string));
        cells
    };
    let mut rows = vec![header, line("TOTAL", summary.totals())];
    for (key, t) in summary.groups() {
        rows.push(line(if key.is_empty() { "(none)" } else { key }, t));
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| if i == 0 { format!("{c:<w$}") } else { format!("{c:>w$}") })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} rows summed, {} bad rows left out\n",
        summary.rows(),
        summary.bad_rows()
    ));
    out
}

pub(crate) fn print_summary(summary: &Summary, output: Output) -> Result<(), CliError> {
    match output {
        Output::Json => print_json(&summary.to_json()),
        Output::Table => write_out(&summary_table(summary)),
    }
}

pub(crate) fn summarize_command(
    file: &Path,
    by: Option<GroupByArg>,
    skip: bool,
    output: Output,
) -> Result<(), CliError> {
    let summary = summarize(open(file)?, group_by(by), skip)?;
    print_summary(&summary, output)
}

/// One row as a JSON object: snake_case keys for typed and amount columns, the
/// header for others; times RFC 3339 UTC, numbers as numbers, amounts as exact
/// decimal strings, empty typed fields as null.
fn row_json(columns: &cdr::Columns, keys: &[String], row: &cdr::CdrRow<'_>) -> Value {
    let mut m = Map::with_capacity(keys.len());
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or(Value::Null, |t| {
            Value::String(didww_exports_core::time::format_time(&t))
        })
    };
    let mut amount_index = 0;
    for (i, kind) in columns.kinds().iter().enumerate() {
        let value = match kind {
            ColumnKind::Known(Column::Start) => time(row.start()),
            ColumnKind::Known(Column::Connect) => time(row.connect()),
            ColumnKind::Known(Column::End) => time(row.end()),
            ColumnKind::Known(Column::Duration) => row.duration_secs().map_or(Value::Null, Value::from),
            ColumnKind::Known(Column::DisconnectCode) => row.disconnect_code().map_or(Value::Null, Value::from),
            ColumnKind::Known(_) => match row.field(i) {
                "" => Value::Null,
                s => Value::String(s.to_owned()),
            },
            ColumnKind::Amount => {
                let v = row.amounts()[amount_index].map_or(Value::Null, |a| Value::String(a.to_string()));
                amount_index += 1;
                v
            }
            ColumnKind::Other => Value::String(row.field(i).to_owned()),
        };
        m.insert(keys[i].clone(), value);
    }
    Value::Object(m)
}

fn convert_into(input: impl Read, to: ConvertTo, out: &mut impl Write) -> Result<(), CliError> {
    let io_err = |e: io::Error| CliError::output(e);
    match to {
        ConvertTo::Csv => {
            let mut csv =
                cdr::decompressed(input).map_err(|e| CliError::usage(format!("cannot read the file: {e}")))?;
            io::copy(&mut csv, out).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
                    CliError::usage(format!("the file is not a valid gzip stream: {e}"))
                }
                _ => io_err(e),
            })?;
        }
        ConvertTo::Jsonl => {
            let mut reader = CdrReader::new(input).map_err(|e| bad_file(&e))?;
            let columns = reader.columns().clone();
            let keys: Vec<String> = (0..columns.headers().len()).map(|i| columns.json_key(i)).collect();
            while let Some(row) = reader.next_row() {
                let row = row.map_err(|e| bad_file(&e))?;
                serde_json::to_writer(&mut *out, &row_json(&columns, &keys, &row)).map_err(|e| io_err(e.into()))?;
                out.write_all(b"\n").map_err(io_err)?;
            }
        }
    }
    out.flush().map_err(io_err)
}

pub(crate) fn convert_command(file: &Path, to: ConvertTo, out: Option<&Path>, force: bool) -> Result<(), CliError> {
    let input = open(file)?;
    match out {
        None => {
            let mut stdout = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
            convert_into(input, to, &mut stdout)
        }
        Some(path) => {
            let mut file = AtomicFile::create(path, force).map_err(|e| match e {
                didww_exports_fs::AtomicFileError::Exists(p) => CliError::new(
                    USAGE,
                    format!("{} already exists; use --force to replace it", p.display()),
                ),
                other => CliError::new(crate::error::INTERNAL, other.to_string()),
            })?;
            convert_into(input, to, &mut file)?;
            file.commit()
                .map_err(|e| CliError::new(crate::error::INTERNAL, e.to_string()))?;
            Ok(())
        }
    }
}

/// A `Write` that copies everything into a channel read by a summarizer thread.
pub(crate) struct Tee<W> {
    pub(crate) inner: W,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(tx) = &self.tx {
            if tx.send(buf[..n].to_vec()).is_err() {
                // The summarizer stopped (malformed data): keep downloading.
                self.tx = None;
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Wraps `inner` so that what is written to it is also summarized on a thread.
pub(crate) fn tee<W: Write>(
    inner: W,
    by: Option<GroupBy>,
) -> (Tee<W>, std::thread::JoinHandle<Result<Summary, CliError>>) {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(16);
    let handle = std::thread::spawn(move || {
        summarize(
            ChannelReader {
                rx,
                chunk: Vec::new(),
                pos: 0,
            },
            by,
            false,
        )
    });
    (Tee { inner, tx: Some(tx) }, handle)
}

impl<W> Tee<W> {
    /// Ends the copy (the summarizer sees the end of its input).
    pub(crate) fn into_inner(mut self) -> W {
        self.tx = None;
        self.inner
    }
}
