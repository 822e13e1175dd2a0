//! # didww-exports-core
//!
//! Pure models, validation and protocol for DIDWW's CDR export API (v3,
//! JSON:API): no sockets, files, environment, clock or threads. Time and
//! randomness come in as arguments, so everything here works offline (a
//! billing job, a web app, WebAssembly) and is tested without a network.
//!
//! - [`Export`], [`ExportType`], [`ExportStatus`], [`CallbackMethod`],
//!   [`ExportFilters`]: the resource in DIDWW's words, read leniently.
//! - [`CreateExport`] (with a builder), [`UpdateExport`], [`ListQuery`],
//!   [`ExportPage`], and validated identifiers ([`ExportId`], [`DidNumber`],
//!   [`VoiceOutTrunkId`], [`ExternalReferenceId`]).
//! - [`validation`]: every broken rule at once, each with its JSON:API pointer.
//! - [`jsonapi`]: the documents, in both directions (the emulator uses the
//!   server side).
//! - [`operations`]: for each call, a pure "build the `http::Request`" and a
//!   pure "read the `http::Response`".
//! - [`retry`], [`wait`], [`origin`]: the policies both transports share.
//! - [`transport`]: the small traits the blocking and async clients implement.
//! - [`signature`]: signing and verifying DIDWW callbacks (HMAC-SHA1).
//! - [`cdr`], [`summary`], [`amount`]: reading CDR files a row at a time, summing them exactly.
//!
//! ## Example: the request of DIDWW's "Create Export" page
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use didww_exports_core::{
//!     jsonapi, operations, ClientConfig, CreateExport, Credential, Environment, ExportType,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The clock is an argument: validation of the retention window uses it.
//! let now = Utc.with_ymd_and_hms(2025, 12, 16, 6, 39, 44).unwrap();
//!
//! let request = CreateExport::builder(ExportType::CdrIn)
//!     .from(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap())
//!     .to(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap())
//!     .did_number("123456789")
//!     .build(now)?; // every violation at once, each naming its field
//!
//! let body = jsonapi::create_document(&request);
//! println!("{}", serde_json::to_string_pretty(&body)?);
//! assert_eq!(body["data"]["attributes"]["filters"]["from"], "2025-12-01T00:00:00Z");
//!
//! // The same request as an `http::Request`, ready for any HTTP library.
//! let config = ClientConfig::new(Environment::Production, Credential::api_key("my-key")?)?;
//! let http_request = operations::create_request(&config, &request)?;
//! assert_eq!(http_request.uri(), "https://api.didww.com/v3/exports");
//! assert!(!format!("{config:?}").contains("my-key")); // secrets redact themselves
//! # Ok(())
//! # }
//! ```
//!
//! Invalid input is reported field by field:
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use didww_exports_core::{CreateExport, ExportType};
//!
//! let now = Utc.with_ymd_and_hms(2025, 12, 16, 0, 0, 0).unwrap();
//! let err = CreateExport::builder(ExportType::CdrIn)
//!     .from(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap())
//!     .to(Utc.with_ymd_and_hms(2025, 1, 2, 0, 0, 0).unwrap())
//!     .did_number("+1 555")
//!     .build(now)
//!     .unwrap_err();
//! let pointers: Vec<_> = err.violations().iter().map(|v| v.pointer.as_str()).collect();
//! assert_eq!(pointers, ["/data/attributes/filters/from", "/data/attributes/filters/did_number"]);
//! ```

pub mod amount;
pub mod cdr;
pub mod client;
pub mod config;
pub mod create;
pub mod download;
pub mod error;
pub mod export;
pub mod ids;
pub mod jsonapi;
pub mod list;
pub mod operations;
pub mod origin;
pub mod retry;
pub mod secret;
pub mod signature;
pub mod summary;
pub mod time;
pub mod transport;
pub mod update;
pub mod validation;
pub mod wait;

pub use client::{ClientError, ClientOptions, ClientOptionsBuilder, Next, Retrier, Retriers, Timeouts};
pub use config::{ApiVersion, BaseUrl, ClientConfig, ConfigError, Environment};
pub use create::{CdrFilters, CreateExport, CreateExportBuilder};
pub use download::{DownloadOptions, DownloadReport, DownloadSink, DownloadStats, IntegrityError, SinkError};
pub use error::{ApiError, BodyExcerpt, RetryAfter};
pub use export::{CallbackMethod, Export, ExportFilters, ExportStatus, ExportType};
pub use ids::{DidNumber, ExportId, ExternalReferenceId, VoiceOutTrunkId};
pub use jsonapi::{ErrorDocument, ErrorObject};
pub use list::{ExportPage, ListQuery, PageLinks, PageSize, Sort, SortField};
pub use operations::{BuildError, DownloadHead, Operation};
pub use origin::OriginError;
pub use retry::{Failure, RetryDecision, RetryPolicy};
pub use secret::{ApiKey, BearerToken, CallbackSecret, Credential, SecretError};
pub use update::UpdateExport;
pub use validation::{Rule, ValidationErrors, Violation};
pub use wait::{PollSchedule, WaitStep, Waiter};
