//! `cdr summarize`, `cdr convert` and `download --summarize` through the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::bin;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};

use chrono::TimeZone;
use didww_exports_core::cdr::{INBOUND_HEADER, INBOUND_SAMPLE_ROW};
use didww_exports_mock::cdrgen::{CdrSpec, generate};
use didww_exports_mock::{BlockingMockServer, MockConfig};
use serde_json::Value;

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn generated(rows: u64, members: u32) -> Vec<u8> {
    let spec = CdrSpec {
        inbound: true,
        from: chrono::Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap(),
        to: chrono::Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap(),
        did_number: None,
        trunk_id: None,
        rows,
        seed: 99,
        members,
    };
    let mut out = Vec::new();
    assert!(generate(spec, |b| {
        out.extend_from_slice(&b);
        true
    }));
    out
}

/// The expected summary, computed the naive way: split on commas, amounts as
/// integer thousandths (the generator writes no quoted fields and three decimals).
fn expected(gz: &[u8]) -> (u64, u64, u64, BTreeMap<String, i64>, BTreeMap<String, u64>) {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(gz).read_to_string(&mut text).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (mut calls, mut answered, mut duration) = (0, 0, 0);
    let mut amounts = BTreeMap::new();
    let mut per_did = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        calls += 1;
        answered += u64::from(!f[1].is_empty());
        duration += f[6].parse::<u64>().unwrap();
        *per_did.entry(f[4].to_owned()).or_insert(0) += 1;
        for (i, h) in header.iter().enumerate() {
            if h.contains("Amount") {
                let thousandths: i64 = f[i].replace('.', "").parse().unwrap();
                *amounts.entry((*h).to_owned()).or_insert(0) += thousandths;
            }
        }
    }
    (calls, answered, duration, amounts, per_did)
}

#[test]
fn summary_equals_an_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    for members in [1, 3] {
        let gz = generated(20_000, members);
        let path = dir.path().join(format!("{members}.csv.gz"));
        std::fs::write(&path, &gz).unwrap();
        let (code, out, err) = run(bin().args(["cdr", "summarize", "--by", "did", "-o", "json"]).arg(&path));
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let (calls, answered, duration, amounts, per_did) = expected(&gz);
        assert_eq!(v["rows"], calls);
        assert_eq!(v["bad_rows"], 0);
        assert_eq!(v["totals"]["calls"], calls);
        assert_eq!(v["totals"]["answered"], answered);
        assert_eq!(v["totals"]["duration_secs"], duration);
        for (h, thousandths) in &amounts {
            assert_eq!(
                v["totals"]["amounts"][h],
                format!("{}.{:03}", thousandths / 1000, thousandths % 1000),
                "{h}"
            );
        }
        let groups = v["groups"].as_array().unwrap();
        let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
        assert_eq!(
            keys,
            per_did.keys().map(String::as_str).collect::<Vec<_>>(),
            "sorted by key"
        );
        for g in groups {
            assert_eq!(g["calls"], per_did[g["key"].as_str().unwrap()]);
        }
    }
}

#[test]
fn convert_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let gz = generated(500, 2);
    let path = dir.path().join("f.csv.gz");
    std::fs::write(&path, &gz).unwrap();
    let mut plain = String::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_string(&mut plain)
        .unwrap();

    let (code, out, _) = run(bin().args(["cdr", "convert", "--to", "csv"]).arg(&path));
    assert_eq!(code, 0);
    assert_eq!(out, plain);
    let csv_path = dir.path().join("f.csv");
    let (code, _, _) = run(bin()
        .args(["cdr", "convert", "--to", "csv", "-O"])
        .arg(&csv_path)
        .arg(&path));
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&csv_path).unwrap(), plain);
    let (code, _, err) = run(bin()
        .args(["cdr", "convert", "--to", "csv", "-O"])
        .arg(&csv_path)
        .arg(&path));
    assert_eq!(code, 2, "no overwrite without --force: {err}");

    // Converting the CSV again gives the same summary as the gzip.
    let summary = |p: &std::path::Path| run(bin().args(["cdr", "summarize", "-o", "json"]).arg(p)).1;
    assert_eq!(summary(&csv_path), summary(&path));

    let (code, out, _) = run(bin().args(["cdr", "convert", "--to", "jsonl"]).arg(&path));
    assert_eq!(code, 0);
    let rows: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 500);
    let first = &rows[0];
    for key in [
        "start",
        "connect",
        "end",
        "source",
        "did",
        "destination",
        "duration_secs",
        "disconnect_initiator",
        "disconnect_code",
        "response",
        "tollfree_amount_usd",
        "termination_amount_usd",
        "metered_channels_amount_usd",
        "customer_id",
        "sell_amount_points",
    ] {
        assert!(first.get(key).is_some(), "{key}");
    }
    let first_csv: Vec<&str> = plain.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first["did"], first_csv[4]);
    assert_eq!(first["duration_secs"], first_csv[6].parse::<u64>().unwrap());
    assert_eq!(first["termination_amount_usd"], first_csv[11]);
}

