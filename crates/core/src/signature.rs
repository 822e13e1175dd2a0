//! DIDWW callback signatures: `X-DIDWW-Signature`, lowercase hex HMAC-SHA1.
//!
//! The signed string is the normalized URL followed by every payload pair as
//! `key` then `value`, pairs in byte order of their keys, no separators. The
//! URL is normalized to `scheme://[userinfo@]host:port` + raw path + `?query` +
//! `#fragment`, the port always written. The key is the account's callback
//! secret (older accounts: the API key).
//!
//! Receiving a callback in any web framework takes one call:
//!
//! ```
//! use didww_exports_core::signature::{sign, verify_callback, CallbackRequest};
//! use didww_exports_core::CallbackSecret;
//!
//! let secret = CallbackSecret::new("my-callback-secret").unwrap();
//! // What DIDWW sends for a POST callback (computed here to make the example whole):
//! let body = b"id=33bdfff7-4de3-4c58-8c90-b99930fb984a&type=exports&status=completed";
//! let url = "https://example.com/didww/callback";
//! let pairs = [("id", "33bdfff7-4de3-4c58-8c90-b99930fb984a"), ("type", "exports"), ("status", "completed")];
//! let header = sign(&secret, url, pairs).unwrap();
//!
//! // In the handler: method, URL as called, form body, signature header.
//! let callback = verify_callback(&secret, &CallbackRequest {
//!     method: "POST",
//!     url,
//!     body,
//!     signature: Some(&header),
//! }).expect("valid callback");
//! assert!(callback.status.is_completed());
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::export::ExportStatus;
use crate::ids::ExportId;
use crate::secret::CallbackSecret;

/// The header DIDWW puts the signature in.
pub const SIGNATURE_HEADER: &str = "x-didww-signature";

/// A URL that cannot be normalized for signing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// No `scheme://`.
    #[error("the callback URL must be absolute (scheme://host/...)")]
    NotAbsolute,
    /// No host.
    #[error("the callback URL has no host")]
    NoHost,
    /// A port that is not a number, or no port for a scheme without a default one.
    #[error("the callback URL has an invalid or missing port")]
    BadPort,
}

/// Normalizes a URL for signing: `scheme://[userinfo@]host:port` + raw path
/// (percent-encoding kept) + `?query` + `#fragment`, the port always written
/// (80 for http, 443 for https when absent); IPv6 hosts keep their brackets.
pub fn normalize_url(url: &str) -> Result<String, UrlError> {
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::NotAbsolute)?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return Err(UrlError::NotAbsolute);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = if let Some(after_bracket) = hostport.strip_prefix('[') {
        let close = after_bracket.find(']').ok_or(UrlError::NoHost)?;
        let host = &hostport[..close + 2];
        match &hostport[close + 2..] {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or(UrlError::BadPort)?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let port: u16 = match port.filter(|p| !p.is_empty()) {
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().map_err(|_| UrlError::BadPort)?,
        Some(_) => return Err(UrlError::BadPort),
        None if scheme.eq_ignore_ascii_case("http") => 80,
        None if scheme.eq_ignore_ascii_case("https") => 443,
        None => return Err(UrlError::BadPort),
    };
    let mut out = String::with_capacity(url.len() + 6);
    out.push_str(scheme);
    out.push_str("://");
    if let Some(userinfo) = userinfo {
        out.push_str(userinfo);
        out.push('@');
    }
    out.push_str(host);
    out.push(':');
    out.push_str(&port.to_string());
    out.push_str(tail);
    Ok(out)
}

fn mac<'a, I, K, V>(secret: &CallbackSecret, url: &str, pairs: I) -> Result<Hmac<Sha1>, UrlError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    let normalized = normalize_url(url)?;
    let mut pairs: Vec<(K, V)> = pairs.into_iter().collect();
    // Stable: pairs with the same key keep their order.
    pairs.sort_by(|a, b| a.0.as_ref().as_bytes().cmp(b.0.as_ref().as_bytes()));
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(normalized.as_bytes());
    for (k, v) in &pairs {
        mac.update(k.as_ref().as_bytes());
        mac.update(v.as_ref().as_bytes());
    }
    Ok(mac)
}

