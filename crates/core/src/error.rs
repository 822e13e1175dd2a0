//! What an API response can mean when it is not the expected success.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::jsonapi::ErrorObject;

/// At most this many bytes of an unexpected body are kept for messages.
pub const EXCERPT_LIMIT: usize = 512;

/// The start of a response body, bounded and made printable, for error messages.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BodyExcerpt {
    text: String,
    truncated: bool,
}

impl BodyExcerpt {
    /// The first [`EXCERPT_LIMIT`] bytes of `body`, with control characters
    /// (other than newlines and tabs) replaced.
    pub fn new(body: &[u8]) -> Self {
        let truncated = body.len() > EXCERPT_LIMIT;
        let head = &body[..body.len().min(EXCERPT_LIMIT)];
        let text = String::from_utf8_lossy(head)
            .chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect();
        BodyExcerpt { text, truncated }
    }

    /// The excerpt.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the body was longer than the excerpt.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for BodyExcerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one_line: String = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.is_empty() {
            f.write_str("(empty body)")
        } else if self.truncated {
            write!(f, "{one_line}...")
        } else {
            f.write_str(&one_line)
        }
    }
}

impl fmt::Debug for BodyExcerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// A `Retry-After` header: seconds to wait, or a date to wait until.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 3`.
    Seconds(u64),
    /// `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`.
    Date(DateTime<Utc>),
}

impl RetryAfter {
    /// Reads the header value (delay-seconds or an HTTP date); `None` if it is neither.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // Absurdly long digit strings saturate rather than fail.
            return Some(RetryAfter::Seconds(value.parse().unwrap_or(u64::MAX)));
        }
        DateTime::parse_from_rfc2822(value)
            .ok()
            .map(|t| RetryAfter::Date(t.with_timezone(&Utc)))
    }

    /// How long to wait from `now` (zero for a date in the past).
    pub fn delay(&self, now: DateTime<Utc>) -> Duration {
        match *self {
            RetryAfter::Seconds(s) => Duration::from_secs(s),
            RetryAfter::Date(t) => (t - now).to_std().unwrap_or(Duration::ZERO),
        }
    }
}

/// A response that is not the success the operation expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 401 or 403: the credential was refused.
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The server's errors.
        errors: Vec<ErrorObject>,
    },
    /// 404: no such export (or file).
    NotFound {
        /// The server's errors (DIDWW sends none for a missing file).
        errors: Vec<ErrorObject>,
    },
    /// 400, 409 or 422: the API rejected the request.
    Rejected {
        /// The status.
        status: u16,
        /// The server's errors, each with its detail and source pointer.
        errors: Vec<ErrorObject>,
    },
    /// 429: too many requests.
    RateLimited {
        /// When to try again, if the server said.
        retry_after: Option<RetryAfter>,
        /// The server's errors.
        errors: Vec<ErrorObject>,
    },
    /// 5xx.
    Server {
        /// The status.
        status: u16,
        /// The server's errors, when the body was a JSON:API error document.
        errors: Vec<ErrorObject>,
        /// The start of the body otherwise.
        excerpt: BodyExcerpt,
    },
    /// A response this client cannot read: a wrong content type, an unexpected
    /// status, or a body that does not parse.
    Unexpected {
        /// The status.
        status: u16,
        /// The `Content-Type`, if any.
        content_type: Option<String>,
        /// What is wrong with it.
        problem: String,
        /// The start of the body.
        excerpt: BodyExcerpt,
    },
}

