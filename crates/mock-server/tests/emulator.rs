//! The emulator over real HTTP: every endpoint, every error, faults, the rate
//! limit, signed callbacks and concurrency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use didww_exports_core::CallbackSecret;
use didww_exports_core::signature::{CallbackRequest, verify_callback};
use didww_exports_mock::{Fault, FaultBody, FaultRule, MockConfig, MockServer, SettingsPatch};
use serde_json::{Value, json};

const KEY: &str = "test-key-42";
const JSONAPI: &str = "application/vnd.api+json";
const SEED_REQUEST: &str = include_str!("../../core/fixtures/seed_create_request.json");
const SEED_RESPONSE: &str = include_str!("../../core/fixtures/seed_create_response.json");

fn seed_now() -> DateTime<Utc> {
    "2025-12-16T06:39:44.465Z".parse().unwrap()
}

async fn start(config: MockConfig) -> MockServer {
    MockServer::start(config).await.unwrap()
}

fn fast() -> MockConfig {
    MockConfig::new(KEY)
        .with_processing_delay_ms(0)
        .with_rows(20)
        .with_rate_limit(0)
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(server: &MockServer) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: server.base_url().to_owned(),
        }
    }
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Api-Key", KEY);
        if let Some(b) = body {
            req = req.header("Content-Type", JSONAPI).body(b.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.unwrap().to_vec())
    }
    async fn json(&self, method: reqwest::Method, path: &str, body: Option<&str>) -> (u16, Value) {
        let (status, headers, bytes) = self.send(method, path, body).await;
        assert_eq!(headers["content-type"], JSONAPI, "{path}");
        (status, serde_json::from_slice(&bytes).unwrap())
    }
    async fn patch(&self, path: &str, doc: Value) -> (u16, Value) {
        self.json(reqwest::Method::PATCH, path, Some(&doc.to_string())).await
    }
    async fn create(&self, attributes: Value) -> (u16, Value) {
        let body = json!({"data": {"type": "exports", "attributes": attributes}}).to_string();
        self.json(reqwest::Method::POST, "/exports", Some(&body)).await
    }
}

fn attrs(from: &str, to: &str) -> Value {
    json!({"export_type": "cdr_in", "filters": {"from": from, "to": to}})
}

fn this_month() -> (String, String) {
    let now = Utc::now();
    let (from, to) = didww_exports_core::time::month_range("current", now).unwrap();
    (
        didww_exports_core::time::format_time(&from),
        didww_exports_core::time::format_time(&to),
    )
}

/// Replaces every leaf with its JSON type name.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

fn gunzip(bytes: &[u8]) -> std::io::Result<String> {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut s)?;
    Ok(s)
}

#[tokio::test]
async fn the_seed_request_gets_the_seed_response() {
    let server = start(fast().with_processing_delay_ms(60_000).with_now(seed_now())).await;
    let api = Api::new(&server);
    let (status, body) = api.json(reqwest::Method::POST, "/exports", Some(SEED_REQUEST)).await;
    assert_eq!(status, 201);
    let seed: Value = serde_json::from_str(SEED_RESPONSE).unwrap();
    assert_eq!(shape(&body), shape(&seed));
    // Every value but the id and the creation time is the seed's own.
    let mut got = body.clone();
    let mut want = seed.clone();
    for doc in [&mut got, &mut want] {
        doc["data"]["id"] = json!("x");
        doc["data"]["attributes"]["created_at"] = json!("x");
    }
    assert_eq!(got, want);
    let created: DateTime<Utc> = body["data"]["attributes"]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(created >= seed_now() && created < seed_now() + chrono::Duration::seconds(30));
    server.stop().await;
}

