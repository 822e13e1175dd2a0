//! Builds and validates the request of DIDWW's "Create Export" page and prints
//! the JSON:API body and the HTTP request line, with no network and no key.
//!
//! `cargo run -p didww-exports-core --example seed_request`
#![allow(clippy::print_stdout)]

use chrono::{TimeZone, Utc};
use didww_exports_core::{ClientConfig, CreateExport, Credential, Environment, ExportType, jsonapi, operations};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The seed's export was created on 2025-12-16; validate as of then.
    let now = Utc
        .with_ymd_and_hms(2025, 12, 16, 6, 39, 44)
        .single()
        .ok_or("bad time")?;
    let request = CreateExport::builder(ExportType::CdrIn)
        .from(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).single().ok_or("bad time")?)
        .to(Utc
            .with_ymd_and_hms(2025, 12, 31, 23, 59, 59)
            .single()
            .ok_or("bad time")?)
        .did_number("123456789")
        .build(now)?;
    let config = ClientConfig::new(Environment::Production, Credential::api_key("[API token]")?)?;
    let http = operations::create_request(&config, &request)?;
    println!("{} {}", http.method(), http.uri());
    println!("{}", serde_json::to_string_pretty(&jsonapi::create_document(&request))?);
    Ok(())
}
