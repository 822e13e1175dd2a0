//! Every scenario runs against both clients and the in-process emulator, and
//! checks the outcome, the requests the emulator saw, and that the credential
//! shows in no error text or `Debug` output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use didww_exports_core::{
    ApiError, CreateExport, DownloadOptions, Export, ExportStatus, ExportType, ListQuery, PageSize, RetryPolicy,
};
use didww_exports_e2e::*;
use didww_exports_mock::{Fault, FaultBody, FaultRule, MockConfig, MockServer};

fn fast() -> MockConfig {
    MockConfig::new(KEY)
        .with_processing_delay_ms(0)
        .with_rows(200)
        .with_rate_limit(0)
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod blocking {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(didww_exports_e2e::Flavor::Blocking).await
                }
            )*
        }
        mod asynchronous {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(didww_exports_e2e::Flavor::Async).await
                }
            )*
        }
    };
}

both!(
    happy_path,
    list_all_follows_every_page,
    rejected_and_unauthorized,
    retry_after_429_then_success,
    two_503s_then_success_on_a_read,
    a_create_answered_503_is_not_replayed,
    a_create_that_cannot_connect_says_nothing_was_sent,
    slower_than_the_timeout,
    connection_closed_mid_download,
    truncated_and_corrupted_gzip,
    download_url_on_another_origin,
    oversized_json,
    html_502_from_a_proxy,
    not_found_and_not_completed,
    existing_files_are_not_overwritten,
);

async fn happy_path(flavor: Flavor) {
    let h = Harness::start(flavor, fast().with_processing_delay_ms(150), |o| o).await;
    let created = h.client.create(&request(Some("inv-1"))).await.unwrap();
    assert_eq!(created.status, Some(ExportStatus::Pending));
    assert_eq!(created.external_reference_id.as_deref(), Some("inv-1"));

    let got = h.client.get(&created.id).await.unwrap();
    assert_eq!(got.id, created.id);

    let updated = h.client.update(&created.id, Some("inv-2")).await.unwrap();
    assert_eq!(updated.external_reference_id.as_deref(), Some("inv-2"));

    let (done, seen) = h.client.wait(&created.id).await;
    let done = done.unwrap();
    assert!(done.is_completed());
    assert_eq!(seen.last(), Some(&ExportStatus::Completed));
    assert!(seen.len() >= 2, "saw {seen:?}");

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cdrs.csv");
    let (path, stats) = h
        .client
        .download_to_path(&done, &csv, DownloadOptions::default().decompress(true))
        .await
        .unwrap();
    assert_eq!(path, csv);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 201);
    assert!(text.starts_with("Date/Time Start (UTC),"));
    assert_eq!(stats.written, text.len() as u64);

    let gz = dir.path().join("cdrs.csv.gz");
    h.client
        .download_to_path(&done, &gz, DownloadOptions::default())
        .await
        .unwrap();
    assert_eq!(gunzip(&std::fs::read(&gz).unwrap()), text);
    assert_eq!(
        entries(dir.path()),
        ["cdrs.csv", "cdrs.csv.gz"],
        "no temporary files left"
    );

    let in_memory = h
        .client
        .download_to_vec(&done, DownloadOptions::default().decompress(true))
        .await
        .unwrap();
    assert_eq!(in_memory, text.as_bytes());
    assert_eq!(h.count("POST", "/v3/exports"), 1);
    assert_eq!(h.count("GET", "*.csv.gz"), 3);
    // The emulator saw the credential header on every request, and the
    // configured API version and a user agent.
    for r in h.server.requests() {
        assert_eq!(r.headers.get("api-key").map(String::as_str), Some("** redacted **"));
        assert_eq!(
            r.headers.get("x-didww-api-version").map(String::as_str),
            Some("2026-04-16")
        );
        assert!(r.headers["user-agent"].starts_with("didww-exports/"));
    }
}

