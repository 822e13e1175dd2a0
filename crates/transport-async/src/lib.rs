//! # didww-exports-transport-async
//!
//! An async client for DIDWW's CDR export API on [reqwest](https://docs.rs/reqwest)
//! and tokio. All protocol and policy lives in `didww-exports-core`; this crate
//! moves bytes: [`ReqwestTransport`] implements core's [`AsyncTransport`], and
//! [`Client`] drives core's request builders, response readers, retry, wait and
//! download logic over any async transport.
//!
//! ```no_run
//! use didww_exports_transport_async::{Client, ClientOptions, CreateExport, DownloadOptions, ExportType};
//! use chrono::{TimeZone, Utc};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(ClientOptions::builder().api_key(&std::env::var("DIDWW_API_KEY")?).build()?)?;
//! let request = CreateExport::builder(ExportType::CdrIn)
//!     .from(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap())
//!     .to(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap())
//!     .build(Utc::now())?;
//! let export = client.create(&request).await?;
//! let export = client.wait(&export.id, |e| eprintln!("status: {:?}", e.status)).await?;
//! client.download_to_path(&export, "cdrs.csv", &DownloadOptions::default().decompress(true), |_, _| {}).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Downloads write through `std::io::Write` (a file goes through the page
//! cache a buffer at a time); the network side never blocks the runtime.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use didww_exports_core::client::ClientError;
use didww_exports_core::operations::{self, DownloadHead};
use didww_exports_core::transport::{
    AsyncBody, AsyncTransport, RequestLimits, TransportError, TransportErrorKind, clone_request,
};
use didww_exports_core::wait::{PollSchedule, WaitStep, Waiter};
use didww_exports_core::{
    ApiError, DownloadSink, DownloadStats, ExportPage, ListQuery, Next, Operation, Retrier, Retriers, UpdateExport,
};
use didww_exports_fs::AtomicFile;
use futures_util::Stream;
use http::{Request, Response};

pub use didww_exports_core::{
    self as core, ClientOptions, CreateExport, DownloadOptions, DownloadReport, Export, ExportId, ExportStatus,
    ExportType, ExternalReferenceId,
};

/// The error of [`Client`] on the default transport.
pub type Error = ClientError<ReqwestError>;

/// A reqwest failure, or a download that stalled, classified for the retry policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReqwestError {
    /// reqwest's own error.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// No bytes arrived for this long.
    #[error("no data received for {0:?}")]
    Stalled(Duration),
}

impl TransportError for ReqwestError {
    fn kind(&self) -> TransportErrorKind {
        match self {
            ReqwestError::Stalled(_) => TransportErrorKind::Timeout,
            ReqwestError::Http(e) if e.is_connect() => TransportErrorKind::Connect,
            ReqwestError::Http(e) if e.is_timeout() => TransportErrorKind::Timeout,
            ReqwestError::Http(e) if e.is_body() || e.is_decode() || e.is_request() => TransportErrorKind::Io,
            ReqwestError::Http(_) => TransportErrorKind::Other,
        }
    }
}

/// A response body read chunk by chunk, failing when it stalls.
#[derive(Debug)]
pub struct ReqwestBody {
    response: reqwest::Response,
    stall: Option<Duration>,
}

impl AsyncBody for ReqwestBody {
    type Error = ReqwestError;

    async fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, ReqwestError> {
        match self.stall {
            Some(limit) => match tokio::time::timeout(limit, self.response.chunk()).await {
                Ok(chunk) => Ok(chunk?),
                Err(_) => Err(ReqwestError::Stalled(limit)),
            },
            None => Ok(self.response.chunk().await?),
        }
    }
}

/// The reqwest transport. Requests get the total timeout the client stamped
/// on them and bodies the stall timeout; redirects are never followed (the
/// credential must not travel to another origin).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with its own `reqwest::Client` (no redirects, the given connect timeout).
    pub fn new(connect_timeout: Duration) -> Result<Self, ReqwestError> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout);
        // With both TLS features compiled in, `native-tls` means "use the platform's TLS".
        #[cfg(feature = "native-tls")]
        let builder = builder.tls_backend_native();
        let client = builder.build()?;
        Ok(ReqwestTransport { client })
    }

    /// A transport on a client you configured (proxy, TLS, pool). Build it with
    /// `redirect(reqwest::redirect::Policy::none())`: reqwest cannot turn
    /// redirects off per request, and a followed redirect would carry the
    /// `Api-Key` header to wherever it points.
    pub fn with_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

impl AsyncTransport for ReqwestTransport {
    type Body = ReqwestBody;
    type Error = ReqwestError;

