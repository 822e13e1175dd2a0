//! What both clients share beyond single requests: their options (one builder
//! for both transports), their error type and its messages, and the retry driver.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{ApiVersion, BaseUrl, ClientConfig, ConfigError, Environment};
use crate::download::{IntegrityError, SinkError};
use crate::error::ApiError;
use crate::export::ExportStatus;
use crate::ids::ExportId;
use crate::operations::{BuildError, Operation};
use crate::retry::{Failure, RetryDecision, RetryPolicy, SplitMix64};
use crate::secret::Credential;
use crate::transport::{RequestLimits, TransportError, TransportErrorKind};
use crate::wait::PollSchedule;

/// Timeouts. Defaults: connect 10 s, each API call 30 s, a download stalled
/// (no bytes at all) for 30 s. A download has no total limit: a big file on a
/// slow link is fine as long as bytes keep coming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing the connection.
    pub connect: Duration,
    /// A whole API call (not downloads).
    pub request: Duration,
    /// The longest wait for the next bytes of a download.
    pub stall: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
            stall: Duration::from_secs(30),
        }
    }
}

/// The largest JSON response accepted by default: 8 MiB (a full page of 1000
/// exports is well under 1 MiB).
pub const DEFAULT_MAX_JSON_BYTES: u64 = 8 * 1024 * 1024;

/// Everything a client needs, whatever its transport. Build with [`ClientOptions::builder`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Base URL, API version, credential, user agent.
    pub config: ClientConfig,
    /// Which failures are retried and how.
    pub retry: RetryPolicy,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The largest JSON response read.
    pub max_json_bytes: u64,
    /// How `wait` polls.
    pub poll: PollSchedule,
}

impl ClientOptions {
    /// A builder; only the credential is required (production is the default environment).
    pub fn builder() -> ClientOptionsBuilder {
        ClientOptionsBuilder::default()
    }

    /// The limits for a request of `operation`: a total timeout for API calls,
    /// a stall timeout and no total for downloads.
    pub fn limits(&self, operation: Operation) -> RequestLimits {
        match operation {
            Operation::Download => RequestLimits {
                connect: self.timeouts.connect,
                total: None,
                stall: Some(self.timeouts.stall),
            },
            _ => RequestLimits {
                connect: self.timeouts.connect,
                total: Some(self.timeouts.request),
                stall: None,
            },
        }
    }

    /// Stamps `request` with the limits of `operation`.
    pub fn prepare(&self, operation: Operation, mut request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
        request.extensions_mut().insert(self.limits(operation));
        request
    }
}

/// Builds [`ClientOptions`]; errors are reported by `build`.
#[derive(Debug, Clone, Default)]
pub struct ClientOptionsBuilder {
    base_url: Option<Result<BaseUrl, ConfigError>>,
    credential: Option<Result<Credential, ConfigError>>,
    api_version: Option<Result<ApiVersion, ConfigError>>,
    user_agent: Option<String>,
    retry: Option<RetryPolicy>,
    timeouts: Timeouts,
    max_json_bytes: Option<u64>,
    poll: Option<PollSchedule>,
}

