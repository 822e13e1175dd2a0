//! # didww-exports-transport-blocking
//!
//! A blocking client for DIDWW's CDR export API on [ureq](https://docs.rs/ureq) 3.
//! All protocol and policy lives in `didww-exports-core`; this crate moves
//! bytes: [`UreqTransport`] implements core's [`Transport`], and [`Client`]
//! drives core's request builders, response readers, retry, wait and download
//! logic over any transport.
//!
//! ```no_run
//! use didww_exports_transport_blocking::{Client, ClientOptions, CreateExport, DownloadOptions, ExportType};
//! use chrono::{TimeZone, Utc};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(ClientOptions::builder().api_key(&std::env::var("DIDWW_API_KEY")?).build()?);
//! let request = CreateExport::builder(ExportType::CdrIn)
//!     .from(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap())
//!     .to(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap())
//!     .build(Utc::now())?;
//! let export = client.create(&request)?;
//! let export = client.wait(&export.id, |e| eprintln!("status: {:?}", e.status))?;
//! client.download_to_path(&export, "cdrs.csv", &DownloadOptions::default().decompress(true), |_, _| {})?;
//! # Ok(())
//! # }
//! ```

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use didww_exports_core::client::ClientError;
use didww_exports_core::operations::{self, DownloadHead};
use didww_exports_core::transport::{RequestLimits, Transport, TransportError, TransportErrorKind, clone_request};
use didww_exports_core::wait::{PollSchedule, WaitStep, Waiter};
use didww_exports_core::{
    ApiError, DownloadSink, DownloadStats, ExportPage, ListQuery, Next, Operation, Retrier, Retriers, UpdateExport,
};
use didww_exports_fs::AtomicFile;
use http::{Request, Response};

pub use didww_exports_core::{
    self as core, ClientOptions, CreateExport, DownloadOptions, DownloadReport, Export, ExportId, ExportStatus,
    ExportType, ExternalReferenceId,
};

/// The error of [`Client`] on the default transport.
pub type Error = ClientError<UreqError>;

/// A ureq failure, classified for the retry policy.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct UreqError(#[from] pub ureq::Error);

impl TransportError for UreqError {
    fn kind(&self) -> TransportErrorKind {
        use ureq::Error as E;
        match &self.0 {
            E::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => TransportErrorKind::Connect,
            E::Timeout(_) => TransportErrorKind::Timeout,
            E::HostNotFound | E::ConnectionFailed | E::Tls(_) => TransportErrorKind::Connect,
            E::Io(e) => io_kind(e),
            _ => TransportErrorKind::Other,
        }
    }
}

fn io_kind(e: &std::io::Error) -> TransportErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused | K::AddrNotAvailable | K::NotFound | K::HostUnreachable | K::NetworkUnreachable => {
            TransportErrorKind::Connect
        }
        K::TimedOut | K::WouldBlock => TransportErrorKind::Timeout,
        // ureq passes name resolution failures on as plain I/O errors; std words them
        // this way. Nothing was sent, so a create may be retried and cannot exist.
        _ if e.to_string().starts_with("failed to lookup address information") => TransportErrorKind::Connect,
        _ => TransportErrorKind::Io,
    }
}