    async fn send(&self, request: Request<Vec<u8>>) -> Result<Response<ReqwestBody>, ReqwestError> {
        let limits = request.extensions().get::<RequestLimits>().copied();
        let mut request = reqwest::Request::try_from(request)?;
        *request.timeout_mut() = limits.and_then(|l| l.total);
        let response = self.client.execute(request).await?;
        let mut builder = Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            *headers = response.headers().clone();
        }
        let body = ReqwestBody {
            response,
            stall: limits.and_then(|l| l.stall),
        };
        // Status and headers come from a valid response, so this cannot fail.
        builder
            .body(body)
            .map_err(|_| unreachable!("status and headers of a received response are valid"))
    }
}

/// An async client over any [`AsyncTransport`] (reqwest by default).
#[derive(Debug)]
pub struct Client<T: AsyncTransport = ReqwestTransport> {
    options: ClientOptions,
    transport: T,
    retriers: Retriers,
}

impl Client<ReqwestTransport> {
    /// A client on its own `reqwest::Client`.
    pub fn new(options: ClientOptions) -> Result<Self, ReqwestError> {
        let transport = ReqwestTransport::new(options.timeouts.connect)?;
        Ok(Self::with_transport(options, transport))
    }

    /// A client on a `reqwest::Client` you configured (see [`ReqwestTransport::with_client`]).
    pub fn with_client(options: ClientOptions, client: reqwest::Client) -> Self {
        Self::with_transport(options, ReqwestTransport::with_client(client))
    }
}

/// The error of a client on transport `T`.
pub type ErrorOf<T> = ClientError<<T as AsyncTransport>::Error>;

const MAX_ERROR_BODY: u64 = 64 * 1024;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

impl<T: AsyncTransport> Client<T> {
    /// A client over any async transport (an async closure works: see core's `transport` module).
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

    /// Reads at most `limit` bytes; `Ok(None)` when the body is longer.
    async fn read_limited(operation: Operation, body: &mut T::Body, limit: u64) -> Result<Option<Vec<u8>>, ErrorOf<T>> {
        let mut buf = Vec::new();
        while let Some(chunk) = body
            .next_chunk()
            .await
            .map_err(|e| ClientError::from_transport(operation, e))?
        {
            if (buf.len() + chunk.len()) as u64 > limit {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Some(buf))
    }

    /// One attempt: the response, or `None` after sleeping when the send
    /// failed and may be retried, or the error when it may not.
    async fn send(
        &self,
        request: &Request<Vec<u8>>,
        retrier: &mut Retrier,
    ) -> Result<Option<Response<T::Body>>, ErrorOf<T>> {
        match self.transport.send(clone_request(request)).await {
            Ok(response) => Ok(Some(response)),
            Err(e) => match retrier.after_send_error(e, now()) {
                Next::Retry(d) => {
                    tokio::time::sleep(d).await;
                    Ok(None)
                }
                Next::Finish(error) => Err(error),
            },
        }
    }

    /// Sends `request` with retries and reads its (bounded) JSON answer.
    async fn call<X>(
        &self,
        operation: Operation,
        request: Request<Vec<u8>>,
        parse: impl Fn(&Response<Vec<u8>>) -> Result<X, ApiError>,
    ) -> Result<X, ErrorOf<T>> {
        let request = self.options.prepare(operation, request);
        let mut retrier = self.retriers.start(&self.options.retry, operation);
        loop {
            let Some(response) = self.send(&request, &mut retrier).await? else {
                continue;
            };
            let (parts, mut body) = response.into_parts();
            let limit = self.options.max_json_bytes;
            let bytes = Self::read_limited(operation, &mut body, limit)
                .await?
                .ok_or(ClientError::ResponseTooLarge { operation, limit })?;
            let response = Response::from_parts(parts, bytes);
            match retrier.after_response(&response, now()) {
                Some(d) => tokio::time::sleep(d).await,
                None => return parse(&response).map_err(|error| ClientError::Api { operation, error }),
            }
        }
    }

    /// Creates an export. Retried only when the connection failed before the
    /// request was sent; otherwise a failure is reported (and says whether the
    /// export may exist), never replayed.
    pub async fn create(&self, request: &CreateExport) -> Result<Export, ErrorOf<T>> {
        let req = operations::create_request(&self.options.config, request)?;
        self.call(Operation::Create, req, operations::parse_create_response)
            .await
    }

    /// Shows an export.
    pub async fn get(&self, id: &ExportId) -> Result<Export, ErrorOf<T>> {
        let req = operations::get_request(&self.options.config, id)?;
        self.call(Operation::Get, req, operations::parse_get_response).await
    }

    /// One page of exports.
    pub async fn list(&self, query: &ListQuery) -> Result<ExportPage, ErrorOf<T>> {
        let req = operations::list_request(&self.options.config, query)?;
        self.call(Operation::List, req, operations::parse_list_response).await
    }

    /// Every export matching `query`, following `links.next` (on the API origin only).
    pub fn list_all(&self, query: &ListQuery) -> impl Stream<Item = Result<Export, ErrorOf<T>>> + '_ {
        let first = operations::list_request(&self.options.config, query);
        let state = (Some(first), Vec::<Export>::new().into_iter());
        futures_util::stream::unfold(state, move |(mut next, mut items)| async move {
            loop {
                if let Some(e) = items.next() {
                    return Some((Ok(e), (next, items)));
                }
                let request = match next.take()? {
                    Ok(r) => r,
                    Err(e) => return Some((Err(e.into()), (None, items))),
                };
                match self
                    .call(Operation::List, request, operations::parse_list_response)
                    .await
                {
                    Ok(page) => {
                        next = operations::next_page_request(&self.options.config, &page);
                        items = page.exports.into_iter();
                    }
                    Err(e) => return Some((Err(e), (None, items))),
                }
            }
        })
    }