#[tokio::test]
async fn lifecycle_show_update_and_download() {
    let server = start(fast().with_processing_delay_ms(400).with_rows(50)).await;
    let api = Api::new(&server);
    let (from, to) = this_month();
    let (status, created) = api
        .create(json!({"export_type": "cdr_in", "filters": {"from": from, "to": to, "did_number": "123456789"}, "external_reference_id": "inv-1"}))
        .await;
    assert_eq!(status, 201);
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["attributes"]["status"], "pending");

    // Not completed yet: the file is a 404 with an empty body.
    let (status, _, body) = api
        .send(reqwest::Method::GET, &format!("/exports/{id}.csv.gz"), None)
        .await;
    assert_eq!((status, body.len()), (404, 0));

    let mut seen = Vec::new();
    let url = loop {
        let (status, doc) = api.json(reqwest::Method::GET, &format!("/exports/{id}"), None).await;
        assert_eq!(status, 200);
        let s = doc["data"]["attributes"]["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == "completed" {
            break doc["data"]["attributes"]["url"].as_str().unwrap().to_owned();
        }
        assert!(doc["data"]["attributes"]["url"].is_null());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(seen.last().unwrap(), "completed");
    assert!(seen.windows(2).all(|w| w[0] != "completed"));
    assert_eq!(url, format!("{}/exports/{id}.csv.gz", server.base_url()));

    let (status, doc) = api
        .patch(
            &format!("/exports/{id}"),
            json!({"data": {"id": id, "type": "exports", "attributes": {"external_reference_id": "inv-2"}}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(doc["data"]["attributes"]["external_reference_id"], "inv-2");

    // Sparse fieldsets.
    let (_, doc) = api
        .json(
            reqwest::Method::GET,
            &format!("/exports/{id}?fields%5Bexports%5D=status"),
            None,
        )
        .await;
    assert_eq!(doc["data"]["attributes"], json!({"status": "completed"}));

    let (status, headers, file) = api
        .send(reqwest::Method::GET, &format!("/exports/{id}.csv.gz"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"{id}.csv.gz\"")
    );
    let text = gunzip(&file).unwrap();
    assert_eq!(text.lines().count(), 51);
    assert!(text.lines().skip(1).all(|l| l.split(',').nth(4) == Some("123456789")));
    // The same bytes again, now with Content-Length.
    let (_, headers, again) = api
        .send(reqwest::Method::GET, &format!("/exports/{id}.csv.gz"), None)
        .await;
    assert_eq!(again, file);
    assert_eq!(headers["content-length"], file.len().to_string());
    server.stop().await;
}

#[tokio::test]
async fn every_request_needs_the_key() {
    let server = start(fast()).await;
    let api = Api::new(&server);
    let (from, to) = this_month();
    let (_, created) = api.create(attrs(&from, &to)).await;
    let id = created["data"]["id"].as_str().unwrap();
    let http = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::POST, "/exports".to_owned()),
        (reqwest::Method::GET, "/exports".to_owned()),
        (reqwest::Method::GET, format!("/exports/{id}")),
        (reqwest::Method::PATCH, format!("/exports/{id}")),
        (reqwest::Method::GET, format!("/exports/{id}.csv.gz")),
    ] {
        for key in [None, Some("wrong-key"), Some("test-key-4")] {
            let mut req = http.request(method.clone(), format!("{}{path}", server.base_url()));
            if let Some(k) = key {
                req = req.header("Api-Key", k);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 401, "{method} {path} {key:?}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                body,
                json!({"errors":[{"title":"Unauthorized","detail":"Authorization failed","code":"401","status":"401"}]})
            );
        }
    }
    // A bearer token carrying the key is accepted (API version 2026-11-19).
    let resp = http
        .get(format!("{}/exports", server.base_url()))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("X-DIDWW-API-Version", "2026-11-19")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["meta"]["api_version"], "2026-11-19");
    // The key never shows in the request log.
    let log = serde_json::to_string(&server.requests()).unwrap();
    assert!(!log.contains(KEY));
    server.stop().await;
}

