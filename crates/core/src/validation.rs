//! The rules a create (or update) request must satisfy, checked before it is
//! sent, and by the emulator exactly as by the client.
//!
//! Every violation names the field as the JSON:API pointer the server would
//! use (`/data/attributes/filters/from`) and the rule with structured fields.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{DidNumberError, UuidError};
use crate::time::{TimeError, format_time};

/// JSON:API pointers of the fields a request can be wrong in.
pub mod pointer {
    /// The whole primary data.
    pub const DATA: &str = "/data";
    /// `data.type`.
    pub const TYPE: &str = "/data/type";
    /// `data.id`.
    pub const ID: &str = "/data/id";
    /// `data.attributes`.
    pub const ATTRIBUTES: &str = "/data/attributes";
    /// `export_type`.
    pub const EXPORT_TYPE: &str = "/data/attributes/export_type";
    /// `filters`.
    pub const FILTERS: &str = "/data/attributes/filters";
    /// `filters.from`.
    pub const FROM: &str = "/data/attributes/filters/from";
    /// `filters.to`.
    pub const TO: &str = "/data/attributes/filters/to";
    /// `filters.did_number`.
    pub const DID_NUMBER: &str = "/data/attributes/filters/did_number";
    /// `filters["voice_out_trunk.id"]` (a flat key containing a dot).
    pub const VOICE_OUT_TRUNK_ID: &str = "/data/attributes/filters/voice_out_trunk.id";
    /// `callback_url`.
    pub const CALLBACK_URL: &str = "/data/attributes/callback_url";
    /// `callback_method`.
    pub const CALLBACK_METHOD: &str = "/data/attributes/callback_method";
    /// `external_reference_id`.
    pub const EXTERNAL_REFERENCE_ID: &str = "/data/attributes/external_reference_id";
}

/// What is wrong with a callback URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackUrlProblem {
    /// Not an absolute URL at all.
    NotAbsoluteUrl,
    /// A scheme other than http or https.
    UnsupportedScheme {
        /// The scheme given.
        scheme: String,
    },
    /// No host.
    NoHost,
}

/// One rule a request breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A required field is absent or null.
    Missing,
    /// A field has the wrong JSON type.
    WrongType {
        /// What it should be, e.g. `"a string"`.
        expected: &'static str,
    },
    /// A value outside the allowed set.
    NotAllowedValue {
        /// The value given.
        value: String,
        /// The values allowed.
        allowed: &'static [&'static str],
    },
    /// A time that cannot be read.
    InvalidTime(TimeError),
    /// `from` is older than the data DIDWW keeps (the current month and the two before it, UTC).
    BeforeRetentionWindow {
        /// The `from` given.
        from: DateTime<Utc>,
        /// The earliest `from` accepted at validation time.
        earliest: DateTime<Utc>,
    },
    /// `from` is not strictly before `to`.
    FromNotBeforeTo {
        /// The `from` given.
        from: DateTime<Utc>,
        /// The `to` given.
        to: DateTime<Utc>,
    },
    /// A string longer than allowed (in characters).
    TooLong {
        /// Characters given.
        len: usize,
        /// Characters allowed.
        max: usize,
    },
    /// Not a DID number.
    DidNumber(DidNumberError),
    /// Not a UUID.
    NotUuid(UuidError),
    /// `callback_method` was given without `callback_url`.
    CallbackMethodWithoutUrl,
    /// `callback_url` is not an absolute http or https URL.
    CallbackUrl(CallbackUrlProblem),
    /// A filter that this export type does not take.
    FilterNotAllowed {
        /// The filter's key.
        filter: String,
        /// The export type given.
        export_type: String,
        /// The filters this export type takes.
        allowed: &'static [&'static str],
    },
    /// An attribute that cannot be changed after creation.
    ReadOnly,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Missing => f.write_str("is required"),
            Rule::WrongType { expected } => write!(f, "must be {expected}"),
            Rule::NotAllowedValue { value, allowed } => {
                write!(f, "must be one of {}, got {value:?}", allowed.join(", "))
            }
            Rule::InvalidTime(err) => fmt::Display::fmt(err, f),
            Rule::BeforeRetentionWindow { from, earliest } => write!(
                f,
                "must not be earlier than {} (DIDWW keeps CDRs for the current month and the two before it), got {}",
                format_time(earliest),
                format_time(from)
            ),
            Rule::FromNotBeforeTo { from, to } => write!(
                f,
                "must be before filters.to ({}), got {}",
                format_time(to),
                format_time(from)
            ),
            Rule::TooLong { len, max } => {
                write!(f, "must be at most {max} characters long, got {len}")
            }
            Rule::DidNumber(err) => fmt::Display::fmt(err, f),
            Rule::NotUuid(err) => fmt::Display::fmt(err, f),
            Rule::CallbackMethodWithoutUrl => f.write_str("needs callback_url: there is nothing to call without it"),
            Rule::CallbackUrl(CallbackUrlProblem::NotAbsoluteUrl) => {
                f.write_str("must be an absolute http or https URL")
            }
            Rule::CallbackUrl(CallbackUrlProblem::UnsupportedScheme { scheme }) => {
                write!(f, "must use http or https, got {scheme:?}")
            }
            Rule::CallbackUrl(CallbackUrlProblem::NoHost) => f.write_str("must name a host"),
            Rule::FilterNotAllowed {
                filter,
                export_type,
                allowed,
            } => write!(
                f,
                "is not a filter of {export_type} exports (allowed: {}); got {filter:?}",
                allowed.join(", ")
            ),
            Rule::ReadOnly => f.write_str("cannot be changed; only external_reference_id can"),
        }
    }
}

