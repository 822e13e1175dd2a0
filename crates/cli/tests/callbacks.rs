//! Signed callbacks through the CLI: `callback verify` against DIDWW's vectors,
//! `callback listen` receiving the emulator's callbacks, and `create --listen`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;
use common::bin;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use didww_exports_core::CallbackSecret;
use didww_exports_core::signature::sign;
use didww_exports_mock::{BlockingMockServer, MockConfig};
use serde_json::Value;

const KEY: &str = "cb-test-KEY-9912";
const SECRET: &str = "cb-test-SECRET-3141";

fn server(delay_ms: u64) -> BlockingMockServer {
    BlockingMockServer::start(
        MockConfig::new(KEY)
            .with_processing_delay_ms(delay_ms)
            .with_rows(50)
            .with_rate_limit(0)
            .with_callback_secret(CallbackSecret::new(SECRET).unwrap()),
    )
    .unwrap()
}

fn no_secrets(text: &str) {
    assert!(
        !text.contains(KEY) && !text.contains(SECRET) && !text.contains("SOMEAPIKEY"),
        "a secret leaked: {text}"
    );
}

#[test]
fn verify_against_didww_vectors() {
    let p = [
        "--param",
        "id=1dd7a68b-e235-402b-8912-fe73ee14243a",
        "--param",
        "status=completed",
        "--param",
        "type=orders",
    ];
    let cases: [(&str, &str, &str, bool); 5] = [
        (
            "SOMEAPIKEY",
            "http://example.com/callbacks",
            "fe99e416c3547f2f59002403ec856ea386d05b2f",
            true,
        ),
        (
            "OTHERAPIKEY",
            "http://example.com/callbacks?foo=bar#baz",
            "32754ba93ac1207e540c0cf90371e7786b3b1cde",
            true,
        ),
        (
            "SOMEAPIKEY",
            "http://example.com/callbacks",
            "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d",
            false,
        ),
        ("SOMEAPIKEY", "http://example.com/callbacks", "not-hex", false),
        (
            "SOMEAPIKEY",
            "http://foo.com:443/bar",
            "904eaa65c0759afac0e4d8912de424e2dfb96ea1",
            true,
        ),
    ];
    for (secret, url, sig, valid) in cases {
        let out = bin()
            .env("DIDWW_CALLBACK_SECRET", secret)
            .args(["callback", "verify", "--url", url, "--signature", sig])
            .args(p)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(if valid { 0 } else { 8 }), "{url} {sig}");
        assert_eq!(stdout.trim(), if valid { "valid" } else { "invalid" });
        no_secrets(&format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    }
    // A GET callback: the payload is the URL's own query.
    let url = "http://example.com/callback.php?id=7ae7c48f-d48a-499f-9dc1-c9217014b457&reject_reason=&status=approved&type=address_verifications";
    let out = bin()
        .env("DIDWW_CALLBACK_SECRET", "SOMEAPIKEY")
        .args([
            "callback",
            "verify",
            "--url",
            url,
            "--signature",
            "18050028b6b22d0ed516706fba1c1af8d6a8f9d5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The secret from a file; an empty signature; no secret at all; a bad --param.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "SOMEAPIKEY\n").unwrap();
    let out = bin()
        .args([
            "callback",
            "verify",
            "--url",
            "http://example.com/callbacks",
            "--signature",
            "fe99e416c3547f2f59002403ec856ea386d05b2f",
            "--secret-file",
        ])
        .arg(&file)
        .args(p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = bin()
        .env("DIDWW_CALLBACK_SECRET", "SOMEAPIKEY")
        .args([
            "callback",
            "verify",
            "--url",
            "http://example.com/callbacks",
            "--signature",
            "",
        ])
        .args(p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    let out = bin()
        .args([
            "callback",
            "verify",
            "--url",
            "http://example.com/x",
            "--signature",
            "00",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DIDWW_CALLBACK_SECRET"));
    let out = bin()
        .env("DIDWW_CALLBACK_SECRET", "s")
        .args([
            "callback",
            "verify",
            "--url",
            "http://example.com/x",
            "--signature",
            "00",
            "--param",
            "novalue",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Starts `callback listen` on a free port; returns the child and its address.
fn listen(s: &BlockingMockServer, extra: &[&str]) -> (Child, String) {
    let mut child = bin()
        .env("DIDWW_API_URL", s.base_url())
        .env("DIDWW_API_KEY", KEY)
        .env("DIDWW_CALLBACK_SECRET", SECRET)
        .args(["callback", "listen", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    assert!(line.contains("listening for DIDWW callbacks"), "{line}");
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        no_secrets(&rest);
    });
    (child, addr)
}

fn create_with_callback(s: &BlockingMockServer, url: &str, method: &str) -> String {
    let out = bin()
        .env("DIDWW_API_URL", s.base_url())
        .env("DIDWW_API_KEY", KEY)
        .args([
            "-o",
            "json",
            "create",
            "--type",
            "cdr_in",
            "--month",
            "current",
            "--callback-url",
            url,
            "--callback-method",
            method,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

fn wait_exit(child: &mut Child) -> (i32, String) {
    for _ in 0..500 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            return (status.code().unwrap_or(-1), out);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("the listener did not exit");
}

#[test]
fn listen_receives_get_and_post_callbacks_and_downloads() {
    let s = server(100);
    for method in ["post", "get"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, addr) = listen(
            &s,
            &["--once", "--download-dir", dir.path().to_str().unwrap(), "--decompress"],
        );
        let id = create_with_callback(&s, &format!("http://{addr}/didww/cb"), method);
        let (code, out) = wait_exit(&mut child);
        assert_eq!(code, 0, "{out}");
        let line: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["id"], id.as_str());
        assert_eq!(line["status"], "completed");
        let path = line["path"].as_str().unwrap();
        assert!(path.ends_with(&format!("{id}.csv")));
        assert_eq!(std::fs::read_to_string(path).unwrap().lines().count(), 51);
        assert!(s.callbacks().iter().any(|c| c.export_id == id && c.status == Some(200)));
    }
}

#[test]
fn listen_rejects_bad_callbacks_and_downloads_nothing() {
    let s = server(0);
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = listen(
        &s,
        &["--download-dir", dir.path().to_str().unwrap(), "--max-body", "1024"],
    );
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let id = "33bdfff7-4de3-4c58-8c90-b99930fb984a";
    let body = format!("id={id}&type=exports&status=completed");
    let url = format!("http://{addr}/cb");
    let secret = CallbackSecret::new(SECRET).unwrap();
    let pairs = [("id", id), ("type", "exports"), ("status", "completed")];
    let good = sign(&secret, &url, pairs).unwrap();
    let post = |path: &str, body: &str, sig: Option<&str>| {
        let mut req = agent
            .post(&format!("http://{addr}{path}"))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(sig) = sig {
            req = req.header("x-didww-signature", sig);
        }
        req.send(body).unwrap().status().as_u16()
    };
    let tampered = body.replace("completed", "pending");
    let wrong_secret = sign(&CallbackSecret::new("not-the-secret").unwrap(), &url, pairs).unwrap();
    assert_eq!(post("/cb", &tampered, Some(&good)), 403, "tampered payload");
    assert_eq!(post("/cb", &body, Some(&wrong_secret)), 403, "wrong secret");
    assert_eq!(post("/other", &body, Some(&good)), 403, "replayed to another URL");
    assert_eq!(post("/cb", &body, None), 403, "missing signature");
    assert_eq!(post("/cb", &"x".repeat(4096), Some(&good)), 413);
    let unsigned_shape = "type=exports&status=completed";
    let sig = sign(&secret, &url, [("type", "exports"), ("status", "completed")]).unwrap();
    assert_eq!(post("/cb", unsigned_shape, Some(&sig)), 400, "signed but malformed");
    let put = agent
        .put(&url)
        .header("x-didww-signature", &good)
        .send(body.as_str())
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(put, 405);
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing downloaded"
    );
    assert!(s.requests().is_empty(), "nothing was fetched from the API");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let (code, out) = wait_exit(&mut child);
    assert_eq!(code, 0);
    assert!(out.is_empty(), "no callback was accepted: {out}");
}

#[test]
fn create_listen_completes_without_polling() {
    let s = server(300);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cdrs.csv.gz");
    let out = bin()
        .env("DIDWW_API_URL", s.base_url())
        .env("DIDWW_API_KEY", KEY)
        .env("DIDWW_CALLBACK_SECRET", SECRET)
        .args([
            "-o",
            "json",
            "create",
            "--type",
            "cdr_in",
            "--month",
            "current",
            "--listen",
            "127.0.0.1:0",
            "--download",
        ])
        .arg(&target)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    no_secrets(&stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("received the signed completion callback"), "{stderr}");
    let export: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = export["id"].as_str().unwrap();
    assert_eq!(export["status"], "completed");
    assert!(
        export["callback_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(target.exists());
    // One create, one fetch of the completed export after its callback, one download: no polling.
    let log = s.requests();
    let gets = log
        .iter()
        .filter(|r| r.method == "GET" && r.path == format!("/v3/exports/{id}"))
        .count();
    assert_eq!(gets, 1, "{log:#?}");
    assert_eq!(log.len(), 3);
    assert_eq!(s.callbacks().len(), 1);
}
