//! Create an export of last month's inbound CDRs, wait for it, and download it
//! decompressed, with the async client.
//!
//! Against the built-in emulator (no account, no network):
//!     cargo run -p didww-exports-transport-async --example create_wait_download
//! Against DIDWW (or any emulator already running): set DIDWW_API_URL and DIDWW_API_KEY.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use chrono::Utc;
use didww_exports_mock::{MockConfig, MockServer};
use didww_exports_transport_async::{Client, ClientOptions, CreateExport, DownloadOptions, ExportType};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_emulator, url, key) = match (std::env::var("DIDWW_API_URL"), std::env::var("DIDWW_API_KEY")) {
        (Ok(url), Ok(key)) => (None, url, key),
        _ => {
            let server = MockServer::start(MockConfig::new("demo-key").with_processing_delay_ms(1500)).await?;
            let url = server.base_url().to_owned();
            eprintln!("using the built-in emulator at {url}");
            (Some(server), url, "demo-key".to_owned())
        }
    };
    let client = Client::new(ClientOptions::builder().base_url(&url).api_key(&key).build()?)?;

    let now = Utc::now();
    let (from, to) = didww_exports_core::time::month_range("previous", now)?;
    let request = CreateExport::builder(ExportType::CdrIn)
        .from(from)
        .to(to)
        .external_reference_id("example-async")
        .build(now)?;
    let export = client.create(&request).await?;
    eprintln!("created export {}", export.id);

    let export = client
        .wait(&export.id, |e| {
            eprintln!("  status: {}", e.status.as_ref().map_or("unknown", |s| s.as_str()));
        })
        .await?;

    let path = std::env::temp_dir().join(format!("{}.csv", export.id));
    let report = client
        .download_to_path(
            &export,
            &path,
            &DownloadOptions::default().decompress(true).overwrite(true),
            |_, _| {},
        )
        .await?;
    println!(
        "downloaded {} ({} bytes received, {} bytes written)",
        report.path.display(),
        report.stats.received,
        report.stats.written
    );
    Ok(())
}
