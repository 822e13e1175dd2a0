//! Shared harness of the end-to-end suites: an in-process emulator and one
//! client of either flavour behind a single interface, so every scenario is
//! written once and run against both transports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::large_enum_variant,
    clippy::result_large_err,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use didww_exports_core::client::ClientOptionsBuilder;
use didww_exports_core::{
    ApiError, ClientError, ClientOptions, CreateExport, DownloadOptions, DownloadStats, Export, ExportId, ExportStatus,
    ExportType, ExternalReferenceId, ListQuery, PollSchedule, RetryPolicy,
};
use didww_exports_mock::{MockConfig, MockServer};
use didww_exports_transport_async as asynch;
use didww_exports_transport_blocking as blocking;
use futures_util::StreamExt;

pub const KEY: &str = "e2e-SECRET-key-7731";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Blocking,
    Async,
}

/// A client error reduced to what the scenarios assert, for either flavour.
#[derive(Debug)]
pub struct Failure {
    pub variant: &'static str,
    pub display: String,
    pub debug: String,
    pub api: Option<ApiError>,
    pub may_exist: bool,
}

impl Failure {
    fn from<E: std::error::Error + 'static>(e: ClientError<E>) -> Self {
        let variant = match &e {
            ClientError::Refused(_) => "refused",
            ClientError::Transport { .. } => "transport",
            ClientError::Body { .. } => "body",
            ClientError::Timeout { .. } => "timeout",
            ClientError::Api { .. } => "api",
            ClientError::ResponseTooLarge { .. } => "too_large",
            ClientError::Integrity(_) => "integrity",
            ClientError::Write { .. } => "write",
            ClientError::FileExists(_) => "exists",
            ClientError::WaitTimedOut { .. } => "wait_timed_out",
            _ => "other",
        };
        // The whole chain of causes, as a user printing the error would see it.
        let mut display = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            display.push_str(" | ");
            display.push_str(&s.to_string());
            source = s.source();
        }
        Failure {
            variant,
            debug: format!("{e:?}"),
            api: e.api_error().cloned(),
            may_exist: e.export_may_exist(),
            display,
        }
    }

    /// The credential must never show in a message or `Debug` output.
    pub fn assert_no_secret(&self) {
        assert!(!self.display.contains(KEY), "key in Display: {}", self.display);
        assert!(!self.debug.contains(KEY), "key in Debug: {}", self.debug);
    }
}

pub enum AnyClient {
    Blocking(Arc<blocking::Client>),
    Async(asynch::Client),
}

pub struct Harness {
    pub server: MockServer,
    pub client: AnyClient,
    pub flavor: Flavor,
}

/// Options for tests: short backoff, fast polling.
pub fn options(base_url: &str) -> ClientOptionsBuilder {
    ClientOptions::builder()
        .base_url(base_url)
        .api_key(KEY)
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
                .with_max_retry_after(Duration::from_secs(2)),
        )
        .poll_schedule(PollSchedule::fixed(Duration::from_millis(20), Duration::from_secs(20)))
}

pub fn client(flavor: Flavor, options: ClientOptions) -> AnyClient {
    match flavor {
        Flavor::Blocking => AnyClient::Blocking(Arc::new(blocking::Client::new(options))),
        Flavor::Async => AnyClient::Async(asynch::Client::new(options).unwrap()),
    }
}

impl Harness {
    pub async fn start(
        flavor: Flavor,
        config: MockConfig,
        tweak: impl FnOnce(ClientOptionsBuilder) -> ClientOptionsBuilder,
    ) -> Self {
        let server = MockServer::start(config).await.unwrap();
        let opts = tweak(options(server.base_url())).build().unwrap();
        Harness {
            client: client(flavor, opts),
            server,
            flavor,
        }
    }

    pub fn count(&self, method: &str, path_glob: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method == method && didww_exports_mock::faults::glob_match(path_glob, &r.path))
            .count()
    }
}

