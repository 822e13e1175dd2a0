//! Errors of the CLI: a message, details, and the documented exit code.

use didww_exports_core::operations::BuildError;
use didww_exports_core::{ApiError, ClientError, ValidationErrors};

pub(crate) const INTERNAL: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const AUTH: u8 = 3;
pub(crate) const NOT_FOUND: u8 = 4;
pub(crate) const REJECTED: u8 = 5;
pub(crate) const FAILURE: u8 = 6;
pub(crate) const NOT_READY: u8 = 7;
pub(crate) const BAD_SIGNATURE: u8 = 8;

/// What went wrong, ready to print: `error: <message>` then the details.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: u8,
    pub(crate) message: String,
    pub(crate) details: Vec<String>,
    /// Print nothing (the output pipe was closed).
    pub(crate) silent: bool,
}

impl CliError {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            details: Vec::new(),
            silent: false,
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    pub(crate) fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    pub(crate) fn invalid(errors: &ValidationErrors) -> Self {
        let details = errors
            .violations()
            .iter()
            .map(|v| format!("{}: {}", v.field(), v.rule))
            .collect();
        CliError::usage(format!(
            "invalid export request ({} problem{}); nothing was sent",
            errors.violations().len(),
            if errors.violations().len() == 1 { "" } else { "s" }
        ))
        .with_details(details)
    }

    pub(crate) fn output(e: std::io::Error) -> Self {
        let silent = e.kind() == std::io::ErrorKind::BrokenPipe;
        CliError {
            silent,
            ..CliError::new(INTERNAL, format!("could not write the output: {e}"))
        }
    }

    /// The exit code and message of a client error, with the server's own
    /// detail (and pointer) for every error it sent.
    pub(crate) fn from_client<E: std::error::Error + 'static>(e: ClientError<E>) -> Self {
        let code = match &e {
            ClientError::Refused(BuildError::NotCompleted { .. }) => NOT_READY,
            ClientError::Refused(_) => FAILURE,
            ClientError::Api { error, .. } => match error {
                ApiError::Unauthorized { .. } => AUTH,
                ApiError::NotFound { .. } => NOT_FOUND,
                ApiError::Rejected { .. } => REJECTED,
                _ => FAILURE,
            },
            ClientError::WaitTimedOut { .. } => NOT_READY,
            ClientError::FileExists(_) => USAGE,
            ClientError::Write { .. } => INTERNAL,
            _ => FAILURE,
        };
        let mut details = Vec::new();
        if let Some(ApiError::Rejected { errors, .. }) = e.api_error() {
            details = errors.iter().map(|err| err.summary()).collect();
        }
        let mut message = e.to_string();
        if let ClientError::FileExists(path) = &e {
            message = format!("{} already exists; use --force to replace it", path.display());
        }
        // The transport's own cause, for network failures.
        if let ClientError::Transport { source, .. } = &e {
            let mut cause = std::error::Error::source(source);
            while let Some(c) = cause {
                details.push(format!("caused by: {c}"));
                cause = c.source();
            }
        }
        CliError {
            code,
            message,
            details,
            silent: false,
        }
    }
}