/// A rule broken by one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, as a JSON:API pointer (`/data/attributes/filters/from`).
    pub pointer: String,
    /// The rule.
    pub rule: Rule,
}

impl Violation {
    /// A violation of `rule` at `pointer`.
    pub fn new(pointer: impl Into<String>, rule: Rule) -> Self {
        Violation {
            pointer: pointer.into(),
            rule,
        }
    }

    /// The field in the dotted form people write (`filters.from`).
    pub fn field(&self) -> String {
        field_name(&self.pointer)
    }
}

/// The dotted name of a JSON:API pointer: `/data/attributes/filters/from` is
/// `filters.from`; `~1` and `~0` are unescaped.
pub fn field_name(pointer: &str) -> String {
    let rest = pointer
        .strip_prefix("/data/attributes/")
        .or_else(|| pointer.strip_prefix("/data/"))
        .or_else(|| pointer.strip_prefix('/'))
        .unwrap_or(pointer);
    if rest.is_empty() {
        return "data".to_owned();
    }
    rest.split('/')
        .map(|part| part.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field(), self.rule)
    }
}

/// Every rule a request breaks, in the order of the fields in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    violations: Vec<Violation>,
}

impl ValidationErrors {
    /// Wraps a non-empty list; `None` when it is empty.
    pub fn from_violations(violations: Vec<Violation>) -> Option<Self> {
        (!violations.is_empty()).then_some(ValidationErrors { violations })
    }

    /// A single violation.
    pub fn single(violation: Violation) -> Self {
        ValidationErrors {
            violations: vec![violation],
        }
    }

    /// The violations.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Whether some violation is at `pointer` and satisfies `pred`.
    pub fn has(&self, pointer: &str, pred: impl Fn(&Rule) -> bool) -> bool {
        self.violations.iter().any(|v| v.pointer == pointer && pred(&v.rule))
    }
}

impl IntoIterator for ValidationErrors {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.violations.into_iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.violations.as_slice() {
            [one] => write!(f, "invalid request: {one}"),
            many => {
                write!(f, "invalid request ({} problems):", many.len())?;
                for v in many {
                    write!(f, "\n  - {v}")?;
                }
                Ok(())
            }
        }
    }
}

/// Checks a callback URL: absolute, http or https, with a host.
pub fn check_callback_url(value: &str) -> Result<url::Url, CallbackUrlProblem> {
    let url = url::Url::parse(value).map_err(|_| CallbackUrlProblem::NotAbsoluteUrl)?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(CallbackUrlProblem::UnsupportedScheme {
            scheme: url.scheme().to_owned(),
        });
    }
    match url.host_str() {
        Some(host) if !host.is_empty() => Ok(url),
        _ => Err(CallbackUrlProblem::NoHost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_from_pointers() {
        assert_eq!(field_name(pointer::FROM), "filters.from");
        assert_eq!(field_name(pointer::VOICE_OUT_TRUNK_ID), "filters.voice_out_trunk.id");
        assert_eq!(field_name(pointer::TYPE), "type");
        assert_eq!(field_name(pointer::DATA), "data");
        assert_eq!(field_name("/data/attributes/a~1b"), "a/b");
    }

    #[test]
    fn callback_urls() {
        assert!(check_callback_url("https://example.com/cb?x=1").is_ok());
        assert!(check_callback_url("http://127.0.0.1:8080/").is_ok());
        assert_eq!(check_callback_url("/relative"), Err(CallbackUrlProblem::NotAbsoluteUrl));
        assert_eq!(
            check_callback_url("ftp://example.com/"),
            Err(CallbackUrlProblem::UnsupportedScheme { scheme: "ftp".into() })
        );
        assert!(check_callback_url("mailto:a@b.c").is_err());
        assert!(check_callback_url("http://").is_err());
    }

    #[test]
    fn messages_name_field_and_rule() {
        let v = Violation::new(pointer::EXTERNAL_REFERENCE_ID, Rule::TooLong { len: 101, max: 100 });
        assert_eq!(
            v.to_string(),
            "external_reference_id must be at most 100 characters long, got 101"
        );
    }
}