    /// Sets (or with `None` clears) an export's external reference id.
    pub async fn update_external_reference_id(
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
            .await
    }

    /// Polls on the configured schedule until the export completes or the
    /// deadline passes; `on_status` sees every export observed.
    pub async fn wait(&self, id: &ExportId, on_status: impl FnMut(&Export)) -> Result<Export, ErrorOf<T>> {
        let schedule = self.options.poll.clone();
        self.wait_with(id, &schedule, on_status).await
    }

    /// [`Client::wait`] on an explicit schedule.
    pub async fn wait_with(
        &self,
        id: &ExportId,
        schedule: &PollSchedule,
        mut on_status: impl FnMut(&Export),
    ) -> Result<Export, ErrorOf<T>> {
        let start = Instant::now();
        let mut waiter = Waiter::new(schedule.clone());
        loop {
            let export = self.get(id).await?;
            on_status(&export);
            match waiter.observe(&export, start.elapsed()) {
                WaitStep::Completed => return Ok(export),
                WaitStep::Sleep(d) => tokio::time::sleep(d).await,
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
    async fn open_download(&self, request: Request<Vec<u8>>) -> Result<(DownloadHead, T::Body), ErrorOf<T>> {
        let operation = Operation::Download;
        let request = self.options.prepare(operation, request);
        let mut retrier = self.retriers.start(&self.options.retry, operation);
        loop {
            let Some(response) = self.send(&request, &mut retrier).await? else {
                continue;
            };
            if let Some(head) = operations::download_head(&response) {
                return Ok((head, response.into_body()));
            }
            let (parts, mut body) = response.into_parts();
            let bytes = Self::read_limited(operation, &mut body, MAX_ERROR_BODY)
                .await?
                .unwrap_or_default();
            let response = Response::from_parts(parts, bytes);
            match retrier.after_response(&response, now()) {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    return Err(ClientError::Api {
                        operation,
                        error: operations::download_error(&response),
                    });
                }
            }
        }
    }

    async fn stream_into<W: Write>(
        head: &DownloadHead,
        mut body: T::Body,
        writer: W,
        options: &DownloadOptions,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<(W, DownloadStats), ErrorOf<T>> {
        let mut sink = DownloadSink::new(writer, options, head.content_length);
        while let Some(chunk) = body
            .next_chunk()
            .await
            .map_err(|e| ClientError::from_transport(Operation::Download, e))?
        {
            sink.write_chunk(&chunk)?;
            progress(sink.received(), sink.expected());
        }
        sink.finish().map_err(ClientError::from)
    }

    /// Streams a completed export's file into `writer` (decompressing if asked).
    /// Refused without any request when the export's `url` is not on the API origin.
    pub async fn download_to_writer<W: Write>(
        &self,
        export: &Export,
        writer: W,
        options: &DownloadOptions,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<(W, DownloadStats), ErrorOf<T>> {
        let request = operations::download_request(&self.options.config, export)?;
        let (head, body) = self.open_download(request).await?;
        Self::stream_into(&head, body, writer, options, progress).await
    }

    /// Downloads a completed export's file to `path`, atomically: nothing
    /// appears at `path` unless the whole file arrived and checked out, and an
    /// existing file is replaced only with `options.overwrite`. Dropping the
    /// future removes the partial file.
    pub async fn download_to_path(
        &self,
        export: &Export,
        path: impl AsRef<Path>,
        options: &DownloadOptions,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<DownloadReport, ErrorOf<T>> {
        let path = path.as_ref();
        let request = operations::download_request(&self.options.config, export)?;
        let file = AtomicFile::create(path, options.overwrite)?;
        let (head, body) = self.open_download(request).await?;
        let (file, stats) = Self::stream_into(&head, body, file, options, progress).await?;
        let path = file.commit()?;
        Ok(DownloadReport::new(path, stats))
    }
}
