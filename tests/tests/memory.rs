//! A 1-million-row export downloaded (and decompressed to a file) through each
//! client keeps peak memory flat. The figures are printed for the record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]
#![cfg(target_os = "linux")]

use didww_exports_core::DownloadOptions;
use didww_exports_e2e::*;
use didww_exports_mock::{MockConfig, SettingsPatch};

/// Peak resident memory of this process so far, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_through_each_client_with_flat_memory() {
    let config = MockConfig::new(KEY)
        .with_processing_delay_ms(0)
        .with_rows(10)
        .with_rate_limit(0);
    let dir = tempfile::tempdir().unwrap();
    for flavor in [Flavor::Blocking, Flavor::Async] {
        let h = Harness::start(flavor, config.clone(), |o| o).await;
        // Warm up every code path on a small file first.
        let small = h.client.create(&request(None)).await.unwrap();
        let small = h.client.wait(&small.id).await.0.unwrap();
        let warm = dir.path().join(format!("{flavor:?}-small.csv"));
        h.client
            .download_to_path(&small, &warm, DownloadOptions::default().decompress(true))
            .await
            .unwrap();
        let before = peak_rss_kib();

        h.server.update_settings(SettingsPatch {
            rows: Some(1_000_000),
            ..Default::default()
        });
        let big = h.client.create(&request(None)).await.unwrap();
        let big = h.client.wait(&big.id).await.0.unwrap();
        let target = dir.path().join(format!("{flavor:?}-big.csv"));
        let (_, stats) = h
            .client
            .download_to_path(&big, &target, DownloadOptions::default().decompress(true))
            .await
            .unwrap();
        let after = peak_rss_kib();
        let growth = after.saturating_sub(before);
        eprintln!(
            "{flavor:?}: 1M rows, {} bytes received, {} bytes written; peak RSS {before} KiB -> {after} KiB (+{growth} KiB)",
            stats.received, stats.written
        );
        assert!(stats.received > 24 * 1024 * 1024 && stats.written > 100 * 1024 * 1024);
        assert!(growth < 32 * 1024, "{flavor:?}: peak memory grew by {growth} KiB");
        std::fs::remove_file(&target).unwrap();
        h.server.stop().await;
    }
}
