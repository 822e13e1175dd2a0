//! Credentials and other secrets as types that never show their value.
//!
//! `Debug` and `Display` print `** redacted **`; the value is only reachable
//! through an explicit `expose_secret()` call, which the request builders make
//! when they set the header and nowhere else.

use std::fmt;

/// Why a string cannot be used as a secret (the error never contains the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The value is empty (or only whitespace).
    #[error("is empty")]
    Empty,
    /// The value holds a character that cannot travel in an HTTP header
    /// (a control character, a space or a non-ASCII character).
    #[error("contains a character that is not allowed in an HTTP header (at character {position})")]
    InvalidCharacter {
        /// 1-based position of the first offending character.
        position: usize,
    },
}

fn check_header_safe(value: &str) -> Result<(), SecretError> {
    if value.trim().is_empty() {
        return Err(SecretError::Empty);
    }
    match value.chars().position(|c| !c.is_ascii_graphic()) {
        Some(index) => Err(SecretError::InvalidCharacter { position: index + 1 }),
        None => Ok(()),
    }
}

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret, rejecting values that cannot be sent in an HTTP header.
            pub fn new(value: impl Into<String>) -> Result<Self, SecretError> {
                let value = value.into();
                check_header_safe(&value)?;
                Ok(Self(value))
            }

            /// The secret itself. Call it only where the value must leave the program.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(** redacted **)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("** redacted **")
            }
        }

        impl std::str::FromStr for $name {
            type Err = SecretError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

secret_type!(
    /// A DIDWW API key, sent as the `Api-Key` header.
    ApiKey
);
secret_type!(
    /// A bearer token, sent as `Authorization: Bearer <token>` (API version 2026-11-19 and later).
    BearerToken
);
secret_type!(
    /// The secret DIDWW signs callbacks with (older accounts use the API key).
    CallbackSecret
);

impl From<ApiKey> for CallbackSecret {
    /// Older accounts sign callbacks with their API key.
    fn from(key: ApiKey) -> Self {
        CallbackSecret(key.0)
    }
}

/// How requests authenticate. Both forms redact themselves.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// `Api-Key: <key>`, the credential of every API version up to 2026-04-16.
    ApiKey(ApiKey),
    /// `Authorization: Bearer <token>`, accepted from API version 2026-11-19 on.
    /// How the token is obtained is outside this crate.
    Bearer(BearerToken),
}

impl Credential {
    /// An API key credential.
    pub fn api_key(key: impl Into<String>) -> Result<Self, SecretError> {
        ApiKey::new(key).map(Credential::ApiKey)
    }

    /// A bearer token credential.
    pub fn bearer(token: impl Into<String>) -> Result<Self, SecretError> {
        BearerToken::new(token).map(Credential::Bearer)
    }

    /// The header name and value this credential is sent as. The value is marked
    /// sensitive so that `http`'s own `Debug` output hides it as well.
    pub fn header(&self) -> (http::HeaderName, http::HeaderValue) {
        let (name, value) = match self {
            Credential::ApiKey(key) => (
                http::HeaderName::from_static("api-key"),
                http::HeaderValue::from_str(key.expose_secret()),
            ),
            Credential::Bearer(token) => (
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())),
            ),
        };
        // Both secret types only hold visible ASCII, which is always a valid header value.
        let mut value = value.unwrap_or_else(|_| http::HeaderValue::from_static(""));
        value.set_sensitive(true);
        (name, value)
    }

    /// The secret itself, for comparisons (the emulator checks keys with it).
    pub fn expose_secret(&self) -> &str {
        match self {
            Credential::ApiKey(key) => key.expose_secret(),
            Credential::Bearer(token) => token.expose_secret(),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ApiKey(_) => f.write_str("Credential::ApiKey(** redacted **)"),
            Credential::Bearer(_) => f.write_str("Credential::Bearer(** redacted **)"),
        }
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let key = ApiKey::new("s3cr3t-KEY").unwrap();
        let cred = Credential::ApiKey(key.clone());
        let bearer = Credential::bearer("tok-123").unwrap();
        let secret = CallbackSecret::new("cb-secret").unwrap();
        for text in [
            format!("{key:?}"),
            format!("{key}"),
            format!("{cred:?}"),
            format!("{cred}"),
            format!("{bearer:?}"),
            format!("{secret:?} {secret}"),
            format!("{:?}", cred.header()),
        ] {
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(!text.contains("tok-123"), "{text}");
            assert!(!text.contains("cb-secret"), "{text}");
        }
    }

    #[test]
    fn headers() {
        let (name, value) = Credential::api_key("abc").unwrap().header();
        assert_eq!(name.as_str(), "api-key");
        assert_eq!(value.to_str().unwrap(), "abc");
        assert!(value.is_sensitive());
        let (name, value) = Credential::bearer("t0k").unwrap().header();
        assert_eq!(name, http::header::AUTHORIZATION);
        assert_eq!(value.to_str().unwrap(), "Bearer t0k");
    }

    #[test]
    fn rejects_unsendable_values_without_echoing_them() {
        assert_eq!(ApiKey::new(""), Err(SecretError::Empty));
        assert_eq!(ApiKey::new("  "), Err(SecretError::Empty));
        assert_eq!(
            ApiKey::new("ab\ncd"),
            Err(SecretError::InvalidCharacter { position: 3 })
        );
        let err = ApiKey::new("secret value").unwrap_err().to_string();
        assert!(!err.contains("secret"));
    }
}
