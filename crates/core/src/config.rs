//! What a client needs to talk to DIDWW: base URL, API version, credential, user agent.

use std::fmt;

use url::Url;

use crate::secret::Credential;

/// A DIDWW environment with a published base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// `https://api.didww.com/v3`.
    Production,
    /// `https://sandbox-api.didww.com/v3`.
    Sandbox,
}

impl Environment {
    /// The environment's base URL.
    pub fn base_url(self) -> BaseUrl {
        let url = match self {
            Environment::Production => "https://api.didww.com/v3",
            Environment::Sandbox => "https://sandbox-api.didww.com/v3",
        };
        // Both constants are valid base URLs.
        BaseUrl::parse(url).unwrap_or_else(|_| unreachable!("constant base URL"))
    }
}

/// Why a string cannot be a base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// Not an absolute URL.
    #[error("must be an absolute URL such as https://api.didww.com/v3")]
    NotAbsolute,
    /// Neither http nor https.
    #[error("must use http or https, got {0:?}")]
    UnsupportedScheme(String),
    /// Holds a user name or password (credentials go in headers, never URLs).
    #[error("must not contain a user name or password")]
    HasCredentials,
    /// Holds a query or fragment.
    #[error("must not contain a query (?...) or fragment (#...)")]
    HasQueryOrFragment,
}

/// The API root, e.g. `https://api.didww.com/v3` (no trailing slash).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(Url);

impl BaseUrl {
    /// Validates a base URL.
    pub fn parse(value: &str) -> Result<Self, BaseUrlError> {
        let mut url = Url::parse(value.trim()).map_err(|_| BaseUrlError::NotAbsolute)?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(BaseUrlError::UnsupportedScheme(url.scheme().to_owned()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(BaseUrlError::NotAbsolute);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BaseUrlError::HasCredentials);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BaseUrlError::HasQueryOrFragment);
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        Ok(BaseUrl(url))
    }

    /// The URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The URL of `segments` under the base, each segment percent-encoded.
    pub fn join(&self, segments: &[&str]) -> Url {
        let mut url = self.0.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({self})")
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = BaseUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Environment> for BaseUrl {
    fn from(env: Environment) -> Self {
        env.base_url()
    }
}

/// An API version, sent as `X-DIDWW-API-Version`: a date, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion(String);

/// An API version that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("API version must be a date like 2026-04-16, got {0:?}")]
pub struct ApiVersionError(pub String);

impl ApiVersion {
    /// The version this crate speaks by default (the seed response's `meta.api_version`).
    pub const DEFAULT: &'static str = "2026-04-16";
    /// The first version that takes a bearer token instead of `Api-Key`.
    pub const BEARER: &'static str = "2026-11-19";
    /// Versions DIDWW has published.
    pub const KNOWN: &'static [&'static str] = &[
        "2017-09-18",
        "2021-04-19",
        "2021-12-15",
        "2022-05-10",
        "2026-04-16",
        "2026-11-19",
    ];

    /// Validates a version date.
    pub fn new(value: &str) -> Result<Self, ApiVersionError> {
        let v = value.trim();
        match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(_) if v.len() == 10 => Ok(ApiVersion(v.to_owned())),
            _ => Err(ApiVersionError(value.chars().take(64).collect())),
        }
    }

    /// The version string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this version authenticates with a bearer token.
    pub fn uses_bearer(&self) -> bool {
        self.0.as_str() >= Self::BEARER
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        ApiVersion(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ApiVersion {
    type Err = ApiVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A bearer token with an API version before 2026-11-19.
    #[error(
        "a bearer token needs API version {} or later, got {version}; use an API key with this version",
        ApiVersion::BEARER
    )]
    BearerNeedsNewerVersion {
        /// The configured version.
        version: String,
    },
    /// A user agent that cannot be sent as a header.
    #[error("the user agent must be printable ASCII")]
    InvalidUserAgent,
    /// No API key or token was given.
    #[error("no API key configured")]
    MissingCredential,
    /// The API key or token cannot be used (its value is never shown).
    #[error("the API key {0}")]
    Credential(crate::secret::SecretError),
    /// The base URL is not usable.
    #[error("the base URL {0}")]
    BaseUrl(BaseUrlError),
    /// The API version is not a date.
    #[error(transparent)]
    ApiVersion(ApiVersionError),
}

/// The default `User-Agent`: `didww-exports/<version>`.
pub fn default_user_agent() -> String {
    format!("didww-exports/{}", env!("CARGO_PKG_VERSION"))
}

/// Everything request builders need. `Debug` redacts the credential.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    base_url: BaseUrl,
    api_version: ApiVersion,
    credential: Credential,
    user_agent: http::HeaderValue,
}