#[tokio::test]
async fn client_errors_are_jsonapi_documents() {
    let server = start(fast()).await;
    let api = Api::new(&server);
    let missing = "21e02b15-806d-44b3-b67f-434ea6c44f61";
    let (status, body) = api
        .json(reqwest::Method::GET, &format!("/exports/{missing}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"errors":[{"title":"Record not found","detail":format!("The record identified by {missing} could not be found."),"code":"404","status":"404"}]})
    );
    let (status, _) = api.json(reqwest::Method::GET, "/exports/not-an-id", None).await;
    assert_eq!(status, 404);
    let (status, _, body) = api
        .send(reqwest::Method::GET, &format!("/exports/{missing}.csv.gz"), None)
        .await;
    assert_eq!((status, body.len()), (404, 0));

    // Every violation, each with its pointer.
    let (status, body) = api
        .create(json!({"export_type": "cdr_out", "filters": {"from": "2001-01-01T00:00:00Z", "to": "2000-01-01 00:00:00", "did_number": "1"}, "callback_url": "ftp://x/", "external_reference_id": "x".repeat(101)}))
        .await;
    assert_eq!(status, 422);
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"]["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        [
            "/data/attributes/filters/from",
            "/data/attributes/filters/from",
            "/data/attributes/filters/did_number",
            "/data/attributes/callback_url",
            "/data/attributes/external_reference_id"
        ]
    );
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "422" && e["detail"].is_string())
    );

    for (bad, status) in [
        ("{not json", 400),
        ("[]", 400),
        (r#"{"data":{"type":"orders","attributes":{}}}"#, 400),
        (r#"{"data":{"type":"exports"}}"#, 422),
    ] {
        let (got, body) = api.json(reqwest::Method::POST, "/exports", Some(bad)).await;
        assert_eq!(got, status, "{bad}");
        assert!(body["errors"][0]["detail"].is_string());
    }
    // Oversized body, wrong content type, bad API version, bad list parameters.
    let huge = "x".repeat(2 * 1024 * 1024);
    let (status, _) = api.json(reqwest::Method::POST, "/exports", Some(&huge)).await;
    assert_eq!(status, 413);
    let resp = api
        .http
        .post(format!("{}/exports", api.base))
        .header("Api-Key", KEY)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = api
        .http
        .get(format!("{}/exports", api.base))
        .header("Api-Key", KEY)
        .header("X-DIDWW-API-Version", "latest")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    for q in [
        "page%5Bsize%5D=1001",
        "page%5Bsize%5D=0",
        "page%5Bnumber%5D=0",
        "sort=name",
        "filter%5Bdid%5D=1",
    ] {
        let (status, body) = api.json(reqwest::Method::GET, &format!("/exports?{q}"), None).await;
        assert_eq!(status, 400, "{q}");
        assert!(body["errors"][0]["source"]["parameter"].is_string());
    }
    // Update: only external_reference_id, and the id must match.
    let (from, to) = this_month();
    let (_, created) = api.create(attrs(&from, &to)).await;
    let id = created["data"]["id"].as_str().unwrap();
    let (status, body) = api
        .patch(
            &format!("/exports/{id}"),
            json!({"data": {"id": id, "type": "exports", "attributes": {"status": "completed"}}}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["source"]["pointer"], "/data/attributes/status");
    let (status, _) = api
        .patch(
            &format!("/exports/{id}"),
            json!({"data": {"id": missing, "type": "exports", "attributes": {"external_reference_id": "a"}}}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = api
        .patch(
            &format!("/exports/{missing}"),
            json!({"data": {"id": missing, "type": "exports", "attributes": {"external_reference_id": "a"}}}),
        )
        .await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn list_pages_filters_and_sorts_like_didww() {
    let server = start(fast().with_processing_delay_ms(60_000)).await;
    let api = Api::new(&server);
    let (from, to) = this_month();
    for i in 0..7 {
        let mut a = attrs(&from, &to);
        a["external_reference_id"] = json!(format!("ref-{}", i % 3));
        assert_eq!(api.create(a).await.0, 201);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (_, page1) = api.json(reqwest::Method::GET, "/exports?page%5Bsize%5D=3", None).await;
    assert_eq!(page1["meta"]["total_records"], 7);
    assert_eq!(page1["data"].as_array().unwrap().len(), 3);
    let links = &page1["links"];
    assert!(
        links["prev"].is_null() && links["next"].is_string() && links["first"].is_string() && links["last"].is_string()
    );
    // Follow next to the end.
    let mut ids = Vec::new();
    let mut next = Some(format!("{}/exports?page%5Bsize%5D=3", api.base));
    let mut pages = 0;
    while let Some(url) = next {
        let doc: Value = api
            .http
            .get(&url)
            .header("Api-Key", KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.extend(
            doc["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        next = doc["links"]["next"].as_str().map(str::to_owned);
        if pages > 0 {
            assert!(doc["links"]["prev"].is_string());
        }
        pages += 1;
    }
    assert_eq!((pages, ids.len()), (3, 7));
    assert_eq!(
        page1["links"]["last"].as_str().unwrap(),
        format!("{}/exports?page%5Bnumber%5D=3&page%5Bsize%5D=3", api.base)
    );

    let (_, filtered) = api
        .json(
            reqwest::Method::GET,
            "/exports?filter%5Bexternal_reference_id%5D=ref-1",
            None,
        )
        .await;
    assert_eq!(filtered["meta"]["total_records"], 2);
    assert!(
        filtered["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["attributes"]["external_reference_id"] == "ref-1")
    );

    let (_, asc) = api.json(reqwest::Method::GET, "/exports?sort=created_at", None).await;
    let (_, desc) = api.json(reqwest::Method::GET, "/exports?sort=-created_at", None).await;
    let order = |d: &Value| {
        d["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let mut reversed = order(&asc);
    reversed.reverse();
    assert_eq!(order(&desc), reversed);
    let (_, by_ref) = api
        .json(
            reqwest::Method::GET,
            "/exports?sort=-external_reference_id,created_at",
            None,
        )
        .await;
    let refs: Vec<&str> = by_ref["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["attributes"]["external_reference_id"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["ref-2", "ref-2", "ref-1", "ref-1", "ref-0", "ref-0", "ref-0"]);
    let (_, beyond) = api
        .json(reqwest::Method::GET, "/exports?page%5Bnumber%5D=99", None)
        .await;
    assert_eq!(beyond["data"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let server = start(fast().with_rate_limit(3)).await;
    let api = Api::new(&server);
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, headers, body) = api.send(reqwest::Method::GET, "/exports", None).await;
        if status == 429 {
            let secs: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert_eq!(secs, 1);
            let doc: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(doc["errors"][0]["status"], "429");
        }
        statuses.push(status);
    }
    // At most 3 requests pass in any second, however slow this machine is.
    let windows = started.elapsed().as_secs() + 1;
    let passed = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert!(passed <= 3 * windows, "{passed} passed in {windows} windows");
    assert!(statuses.contains(&429));
    server.update_settings(SettingsPatch {
        rate_limit: Some(0),
        ..Default::default()
    });
    assert_eq!(api.send(reqwest::Method::GET, "/exports", None).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn injected_faults() {
    let server = start(fast().with_rows(20_000)).await;
    let api = Api::new(&server);
    let admin = format!("http://{}/__admin", server.addr());
    let (from, to) = this_month();
    let (_, created) = api.create(attrs(&from, &to)).await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();

    // Through the admin endpoint: two 503s with a DIDWW body, then an HTML 502.
    let rules = json!([
        {"method": "GET", "path": "/v3/exports/*", "count": 2, "fault": {"type": "status", "status": 503, "retry_after": "1"}},
        {"method": "GET", "path": "/v3/exports/*", "fault": {"type": "status", "status": 502, "body": "html"}}
    ]);
    let resp = api
        .http
        .post(format!("{admin}/faults"))
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    for _ in 0..2 {
        let (status, headers, body) = api.send(reqwest::Method::GET, &format!("/exports/{id}"), None).await;
        assert_eq!(status, 503);
        assert_eq!(headers["retry-after"], "1");
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["errors"][0]["status"], "503");
    }
    let (status, headers, body) = api.send(reqwest::Method::GET, &format!("/exports/{id}"), None).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (502, "text/html"));
    assert!(String::from_utf8(body).unwrap().contains("502 Bad Gateway"));
    assert_eq!(
        api.send(reqwest::Method::GET, &format!("/exports/{id}"), None).await.0,
        200
    );

    // A create answered with an injected 503 creates nothing.
    server.push_fault(FaultRule::new(
        Some("POST"),
        "/v3/exports",
        1,
        Fault::Status {
            status: 503,
            body: FaultBody::Empty,
            retry_after: None,
        },
    ));
    let body = json!({"data": {"type": "exports", "attributes": attrs(&from, &to)}}).to_string();
    let (status, _, bytes) = api.send(reqwest::Method::POST, "/exports", Some(&body)).await;
    assert_eq!((status, bytes.len()), (503, 0));
    let (_, list) = api.json(reqwest::Method::GET, "/exports", None).await;
    assert_eq!(list["meta"]["total_records"], 1);

    // Closed connection.
    server.push_fault(FaultRule::new(None, "/v3/exports", 1, Fault::Close));
    let err = api
        .http
        .get(format!("{}/exports", api.base))
        .header("Api-Key", KEY)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status());

    // Delay.
    server.push_fault(FaultRule::new(None, "/v3/exports", 1, Fault::Delay { ms: 300 }));
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = quick
        .get(format!("{}/exports", api.base))
        .header("Api-Key", KEY)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());

    // The full file, then a truncated and a corrupted one.
    let (_, _, full) = api
        .send(reqwest::Method::GET, &format!("/exports/{id}.csv.gz"), None)
        .await;
    assert!(full.len() > 5000);
    server.push_fault(FaultRule::new(
        None,
        "*.csv.gz",
        1,
        Fault::Truncate { after_bytes: 1000 },
    ));
    let resp = api
        .http
        .get(format!("{}/exports/{id}.csv.gz", api.base))
        .header("Api-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = Vec::new();
    let mut resp = resp;
    let outcome = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    assert!(outcome.is_err(), "a cut body must end in an error");
    assert_eq!(got, full[..1000]);
    server.push_fault(FaultRule::new(None, "*.csv.gz", 1, Fault::CorruptGzip { at_byte: 200 }));
    let (status, _, corrupt) = api
        .send(reqwest::Method::GET, &format!("/exports/{id}.csv.gz"), None)
        .await;
    assert_eq!((status, corrupt.len()), (200, full.len()));
    assert_ne!(corrupt, full);
    assert!(gunzip(&corrupt).is_err());

    // The request log saw all of it, statuses included, and no admin calls.
    let log: Vec<Value> = api
        .http
        .get(format!("{admin}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.iter().all(|r| !r["path"].as_str().unwrap().starts_with("/__admin")));
    let statuses: Vec<i64> = log.iter().map(|r| r["status"].as_i64().unwrap_or(-1)).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 3);
    assert!(statuses.contains(&0), "closed connection recorded as 0");
    assert_eq!(log.iter().filter(|r| r["method"] == "POST").count(), 2);
    assert!(log.iter().all(|r| r["headers"]["api-key"] == "** redacted **"));
    let resp = api.http.delete(format!("{admin}/requests")).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert!(server.requests().is_empty());
    let resp = api
        .http
        .post(format!("{admin}/faults"))
        .body("{\"path\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    server.stop().await;
}

/// A callback receiver on loopback that records what it got.
async fn receiver() -> (
    String,
    Arc<Mutex<Vec<(String, String, Vec<u8>, Option<String>)>>>,
    tokio::task::JoinHandle<()>,
) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let sink = sink.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
            let sig = parts
                .headers
                .get("x-didww-signature")
                .map(|v| v.to_str().unwrap().to_owned());
            sink.lock()
                .unwrap()
                .push((parts.method.to_string(), parts.uri.to_string(), body, sig));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), got, task)
}

#[tokio::test]
async fn signed_callbacks_get_and_post() {
    let secret = CallbackSecret::new("cb-secret").unwrap();
    let server = start(fast().with_processing_delay_ms(50).with_callback_secret(secret.clone())).await;
    let api = Api::new(&server);
    let (base, got, task) = receiver().await;
    let (from, to) = this_month();
    let mut post = attrs(&from, &to);
    post["callback_url"] = json!(format!("{base}/hooks/post?tenant=7"));
    post["callback_method"] = json!("post");
    let post_id = api.create(post).await.1["data"]["id"].as_str().unwrap().to_owned();
    let mut get = attrs(&from, &to);
    get["callback_url"] = json!(format!("{base}/hooks/get"));
    get["callback_method"] = json!("get");
    let get_id = api.create(get).await.1["data"]["id"].as_str().unwrap().to_owned();

    for _ in 0..200 {
        if got.lock().unwrap().len() == 2 && server.callbacks().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let calls = got.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    for (method, uri, body, sig) in &calls {
        let url = format!("{base}{uri}");
        let request = CallbackRequest {
            method,
            url: &url,
            body,
            signature: sig.as_deref(),
        };
        let callback = verify_callback(&secret, &request).unwrap();
        assert!(callback.status.is_completed());
        let expected = if method == "POST" { &post_id } else { &get_id };
        assert_eq!(&callback.id.to_string(), expected);
        if method == "POST" {
            assert_eq!(uri, "/hooks/post?tenant=7");
            assert_eq!(
                String::from_utf8_lossy(body),
                format!("id={post_id}&type=exports&status=completed")
            );
        } else {
            assert_eq!(uri, &format!("/hooks/get?id={get_id}&type=exports&status=completed"));
        }
        // The API key is not the signing key here.
        assert!(verify_callback(&CallbackSecret::new(KEY).unwrap(), &request).is_err());
    }
    assert!(server.callbacks().iter().all(|c| c.status == Some(200)));
    task.abort();
    server.stop().await;
}

#[tokio::test]
async fn callbacks_are_signed_with_the_api_key_without_a_secret() {
    let server = start(fast().with_processing_delay_ms(10)).await;
    let api = Api::new(&server);
    let (base, got, task) = receiver().await;
    let (from, to) = this_month();
    let mut a = attrs(&from, &to);
    a["callback_url"] = json!(format!("{base}/cb"));
    api.create(a).await;
    for _ in 0..200 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (method, uri, body, sig) = got.lock().unwrap()[0].clone();
    assert_eq!(method, "POST", "post is the default method");
    let url = format!("{base}{uri}");
    let request = CallbackRequest {
        method: &method,
        url: &url,
        body: &body,
        signature: sig.as_deref(),
    };
    assert!(verify_callback(&CallbackSecret::new(KEY).unwrap(), &request).is_ok());
    task.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_and_lists() {
    let server = start(fast()).await;
    let base = server.base_url().to_owned();
    let (from, to) = this_month();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let base = base.clone();
        let (from, to) = (from.clone(), to.clone());
        tasks.push(tokio::spawn(async move {
            let api = Api {
                http: reqwest::Client::new(),
                base,
            };
            if i % 2 == 0 {
                let (status, doc) = api.create(attrs(&from, &to)).await;
                assert_eq!(status, 201);
                Some(doc["data"]["id"].as_str().unwrap().to_owned())
            } else {
                let (status, doc) = api
                    .json(reqwest::Method::GET, "/exports?page%5Bsize%5D=1000", None)
                    .await;
                assert_eq!(status, 200);
                assert!(doc["meta"]["total_records"].as_u64().unwrap() <= 20);
                None
            }
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let api = Api::new(&server);
    let (_, doc) = api
        .json(reqwest::Method::GET, "/exports?page%5Bsize%5D=1000", None)
        .await;
    assert_eq!(doc["meta"]["total_records"], 20);
    assert_eq!(server.requests().len(), 41);
    server.stop().await;
}

#[tokio::test]
async fn multi_member_files() {
    let server = start(fast().with_rows(1000).with_gzip_members(4)).await;
    let api = Api::new(&server);
    let (from, to) = this_month();
    let id = api.create(attrs(&from, &to)).await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, _, file) = api
        .send(reqwest::Method::GET, &format!("/exports/{id}.csv.gz"), None)
        .await;
    assert_eq!(gunzip(&file).unwrap().lines().count(), 1001);
    // A decoder that stops at the first member sees only part of it.
    let mut first = String::new();
    flate2::read::GzDecoder::new(&file[..])
        .read_to_string(&mut first)
        .unwrap();
    assert!(first.lines().count() < 1001);
    server.stop().await;
}
