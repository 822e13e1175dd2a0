//! The `didww-exports-mock` binary: its interface, and a streamed
//! 1-million-row download whose memory stays flat.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const KEY: &str = "bin-key";

struct Emulator {
    child: Child,
    base: String,
}

impl Emulator {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_didww-exports-mock"))
            .args(["--bind", "127.0.0.1:0", "--api-key", KEY, "--rate-limit", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .expect("first line names the base URL")
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v3"), "{line}");
        Emulator { child, base }
    }

    /// Peak resident memory of the emulator so far, in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    fn terminate(mut self) -> i32 {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

async fn create(http: &reqwest::Client, base: &str) -> String {
    let (from, to) = didww_exports_core::time::month_range("current", chrono::Utc::now()).unwrap();
    let body = json!({"data": {"type": "exports", "attributes": {"export_type": "cdr_in", "filters": {
        "from": didww_exports_core::time::format_time(&from), "to": didww_exports_core::time::format_time(&to)}}}});
    let doc: Value = http
        .post(format!("{base}/exports"))
        .header("Api-Key", KEY)
        .header("Content-Type", "application/vnd.api+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["data"]["id"].as_str().unwrap().to_owned()
}

/// Counts newlines without keeping anything.
struct LineCounter(u64);
impl Write for LineCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.iter().filter(|b| **b == b'\n').count() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Streams the file, decompressing on the fly; returns (compressed bytes, lines).
async fn download(http: &reqwest::Client, base: &str, id: &str) -> (u64, u64) {
    let mut resp = http
        .get(format!("{base}/exports/{id}.csv.gz"))
        .header("Api-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut decoder = flate2::write::MultiGzDecoder::new(LineCounter(0));
    let mut total = 0u64;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        total += chunk.len() as u64;
        decoder.write_all(&chunk).unwrap();
    }
    (total, decoder.finish().unwrap().0)
}

#[test]
fn first_line_signals_and_bad_flags() {
    let emulator = Emulator::start(&[]);
    assert_eq!(emulator.terminate(), 0);
    for bad in [
        &["--bind", "nowhere"][..],
        &["--bind", "127.0.0.1:0"][..],
        &["--bind", "127.0.0.1:0", "--api-key", ""][..],
        &["--api-key", "k", "--rows", "-1"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_didww-exports-mock"))
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"), "{bad:?}");
    }
}

#[tokio::test]
async fn a_million_rows_stream_with_flat_memory() {
    let emulator = Emulator::start(&["--processing-delay-ms", "0", "--rows", "1"]);
    let http = reqwest::Client::new();
    let small = create(&http, &emulator.base).await;
    assert_eq!(download(&http, &emulator.base, &small).await.1, 2);
    let baseline = emulator.peak_rss_kib();

    let resp = http
        .put(format!("{}/__admin/settings", emulator.base.trim_end_matches("/v3")))
        .json(&json!({"rows": 1_000_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let big = create(&http, &emulator.base).await;
    let (compressed, lines) = download(&http, &emulator.base, &big).await;
    assert_eq!(lines, 1_000_001);
    let peak = emulator.peak_rss_kib();
    let growth_kib = peak.saturating_sub(baseline);
    eprintln!(
        "1M rows: {compressed} compressed bytes; emulator peak RSS {baseline} KiB before, {peak} KiB after (+{growth_kib} KiB)"
    );
    // Holding the file would cost at least its compressed size.
    assert!(
        compressed > 24 * 1024 * 1024,
        "the file must dwarf the allowance ({compressed} bytes)"
    );
    assert!(
        growth_kib < 16 * 1024,
        "memory grew by {growth_kib} KiB while streaming {compressed} bytes"
    );
    assert_eq!(emulator.terminate(), 0);
}