/// The signature DIDWW sends for `url` and payload `pairs`: lowercase hex.
pub fn sign<'a, I, K, V>(secret: &CallbackSecret, url: &str, pairs: I) -> Result<String, UrlError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    let tag = mac(secret, url, pairs)?.finalize().into_bytes();
    Ok(tag.iter().map(|b| format!("{b:02x}")).collect())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Whether `signature` is the signature of `url` and `pairs`, compared in
/// constant time. Anything but 40 hex digits (empty included) is invalid.
pub fn verify<'a, I, K, V>(secret: &CallbackSecret, url: &str, pairs: I, signature: &str) -> bool
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    let signature = signature.trim();
    let Some(expected) = decode_hex(signature).filter(|b| b.len() == 20) else {
        return false;
    };
    match mac(secret, url, pairs) {
        Ok(mac) => mac.verify_slice(&expected).is_ok(),
        Err(_) => false,
    }
}

/// A callback request as a web framework hands it over.
#[derive(Debug, Clone, Copy)]
pub struct CallbackRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The URL as DIDWW called it: the registered callback URL plus, for GET,
    /// the query string received (behind a proxy, the public URL).
    pub url: &'a str,
    /// The raw `application/x-www-form-urlencoded` body (empty for GET).
    pub body: &'a [u8],
    /// The `X-DIDWW-Signature` header, if any.
    pub signature: Option<&'a str>,
}

/// What a verified export callback says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportCallback {
    /// The export.
    pub id: ExportId,
    /// Its status (`completed`).
    pub status: ExportStatus,
}

/// Why a callback is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// No `X-DIDWW-Signature` (or an empty one).
    #[error("the callback has no X-DIDWW-Signature header")]
    MissingSignature,
    /// The signature does not match (wrong secret, tampered payload, other URL).
    #[error(
        "the callback signature does not match (wrong secret, altered payload, or a URL other than the registered one)"
    )]
    BadSignature,
    /// A method other than GET or POST.
    #[error("callbacks come as GET or POST, not {0}")]
    UnsupportedMethod(String),
    /// The URL cannot be normalized.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// A signed payload without the fields of an export callback.
    #[error("malformed callback payload: {0}")]
    Malformed(String),
    /// A signed callback for something other than an export.
    #[error("not an export callback (type {0:?})")]
    NotAnExportCallback(String),
}

/// The payload pairs of a callback: the query for GET, the form body for POST.
pub fn callback_pairs(method: &str, url: &str, body: &[u8]) -> Result<Vec<(String, String)>, CallbackError> {
    let decode = |bytes: &[u8]| {
        url::form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect::<Vec<_>>()
    };
    if method.eq_ignore_ascii_case("GET") {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        Ok(decode(query.as_bytes()))
    } else if method.eq_ignore_ascii_case("POST") {
        Ok(decode(body))
    } else {
        Err(CallbackError::UnsupportedMethod(method.chars().take(16).collect()))
    }
}

