//! The credential only ever goes to the configured API origin.
//!
//! An export's `url` and a list page's `links.next` come from the server; before
//! a client sends its credential to either, the URL must have the same scheme,
//! host and port as the configured base URL. One SDK once checked this and
//! dropped the check; this crate keeps it.

use std::fmt;

use url::Url;

use crate::config::BaseUrl;

/// Scheme, host and port of a URL (the port always explicit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`, or `None` without a host or known port.
    pub fn of(url: &Url) -> Option<Self> {
        Some(Origin {
            scheme: url.scheme().to_owned(),
            host: url.host()?.to_string(),
            port: url.port_or_known_default()?,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Why a server-given URL will not get the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginError {
    /// Not an absolute URL with a host.
    #[error("the server gave a URL that cannot be used: {reason}")]
    Unusable {
        /// Why.
        reason: String,
    },
    /// Embedded credentials in the URL.
    #[error("refused to follow a URL with a user name or password in it (origin {origin})")]
    HasCredentials {
        /// The URL's origin.
        origin: String,
    },
    /// Another scheme, host or port.
    #[error("refused to send the API credential to {found}: it is not the configured API origin {expected}")]
    Different {
        /// The configured origin.
        expected: String,
        /// The URL's origin.
        found: String,
    },
}

/// Checks that `candidate` (absolute, or relative to the base URL) has the base
/// URL's origin and returns it parsed.
pub fn check_origin(base: &BaseUrl, candidate: &str) -> Result<Url, OriginError> {
    let url = base
        .as_url()
        .join(candidate)
        .map_err(|e| OriginError::Unusable { reason: format!("{e}") })?;
    let found = Origin::of(&url).ok_or_else(|| OriginError::Unusable {
        reason: "it has no host or port".into(),
    })?;
    let expected = Origin::of(base.as_url()).ok_or_else(|| OriginError::Unusable {
        reason: "the base URL has no host".into(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OriginError::HasCredentials {
            origin: found.to_string(),
        });
    }
    if found != expected {
        return Err(OriginError::Different {
            expected: expected.to_string(),
            found: found.to_string(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BaseUrl {
        BaseUrl::parse("https://api.didww.com/v3").unwrap()
    }

    #[test]
    fn same_origin_passes() {
        for ok in [
            "https://api.didww.com/v3/exports/33bdfff7-4de3-4c58-8c90-b99930fb984a.csv.gz",
            "https://API.DIDWW.COM:443/v3/exports/x.csv.gz",
            "/v3/exports?page%5Bnumber%5D=2",
        ] {
            assert!(check_origin(&base(), ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn other_origins_are_refused() {
        for bad in [
            "http://api.didww.com/v3/exports/x.csv.gz",
            "https://api.didww.com:8443/v3/exports/x.csv.gz",
            "https://evil.example/v3/exports/x.csv.gz",
            "https://api.didww.com.evil.example/x",
            "//evil.example/x",
            "https://user:pw@api.didww.com/v3/x",
            "file:///etc/passwd",
        ] {
            assert!(check_origin(&base(), bad).is_err(), "{bad}");
        }
        let err = check_origin(&base(), "https://evil.example/x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused to send the API credential to https://evil.example:443: it is not the configured API origin https://api.didww.com:443"
        );
    }

    #[test]
    fn loopback_ports_matter() {
        let base = BaseUrl::parse("http://127.0.0.1:12111/v3").unwrap();
        assert!(check_origin(&base, "http://127.0.0.1:12111/v3/exports/a.csv.gz").is_ok());
        assert!(check_origin(&base, "http://127.0.0.1:12112/v3/exports/a.csv.gz").is_err());
        assert!(check_origin(&base, "http://localhost:12111/v3/exports/a.csv.gz").is_err());
    }
}
