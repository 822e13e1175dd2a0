//! The `didww-exports` binary against the emulator and scripted failures:
//! every command, every exit code, both transports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::bin;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use didww_exports_mock::{BlockingMockServer, Fault, FaultBody, FaultRule, MockConfig};
use serde_json::Value;

const KEY: &str = "cli-SECRET-key-5521";
const SEED_REQUEST: &str = include_str!("../../core/fixtures/seed_create_request.json");

fn server(delay_ms: u64) -> BlockingMockServer {
    BlockingMockServer::start(
        MockConfig::new(KEY)
            .with_processing_delay_ms(delay_ms)
            .with_rows(100)
            .with_rate_limit(0),
    )
    .unwrap()
}

fn against(s: &BlockingMockServer) -> Command {
    let mut c = bin();
    c.env("DIDWW_API_URL", s.base_url()).env("DIDWW_API_KEY", KEY);
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = c.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    assert!(!out.contains(KEY) && !err.contains(KEY), "the key leaked: {out} {err}");
    assert!(!err.contains("panicked"), "{err}");
    (status.code().unwrap_or(-1), out, err)
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn create_id(s: &BlockingMockServer, transport: &str) -> String {
    let (code, out, err) = run(against(s).args([
        "--transport",
        transport,
        "-o",
        "json",
        "create",
        "--type",
        "cdr_in",
        "--month",
        "current",
    ]));
    assert_eq!(code, 0, "{err}");
    json(&out)["id"].as_str().unwrap().to_owned()
}

#[test]
fn help_documents_exit_codes_and_never_shows_the_key() {
    for args in [
        &["--help"][..],
        &["create", "--help"],
        &["download", "--help"],
        &["list", "--help"],
    ] {
        let (code, out, _) = run(bin().env("DIDWW_API_KEY", KEY).args(args));
        assert_eq!(code, 0);
        assert!(!out.contains(KEY));
        if args == ["--help"] {
            assert!(
                out.contains("Exit codes") && out.contains("7  the export did not complete in time"),
                "{out}"
            );
        }
    }
}

#[test]
fn dry_run_prints_the_seed_request_body_without_a_key() {
    let seed: Value = serde_json::from_str(SEED_REQUEST).unwrap();
    for range in [
        &["--from", "2025-12-01T00:00:00Z", "--to", "2025-12-31 23:59:59"][..],
        &["--from", "2025-12-01", "--to", "2025-12-31T23:59:59Z"],
        &["--from", "2025-12-01T01:00:00+01:00", "--to", "2025-12-31T23:59:59Z"],
        &["--month", "2025-12"],
    ] {
        let (code, out, err) = run(bin()
            .args([
                "--now",
                "2025-12-16T06:39:44Z",
                "create",
                "--type",
                "cdr_in",
                "--did-number",
                "123456789",
                "--dry-run",
            ])
            .args(range));
        assert_eq!(code, 0, "{err}");
        assert_eq!(json(&out), seed, "{range:?}");
    }
}

#[test]
fn validation_failures_list_every_field_and_send_nothing() {
    let s = server(0);
    let (code, out, err) = run(against(&s).args([
        "create",
        "--type",
        "cdr_out",
        "--from",
        "2020-01-01",
        "--to",
        "2019-01-01",
        "--did-number",
        "12x",
        "--callback-method",
        "post",
        "--external-reference-id",
        &"r".repeat(101),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    for field in [
        "filters.from",
        "filters.did_number",
        "callback_method",
        "external_reference_id",
    ] {
        assert!(err.contains(&format!("- {field}:")), "{field} missing in {err}");
    }
    assert!(err.contains("nothing was sent"));
    let (code, _, err) = run(against(&s).args([
        "create",
        "--type",
        "cdr_in",
        "--from",
        "yesterday",
        "--to",
        "2026-01-01",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("--from"), "{err}");
    assert!(s.requests().is_empty(), "a validation failure makes no request");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["create", "--type", "cdr_in"][..],
        &["create", "--type", "sms_in", "--month", "current"],
        &["create", "--type", "cdr_in", "--month", "2025-13", "--dry-run"],
        &["get"],
        &["get", "not-a-uuid"],
        &["list", "--page-size", "1001"],
        &["list", "--sort", "name"],
        &["wait", "33bdfff7-4de3-4c58-8c90-b99930fb984a", "--interval", "-1"],
        &["frobnicate"],
    ] {
        let (code, _, err) = run(bin().env("DIDWW_API_KEY", KEY).args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.is_empty());
    }
}

#[test]
fn authentication_exit_3() {
    let s = server(0);
    let (code, _, err) = run(bin().env("DIDWW_API_URL", s.base_url()).args(["list"]));
    assert_eq!(code, 3);
    assert!(err.contains("no API key configured"), "{err}");
    for transport in ["blocking", "async"] {
        let (code, _, err) = run(bin()
            .env("DIDWW_API_URL", s.base_url())
            .env("DIDWW_API_KEY", "wrong-key-123")
            .args(["--transport", transport, "list"]));
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("Authorization failed"), "{err}");
        assert!(!err.contains("wrong-key-123"));
    }
}

#[test]
fn api_key_file_and_stdin() {
    let s = server(0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{KEY}\n")).unwrap();
    let (code, _, err) = run(bin()
        .env("DIDWW_API_URL", s.base_url())
        .args(["list", "--api-key-file"])
        .arg(&file));
    assert_eq!(code, 0, "{err}");
    let mut child = bin()
        .env("DIDWW_API_URL", s.base_url())
        .args(["--api-key-file", "-", "list", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(KEY.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, _, err) =
        run(bin()
            .env("DIDWW_API_URL", s.base_url())
            .args(["list", "--api-key-file", "/nonexistent/key"]));
    assert_eq!(code, 3, "{err}");
}

#[test]
fn not_found_exit_4_with_the_server_detail() {
    let s = server(0);
    let (code, _, err) = run(against(&s).args(["get", "21e02b15-806d-44b3-b67f-434ea6c44f61"]));
    assert_eq!(code, 4);
    assert!(
        err.contains("The record identified by 21e02b15-806d-44b3-b67f-434ea6c44f61 could not be found."),
        "{err}"
    );
}

#[test]
fn rejected_exit_5_with_detail_and_pointer() {
    let s = server(0);
    // Valid for a clock in January 2020; the emulator (today) rejects it.
    let (code, _, err) = run(against(&s).args([
        "--now",
        "2020-01-20T00:00:00Z",
        "create",
        "--type",
        "cdr_in",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-02",
    ]));
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("must not be earlier than"), "{err}");
    assert!(err.contains("/data/attributes/filters/from"), "{err}");
}

#[test]
fn server_failures_exit_6_after_retries() {
    let s = server(0);
    let id = create_id(&s, "blocking");
    s.push_fault(FaultRule::new(
        Some("GET"),
        "/v3/exports/*",
        4,
        Fault::Status {
            status: 503,
            body: FaultBody::Html,
            retry_after: Some("0".into()),
        },
    ));
    let (code, _, err) = run(against(&s).args(["get", &id]));
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("503"), "{err}");
    let gets = s.requests().iter().filter(|r| r.method == "GET").count();
    assert_eq!(gets, 4);
}

#[test]
fn not_ready_exit_7() {
    let s = server(60_000);
    let id = create_id(&s, "blocking");
    let (code, out, err) = run(against(&s).args(["wait", &id, "--interval", "0.05", "--wait-timeout", "0.3"]));
    assert_eq!(code, 7, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("did not complete"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(against(&s).current_dir(dir.path()).args(["download", &id]));
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("not completed yet") && err.contains("didww-exports wait"),
        "{err}"
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn create_wait_download_on_both_transports() {
    let s = server(100);
    for transport in ["blocking", "async"] {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("cdrs.csv.gz");
        let (code, out, err) = run(against(&s)
            .args([
                "create",
                "--type",
                "cdr_in",
                "--month",
                "current",
                "--did-number",
                "123456789",
                "--external-reference-id",
                "inv-7",
                "--download",
            ])
            .arg(&gz)
            .args(["-o", "json", "--transport", transport]));
        assert_eq!(code, 0, "{err}");
        let e = json(&out);
        assert_eq!(e["status"], "completed");
        assert_eq!(e["external_reference_id"], "inv-7");
        assert_eq!(e["filters"]["did_number"], "123456789");
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
            assert!(e.get(key).is_some(), "{key}");
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&gz).unwrap()),
            &mut text,
        )
        .unwrap();
        assert_eq!(text.lines().count(), 101);

        // download: default name, decompress, never overwrite without --force.
        let id = e["id"].as_str().unwrap();
        let (code, out, err) =
            run(against(&s)
                .current_dir(dir.path())
                .args(["--transport", transport, "download", id, "--decompress"]));
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim(), format!("{id}.csv"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(format!("{id}.csv"))).unwrap(),
            text
        );
        std::fs::write(&gz, "keep me").unwrap();
        let (code, _, err) = run(against(&s).args(["download", id, "-O"]).arg(&gz));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("--force"));
        assert_eq!(std::fs::read(&gz).unwrap(), b"keep me");
        let (code, _, _) = run(against(&s).args(["download", id, "--force", "-O"]).arg(&gz));
        assert_eq!(code, 0);
        assert_ne!(std::fs::read(&gz).unwrap(), b"keep me");
        let (code, _, err) = run(against(&s)
            .args(["create", "--type", "cdr_in", "--month", "current", "--download"])
            .arg(&gz));
        assert_eq!(code, 2, "an existing target is refused before anything is sent: {err}");
    }
}

#[test]
fn get_list_update_and_global_options_anywhere() {
    let s = server(0);
    let a = create_id(&s, "blocking");
    let b = create_id(&s, "async");
    let (code, out, err) = run(against(&s).args(["update", &a, "--external-reference-id", "ref-a", "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["external_reference_id"], "ref-a");
    for transport in ["blocking", "async"] {
        let (code, out, _) = run(against(&s).args([
            "list",
            "--all",
            "--page-size",
            "1",
            "-o",
            "json",
            "--transport",
            transport,
        ]));
        assert_eq!(code, 0);
        assert_eq!(json(&out).as_array().unwrap().len(), 2);
        let (code, out, _) = run(against(&s).args([
            "list",
            "--external-reference-id",
            "ref-a",
            "-o",
            "json",
            "--transport",
            transport,
        ]));
        assert_eq!(code, 0);
        let items = json(&out);
        assert_eq!(items.as_array().unwrap().len(), 1);
        assert_eq!(items[0]["id"], a.as_str());
        let (code, out, _) = run(against(&s).args(["--transport", transport, "get", &b]));
        assert_eq!(code, 0);
        assert!(out.starts_with("ID ") && out.contains(&b), "{out}");
    }
    let (code, out, _) = run(against(&s).args(["list", "--sort", "-created_at", "-o", "json"]));
    assert_eq!(code, 0);
    assert_eq!(json(&out)[0]["id"], b.as_str());
    let (code, out, _) = run(against(&s).args(["update", &a, "--clear", "-o", "json"]));
    assert_eq!(code, 0);
    assert!(json(&out)["external_reference_id"].is_null());
    let (code, out, err) = run(against(&s).args(["-q", "list"]));
    assert_eq!(code, 0);
    assert!(err.is_empty() && out.lines().count() == 3, "{out}{err}");
    let (_, _, err) = run(against(&s).args(["-v", "list"]));
    assert!(err.contains("> GET ") && err.contains("-> 200"), "{err}");
}

#[test]
fn the_built_in_emulator_needs_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(bin().current_dir(dir.path()).args([
        "--env",
        "emulator",
        "create",
        "--type",
        "cdr_in",
        "--month",
        "previous",
        "--download",
        "cdrs.csv.gz",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("built-in emulator"));
    assert!(out.contains("completed"));
    assert!(dir.path().join("cdrs.csv.gz").exists());
}

#[test]
fn completions_and_man() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, _) = run(bin().args(["completions", shell]));
        assert_eq!(code, 0);
        assert!(out.contains("didww-exports"), "{shell}");
    }
    let (code, out, _) = run(bin().args(["man"]));
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH") && out.contains("didww\\-exports"),
        "{}",
        &out[..200.min(out.len())]
    );
}