fn write_details(f: &mut fmt::Formatter<'_>, errors: &[ErrorObject]) -> fmt::Result {
    for (i, e) in errors.iter().enumerate() {
        f.write_str(if i == 0 { ": " } else { "; " })?;
        f.write_str(&e.summary())?;
    }
    Ok(())
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unauthorized { status, errors } => {
                write!(f, "the API refused the credential ({status})")?;
                write_details(f, errors)?;
                f.write_str(" - check the API key and that it belongs to this environment (production or sandbox)")
            }
            ApiError::NotFound { errors } => {
                f.write_str("not found (404)")?;
                write_details(f, errors)
            }
            ApiError::Rejected { status, errors } => {
                write!(f, "the API rejected the request ({status})")?;
                write_details(f, errors)
            }
            ApiError::RateLimited { retry_after, errors } => {
                f.write_str("rate limited by the API (429)")?;
                match retry_after {
                    Some(RetryAfter::Seconds(s)) => write!(f, ", retry after {s}s")?,
                    Some(RetryAfter::Date(t)) => write!(f, ", retry after {}", t.to_rfc3339())?,
                    None => {}
                }
                write_details(f, errors)
            }
            ApiError::Server {
                status,
                errors,
                excerpt,
            } => {
                write!(f, "server error ({status})")?;
                if errors.is_empty() {
                    write!(f, ": {excerpt}")
                } else {
                    write_details(f, errors)
                }
            }
            ApiError::Unexpected {
                status,
                content_type,
                problem,
                excerpt,
            } => write!(
                f,
                "unexpected response (status {status}, content type {}): {problem}; body: {excerpt}",
                content_type.as_deref().unwrap_or("none")
            ),
        }
    }
}

impl ApiError {
    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized { status, .. }
            | ApiError::Rejected { status, .. }
            | ApiError::Server { status, .. }
            | ApiError::Unexpected { status, .. } => *status,
            ApiError::NotFound { .. } => 404,
            ApiError::RateLimited { .. } => 429,
        }
    }

    /// The server's JSON:API errors (empty when it sent none).
    pub fn errors(&self) -> &[ErrorObject] {
        match self {
            ApiError::Unauthorized { errors, .. }
            | ApiError::NotFound { errors }
            | ApiError::Rejected { errors, .. }
            | ApiError::RateLimited { errors, .. }
            | ApiError::Server { errors, .. } => errors,
            ApiError::Unexpected { .. } => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_forms() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(RetryAfter::parse("3"), Some(RetryAfter::Seconds(3)));
        assert_eq!(RetryAfter::parse(" 0 "), Some(RetryAfter::Seconds(0)));
        assert_eq!(
            RetryAfter::parse("99999999999999999999999").unwrap().delay(now),
            Duration::from_secs(u64::MAX)
        );
        let date = RetryAfter::parse("Wed, 21 Oct 2015 07:28:05 GMT").unwrap();
        assert_eq!(date.delay(now), Duration::from_secs(5));
        assert_eq!(date.delay(now + chrono::Duration::hours(1)), Duration::ZERO);
        for bad in ["", "-1", "1.5", "soon", "3 s"] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn excerpts_are_bounded_and_printable() {
        let long = vec![b'a'; 10_000];
        let e = BodyExcerpt::new(&long);
        assert_eq!(e.as_str().len(), EXCERPT_LIMIT);
        assert!(e.is_truncated());
        assert!(e.to_string().ends_with("..."));
        let e = BodyExcerpt::new(b"<html>\x1b[31m 502 \xff</html>");
        assert!(!e.as_str().contains('\x1b'));
        assert_eq!(BodyExcerpt::new(b"").to_string(), "(empty body)");
    }

    #[test]
    fn messages_carry_the_server_detail() {
        let err = ApiError::Rejected {
            status: 422,
            errors: vec![
                ErrorObject::new("is invalid", "filters.from - is invalid", "100", 422)
                    .with_pointer("/data/attributes/filters/from"),
            ],
        };
        assert_eq!(
            err.to_string(),
            "the API rejected the request (422): filters.from - is invalid (at /data/attributes/filters/from)"
        );
        let err = ApiError::Unauthorized {
            status: 401,
            errors: vec![ErrorObject::unauthorized()],
        };
        assert!(err.to_string().contains("Authorization failed"));
    }
}