impl ClientConfig {
    /// A configuration for `base_url` (an [`Environment`] or a custom URL) with
    /// the default API version and user agent.
    pub fn new(base_url: impl Into<BaseUrl>, credential: Credential) -> Result<Self, ConfigError> {
        Self::with_version(base_url, credential, ApiVersion::default())
    }

    /// A configuration with an explicit API version.
    pub fn with_version(
        base_url: impl Into<BaseUrl>,
        credential: Credential,
        api_version: ApiVersion,
    ) -> Result<Self, ConfigError> {
        if matches!(credential, Credential::Bearer(_)) && !api_version.uses_bearer() {
            return Err(ConfigError::BearerNeedsNewerVersion {
                version: api_version.to_string(),
            });
        }
        Ok(ClientConfig {
            base_url: base_url.into(),
            api_version,
            credential,
            user_agent: http::HeaderValue::from_str(&default_user_agent())
                .map_err(|_| ConfigError::InvalidUserAgent)?,
        })
    }

    /// Replaces the user agent.
    pub fn user_agent(mut self, user_agent: &str) -> Result<Self, ConfigError> {
        if user_agent.is_empty() || !user_agent.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(ConfigError::InvalidUserAgent);
        }
        self.user_agent = http::HeaderValue::from_str(user_agent).map_err(|_| ConfigError::InvalidUserAgent)?;
        Ok(self)
    }

    /// The API root.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }
    /// The API version sent.
    pub fn api_version(&self) -> &ApiVersion {
        &self.api_version
    }
    /// The credential (redacted in `Debug`).
    pub fn credential(&self) -> &Credential {
        &self.credential
    }
    /// The user agent sent.
    pub fn user_agent_header(&self) -> &http::HeaderValue {
        &self.user_agent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            Environment::Production.base_url().to_string(),
            "https://api.didww.com/v3"
        );
        assert_eq!(
            Environment::Sandbox.base_url().to_string(),
            "https://sandbox-api.didww.com/v3"
        );
        let custom = BaseUrl::parse("http://127.0.0.1:12111/v3/").unwrap();
        assert_eq!(custom.to_string(), "http://127.0.0.1:12111/v3");
        assert_eq!(
            custom.join(&["exports", "a b"]).as_str(),
            "http://127.0.0.1:12111/v3/exports/a%20b"
        );
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:1")
                .unwrap()
                .join(&["exports"])
                .as_str(),
            "http://127.0.0.1:1/exports"
        );
        assert_eq!(BaseUrl::parse("v3"), Err(BaseUrlError::NotAbsolute));
        assert!(matches!(
            BaseUrl::parse("ftp://x/v3"),
            Err(BaseUrlError::UnsupportedScheme(_))
        ));
        assert_eq!(BaseUrl::parse("https://u:p@x/v3"), Err(BaseUrlError::HasCredentials));
        assert_eq!(
            BaseUrl::parse("https://x/v3?a=1"),
            Err(BaseUrlError::HasQueryOrFragment)
        );
    }

    #[test]
    fn api_versions() {
        assert_eq!(ApiVersion::default().as_str(), "2026-04-16");
        assert!(ApiVersion::new("2026-11-19").unwrap().uses_bearer());
        assert!(!ApiVersion::new("2022-05-10").unwrap().uses_bearer());
        assert!(ApiVersion::new("2026-4-16").is_err());
        assert!(ApiVersion::new("latest").is_err());
    }

    #[test]
    fn bearer_needs_a_bearer_version() {
        let bearer = Credential::bearer("tok").unwrap();
        assert!(matches!(
            ClientConfig::new(Environment::Production, bearer.clone()),
            Err(ConfigError::BearerNeedsNewerVersion { .. })
        ));
        assert!(
            ClientConfig::with_version(Environment::Production, bearer, ApiVersion::new("2026-11-19").unwrap()).is_ok()
        );
    }

    #[test]
    fn debug_redacts() {
        let cfg = ClientConfig::new(Environment::Sandbox, Credential::api_key("k3y-SECRET").unwrap()).unwrap();
        assert!(!format!("{cfg:?}").contains("k3y-SECRET"));
    }
}