impl ClientOptionsBuilder {
    /// A published environment (default: production).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.base_url = Some(Ok(environment.base_url()));
        self
    }
    /// A custom base URL, e.g. the emulator's `http://127.0.0.1:12111/v3`.
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(BaseUrl::parse(url).map_err(ConfigError::BaseUrl));
        self
    }
    /// Authenticates with an API key.
    pub fn api_key(mut self, key: &str) -> Self {
        self.credential = Some(Credential::api_key(key).map_err(ConfigError::Credential));
        self
    }
    /// Authenticates with a bearer token (API version 2026-11-19 and later).
    pub fn bearer_token(mut self, token: &str) -> Self {
        self.credential = Some(Credential::bearer(token).map_err(ConfigError::Credential));
        self
    }
    /// Authenticates with a ready credential.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(Ok(credential));
        self
    }
    /// The `X-DIDWW-API-Version` to send (default 2026-04-16).
    pub fn api_version(mut self, version: &str) -> Self {
        self.api_version = Some(ApiVersion::new(version).map_err(ConfigError::ApiVersion));
        self
    }
    /// The `User-Agent` (default `didww-exports/<version>`).
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = Some(user_agent.to_owned());
        self
    }
    /// Retry settings.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }
    /// The connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }
    /// The timeout of each API call.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.request = timeout;
        self
    }
    /// How long a download may go without receiving any bytes.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.stall = timeout;
        self
    }
    /// The largest JSON response read.
    pub fn max_json_bytes(mut self, limit: u64) -> Self {
        self.max_json_bytes = Some(limit);
        self
    }
    /// How `wait` polls.
    pub fn poll_schedule(mut self, poll: PollSchedule) -> Self {
        self.poll = Some(poll);
        self
    }

    /// Checks everything and returns the options.
    pub fn build(self) -> Result<ClientOptions, ConfigError> {
        let base = self
            .base_url
            .unwrap_or_else(|| Ok(Environment::Production.base_url()))?;
        let credential = self.credential.ok_or(ConfigError::MissingCredential)??;
        let version = self.api_version.unwrap_or_else(|| Ok(ApiVersion::default()))?;
        let mut config = ClientConfig::with_version(base, credential, version)?;
        if let Some(ua) = &self.user_agent {
            config = config.user_agent(ua)?;
        }
        Ok(ClientOptions {
            config,
            retry: self.retry.unwrap_or_default(),
            timeouts: self.timeouts,
            max_json_bytes: self.max_json_bytes.unwrap_or(DEFAULT_MAX_JSON_BYTES),
            poll: self.poll.unwrap_or_default(),
        })
    }
}

/// Hands out a [`Retrier`] per call, each with its own jitter seed.
///
/// Core reads no clock: the client seeds it (from the time, say) once.
#[derive(Debug)]
pub struct Retriers {
    seed: std::sync::atomic::AtomicU64,
}

impl Retriers {
    /// Retriers whose jitter starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Retriers {
            seed: std::sync::atomic::AtomicU64::new(seed),
        }
    }

    /// A retrier for one call of `operation`.
    pub fn start(&self, policy: &RetryPolicy, operation: Operation) -> Retrier {
        let seed = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed);
        Retrier::new(policy, operation, seed)
    }
}

/// Drives retries of one call: after each failed attempt it says wait (how
/// long) or stop (with the error to report). Both clients' loops are
/// "send, ask the retrier, sleep or finish" around it.
#[derive(Debug, Clone)]
pub struct Retrier {
    policy: RetryPolicy,
    operation: Operation,
    attempt: u32,
    random: SplitMix64,
}

/// What a client does after an attempt.
#[derive(Debug)]
pub enum Next<T> {
    /// Sleep this long, then send again.
    Retry(Duration),
    /// Stop with this.
    Finish(T),
}

impl Retrier {
    /// A retrier for `operation`, its jitter seeded with `seed`.
    pub fn new(policy: &RetryPolicy, operation: Operation, seed: u64) -> Self {
        Retrier {
            policy: policy.clone(),
            operation,
            attempt: 1,
            random: SplitMix64::new(seed),
        }
    }

    /// The attempt under way (1-based).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// After a failure of the current attempt: retry (after the delay) or give up.
    pub fn after(&mut self, failure: &Failure, now: DateTime<Utc>) -> RetryDecision {
        let decision = self
            .policy
            .decide(self.operation, self.attempt, failure, now, &mut self.random);
        if matches!(decision, RetryDecision::RetryAfter(_)) {
            self.attempt += 1;
        }
        decision
    }