/// The current month, which the emulator always accepts.
pub fn request(reference: Option<&str>) -> CreateExport {
    let now = Utc::now();
    let (from, to) = didww_exports_core::time::month_range("current", now).unwrap();
    let mut b = CreateExport::builder(ExportType::CdrIn)
        .from(from)
        .to(to)
        .did_number("123456789");
    if let Some(r) = reference {
        b = b.external_reference_id(r);
    }
    b.build(now).unwrap()
}

macro_rules! dispatch {
    ($self:expr, $c:ident => $blocking:expr, $async:expr) => {
        match $self {
            AnyClient::Blocking(client) => {
                let $c = client.clone();
                tokio::task::spawn_blocking(move || $blocking.map_err(Failure::from))
                    .await
                    .unwrap()
            }
            AnyClient::Async($c) => $async.await.map_err(Failure::from),
        }
    };
}

impl AnyClient {
    pub async fn create(&self, req: &CreateExport) -> Result<Export, Failure> {
        let req = req.clone();
        dispatch!(self, c => c.create(&req), c.create(&req))
    }

    pub async fn get(&self, id: &ExportId) -> Result<Export, Failure> {
        let id = *id;
        dispatch!(self, c => c.get(&id), c.get(&id))
    }

    pub async fn list_all(&self, query: &ListQuery) -> Result<Vec<Export>, Failure> {
        let query = query.clone();
        match self {
            AnyClient::Blocking(client) => {
                let c = client.clone();
                tokio::task::spawn_blocking(move || {
                    c.list_all(&query).collect::<Result<Vec<_>, _>>().map_err(Failure::from)
                })
                .await
                .unwrap()
            }
            AnyClient::Async(c) => {
                let items: Vec<_> = c.list_all(&query).collect().await;
                items.into_iter().collect::<Result<Vec<_>, _>>().map_err(Failure::from)
            }
        }
    }

    pub async fn update(&self, id: &ExportId, reference: Option<&str>) -> Result<Export, Failure> {
        let id = *id;
        let reference = reference.map(|r| ExternalReferenceId::new(r).unwrap());
        dispatch!(self, c => c.update_external_reference_id(&id, reference), c.update_external_reference_id(&id, reference))
    }

    /// Waits, returning the export and every status observed.
    pub async fn wait(&self, id: &ExportId) -> (Result<Export, Failure>, Vec<ExportStatus>) {
        let id = *id;
        match self {
            AnyClient::Blocking(client) => {
                let c = client.clone();
                tokio::task::spawn_blocking(move || {
                    let mut seen = Vec::new();
                    let r = c.wait(&id, |e| seen.extend(e.status.clone())).map_err(Failure::from);
                    (r, seen)
                })
                .await
                .unwrap()
            }
            AnyClient::Async(c) => {
                let mut seen = Vec::new();
                let r = c
                    .wait(&id, |e| seen.extend(e.status.clone()))
                    .await
                    .map_err(Failure::from);
                (r, seen)
            }
        }
    }

    pub async fn download_to_path(
        &self,
        export: &Export,
        path: &Path,
        options: DownloadOptions,
    ) -> Result<(PathBuf, DownloadStats), Failure> {
        let export = export.clone();
        let path = path.to_owned();
        dispatch!(self, c => c.download_to_path(&export, &path, &options, |_, _| {}).map(|r| (r.path, r.stats)),
            async { c.download_to_path(&export, &path, &options, |_, _| {}).await.map(|r| (r.path, r.stats)) })
    }

    pub async fn download_to_vec(&self, export: &Export, options: DownloadOptions) -> Result<Vec<u8>, Failure> {
        let export = export.clone();
        dispatch!(self, c => c.download_to_writer(&export, Vec::new(), &options, |_, _| {}).map(|(v, _)| v),
            async { c.download_to_writer(&export, Vec::new(), &options, |_, _| {}).await.map(|(v, _)| v) })
    }
}

/// The names of the entries of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn gunzip(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut s).unwrap();
    s
}