#[test]
fn malformed_files() {
    let header = INBOUND_HEADER.join(",");
    let file = format!(
        "{header}\n{INBOUND_SAMPLE_ROW}\n{}\n{}\n{}\n{}\n{INBOUND_SAMPLE_ROW}\n",
        "2018-12-06 05:20:58,,,4,9,d,0,Destination,408",
        "2018-13-06 05:20:58,,,4,9,d,0,Destination,408,x,0.000,0.000,0.000,,0.000",
        "2018-12-06 05:20:58,,,4,9,d,ten,Destination,408,x,0.000,0.000,0.000,,0.000",
        "2018-12-06 05:20:58,,,4,9,d,0,Destination,408,x,0.000,1,5,0.000,,0.000",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, &file).unwrap();
    let (code, out, err) = run(bin().args(["cdr", "summarize"]).arg(&path));
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("line 3") && err.contains("9 fields where the header has 15"),
        "{err}"
    );

    let (code, out, err) = run(bin()
        .args(["cdr", "summarize", "--skip-bad-rows", "-o", "json"])
        .arg(&path));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["rows"].as_u64(), v["bad_rows"].as_u64()), (Some(2), Some(4)));
    for expected in [
        "line 3:",
        "line 4, column \"Date/Time Start (UTC)\": \"2018-13-06 05:20:58\" is not a time",
        "line 5, column \"Duration (secs)\": \"ten\" is not a whole number",
        "line 6:",
    ] {
        assert!(err.contains(expected), "{expected} missing from {err}");
    }
    let (code, _, err) = run(bin().args(["cdr", "convert", "--to", "jsonl"]).arg(&path));
    assert_eq!(code, 2);
    assert!(err.contains("line 3"), "{err}");

    // Empty file, header only, a truncated gzip, a missing file, stdin.
    std::fs::write(&path, "").unwrap();
    let (code, _, err) = run(bin().args(["cdr", "summarize"]).arg(&path));
    assert_eq!(code, 2);
    assert!(err.contains("no header row"), "{err}");
    std::fs::write(&path, format!("{header}\n")).unwrap();
    let (code, out, _) = run(bin().args(["cdr", "summarize", "-o", "json"]).arg(&path));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"], 0);
    assert_eq!(v["totals"]["amounts"]["TollFree Amount (USD)"], "0");
    let gz = generated(2000, 1);
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let (code, _, err) = run(bin().args(["cdr", "summarize", "--skip-bad-rows"]).arg(&path));
    assert_eq!(code, 2, "a broken stream cannot be skipped: {err}");
    let (code, _, _) = run(bin().args(["cdr", "summarize", "/nonexistent.csv"]));
    assert_eq!(code, 2);
    let mut child = bin()
        .args(["cdr", "summarize", "-", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &gz).unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], 2000);
}

#[test]
fn download_summarize_reads_the_bytes_once() {
    let s = BlockingMockServer::start(
        MockConfig::new("k")
            .with_processing_delay_ms(0)
            .with_rows(3000)
            .with_gzip_members(2)
            .with_rate_limit(0),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (transport, decompress) in [("blocking", false), ("async", true)] {
        let target = dir.path().join(format!("{transport}.csv"));
        let mut c = bin();
        c.env("DIDWW_API_URL", s.base_url()).env("DIDWW_API_KEY", "k");
        c.args([
            "-o",
            "json",
            "--transport",
            transport,
            "create",
            "--type",
            "cdr_in",
            "--month",
            "current",
            "--summarize",
            "--download",
        ])
        .arg(&target);
        if decompress {
            c.arg("--decompress");
        }
        let (code, out, err) = run(&mut c);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["status"], "completed");
        assert_eq!(v["summary"]["rows"], 3000);
        let (_, again, _) = run(bin().args(["cdr", "summarize", "-o", "json"]).arg(&target));
        assert_eq!(serde_json::from_str::<Value>(&again).unwrap(), v["summary"]);
    }
    assert_eq!(
        s.requests().iter().filter(|r| r.path.ends_with(".csv.gz")).count(),
        2,
        "one download each"
    );
}