    /// After the transport failed to send or to get an answer: retry, or finish
    /// with the error to report.
    pub fn after_send_error<E: TransportError>(&mut self, error: E, now: DateTime<Utc>) -> Next<ClientError<E>> {
        match self.after(&Failure::from_transport(error.kind()), now) {
            RetryDecision::RetryAfter(d) => Next::Retry(d),
            RetryDecision::GiveUp => Next::Finish(ClientError::from_transport(self.operation, error)),
        }
    }

    /// After a response that is not the success it waits for: `Some(delay)` to
    /// send again (a 429, 502, 503 or 504 with attempts left), `None` to report it.
    pub fn after_response<B>(&mut self, response: &http::Response<B>, now: DateTime<Utc>) -> Option<Duration> {
        let status = response.status().as_u16();
        if !crate::retry::is_retryable_status(status) {
            return None;
        }
        let failure = Failure::Status {
            status,
            retry_after: crate::operations::retry_after(response.headers()),
        };
        match self.after(&failure, now) {
            RetryDecision::RetryAfter(d) => Some(d),
            RetryDecision::GiveUp => None,
        }
    }
}

impl Failure {
    /// The failure a transport error kind stands for.
    pub fn from_transport(kind: TransportErrorKind) -> Self {
        if kind.request_not_sent() {
            Failure::ConnectFailed
        } else {
            Failure::NoResponse
        }
    }
}

/// What went wrong in a client call. `E` is the transport's own error.
///
/// Messages say what happened and what to do, and never contain the credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError<E: std::error::Error + 'static> {
    /// The request was refused before anything was sent (another origin, an
    /// export that is not completed).
    #[error(transparent)]
    Refused(#[from] BuildError),
    /// The connection failed or broke.
    #[error("{}", transport_message(.operation, .sent, .source))]
    Transport {
        /// The operation.
        operation: Operation,
        /// Whether the request may have reached the server.
        sent: bool,
        /// The transport's error.
        #[source]
        source: E,
    },
    /// The connection broke while the response body was being read.
    #[error("{} failed: the connection broke while reading the response ({source}){}", op_name(.operation), create_hint(.operation, &true))]
    Body {
        /// The operation.
        operation: Operation,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("{}", timeout_message(.operation, .sent))]
    Timeout {
        /// The operation.
        operation: Operation,
        /// Whether the request may have reached the server.
        sent: bool,
    },
    /// The API answered with an error (after any retries).
    #[error("{}", api_message(.operation, .error))]
    Api {
        /// The operation.
        operation: Operation,
        /// What the API said.
        error: ApiError,
    },
    /// The JSON response was larger than allowed.
    #[error("the {} response exceeded {limit} bytes; raise max_json_bytes if this is expected{}", op_name(.operation), create_hint(.operation, &true))]
    ResponseTooLarge {
        /// The operation.
        operation: Operation,
        /// The limit.
        limit: u64,
    },
    /// The downloaded file is not intact; nothing was kept.
    #[error("download integrity check failed: {0}; nothing was kept, try again")]
    Integrity(#[from] IntegrityError),
    /// The destination could not be written.
    #[error("could not write {}: {source}", .path.as_ref().map_or_else(|| "the output".to_owned(), |p| p.display().to_string()))]
    Write {
        /// The target path, if a file.
        path: Option<PathBuf>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The target file exists and overwriting was not asked for.
    #[error("{} already exists; choose another path or allow overwriting", .0.display())]
    FileExists(PathBuf),
    /// `wait` gave up.
    #[error("export {id} did not complete within {}s (last status: {})", .waited.as_secs(), .last_status.as_ref().map_or("unknown", |s| s.as_str()))]
    WaitTimedOut {
        /// The export.
        id: ExportId,
        /// The last status seen.
        last_status: Option<ExportStatus>,
        /// How long it waited.
        waited: Duration,
    },
}

impl<E: TransportError> ClientError<E> {
    /// The error for a failed `send` of `operation`: a timeout, or a transport
    /// failure that says whether the request may have been sent.
    pub fn from_transport(operation: Operation, error: E) -> Self {
        let kind = error.kind();
        if kind == TransportErrorKind::Timeout {
            ClientError::Timeout { operation, sent: true }
        } else {
            ClientError::Transport {
                operation,
                sent: !kind.request_not_sent(),
                source: error,
            }
        }
    }
}

impl<E: std::error::Error + 'static> ClientError<E> {
    /// The error for a response body that could not be read.
    pub fn from_body_read(operation: Operation, error: std::io::Error) -> Self {
        if matches!(
            error.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) {
            ClientError::Timeout { operation, sent: true }
        } else {
            ClientError::Body {
                operation,
                source: error,
            }
        }
    }

    /// The API's error, if the API answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether a create may have created the export despite this error.
    pub fn export_may_exist(&self) -> bool {
        match self {
            ClientError::Transport { operation, sent, .. } | ClientError::Timeout { operation, sent } => {
                *operation == Operation::Create && *sent
            }
            ClientError::Api { operation, error } => {
                *operation == Operation::Create
                    && matches!(error, ApiError::Server { .. } | ApiError::Unexpected { .. })
            }
            ClientError::ResponseTooLarge { operation, .. } | ClientError::Body { operation, .. } => {
                *operation == Operation::Create
            }
            _ => false,
        }
    }
}

impl<E: std::error::Error + 'static> From<SinkError> for ClientError<E> {
    fn from(e: SinkError) -> Self {
        match e {
            SinkError::Integrity(i) => ClientError::Integrity(i),
            SinkError::Write(source) => ClientError::Write { path: None, source },
        }
    }
}