/// The ureq transport. Every request gets the limits the client stamped on it,
/// no redirect following (the credential must not travel to another origin),
/// and statuses as plain responses.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport with its own agent.
    pub fn new() -> Self {
        let builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(ureq::config::AutoHeaderValue::None);
        // ureq picks its TLS library at run time and defaults to rustls whatever
        // is compiled in: the `native-tls` feature means "use the platform's TLS".
        #[cfg(feature = "native-tls")]
        let builder = builder.tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::NativeTls)
                .build(),
        );
        let config = builder.build();
        UreqTransport {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// A transport on an agent you configured (proxy, TLS, pool). The client's
    /// per-request limits, redirect and status settings still apply on top.
    pub fn with_agent(agent: ureq::Agent) -> Self {
        UreqTransport { agent }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for UreqTransport {
    type Body = ureq::BodyReader<'static>;
    type Error = UreqError;

    fn send(&self, request: Request<Vec<u8>>) -> Result<Response<Self::Body>, UreqError> {
        let limits = request.extensions().get::<RequestLimits>().copied();
        // ureq's per-request config type cannot be named, hence a macro.
        macro_rules! configured {
            ($request:expr) => {{
                let builder = self
                    .agent
                    .configure_request($request)
                    .http_status_as_error(false)
                    .max_redirects(0);
                match limits {
                    Some(l) => builder
                        .timeout_connect(Some(l.connect))
                        .timeout_global(l.total)
                        .timeout_per_read(l.stall),
                    None => builder,
                }
                .build()
            }};
        }
        let response = if request.body().is_empty() {
            self.agent.run(configured!(request.map(|_| ())))?
        } else {
            self.agent.run(configured!(request))?
        };
        let (parts, body) = response.into_parts();
        Ok(Response::from_parts(parts, body.into_reader()))
    }
}

/// A blocking client over any [`Transport`] (ureq by default).
#[derive(Debug)]
pub struct Client<T: Transport = UreqTransport> {
    options: ClientOptions,
    transport: T,
    retriers: Retriers,
}

impl Client<UreqTransport> {
    /// A client on its own ureq agent.
    pub fn new(options: ClientOptions) -> Self {
        Self::with_transport(options, UreqTransport::new())
    }

    /// A client on an agent you configured.
    pub fn with_agent(options: ClientOptions, agent: ureq::Agent) -> Self {
        Self::with_transport(options, UreqTransport::with_agent(agent))
    }
}

/// The error of a client on transport `T`.
pub type ErrorOf<T> = ClientError<<T as Transport>::Error>;

const MAX_ERROR_BODY: u64 = 64 * 1024;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Reads at most `limit` bytes; `Ok(None)` when the body is longer.
fn read_limited(body: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    body.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

impl<T: Transport> Client<T> {
    /// A client over any transport (a closure works: see core's `transport` module).
    pub fn with_transport(options: ClientOptions, transport: T) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5EED, |d| d.as_nanos() as u64);
        Client {
            options,
            transport,
            retriers: Retriers::new(seed),
        }
    }

    /// The options.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// One attempt: the response, or `None` after sleeping when the send
    /// failed and may be retried, or the error when it may not.
    fn send(&self, request: &Request<Vec<u8>>, retrier: &mut Retrier) -> Result<Option<Response<T::Body>>, ErrorOf<T>> {
        match self.transport.send(clone_request(request)) {
            Ok(response) => Ok(Some(response)),
            Err(e) => match retrier.after_send_error(e, now()) {
                Next::Retry(d) => {
                    std::thread::sleep(d);
                    Ok(None)
                }
                Next::Finish(error) => Err(error),
            },
        }
    }

    /// Sends `request` with retries and reads its (bounded) JSON answer.
    fn call<X>(
        &self,
        operation: Operation,
        request: Request<Vec<u8>>,
        parse: impl Fn(&Response<Vec<u8>>) -> Result<X, ApiError>,
    ) -> Result<X, ErrorOf<T>> {
        let request = self.options.prepare(operation, request);
        let mut retrier = self.retriers.start(&self.options.retry, operation);
        loop {
            let Some(response) = self.send(&request, &mut retrier)? else {
                continue;
            };
            let (parts, body) = response.into_parts();
            let limit = self.options.max_json_bytes;
            let bytes = read_limited(body, limit)
                .map_err(|e| ClientError::from_body_read(operation, e))?
                .ok_or(ClientError::ResponseTooLarge { operation, limit })?;
            let response = Response::from_parts(parts, bytes);
            match retrier.after_response(&response, now()) {
                Some(d) => std::thread::sleep(d),
                None => return parse(&response).map_err(|error| ClientError::Api { operation, error }),
            }
        }
    }

    /// Creates an export. Retried only when the connection failed before the
    /// request was sent; otherwise a failure is reported (and says whether the
    /// export may exist), never replayed.
    pub fn create(&self, request: &CreateExport) -> Result<Export, ErrorOf<T>> {
        let req = operations::create_request(&self.options.config, request)?;
        self.call(Operation::Create, req, operations::parse_create_response)
    }

    /// Shows an export.
    pub fn get(&self, id: &ExportId) -> Result<Export, ErrorOf<T>> {
        let req = operations::get_request(&self.options.config, id)?;
        self.call(Operation::Get, req, operations::parse_get_response)
    }

    /// One page of exports.
    pub fn list(&self, query: &ListQuery) -> Result<ExportPage, ErrorOf<T>> {
        let req = operations::list_request(&self.options.config, query)?;
        self.call(Operation::List, req, operations::parse_list_response)
    }

    /// Every export matching `query`, following `links.next` (on the API origin only).
    pub fn list_all(&self, query: &ListQuery) -> ListAll<'_, T> {
        ListAll {
            client: self,
            next: Some(operations::list_request(&self.options.config, query)),
            items: Vec::new().into_iter(),
        }
    }

    /// Sets (or with `None` clears) an export's external reference id.
    pub fn update_external_reference_id(
        &self,
        id: &ExportId,
        reference: Option<ExternalReferenceId>,
    ) -> Result<Export, ErrorOf<T>> {
        let update = match reference {
            Some(r) => UpdateExport::set_external_reference_id(r),
            None => UpdateExport::clear_external_reference_id(),
        };
        let req = operations::update_request(&self.options.config, id, &update)?;
        self.call(Operation::Update, req, operations::parse_update_response)
    }

    /// Polls on the configured schedule until the export completes or the
    /// deadline passes; `on_status` sees every export observed.
    pub fn wait(&self, id: &ExportId, on_status: impl FnMut(&Export)) -> Result<Export, ErrorOf<T>> {
        let schedule = self.options.poll.clone();
        self.wait_with(id, &schedule, on_status)
    }

    /// [`Client::wait`] on an explicit schedule.
    pub fn wait_with(
        &self,
        id: &ExportId,
        schedule: &PollSchedule,
        mut on_status: impl FnMut(&Export),
    ) -> Result<Export, ErrorOf<T>> {
        let start = Instant::now();
        let mut waiter = Waiter::new(schedule.clone());
        loop {
            let export = self.get(id)?;
            on_status(&export);
            match waiter.observe(&export, start.elapsed()) {
                WaitStep::Completed => return Ok(export),
                WaitStep::Sleep(d) => std::thread::sleep(d),
                WaitStep::TimedOut { last_status } => {
                    return Err(ClientError::WaitTimedOut {
                        id: *id,
                        last_status,
                        waited: start.elapsed(),
                    });
                }
            }
        }
    }

    /// Sends the download request (retrying before any byte of the file
    /// arrived) and returns the file's head and body.
    fn open_download(&self, request: Request<Vec<u8>>) -> Result<(DownloadHead, T::Body), ErrorOf<T>> {
        let operation = Operation::Download;
        let request = self.options.prepare(operation, request);
        let mut retrier = self.retriers.start(&self.options.retry, operation);
        loop {
            let Some(response) = self.send(&request, &mut retrier)? else {
                continue;
            };
            if let Some(head) = operations::download_head(&response) {
                return Ok((head, response.into_body()));
            }
            let (parts, body) = response.into_parts();
            let bytes = read_limited(body, MAX_ERROR_BODY)
                .map_err(|e| ClientError::from_body_read(operation, e))?
                .unwrap_or_default();
            let response = Response::from_parts(parts, bytes);
            match retrier.after_response(&response, now()) {
                Some(d) => std::thread::sleep(d),
                None => {
                    return Err(ClientError::Api {
                        operation,
                        error: operations::download_error(&response),
                    });
                }
            }
        }
    }

    fn stream_into<W: Write>(
        &self,
        head: &DownloadHead,
        mut body: T::Body,
        writer: W,
        options: &DownloadOptions,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<(W, DownloadStats), ErrorOf<T>> {
        let mut sink = DownloadSink::new(writer, options, head.content_length);
        let mut buf = vec![0u8; 128 * 1024];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ClientError::from_body_read(Operation::Download, e)),
            };
            sink.write_chunk(&buf[..n])?;
            progress(sink.received(), sink.expected());
        }
        sink.finish().map_err(ClientError::from)
    }

    /// Streams a completed export's file into `writer` (decompressing if asked).
    /// Refused without any request when the export's `url` is not on the API origin.
    pub fn download_to_writer<W: Write>(
        &self,
        export: &Export,
        writer: W,
        options: &DownloadOptions,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<(W, DownloadStats), ErrorOf<T>> {
        let request = operations::download_request(&self.options.config, export)?;
        let (head, body) = self.open_download(request)?;
        self.stream_into(&head, body, writer, options, progress)
    }

    /// Downloads a completed export's file to `path`, atomically: nothing
    /// appears at `path` unless the whole file arrived and checked out, and an
    /// existing file is replaced only with `options.overwrite`.
    pub fn download_to_path(
        &self,
        export: &Export,
        path: impl AsRef<Path>,
        options: &DownloadOptions,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<DownloadReport, ErrorOf<T>> {
        let path = path.as_ref();
        let request = operations::download_request(&self.options.config, export)?;
        let file = AtomicFile::create(path, options.overwrite)?;
        let (head, body) = self.open_download(request)?;
        let (file, stats) = self.stream_into(&head, body, file, options, progress)?;
        let path = file.commit()?;
        Ok(DownloadReport::new(path, stats))
    }
}

/// Iterator over every export of a listing, page after page.
#[derive(Debug)]
pub struct ListAll<'a, T: Transport> {
    client: &'a Client<T>,
    next: Option<Result<Request<Vec<u8>>, didww_exports_core::BuildError>>,
    items: std::vec::IntoIter<Export>,
}