async fn list_all_follows_every_page(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    for i in 0..5 {
        h.client
            .create(&request(Some(&format!("batch-{}", i % 2))))
            .await
            .unwrap();
    }
    let query = ListQuery::new().page_size(PageSize::new(2).unwrap());
    let all = h.client.list_all(&query).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(h.count("GET", "/v3/exports"), 3, "three pages of two");
    let filtered = h
        .client
        .list_all(&ListQuery::new().external_reference_id("batch-1".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(filtered.len(), 2);
}

async fn rejected_and_unauthorized(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    // Valid for a client whose clock says January 2020; the emulator's clock
    // (today) puts it outside the retention window.
    let then = Utc.with_ymd_and_hms(2020, 1, 20, 0, 0, 0).unwrap();
    let stale = CreateExport::builder(ExportType::CdrIn)
        .from(Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap())
        .to(Utc.with_ymd_and_hms(2020, 1, 2, 0, 0, 0).unwrap())
        .build(then)
        .unwrap();
    let err = h.client.create(&stale).await.unwrap_err();
    err.assert_no_secret();
    match &err.api {
        Some(ApiError::Rejected { status: 422, errors }) => {
            assert_eq!(errors[0].pointer(), Some("/data/attributes/filters/from"));
            assert!(
                errors[0]
                    .detail
                    .as_deref()
                    .unwrap()
                    .contains("must not be earlier than")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.display.contains("/data/attributes/filters/from"), "{}", err.display);
    assert!(!err.may_exist);
    assert_eq!(h.count("POST", "/v3/exports"), 1);

    let wrong = client(
        flavor,
        options(h.server.base_url()).api_key("not-the-key").build().unwrap(),
    );
    let err = wrong
        .get(&"33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err.api, Some(ApiError::Unauthorized { status: 401, .. })),
        "{err:?}"
    );
    assert!(err.display.contains("Authorization failed"), "{}", err.display);
    err.assert_no_secret();
    assert!(!err.display.contains("not-the-key") && !err.debug.contains("not-the-key"));
    assert_eq!(h.count("GET", "/v3/exports/*"), 1, "a 401 is not retried");
}

async fn retry_after_429_then_success(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    let export = h.client.create(&request(None)).await.unwrap();
    h.server.push_fault(FaultRule::new(
        Some("GET"),
        "/v3/exports/*",
        1,
        Fault::Status {
            status: 429,
            body: FaultBody::Jsonapi,
            retry_after: Some("1".into()),
        },
    ));
    let got = h.client.get(&export.id).await.unwrap();
    assert_eq!(got.id, export.id);
    let statuses: Vec<_> = h
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(429), Some(200)]);
}

async fn two_503s_then_success_on_a_read(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    let export = h.client.create(&request(None)).await.unwrap();
    h.server.push_fault(FaultRule::new(
        Some("GET"),
        "/v3/exports/*",
        2,
        Fault::Status {
            status: 503,
            body: FaultBody::Jsonapi,
            retry_after: None,
        },
    ));
    h.client.get(&export.id).await.unwrap();
    assert_eq!(h.count("GET", "/v3/exports/*"), 3);
}

async fn a_create_answered_503_is_not_replayed(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    h.server.push_fault(FaultRule::new(
        Some("POST"),
        "/v3/exports",
        1,
        Fault::Status {
            status: 503,
            body: FaultBody::Jsonapi,
            retry_after: None,
        },
    ));
    let err = h.client.create(&request(Some("inv-9"))).await.unwrap_err();
    err.assert_no_secret();
    assert!(matches!(err.api, Some(ApiError::Server { status: 503, .. })), "{err:?}");
    assert!(err.may_exist);
    assert!(
        err.display.contains("may have been created") && err.display.contains("external_reference_id"),
        "{}",
        err.display
    );
    assert_eq!(h.count("POST", "/v3/exports"), 1, "the emulator saw exactly one POST");

    // A connection closed after the request was sent is not replayed either.
    h.server
        .push_fault(FaultRule::new(Some("POST"), "/v3/exports", 1, Fault::Close));
    let err = h.client.create(&request(Some("inv-10"))).await.unwrap_err();
    err.assert_no_secret();
    assert!(err.may_exist, "{err:?}");
    assert_eq!(h.count("POST", "/v3/exports"), 2);
}

async fn a_create_that_cannot_connect_says_nothing_was_sent(flavor: Flavor) {
    // Nothing listens on this port: the connection fails before sending.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = unused.local_addr().unwrap().port();
    drop(unused);
    let c = client(flavor, options(&format!("http://127.0.0.1:{port}/v3")).build().unwrap());
    let err = c.create(&request(None)).await.unwrap_err();
    err.assert_no_secret();
    assert_eq!(err.variant, "transport", "{err:?}");
    assert!(!err.may_exist, "the request never left: {}", err.display);
    assert!(err.display.contains("could not connect"), "{}", err.display);
}

async fn slower_than_the_timeout(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o.request_timeout(Duration::from_millis(300))).await;
    let export = h.client.create(&request(None)).await.unwrap();
    h.server.push_fault(FaultRule::new(
        Some("GET"),
        "/v3/exports/*",
        1,
        Fault::Delay { ms: 3000 },
    ));
    let err = h.client.get(&export.id).await.unwrap_err();
    err.assert_no_secret();
    assert_eq!(err.variant, "timeout", "{err:?}");
    assert_eq!(h.count("GET", "/v3/exports/*"), 1);
}

async fn completed(h: &Harness) -> Export {
    let export = h.client.create(&request(None)).await.unwrap();
    h.client.wait(&export.id).await.0.unwrap()
}

async fn connection_closed_mid_download(flavor: Flavor) {
    let h = Harness::start(flavor, fast().with_rows(20_000), |o| o).await;
    let done = completed(&h).await;
    let dir = tempfile::tempdir().unwrap();
    for decompress in [false, true] {
        h.server.push_fault(FaultRule::new(
            None,
            "*.csv.gz",
            1,
            Fault::Truncate { after_bytes: 10_000 },
        ));
        let target = dir.path().join("cdrs.csv");
        let err = h
            .client
            .download_to_path(&done, &target, DownloadOptions::default().decompress(decompress))
            .await
            .unwrap_err();
        err.assert_no_secret();
        assert!(
            ["body", "transport", "integrity", "timeout"].contains(&err.variant),
            "{err:?}"
        );
        assert!(
            entries(dir.path()).is_empty(),
            "nothing left behind: {:?}",
            entries(dir.path())
        );
    }
    // The first bytes did arrive: this was a cut, not a refusal.
    assert_eq!(h.count("GET", "*.csv.gz"), 2);
}

async fn truncated_and_corrupted_gzip(flavor: Flavor) {
    let h = Harness::start(flavor, fast().with_rows(20_000), |o| o).await;
    let done = completed(&h).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cdrs.csv.gz");
    for (decompress, fault) in [
        (false, Fault::CorruptGzip { at_byte: 5000 }),
        (true, Fault::CorruptGzip { at_byte: 64 }),
        (false, Fault::CorruptGzip { at_byte: 2 }),
    ] {
        h.server.push_fault(FaultRule::new(None, "*.csv.gz", 1, fault));
        let err = h
            .client
            .download_to_path(&done, &target, DownloadOptions::default().decompress(decompress))
            .await
            .unwrap_err();
        err.assert_no_secret();
        assert_eq!(err.variant, "integrity", "{err:?}");
        assert!(entries(dir.path()).is_empty());
    }
    // A truncated file whose connection ended cleanly is caught by the gzip check.
    let full = h
        .client
        .download_to_vec(&done, DownloadOptions::default())
        .await
        .unwrap();
    let cut = &full[..full.len() / 2];
    let mut sink = didww_exports_core::DownloadSink::new(Vec::new(), &DownloadOptions::default(), None);
    sink.write_chunk(cut).unwrap();
    assert!(sink.finish().is_err());
}

async fn download_url_on_another_origin(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    let elsewhere = MockServer::start(fast()).await.unwrap();
    let mut done = completed(&h).await;
    let file = done.url.clone().unwrap();
    done.url = Some(file.replace(h.server.base_url(), elsewhere.base_url()));
    let dir = tempfile::tempdir().unwrap();
    let err = h
        .client
        .download_to_path(&done, &dir.path().join("x.csv.gz"), DownloadOptions::default())
        .await
        .unwrap_err();
    err.assert_no_secret();
    assert_eq!(err.variant, "refused", "{err:?}");
    assert!(err.display.contains("not the configured API origin"), "{}", err.display);
    assert!(elsewhere.requests().is_empty(), "no request reached the other origin");
    assert_eq!(h.count("GET", "*.csv.gz"), 0);
    assert!(entries(dir.path()).is_empty());
}

async fn oversized_json(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o.max_json_bytes(300)).await;
    let err = h.client.create(&request(None)).await.unwrap_err();
    err.assert_no_secret();
    assert_eq!(err.variant, "too_large", "{err:?}");
    assert!(err.display.contains("300 bytes"), "{}", err.display);
}