/// Verifies a callback and reads it as an export callback.
pub fn verify_callback(
    secret: &CallbackSecret,
    request: &CallbackRequest<'_>,
) -> Result<ExportCallback, CallbackError> {
    let pairs = callback_pairs(request.method, request.url, request.body)?;
    let signature = request
        .signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(CallbackError::MissingSignature)?;
    normalize_url(request.url)?;
    if !verify(
        secret,
        request.url,
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        signature,
    ) {
        return Err(CallbackError::BadSignature);
    }
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match field("type") {
        Some("exports") => {}
        Some(other) => return Err(CallbackError::NotAnExportCallback(other.chars().take(64).collect())),
        None => return Err(CallbackError::Malformed("no type".into())),
    }
    let id = field("id")
        .ok_or_else(|| CallbackError::Malformed("no id".into()))?
        .parse::<ExportId>()
        .map_err(|e| CallbackError::Malformed(format!("id {e}")))?;
    let status = field("status").ok_or_else(|| CallbackError::Malformed("no status".into()))?;
    Ok(ExportCallback {
        id,
        status: ExportStatus::parse(status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> CallbackSecret {
        CallbackSecret::new(k).unwrap()
    }

    const P: [(&str, &str); 3] = [
        ("id", "1dd7a68b-e235-402b-8912-fe73ee14243a"),
        ("status", "completed"),
        ("type", "orders"),
    ];

    #[test]
    fn contract_vectors() {
        let url = "http://example.com/callback.php?id=7ae7c48f-d48a-499f-9dc1-c9217014b457&reject_reason=&status=approved&type=address_verifications";
        let pairs = [
            ("id", "7ae7c48f-d48a-499f-9dc1-c9217014b457"),
            ("reject_reason", ""),
            ("status", "approved"),
            ("type", "address_verifications"),
        ];
        assert_eq!(
            sign(&key("SOMEAPIKEY"), url, pairs).unwrap(),
            "18050028b6b22d0ed516706fba1c1af8d6a8f9d5"
        );
        assert_eq!(
            sign(&key("SOMEAPIKEY"), "http://example.com/callbacks", P).unwrap(),
            "fe99e416c3547f2f59002403ec856ea386d05b2f"
        );
        assert_eq!(
            sign(&key("OTHERAPIKEY"), "http://example.com/callbacks?foo=bar#baz", P).unwrap(),
            "32754ba93ac1207e540c0cf90371e7786b3b1cde"
        );
        assert!(verify(
            &key("SOMEAPIKEY"),
            "http://example.com/callbacks",
            P,
            "fe99e416c3547f2f59002403ec856ea386d05b2f"
        ));
        assert!(!verify(
            &key("SOMEAPIKEY"),
            "http://example.com/callbacks",
            P,
            "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d"
        ));
        assert!(!verify(&key("SOMEAPIKEY"), "http://example.com/callbacks", P, ""));
    }

    #[test]
    fn normalization_vectors() {
        for (urls, sig) in [
            (
                &["http://foo.com/bar", "http://foo.com:80/bar"][..],
                "4d1ce2be656d20d064183bec2ab98a2ff3981f73",
            ),
            (
                &["http://foo.com:443/bar"][..],
                "904eaa65c0759afac0e4d8912de424e2dfb96ea1",
            ),
            (
                &["http://foo.com/bar?baz=boo"][..],
                "78b00717a86ce9df06abf45ff818aa94537e1729",
            ),
            (
                &["http://user:pass@foo.com/bar"][..],
                "88615a11a78c021c1da2e1e0bfb8cc165170afc5",
            ),
            (
                &["https://foo.com/bar", "https://foo.com:443/bar"][..],
                "f26a771c302319a7094accbe2989bad67fff2928",
            ),
            (
                &["http://[::1]/bar", "http://[::1]:80/bar"][..],
                "e0e9b83e4046d097f54b3ae64b08cbb4a539f601",
            ),
            (
                &["http://foo.com/hello%20world"][..],
                "eb64035b2e8f356ff1442898a39ec94d5c3e2fc8",
            ),
        ] {
            for url in urls {
                assert_eq!(sign(&key("SOMEAPIKEY"), url, P).unwrap(), sig, "{url}");
                assert!(verify(&key("SOMEAPIKEY"), url, P, sig));
                assert!(verify(&key("SOMEAPIKEY"), url, P, &sig.to_uppercase()));
            }
        }
    }

    #[test]
    fn normalize() {
        assert_eq!(normalize_url("http://foo.com/bar").unwrap(), "http://foo.com:80/bar");
        assert_eq!(
            normalize_url("https://u:p@[::1]:8443/a?b#c").unwrap(),
            "https://u:p@[::1]:8443/a?b#c"
        );
        assert_eq!(normalize_url("http://foo.com").unwrap(), "http://foo.com:80");
        assert_eq!(normalize_url("http://foo.com?x=1").unwrap(), "http://foo.com:80?x=1");
        assert_eq!(normalize_url("/relative"), Err(UrlError::NotAbsolute));
        assert_eq!(normalize_url("http:///x"), Err(UrlError::NoHost));
        assert_eq!(normalize_url("http://foo.com:99999/"), Err(UrlError::BadPort));
        assert_eq!(normalize_url("ftp://foo.com/"), Err(UrlError::BadPort));
    }

    #[test]
    fn signatures_of_the_wrong_shape_are_invalid() {
        let good = "fe99e416c3547f2f59002403ec856ea386d05b2f";
        for bad in [
            "fe99",
            "zz99e416c3547f2f59002403ec856ea386d05b2f",
            &format!("{good}00"),
            "é",
        ] {
            assert!(
                !verify(&key("SOMEAPIKEY"), "http://example.com/callbacks", P, bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn export_callbacks() {
        let secret = key("s3cret");
        let id = "33bdfff7-4de3-4c58-8c90-b99930fb984a";
        let get_url = format!("http://127.0.0.1:9000/cb?id={id}&type=exports&status=completed");
        let sig = sign(
            &secret,
            &get_url,
            [("id", id), ("type", "exports"), ("status", "completed")],
        )
        .unwrap();
        let req = CallbackRequest {
            method: "GET",
            url: &get_url,
            body: b"",
            signature: Some(&sig),
        };
        assert_eq!(verify_callback(&secret, &req).unwrap().id.to_string(), id);
        // Replayed to another URL.
        let other = get_url.replace("/cb?", "/other?");
        assert_eq!(
            verify_callback(&secret, &CallbackRequest { url: &other, ..req }),
            Err(CallbackError::BadSignature)
        );
        assert_eq!(verify_callback(&key("wrong"), &req), Err(CallbackError::BadSignature));
        assert_eq!(
            verify_callback(&secret, &CallbackRequest { signature: None, ..req }),
            Err(CallbackError::MissingSignature)
        );
        assert_eq!(
            verify_callback(
                &secret,
                &CallbackRequest {
                    signature: Some(" "),
                    ..req
                }
            ),
            Err(CallbackError::MissingSignature)
        );
        assert!(matches!(
            verify_callback(&secret, &CallbackRequest { method: "PUT", ..req }),
            Err(CallbackError::UnsupportedMethod(_))
        ));

        // POST: the query of the registered URL is not payload.
        let post_url = "https://example.com/cb?tenant=7";
        let body = format!("id={id}&type=exports&status=completed");
        let sig = sign(
            &secret,
            post_url,
            [("id", id), ("type", "exports"), ("status", "completed")],
        )
        .unwrap();
        let req = CallbackRequest {
            method: "POST",
            url: post_url,
            body: body.as_bytes(),
            signature: Some(&sig),
        };
        assert!(verify_callback(&secret, &req).unwrap().status.is_completed());
        let tampered = body.replace("completed", "pending");
        assert_eq!(
            verify_callback(
                &secret,
                &CallbackRequest {
                    body: tampered.as_bytes(),
                    ..req
                }
            ),
            Err(CallbackError::BadSignature)
        );

        // Signed but not an export callback.
        let sig = sign(&secret, "http://x/cb", P).unwrap();
        let body = "id=1dd7a68b-e235-402b-8912-fe73ee14243a&status=completed&type=orders";
        let req = CallbackRequest {
            method: "POST",
            url: "http://x/cb",
            body: body.as_bytes(),
            signature: Some(&sig),
        };
        assert_eq!(
            verify_callback(&secret, &req),
            Err(CallbackError::NotAnExportCallback("orders".into()))
        );
    }
}
