//! # didww-exports-mock
//!
//! A stateful local emulator of DIDWW's CDR export API, for tests, demos and
//! benchmarks: the real API needs an account, money and a network.
//!
//! It keeps exports in memory (pending, then processing, then completed as
//! time passes), serves deterministic gzip CSV files streamed with flat memory,
//! validates requests with the core crate's own rules, limits requests per
//! second per key, calls signed callbacks, and takes injected faults (statuses,
//! HTML proxy pages, delays, closed connections, truncated or corrupt bodies)
//! through admin endpoints that also list every request it received.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use didww_exports_mock::{MockConfig, MockServer};
//!
//! let server = MockServer::start(MockConfig::new("demo-key").with_processing_delay_ms(0)).await?;
//! println!("API at {}", server.base_url()); // http://127.0.0.1:PORT/v3
//! assert!(server.requests().is_empty());
//! server.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! Blocking tests use [`BlockingMockServer`], which runs the emulator on its own
//! runtime threads. See `docs/emulator.md` for the binary, its flags and the
//! admin endpoints.

// Handlers return `Result<_, Response>` to answer early, the usual axum pattern.
#![allow(clippy::result_large_err)]

mod admin;
mod api;
mod callbacks;
pub mod cdrgen;
pub mod faults;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use didww_exports_core::{ApiKey, CallbackSecret, SecretError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultBody, FaultRule};
pub use state::{CallbackRecord, RecordedRequest, Settings, SettingsPatch};

/// How the emulator behaves. `Debug` redacts the key and secret.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The only API key accepted.
    pub api_key: ApiKey,
    /// The callback signing secret (the API key when absent, as for older accounts).
    pub callback_secret: Option<CallbackSecret>,
    /// Time from creation to completion, half pending and half processing.
    pub processing_delay: Duration,
    /// Rows per export file.
    pub rows: u64,
    /// Seed of export ids and file contents.
    pub seed: u64,
    /// Gzip members per file.
    pub gzip_members: u32,
    /// Requests per second per key (0: unlimited). DIDWW allows about 20.
    pub rate_limit: u32,
    /// Pretend the wall clock started at this time (it then moves forward).
    pub now: Option<DateTime<Utc>>,
}

impl MockConfig {
    /// Defaults: 2 s processing delay, 1000 rows, seed 1, one gzip member,
    /// 20 requests per second.
    ///
    /// # Panics
    /// If `api_key` is empty or not printable ASCII; use [`MockConfig::try_new`]
    /// for keys from outside the program.
    pub fn new(api_key: &str) -> Self {
        #[allow(clippy::expect_used)]
        Self::try_new(api_key).expect("a printable ASCII API key")
    }

    /// Like [`MockConfig::new`], for keys that may be invalid.
    pub fn try_new(api_key: &str) -> Result<Self, SecretError> {
        Ok(MockConfig {
            api_key: ApiKey::new(api_key)?,
            callback_secret: None,
            processing_delay: Duration::from_millis(2000),
            rows: 1000,
            seed: 1,
            gzip_members: 1,
            rate_limit: 20,
            now: None,
        })
    }

    /// Sets the processing delay in milliseconds.
    pub fn with_processing_delay_ms(mut self, ms: u64) -> Self {
        self.processing_delay = Duration::from_millis(ms);
        self
    }
    /// Sets the rows per file.
    pub fn with_rows(mut self, rows: u64) -> Self {
        self.rows = rows;
        self
    }
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the rate limit (0: unlimited).
    pub fn with_rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = per_second;
        self
    }
    /// Sets the callback secret.
    pub fn with_callback_secret(mut self, secret: CallbackSecret) -> Self {
        self.callback_secret = Some(secret);
        self
    }
    /// Sets the gzip members per file.
    pub fn with_gzip_members(mut self, members: u32) -> Self {
        self.gzip_members = members.max(1);
        self
    }
    /// Pretends the clock started at `now`.
    pub fn with_now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }
}

/// A running emulator on a tokio runtime.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    base_url: String,
    state: Arc<state::AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts on a free loopback port.
    pub async fn start(config: MockConfig) -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, config: MockConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let host = if addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        };
        let base_url = format!("http://{host}/v3");
        let state = Arc::new(state::AppState::new(config, base_url.clone()));
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, state.clone(), rx));
        Ok(MockServer {
            addr,
            base_url,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The base URL to configure clients with, `http://HOST:PORT/v3`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received so far (admin requests excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// Queues a fault, as `POST /__admin/faults` does.
    pub fn push_fault(&self, rule: FaultRule) {
        self.state.faults().push(rule);
    }

    /// The callbacks made so far.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.state.callbacks()
    }

    /// Changes settings for exports created from now on.
    pub fn update_settings(&self, patch: SettingsPatch) -> Settings {
        self.state.update_settings(patch)
    }

    /// Stops accepting, lets open connections finish for up to a second, and returns.
    pub async fn stop(mut self) {
        self.shutdown_now().await;
    }

    async fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An emulator running on its own runtime threads, for blocking code and tests.
///
/// Do not create one inside an async runtime; use [`MockServer`] there.
#[derive(Debug)]
pub struct BlockingMockServer {
    server: Option<MockServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BlockingMockServer {
    /// Starts on a free loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("didww-exports-mock")
            .enable_all()
            .build()?;
        let server = runtime.block_on(MockServer::start(config))?;
        Ok(BlockingMockServer {
            server: Some(server),
            runtime: Some(runtime),
        })
    }

    fn inner(&self) -> &MockServer {
        // Present from `start` until `drop`.
        self.server
            .as_ref()
            .unwrap_or_else(|| unreachable!("server present until dropped"))
    }

    /// The base URL, `http://127.0.0.1:PORT/v3`.
    pub fn base_url(&self) -> &str {
        self.inner().base_url()
    }
    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.inner().addr()
    }
    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner().requests()
    }
    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.inner().clear_requests()
    }
    /// Queues a fault.
    pub fn push_fault(&self, rule: FaultRule) {
        self.inner().push_fault(rule)
    }
    /// The callbacks made so far.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.inner().callbacks()
    }
    /// Changes settings for exports created from now on.
    pub fn update_settings(&self, patch: SettingsPatch) -> Settings {
        self.inner().update_settings(patch)
    }

    /// Stops the emulator (dropping it does the same).
    pub fn stop(self) {}
}

impl Drop for BlockingMockServer {
    fn drop(&mut self) {
        if let (Some(mut server), Some(runtime)) = (self.server.take(), self.runtime.take()) {
            runtime.block_on(server.shutdown_now());
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