async fn html_502_from_a_proxy(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    let export = h.client.create(&request(None)).await.unwrap();
    h.server.push_fault(FaultRule::new(
        Some("GET"),
        "/v3/exports/*",
        10,
        Fault::Status {
            status: 502,
            body: FaultBody::Html,
            retry_after: None,
        },
    ));
    let err = h.client.get(&export.id).await.unwrap_err();
    err.assert_no_secret();
    match &err.api {
        Some(ApiError::Server {
            status: 502, excerpt, ..
        }) => assert!(excerpt.as_str().contains("502 Bad Gateway")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.count("GET", "/v3/exports/*"),
        RetryPolicy::default().max_attempts as usize
    );
}

async fn not_found_and_not_completed(flavor: Flavor) {
    let h = Harness::start(flavor, fast().with_processing_delay_ms(60_000), |o| o).await;
    let missing = "21e02b15-806d-44b3-b67f-434ea6c44f61".parse().unwrap();
    let err = h.client.get(&missing).await.unwrap_err();
    assert!(matches!(err.api, Some(ApiError::NotFound { .. })));
    assert!(err.display.contains("could not be found"), "{}", err.display);
    let pending = h.client.create(&request(None)).await.unwrap();
    let err = h
        .client
        .download_to_vec(&pending, DownloadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.variant, "refused");
    assert!(err.display.contains("not completed"), "{}", err.display);
    assert_eq!(h.count("GET", "*.csv.gz"), 0);
}

async fn existing_files_are_not_overwritten(flavor: Flavor) {
    let h = Harness::start(flavor, fast(), |o| o).await;
    let done = completed(&h).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("keep.csv.gz");
    std::fs::write(&target, "precious").unwrap();
    let err = h
        .client
        .download_to_path(&done, &target, DownloadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.variant, "exists");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert_eq!(h.count("GET", "*.csv.gz"), 0, "refused before downloading");
    h.client
        .download_to_path(&done, &target, DownloadOptions::default().overwrite(true))
        .await
        .unwrap();
    assert_ne!(std::fs::read(&target).unwrap(), b"precious");
    assert_eq!(entries(dir.path()), ["keep.csv.gz"]);
}
