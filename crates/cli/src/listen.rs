//! Receiving DIDWW's signed callbacks: a small HTTP server on its own thread
//! and runtime. Verified export callbacks are handed to the caller through a
//! channel, so the caller downloads with the ordinary (blocking or async) client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use didww_exports_core::CallbackSecret;
use didww_exports_core::signature::{
    CallbackError, CallbackRequest, ExportCallback, SIGNATURE_HEADER, verify_callback,
};

use crate::error::{CliError, INTERNAL, USAGE};

/// What the listener reports.
#[derive(Debug)]
pub(crate) enum Event {
    /// A valid, signed export callback.
    Callback(ExportCallback),
    /// SIGINT or SIGTERM: stop.
    Signal,
}

pub(crate) struct ListenConfig {
    pub(crate) bind: SocketAddr,
    /// The callback URL as registered with DIDWW, without query.
    pub(crate) public_url: Option<String>,
    pub(crate) secret: CallbackSecret,
    pub(crate) max_body: usize,
}

struct Shared {
    public_url: Option<String>,
    secret: CallbackSecret,
    max_body: usize,
    events: mpsc::Sender<Event>,
}

pub(crate) struct Listener {
    addr: SocketAddr,
    events: mpsc::Receiver<Event>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn reject(peer: SocketAddr, method: &Method, uri: &Uri, status: StatusCode, why: &str) -> Response {
    eprintln!(
        "rejected {method} {} from {peer}: {why} ({})",
        uri.path(),
        status.as_u16()
    );
    (status, format!("{why}\n")).into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method != Method::GET && method != Method::POST {
        return reject(
            peer,
            &method,
            &uri,
            StatusCode::METHOD_NOT_ALLOWED,
            "callbacks come as GET or POST",
        );
    }
    let Ok(body) = axum::body::to_bytes(body, shared.max_body).await else {
        let why = format!("body larger than {} bytes", shared.max_body);
        return reject(peer, &method, &uri, StatusCode::PAYLOAD_TOO_LARGE, &why);
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = match (
        &shared.public_url,
        headers.get(http::header::HOST).and_then(|h| h.to_str().ok()),
    ) {
        (Some(public), _) => format!("{public}{query}"),
        (None, Some(host)) => format!("http://{host}{}{query}", uri.path()),
        (None, None) => {
            return reject(
                peer,
                &method,
                &uri,
                StatusCode::BAD_REQUEST,
                "no Host header and no --public-url",
            );
        }
    };
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let request = CallbackRequest {
        method: method.as_str(),
        url: &url,
        body: &body,
        signature,
    };
    match verify_callback(&shared.secret, &request) {
        Ok(callback) => {
            let _ = shared.events.send(Event::Callback(callback));
            (StatusCode::OK, "ok\n").into_response()
        }
        Err(e @ (CallbackError::MissingSignature | CallbackError::BadSignature)) => {
            reject(peer, &method, &uri, StatusCode::FORBIDDEN, &e.to_string())
        }
        Err(e @ CallbackError::UnsupportedMethod(_)) => {
            reject(peer, &method, &uri, StatusCode::METHOD_NOT_ALLOWED, &e.to_string())
        }
        Err(e) => reject(peer, &method, &uri, StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

impl Listener {
    /// Binds at once (so a bad address fails before anything else) and serves
    /// on a background thread until stopped or signalled.
    pub(crate) fn start(config: ListenConfig) -> Result<Self, CliError> {
        let std_listener = std::net::TcpListener::bind(config.bind)
            .map_err(|e| CliError::new(USAGE, format!("cannot listen on {}: {e}", config.bind)))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| CliError::new(INTERNAL, format!("cannot listen on {}: {e}", config.bind)))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| CliError::new(INTERNAL, e.to_string()))?;
        let (events_tx, events) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::new(Shared {
            public_url: config
                .public_url
                .map(|u| u.split(['?', '#']).next().unwrap_or_default().to_owned()),
            secret: config.secret,
            max_body: config.max_body,
            events: events_tx.clone(),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(INTERNAL, format!("cannot start the listener: {e}")))?;
        let thread = std::thread::Builder::new()
            .name("callback-listener".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let app = axum::Router::new().fallback(handle).with_state(shared);
                    let shutdown = async move {
                        let signal = wait_for_signal();
                        tokio::select! {
                            _ = stop_rx => {}
                            _ = signal => { let _ = events_tx.send(Event::Signal); }
                        }
                    };
                    let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                        .with_graceful_shutdown(shutdown)
                        .await;
                });
            })
            .map_err(|e| CliError::new(INTERNAL, format!("cannot start the listener: {e}")))?;
        Ok(Listener {
            addr,
            events,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next event, or `None` after `timeout`.
    pub(crate) fn next(&self, timeout: Option<Duration>) -> Option<Event> {
        match timeout {
            Some(t) => self.events.recv_timeout(t).ok(),
            None => self.events.recv().ok(),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