impl<T: Transport> Iterator for ListAll<'_, T> {
    type Item = Result<Export, ErrorOf<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.items.next() {
                return Some(Ok(e));
            }
            let request = match self.next.take()? {
                Ok(r) => r,
                Err(e) => return Some(Err(e.into())),
            };
            let page = match self
                .client
                .call(Operation::List, request, operations::parse_list_response)
            {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            self.next = operations::next_page_request(&self.client.options.config, &page);
            self.items = page.exports.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::io::Cursor;
    use std::time::Duration;

    #[derive(Debug, thiserror::Error)]
    #[error("refused")]
    struct Refused;
    impl TransportError for Refused {
        fn kind(&self) -> TransportErrorKind {
            TransportErrorKind::Connect
        }
    }

    const CREATED: &str = include_str!("../../core/fixtures/seed_create_response.json");

    fn options() -> ClientOptions {
        ClientOptions::builder()
            .base_url("http://127.0.0.1:1/v3")
            .api_key("k")
            .retry(didww_exports_core::RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO))
            .build()
            .unwrap()
    }

    fn seed_request() -> CreateExport {
        use chrono::TimeZone;
        CreateExport::builder(ExportType::CdrIn)
            .from(chrono::Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap())
            .to(chrono::Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap())
            .did_number("123456789")
            .build(chrono::Utc.with_ymd_and_hms(2025, 12, 16, 0, 0, 0).unwrap())
            .unwrap()
    }

    #[test]
    fn name_resolution_failures_mean_nothing_was_sent() {
        let dns = UreqError(ureq::Error::Io(std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        )));
        assert_eq!(dns.kind(), TransportErrorKind::Connect);
        let refused = UreqError(ureq::Error::Io(std::io::ErrorKind::ConnectionRefused.into()));
        assert_eq!(refused.kind(), TransportErrorKind::Connect);
        let reset = UreqError(ureq::Error::Io(std::io::ErrorKind::ConnectionReset.into()));
        assert_eq!(reset.kind(), TransportErrorKind::Io);
        assert_eq!(UreqError(ureq::Error::HostNotFound).kind(), TransportErrorKind::Connect);
        assert_eq!(
            UreqError(ureq::Error::Timeout(ureq::Timeout::Connect)).kind(),
            TransportErrorKind::Connect
        );
        assert_eq!(
            UreqError(ureq::Error::Timeout(ureq::Timeout::Global)).kind(),
            TransportErrorKind::Timeout
        );
    }

    #[test]
    fn a_create_is_retried_when_the_connection_failed_before_sending() {
        let calls = Cell::new(0);
        let transport = |req: Request<Vec<u8>>| -> Result<Response<Cursor<Vec<u8>>>, Refused> {
            calls.set(calls.get() + 1);
            assert_eq!(
                req.extensions().get::<RequestLimits>().unwrap().total,
                Some(Duration::from_secs(30))
            );
            if calls.get() < 3 {
                return Err(Refused);
            }
            Ok(Response::builder()
                .status(201)
                .header("content-type", "application/vnd.api+json")
                .body(Cursor::new(CREATED.as_bytes().to_vec()))
                .unwrap())
        };
        let client = Client::with_transport(options(), transport);
        let export = client.create(&seed_request()).unwrap();
        assert_eq!(export.id.to_string(), "33bdfff7-4de3-4c58-8c90-b99930fb984a");
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn connect_failures_give_up_after_max_attempts() {
        let calls = Cell::new(0);
        let transport = |_req: Request<Vec<u8>>| -> Result<Response<Cursor<Vec<u8>>>, Refused> {
            calls.set(calls.get() + 1);
            Err(Refused)
        };
        let client = Client::with_transport(options(), transport);
        let err = client.create(&seed_request()).unwrap_err();
        assert!(matches!(err, ClientError::Transport { sent: false, .. }));
        assert!(!err.export_may_exist());
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn downloads_ask_for_a_stall_timeout_and_no_total() {
        let limits = Cell::new(None);
        let transport = |req: Request<Vec<u8>>| -> Result<Response<Cursor<Vec<u8>>>, Refused> {
            limits.set(req.extensions().get::<RequestLimits>().copied());
            Ok(Response::builder().status(404).body(Cursor::new(Vec::new())).unwrap())
        };
        let client = Client::with_transport(options(), transport);
        let mut export = Export::new("33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap());
        export.status = Some(ExportStatus::Completed);
        export.url = Some("http://127.0.0.1:1/v3/exports/x.csv.gz".into());
        let err = client
            .download_to_writer(&export, Vec::new(), &DownloadOptions::default(), |_, _| {})
            .unwrap_err();
        assert!(matches!(err.api_error(), Some(ApiError::NotFound { .. })));
        let l = limits.get().unwrap();
        assert_eq!((l.total, l.stall), (None, Some(Duration::from_secs(30))));
    }
}
