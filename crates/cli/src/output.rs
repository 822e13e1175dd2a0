//! Printing exports: JSON for scripts, a table for people. Data goes to stdout.

use std::io::Write;

use chrono::SecondsFormat;
use didww_exports_core::export::VOICE_OUT_TRUNK_ID_KEY;
use didww_exports_core::time::format_time;
use didww_exports_core::{Export, ExportType};
use serde_json::{Value, json};

use crate::error::CliError;

/// One export as the CLI prints it: every key present, absent values null,
/// status lowercase, `filters` with `from`, `to` and the type's own filter.
pub(crate) fn export_json(e: &Export) -> Value {
    let filters = e.filters.as_ref();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| format_time(&t));
    let mut f = serde_json::Map::new();
    f.insert("from".into(), json!(time(filters.and_then(|f| f.from))));
    f.insert("to".into(), json!(time(filters.and_then(|f| f.to))));
    match e.export_type {
        Some(ExportType::CdrOut) => {
            f.insert(
                VOICE_OUT_TRUNK_ID_KEY.into(),
                json!(filters.and_then(|f| f.voice_out_trunk_id.clone())),
            );
        }
        _ => {
            f.insert("did_number".into(), json!(filters.and_then(|f| f.did_number.clone())));
        }
    }
    json!({
        "id": e.id.to_string(),
        "export_type": e.export_type.as_ref().map(|t| t.as_str().to_owned()),
        "status": e.status.as_ref().map(|s| s.as_str().to_ascii_lowercase()),
        "created_at": e.created_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "url": e.url,
        "callback_url": e.callback_url,
        "callback_method": e.callback_method.as_ref().map(|m| m.as_str().to_owned()),
        "external_reference_id": e.external_reference_id,
        "filters": Value::Object(f),
    })
}

pub(crate) fn write_out(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::output)
}

pub(crate) fn print_json(value: &Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::new(crate::error::INTERNAL, e.to_string()))?;
    write_out(&format!("{text}\n"))
}

fn short_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// The table of `exports`, columns sized to their content.
pub(crate) fn table(exports: &[Export], bold: bool) -> String {
    let header = [
        "ID",
        "TYPE",
        "STATUS",
        "CREATED",
        "FROM",
        "TO",
        "DID/TRUNK",
        "REFERENCE",
    ];
    let rows: Vec<[String; 8]> = exports
        .iter()
        .map(|e| {
            let f = e.filters.as_ref();
            [
                e.id.to_string(),
                e.export_type.as_ref().map_or("-".into(), |t| t.as_str().to_owned()),
                e.status
                    .as_ref()
                    .map_or("-".into(), |s| s.as_str().to_ascii_lowercase()),
                short_time(e.created_at),
                short_time(f.and_then(|f| f.from)),
                short_time(f.and_then(|f| f.to)),
                f.and_then(|f| f.did_number.clone().or_else(|| f.voice_out_trunk_id.clone()))
                    .unwrap_or_else(|| "-".into()),
                e.external_reference_id.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let head = line(&header.map(str::to_owned));
    let mut out = if bold {
        format!("\x1b[1m{}\x1b[0m\n", head.trim_end())
    } else {
        head
    };
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_every_key() {
        let mut e = Export::new("33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap());
        e.status = Some(didww_exports_core::ExportStatus::parse("Completed"));
        let v = export_json(&e);
        assert_eq!(v["status"], "completed");
        for key in [
            "id",
            "export_type",
            "status",
            "created_at",
            "url",
            "callback_url",
            "callback_method",
            "external_reference_id",
            "filters",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["filters"], json!({"from": null, "to": null, "did_number": null}));
        e.export_type = Some(ExportType::CdrOut);
        assert_eq!(
            export_json(&e)["filters"],
            json!({"from": null, "to": null, "voice_out_trunk.id": null})
        );
    }

    #[test]
    fn table_aligns() {
        let e = Export::new("33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap());
        let t = table(&[e], false);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("ID  "));
        let type_column = lines[0].find("TYPE").unwrap();
        assert_eq!(&lines[1][type_column..type_column + 2], "- ", "{t}");
    }
}