fn op_name(op: &Operation) -> &'static str {
    match op {
        Operation::Create => "create",
        Operation::Get => "get",
        Operation::List => "list",
        Operation::Update => "update",
        Operation::Download => "download",
    }
}

fn create_hint(op: &Operation, sent: &bool) -> &'static str {
    if *op == Operation::Create && *sent {
        " - the export may have been created anyway: it was not retried; look for it by listing with its external_reference_id before creating it again"
    } else {
        ""
    }
}

fn transport_message(op: &Operation, sent: &bool, source: &dyn std::error::Error) -> String {
    let what = if *sent {
        "the connection failed"
    } else {
        "could not connect"
    };
    format!("{} failed: {what} ({source}){}", op_name(op), create_hint(op, sent))
}

fn timeout_message(op: &Operation, sent: &bool) -> String {
    format!("{} timed out waiting for the API{}", op_name(op), create_hint(op, sent))
}

fn api_message(op: &Operation, error: &ApiError) -> String {
    let hint = match error {
        ApiError::Server { .. } | ApiError::Unexpected { .. } => create_hint(op, &true),
        _ => "",
    };
    format!("{} failed: {error}{hint}", op_name(op))
}

impl fmt::Display for Timeouts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connect {:?}, request {:?}, stall {:?}",
            self.connect, self.request, self.stall
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset")]
    struct Reset;

    #[test]
    fn builder_defaults_and_errors() {
        let o = ClientOptions::builder().api_key("k").build().unwrap();
        assert_eq!(o.config.base_url().to_string(), "https://api.didww.com/v3");
        assert_eq!(o.retry.max_attempts, 4);
        assert_eq!(o.max_json_bytes, DEFAULT_MAX_JSON_BYTES);
        assert!(matches!(
            ClientOptions::builder().build(),
            Err(ConfigError::MissingCredential)
        ));
        assert!(matches!(
            ClientOptions::builder().api_key("").build(),
            Err(ConfigError::Credential(_))
        ));
        assert!(matches!(
            ClientOptions::builder().api_key("k").base_url("nope").build(),
            Err(ConfigError::BaseUrl(_))
        ));
        assert!(matches!(
            ClientOptions::builder().api_key("k").api_version("x").build(),
            Err(ConfigError::ApiVersion(_))
        ));
        assert!(matches!(
            ClientOptions::builder().bearer_token("t").build(),
            Err(ConfigError::BearerNeedsNewerVersion { .. })
        ));
        let o = ClientOptions::builder()
            .bearer_token("t")
            .api_version("2026-11-19")
            .environment(Environment::Sandbox)
            .user_agent("billing-job/1.0")
            .build()
            .unwrap();
        assert_eq!(o.config.user_agent_header(), "billing-job/1.0");
        let err = ClientOptions::builder()
            .api_key("super-secret")
            .base_url("x")
            .build()
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("super-secret"));
    }

    #[test]
    fn retrier_counts_attempts() {
        let mut r = Retrier::new(&RetryPolicy::default(), Operation::Get, 7);
        let now = DateTime::<Utc>::from_timestamp(1_765_000_000, 0).unwrap();
        let fail = Failure::Status {
            status: 503,
            retry_after: None,
        };
        assert!(matches!(r.after(&fail, now), RetryDecision::RetryAfter(_)));
        assert!(matches!(r.after(&fail, now), RetryDecision::RetryAfter(_)));
        assert!(matches!(r.after(&fail, now), RetryDecision::RetryAfter(_)));
        assert_eq!(r.attempt(), 4);
        assert_eq!(r.after(&fail, now), RetryDecision::GiveUp);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("refused")]
    struct Refused;
    impl TransportError for Refused {
        fn kind(&self) -> TransportErrorKind {
            TransportErrorKind::Connect
        }
    }

    #[test]
    fn retrier_steps_for_client_loops() {
        let now = DateTime::<Utc>::from_timestamp(1_765_000_000, 0).unwrap();
        let retriers = Retriers::new(1);
        let mut r = retriers.start(&RetryPolicy::default(), Operation::Get);
        let busy = http::Response::builder()
            .status(503)
            .header("retry-after", "2")
            .body(())
            .unwrap();
        assert_eq!(r.after_response(&busy, now), Some(Duration::from_secs(2)));
        let missing = http::Response::builder().status(404).body(()).unwrap();
        assert_eq!(r.after_response(&missing, now), None, "a 404 is reported, not retried");
        assert!(matches!(r.after_send_error(Refused, now), Next::Retry(_)));
        assert!(matches!(r.after_send_error(Refused, now), Next::Retry(_)));
        assert!(matches!(
            r.after_send_error(Refused, now),
            Next::Finish(ClientError::Transport {
                sent: false,
                operation: Operation::Get,
                ..
            })
        ));
        let mut create = retriers.start(&RetryPolicy::default(), Operation::Create);
        assert_eq!(
            create.after_response(&busy, now),
            None,
            "a create answered 503 is not replayed"
        );
    }

    #[test]
    fn create_errors_say_the_export_may_exist() {
        let e: ClientError<Reset> = ClientError::Transport {
            operation: Operation::Create,
            sent: true,
            source: Reset,
        };
        assert!(e.export_may_exist());
        assert!(e.to_string().contains("may have been created"));
        let e: ClientError<Reset> = ClientError::Transport {
            operation: Operation::Create,
            sent: false,
            source: Reset,
        };
        assert!(!e.export_may_exist());
        let e: ClientError<Reset> = ClientError::Api {
            operation: Operation::Create,
            error: ApiError::Server {
                status: 503,
                errors: vec![],
                excerpt: crate::BodyExcerpt::new(b""),
            },
        };
        assert!(e.to_string().contains("external_reference_id"));
        let e: ClientError<Reset> = ClientError::Api {
            operation: Operation::Create,
            error: ApiError::Rejected {
                status: 422,
                errors: vec![],
            },
        };
        assert!(!e.export_may_exist());
        let e: ClientError<Reset> = ClientError::Timeout {
            operation: Operation::Get,
            sent: true,
        };
        assert_eq!(e.to_string(), "get timed out waiting for the API");
    }
}
