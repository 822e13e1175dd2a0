//! One interface over both clients, so every command runs on either transport.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use didww_exports_core::transport::{AsyncTransport, Transport};
use didww_exports_core::wait::PollSchedule;
use didww_exports_core::{
    ClientOptions, CreateExport, DownloadOptions, DownloadStats, Export, ExportId, ExportPage, ExternalReferenceId,
    ListQuery,
};
use didww_exports_transport_async as asynch;
use didww_exports_transport_blocking as blocking;

use crate::error::CliError;

/// Logs each request on stderr with `-v`: method, URL, status, time. Never headers.
#[derive(Debug)]
pub(crate) struct Logged<T> {
    inner: T,
    verbose: bool,
}

fn log(verbose: bool, method: &http::Method, uri: &http::Uri, outcome: Result<u16, String>, started: Instant) {
    if verbose {
        let took = started.elapsed().as_millis();
        match outcome {
            Ok(status) => eprintln!("> {method} {uri} -> {status} ({took} ms)"),
            Err(e) => eprintln!("> {method} {uri} -> failed: {e} ({took} ms)"),
        }
    }
}

impl<T: Transport> Transport for Logged<T> {
    type Body = T::Body;
    type Error = T::Error;

    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<T::Body>, T::Error> {
        let (method, uri, started) = (request.method().clone(), request.uri().clone(), Instant::now());
        let result = self.inner.send(request);
        log(
            self.verbose,
            &method,
            &uri,
            result
                .as_ref()
                .map(|r| r.status().as_u16())
                .map_err(ToString::to_string),
            started,
        );
        result
    }
}

impl<T: AsyncTransport> AsyncTransport for Logged<T> {
    type Body = T::Body;
    type Error = T::Error;

    async fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<T::Body>, T::Error> {
        let (method, uri, started) = (request.method().clone(), request.uri().clone(), Instant::now());
        let result = self.inner.send(request).await;
        log(
            self.verbose,
            &method,
            &uri,
            result
                .as_ref()
                .map(|r| r.status().as_u16())
                .map_err(ToString::to_string),
            started,
        );
        result
    }
}

pub(crate) enum Api {
    Blocking(blocking::Client<Logged<blocking::UreqTransport>>),
    Async {
        client: asynch::Client<Logged<asynch::ReqwestTransport>>,
        runtime: tokio::runtime::Runtime,
    },
}

impl Api {
    pub(crate) fn new(options: ClientOptions, use_async: bool, verbose: bool) -> Result<Self, CliError> {
        if use_async {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| CliError::new(crate::error::INTERNAL, format!("cannot start the async runtime: {e}")))?;
            let transport = asynch::ReqwestTransport::new(options.timeouts.connect)
                .map_err(|e| CliError::new(crate::error::INTERNAL, format!("cannot build the HTTP client: {e}")))?;
            let client = asynch::Client::with_transport(
                options,
                Logged {
                    inner: transport,
                    verbose,
                },
            );
            Ok(Api::Async { client, runtime })
        } else {
            let transport = Logged {
                inner: blocking::UreqTransport::new(),
                verbose,
            };
            Ok(Api::Blocking(blocking::Client::with_transport(options, transport)))
        }
    }
}

macro_rules! call {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            Api::Blocking($c) => $e.map_err(CliError::from_client),
            Api::Async { client: $c, runtime } => runtime.block_on(async { $e.await }).map_err(CliError::from_client),
        }
    };
}

impl Api {
    pub(crate) fn create(&self, request: &CreateExport) -> Result<Export, CliError> {
        call!(self, c => c.create(request))
    }

    pub(crate) fn get(&self, id: &ExportId) -> Result<Export, CliError> {
        call!(self, c => c.get(id))
    }

    pub(crate) fn list(&self, query: &ListQuery) -> Result<ExportPage, CliError> {
        call!(self, c => c.list(query))
    }

    pub(crate) fn list_all(&self, query: &ListQuery) -> Result<Vec<Export>, CliError> {
        match self {
            Api::Blocking(c) => c
                .list_all(query)
                .collect::<Result<Vec<_>, _>>()
                .map_err(CliError::from_client),
            Api::Async { client, runtime } => runtime
                .block_on(futures_util::TryStreamExt::try_collect(client.list_all(query)))
                .map_err(CliError::from_client),
        }
    }

    pub(crate) fn update(&self, id: &ExportId, reference: Option<ExternalReferenceId>) -> Result<Export, CliError> {
        call!(self, c => c.update_external_reference_id(id, reference.clone()))
    }

    pub(crate) fn wait(&self, id: &ExportId, schedule: &PollSchedule, show: bool) -> Result<Export, CliError> {
        let spinner = Spinner::new(show);
        let on_status = |e: &Export| spinner.status(e);
        let result = call!(self, c => c.wait_with(id, schedule, on_status));
        spinner.finish();
        result
    }

    pub(crate) fn download_to_writer<W: std::io::Write + Send>(
        &self,
        export: &Export,
        writer: W,
        options: &DownloadOptions,
        show: bool,
    ) -> Result<(W, DownloadStats), CliError> {
        let bar = ByteBar::new(show);
        let progress = |received: u64, total: Option<u64>| bar.update(received, total);
        let result = call!(self, c => c.download_to_writer(export, writer, options, progress));
        bar.finish();
        result
    }

    pub(crate) fn download(
        &self,
        export: &Export,
        path: &Path,
        options: &DownloadOptions,
        show: bool,
    ) -> Result<DownloadStats, CliError> {
        let bar = ByteBar::new(show);
        let progress = |received: u64, total: Option<u64>| bar.update(received, total);
        let result = call!(self, c => c.download_to_path(export, path, options, progress)).map(|r| r.stats);
        bar.finish();
        result
    }
}

/// The current status on a terminal; nothing otherwise.
struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    fn new(show: bool) -> Self {
        if !show || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar.set_message("waiting for the export");
        Spinner(Some(bar))
    }

    fn status(&self, export: &Export) {
        if let Some(bar) = &self.0 {
            let status = export.status.as_ref().map_or("unknown", |s| s.as_str());
            bar.set_message(format!("export {}: {status}", export.id));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A byte progress bar on a terminal; nothing otherwise.
struct ByteBar(Option<indicatif::ProgressBar>);

impl ByteBar {
    fn new(show: bool) -> Self {
        if !show || !std::io::stderr().is_terminal() {
            return ByteBar(None);
        }
        let bar = indicatif::ProgressBar::new(0);
        let style =
            indicatif::ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        ByteBar(Some(bar))
    }

    fn update(&self, received: u64, total: Option<u64>) {
        if let Some(bar) = &self.0 {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(received);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
