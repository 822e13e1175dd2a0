//! Summing CDRs: calls, answered calls, duration, and the exact sum of every
//! amount column, overall and grouped by a key.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::amount::Amount;
use crate::cdr::{CdrRow, Column, Columns};

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupBy {
    /// The DID called.
    Did,
    /// The UTC day the call started (`YYYY-MM-DD`).
    Day,
    /// The caller.
    Source,
    /// Where the call was delivered.
    Destination,
    /// The SIP disconnect code.
    DisconnectCode,
}

/// Counts and sums of a set of rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Totals {
    /// Rows.
    pub calls: u64,
    /// Rows with a connect time.
    pub answered: u64,
    /// Sum of the durations, in seconds.
    pub duration_secs: u64,
    /// The exact sum of each amount column, in file order.
    pub amounts: Vec<Amount>,
}

/// A sum left the range of the decimal type (not a realistic file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: a sum overflowed")]
pub struct Overflow {
    /// The row that overflowed.
    pub line: u64,
}

impl Totals {
    fn new(amounts: usize) -> Self {
        Totals {
            amounts: vec![Amount::ZERO; amounts],
            ..Totals::default()
        }
    }

    fn add(&mut self, row: &CdrRow<'_>) -> Option<()> {
        self.calls += 1;
        self.answered += u64::from(row.is_answered());
        self.duration_secs = self.duration_secs.checked_add(row.duration_secs().unwrap_or(0))?;
        for (sum, value) in self.amounts.iter_mut().zip(row.amounts()) {
            if let Some(v) = value {
                *sum = sum.checked_add(*v)?;
            }
        }
        Some(())
    }

    fn to_json(&self, headers: &[String]) -> Value {
        let amounts: Map<String, Value> = headers
            .iter()
            .zip(&self.amounts)
            .map(|(h, a)| (h.clone(), Value::String(a.to_string())))
            .collect();
        json!({
            "calls": self.calls,
            "answered": self.answered,
            "duration_secs": self.duration_secs,
            "amounts": amounts,
        })
    }
}

/// The summary of a file, built a row at a time.
#[derive(Debug, Clone)]
pub struct Summary {
    group_by: Option<GroupBy>,
    amount_headers: Vec<String>,
    rows: u64,
    bad_rows: u64,
    totals: Totals,
    groups: BTreeMap<String, Totals>,
}

impl Summary {
    /// An empty summary of a file with `columns`.
    pub fn new(columns: &Columns, group_by: Option<GroupBy>) -> Self {
        let amount_headers: Vec<String> = columns.amount_headers().map(str::to_owned).collect();
        Summary {
            group_by,
            totals: Totals::new(amount_headers.len()),
            amount_headers,
            rows: 0,
            bad_rows: 0,
            groups: BTreeMap::new(),
        }
    }

    fn key<'a>(&self, row: &CdrRow<'a>) -> Option<std::borrow::Cow<'a, str>> {
        let text = |c| std::borrow::Cow::Borrowed(row.text(c).unwrap_or(""));
        Some(match self.group_by? {
            GroupBy::Did => text(Column::Did),
            GroupBy::Source => text(Column::Source),
            GroupBy::Destination => text(Column::Destination),
            GroupBy::DisconnectCode => text(Column::DisconnectCode),
            GroupBy::Day => match (row.text(Column::Start), row.start()) {
                // DIDWW writes UTC as YYYY-MM-DD HH:MM:SS: the day is its first ten characters.
                (Some(raw), _) if raw.len() == 19 => std::borrow::Cow::Borrowed(&raw[..10]),
                (_, Some(t)) => std::borrow::Cow::Owned(t.format("%Y-%m-%d").to_string()),
                _ => std::borrow::Cow::Borrowed(""),
            },
        })
    }

    /// Adds a row.
    pub fn add(&mut self, row: &CdrRow<'_>) -> Result<(), Overflow> {
        let overflow = Overflow { line: row.line() };
        self.totals.add(row).ok_or(overflow.clone())?;
        if let Some(key) = self.key(row) {
            let group = match self.groups.get_mut(key.as_ref()) {
                Some(g) => g,
                None => self
                    .groups
                    .entry(key.into_owned())
                    .or_insert_with(|| Totals::new(self.amount_headers.len())),
            };
            group.add(row).ok_or(overflow)?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Counts a row left out because it was malformed.
    pub fn skip_bad_row(&mut self) {
        self.bad_rows += 1;
    }

    /// Rows summed.
    pub fn rows(&self) -> u64 {
        self.rows
    }
    /// Rows left out.
    pub fn bad_rows(&self) -> u64 {
        self.bad_rows
    }
    /// The overall totals.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }
    /// The groups, sorted by key.
    pub fn groups(&self) -> &BTreeMap<String, Totals> {
        &self.groups
    }
    /// The amount columns' headers, in file order.
    pub fn amount_headers(&self) -> &[String] {
        &self.amount_headers
    }

    /// `{"rows", "bad_rows", "totals", "groups"}`; amounts as exact decimal strings
    /// keyed by the file's own headers; groups sorted by key (empty without grouping).
    pub fn to_json(&self) -> Value {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|(key, t)| {
                let mut v = t.to_json(&self.amount_headers);
                if let Value::Object(m) = &mut v {
                    m.insert("key".into(), Value::String(key.clone()));
                }
                v
            })
            .collect();
        json!({
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "totals": self.totals.to_json(&self.amount_headers),
            "groups": groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::{CdrReader, INBOUND_HEADER};

    #[test]
    fn sums_and_groups() {
        let text = format!(
            "{}\n{}\n{}\n{}\n",
            INBOUND_HEADER.join(","),
            "2026-01-01 10:00:00,2026-01-01 10:00:05,2026-01-01 10:01:05,49111,100,sip:100@x,60,Origination,200,OK,0.100,0.007,0.001,7,0.012",
            "2026-01-01 23:59:59,,,49222,200,sip:200@x,0,Destination,486,Busy Here,0.000,0.000,0.000,,0.000",
            "2026-01-02 00:00:00,2026-01-02 00:00:01,2026-01-02 00:02:01,49111,100,sip:100@x,120,Destination,200,OK,0.200,0.014,0.001,7,0.024",
        );
        let mut reader = CdrReader::new(text.as_bytes()).unwrap();
        let mut summary = Summary::new(reader.columns(), Some(GroupBy::Did));
        while let Some(row) = reader.next_row() {
            summary.add(&row.unwrap()).unwrap();
        }
        let v = summary.to_json();
        assert_eq!(v["rows"], 3);
        assert_eq!(v["totals"]["calls"], 3);
        assert_eq!(v["totals"]["answered"], 2);
        assert_eq!(v["totals"]["duration_secs"], 180);
        assert_eq!(v["totals"]["amounts"]["TollFree Amount (USD)"], "0.300");
        assert_eq!(v["totals"]["amounts"]["Termination Amount (USD)"], "0.021");
        assert_eq!(v["groups"][0]["key"], "100");
        assert_eq!(v["groups"][0]["calls"], 2);
        assert_eq!(v["groups"][1]["amounts"]["Sell Amount (Points)"], "0.000");

        let mut reader = CdrReader::new(text.as_bytes()).unwrap();
        let mut by_day = Summary::new(reader.columns(), Some(GroupBy::Day));
        while let Some(row) = reader.next_row() {
            by_day.add(&row.unwrap()).unwrap();
        }
        let keys: Vec<&String> = by_day.groups().keys().collect();
        assert_eq!(keys, ["2026-01-01", "2026-01-02"]);
    }
}
