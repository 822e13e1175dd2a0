//! Downloads one export, decompressed, to a path: the blocking client's part of
//! `scripts/bench.sh`. Usage: bench_download BASE_URL EXPORT_ID OUT (key in DIDWW_API_KEY).
#![allow(clippy::print_stderr)]

use didww_exports_transport_blocking::{Client, ClientOptions, DownloadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, id, out] = args.as_slice() else {
        return Err("usage: bench_download BASE_URL EXPORT_ID OUT".into());
    };
    let key = std::env::var("DIDWW_API_KEY")?;
    let client = Client::new(ClientOptions::builder().base_url(base).api_key(&key).build()?);
    let export = client.get(&id.parse()?)?;
    let options = DownloadOptions::default().decompress(true).overwrite(true);
    let report = client.download_to_path(&export, out, &options, |_, _| {})?;
    eprintln!("{} bytes in, {} bytes out", report.stats.received, report.stats.written);
    Ok(())
}
