//! Sans-I/O operations: for each API call, a pure function that builds the
//! `http::Request` and a pure function that reads the `http::Response`.
//!
//! Transports only move these requests and responses; they never build URLs,
//! headers or bodies themselves, and never interpret a status code.

use http::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT,
};
use http::{Method, Request, Response};
use url::Url;

use crate::config::ClientConfig;
use crate::create::CreateExport;
use crate::error::{ApiError, BodyExcerpt, RetryAfter};
use crate::export::Export;
use crate::ids::ExportId;
use crate::jsonapi::{self, DocumentError, ErrorDocument, MEDIA_TYPE};
use crate::list::{ExportPage, ListQuery};
use crate::origin::{OriginError, check_origin};
use crate::update::UpdateExport;

/// The header carrying the API version.
pub const API_VERSION_HEADER: &str = "x-didww-api-version";

/// The operations of the exports API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /exports`.
    Create,
    /// `GET /exports/{id}`.
    Get,
    /// `GET /exports`.
    List,
    /// `PATCH /exports/{id}`.
    Update,
    /// `GET {url}` of a completed export.
    Download,
}

impl Operation {
    /// Whether repeating the request cannot create a second export.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Operation::Create)
    }
}

/// A request that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL is not on the configured API origin: the credential stays home.
    #[error(transparent)]
    Origin(#[from] OriginError),
    /// The export is not completed, so it has no file yet.
    #[error("export {id} is not completed yet (status: {status}); wait for it first")]
    NotCompleted {
        /// The export.
        id: ExportId,
        /// Its status.
        status: String,
    },
    /// The URL cannot be put in an HTTP request.
    #[error("the URL cannot be requested: {0}")]
    InvalidUrl(String),
}

fn request(
    config: &ClientConfig,
    method: Method,
    url: &Url,
    body: Option<Vec<u8>>,
    accept: &'static str,
) -> Result<Request<Vec<u8>>, BuildError> {
    let (auth_name, auth_value) = config.credential().header();
    let mut builder = Request::builder()
        .method(method)
        .uri(url.as_str())
        .header(ACCEPT, accept)
        .header(API_VERSION_HEADER, config.api_version().as_str())
        .header(USER_AGENT, config.user_agent_header().clone())
        .header(auth_name, auth_value);
    if body.is_some() {
        builder = builder.header(CONTENT_TYPE, MEDIA_TYPE);
    }
    builder
        .body(body.unwrap_or_default())
        .map_err(|e| BuildError::InvalidUrl(e.to_string()))
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// `POST /exports` for `create`.
pub fn create_request(config: &ClientConfig, create: &CreateExport) -> Result<Request<Vec<u8>>, BuildError> {
    let url = config.base_url().join(&["exports"]);
    let body = json_bytes(&jsonapi::create_document(create));
    request(config, Method::POST, &url, Some(body), MEDIA_TYPE)
}

/// `GET /exports/{id}`.
pub fn get_request(config: &ClientConfig, id: &ExportId) -> Result<Request<Vec<u8>>, BuildError> {
    let url = config.base_url().join(&["exports", &id.to_string()]);
    request(config, Method::GET, &url, None, MEDIA_TYPE)
}

/// `GET /exports?...` for `query`.
pub fn list_request(config: &ClientConfig, query: &ListQuery) -> Result<Request<Vec<u8>>, BuildError> {
    let mut url = config.base_url().join(&["exports"]);
    let qs = query.to_query_string();
    url.set_query((!qs.is_empty()).then_some(qs.as_str()));
    request(config, Method::GET, &url, None, MEDIA_TYPE)
}

/// The request for a page's `links.next`, or `None` on the last page. The link
/// must be on the configured API origin.
pub fn next_page_request(config: &ClientConfig, page: &ExportPage) -> Option<Result<Request<Vec<u8>>, BuildError>> {
    let next = page.links.next.as_deref()?;
    Some(
        check_origin(config.base_url(), next)
            .map_err(BuildError::from)
            .and_then(|url| request(config, Method::GET, &url, None, MEDIA_TYPE)),
    )
}

/// `PATCH /exports/{id}`.
pub fn update_request(
    config: &ClientConfig,
    id: &ExportId,
    update: &UpdateExport,
) -> Result<Request<Vec<u8>>, BuildError> {
    let url = config.base_url().join(&["exports", &id.to_string()]);
    let body = json_bytes(&jsonapi::update_document(id, update));
    request(config, Method::PATCH, &url, Some(body), MEDIA_TYPE)
}

/// `GET {url}` for a file URL, refused unless it is on the configured API origin.
pub fn download_url_request(config: &ClientConfig, url: &str) -> Result<Request<Vec<u8>>, BuildError> {
    let url = check_origin(config.base_url(), url)?;
    let mut req = request(config, Method::GET, &url, None, "*/*")?;
    // The file is gzip bytes as such; no transfer decompression in between.
    req.headers_mut()
        .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    Ok(req)
}

/// The download of a completed export's file. Refused before anything is sent
/// when the export is not completed, or when its `url` is on another origin.
pub fn download_request(config: &ClientConfig, export: &Export) -> Result<Request<Vec<u8>>, BuildError> {
    match (&export.url, export.is_completed()) {
        (Some(url), true) => download_url_request(config, url),
        _ => Err(BuildError::NotCompleted {
            id: export.id,
            status: export
                .status
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned()),
        }),
    }
}

// ---------------- responses ----------------

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn mime_essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let essence = mime_essence(ct);
        essence == MEDIA_TYPE || essence == "application/json" || essence.ends_with("+json")
    })
}

/// Reads the `Retry-After` header.
pub fn retry_after(headers: &HeaderMap) -> Option<RetryAfter> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(RetryAfter::parse)
}

/// What a non-success response means. Works on any status: a 2xx given here
/// is reported as unexpected.
pub fn api_error<B: AsRef<[u8]>>(response: &Response<B>) -> ApiError {
    let status = response.status().as_u16();
    let body = response.body().as_ref();
    let errors = ErrorDocument::parse(body).map(|d| d.errors);
    let unexpected = |problem: String| ApiError::Unexpected {
        status,
        content_type: content_type(response.headers()),
        problem,
        excerpt: BodyExcerpt::new(body),
    };
    match status {
        401 | 403 => ApiError::Unauthorized {
            status,
            errors: errors.unwrap_or_default(),
        },
        404 => ApiError::NotFound {
            errors: errors.unwrap_or_default(),
        },
        400 | 409 | 422 => match errors {
            Some(errors) => ApiError::Rejected { status, errors },
            None => unexpected(format!("status {status} without a JSON:API error document")),
        },
        429 => ApiError::RateLimited {
            retry_after: retry_after(response.headers()),
            errors: errors.unwrap_or_default(),
        },
        500..=599 => ApiError::Server {
            status,
            errors: errors.unwrap_or_default(),
            excerpt: BodyExcerpt::new(body),
        },
        _ => unexpected(format!("status {status} is not an answer this operation expects")),
    }
}

fn parse_success<B: AsRef<[u8]>, T>(
    response: &Response<B>,
    parse: impl FnOnce(&[u8]) -> Result<T, DocumentError>,
) -> Result<T, ApiError> {
    if !response.status().is_success() {
        return Err(api_error(response));
    }
    let ct = content_type(response.headers());
    let body = response.body().as_ref();
    let unexpected = |problem: String| ApiError::Unexpected {
        status: response.status().as_u16(),
        content_type: ct.clone(),
        problem,
        excerpt: BodyExcerpt::new(body),
    };
    if !is_json(ct.as_deref()) {
        return Err(unexpected(format!("expected {MEDIA_TYPE}")));
    }
    parse(body).map_err(|e| unexpected(e.to_string()))
}

/// Reads the answer to a create (201).
pub fn parse_create_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Export, ApiError> {
    parse_success(response, |b| jsonapi::parse_export_document(b).map(|d| d.export))
}

/// Reads the answer to a show (200).
pub fn parse_get_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Export, ApiError> {
    parse_success(response, |b| jsonapi::parse_export_document(b).map(|d| d.export))
}

/// Reads the answer to an update (200).
pub fn parse_update_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Export, ApiError> {
    parse_success(response, |b| jsonapi::parse_export_document(b).map(|d| d.export))
}

/// Reads the answer to a list (200).
pub fn parse_list_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<ExportPage, ApiError> {
    parse_success(response, jsonapi::parse_export_list_document)
}

/// What the headers of a successful download say about the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DownloadHead {
    /// `Content-Length`, when sent.
    pub content_length: Option<u64>,
    /// The file name of `Content-Disposition`, made safe to use as a file name.
    pub file_name: Option<String>,
}

/// The head of a download response when it is the file (2xx and not a JSON or
/// HTML page); `None` means the transport should read a bounded body and pass
/// the response to [`download_error`].
pub fn download_head<B>(response: &Response<B>) -> Option<DownloadHead> {
    if !response.status().is_success() {
        return None;
    }
    let headers = response.headers();
    let ct = content_type(headers).map(|c| mime_essence(&c));
    if is_json(ct.as_deref()) || ct.as_deref().is_some_and(|c| c.starts_with("text/")) {
        return None;
    }
    Some(DownloadHead {
        content_length: headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok()),
        file_name: headers
            .get(CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(disposition_file_name),
    })
}

/// What a download response that [`download_head`] refused means.
pub fn download_error<B: AsRef<[u8]>>(response: &Response<B>) -> ApiError {
    if response.status().is_success() {
        ApiError::Unexpected {
            status: response.status().as_u16(),
            content_type: content_type(response.headers()),
            problem: "expected the export file, got a page or a JSON document".into(),
            excerpt: BodyExcerpt::new(response.body().as_ref()),
        }
    } else {
        api_error(response)
    }
}

/// The `filename` of a `Content-Disposition` header, reduced to a safe bare
/// file name (no directories, no leading dot, no control characters), or `None`.
pub fn disposition_file_name(header: &str) -> Option<String> {
    let raw = header.split(';').map(str::trim).find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("filename")
            .then(|| value.trim().trim_matches('"').to_owned())
    })?;
    sanitize_file_name(&raw)
}

/// `name` reduced to a safe bare file name, or `None` if nothing usable is left.
pub fn sanitize_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next()?.trim();
    let ok = !base.is_empty()
        && !base.starts_with('.')
        && base.len() <= 255
        && base.chars().all(|c| !c.is_control() && c != ':');
    ok.then(|| base.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BaseUrl, Environment};
    use crate::export::ExportStatus;
    use crate::secret::Credential;
    use chrono::{TimeZone, Utc};

    const KEY: &str = "test-KEY-123";

    fn config() -> ClientConfig {
        ClientConfig::new(Environment::Production, Credential::api_key(KEY).unwrap()).unwrap()
    }

    fn id() -> ExportId {
        "33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap()
    }

    fn response(status: u16, content_type: Option<&str>, body: &str) -> Response<Vec<u8>> {
        let mut b = Response::builder().status(status);
        if let Some(ct) = content_type {
            b = b.header(CONTENT_TYPE, ct);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn create_request_has_the_seed_shape_and_headers() {
        let now = Utc.with_ymd_and_hms(2025, 12, 16, 0, 0, 0).unwrap();
        let create = CreateExport::builder(crate::ExportType::CdrIn)
            .from(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap())
            .to(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap())
            .did_number("123456789")
            .build(now)
            .unwrap();
        let req = create_request(&config(), &create).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri().to_string(), "https://api.didww.com/v3/exports");
        let h = req.headers();
        assert_eq!(h["content-type"], MEDIA_TYPE);
        assert_eq!(h["accept"], MEDIA_TYPE);
        assert_eq!(h["api-key"], KEY);
        assert_eq!(h["x-didww-api-version"], "2026-04-16");
        assert!(h["user-agent"].to_str().unwrap().starts_with("didww-exports/"));
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"data":{"type":"exports","attributes":{"export_type":"cdr_in","filters":{"from":"2025-12-01T00:00:00Z","to":"2025-12-31T23:59:59Z","did_number":"123456789"}}}})
        );
        assert!(!format!("{req:?}").contains(KEY));
    }

    #[test]
    fn read_requests() {
        let req = get_request(&config(), &id()).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "https://api.didww.com/v3/exports/33bdfff7-4de3-4c58-8c90-b99930fb984a"
        );
        assert!(req.headers().get(CONTENT_TYPE).is_none());
        let req = list_request(&config(), &ListQuery::new()).unwrap();
        assert_eq!(req.uri().to_string(), "https://api.didww.com/v3/exports");
        let q = ListQuery::new().sort(crate::Sort::desc(crate::SortField::CreatedAt));
        let req = list_request(&config(), &q).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "https://api.didww.com/v3/exports?sort=-created_at"
        );
        let req = update_request(&config(), &id(), &UpdateExport::clear_external_reference_id()).unwrap();
        assert_eq!(req.method(), Method::PATCH);
        assert_eq!(req.headers()[CONTENT_TYPE], MEDIA_TYPE);
    }

    #[test]
    fn bearer_credentials_use_authorization() {
        let cfg = ClientConfig::with_version(
            BaseUrl::parse("http://127.0.0.1:9/v3").unwrap(),
            Credential::bearer("tok").unwrap(),
            "2026-11-19".parse().unwrap(),
        )
        .unwrap();
        let req = get_request(&cfg, &id()).unwrap();
        assert_eq!(req.headers()["authorization"], "Bearer tok");
        assert!(req.headers().get("api-key").is_none());
        assert_eq!(req.headers()["x-didww-api-version"], "2026-11-19");
    }

    #[test]
    fn downloads_only_go_to_the_api_origin_and_only_when_completed() {
        let mut export = Export::new(id());
        export.status = Some(ExportStatus::Processing);
        assert!(matches!(
            download_request(&config(), &export),
            Err(BuildError::NotCompleted { .. })
        ));
        export.status = Some(ExportStatus::Completed);
        export.url = Some("https://api.didww.com/v3/exports/33bdfff7-4de3-4c58-8c90-b99930fb984a.csv.gz".into());
        let req = download_request(&config(), &export).unwrap();
        assert_eq!(req.headers()["api-key"], KEY);
        assert_eq!(req.headers()[ACCEPT_ENCODING], "identity");
        export.url = Some("https://files.example.com/x.csv.gz".into());
        assert!(matches!(
            download_request(&config(), &export),
            Err(BuildError::Origin(_))
        ));
    }

    #[test]
    fn next_page_links_are_origin_checked() {
        let mut page = ExportPage::default();
        assert!(next_page_request(&config(), &page).is_none());
        page.links.next = Some("https://api.didww.com/v3/exports?page%5Bnumber%5D=2".into());
        assert!(next_page_request(&config(), &page).unwrap().is_ok());
        page.links.next = Some("https://elsewhere.example/v3/exports?page%5Bnumber%5D=2".into());
        assert!(next_page_request(&config(), &page).unwrap().is_err());
    }

    #[test]
    fn status_mapping() {
        let e401 =
            r#"{"errors":[{"title":"Unauthorized","detail":"Authorization failed","code":"401","status":"401"}]}"#;
        assert!(
            matches!(api_error(&response(401, Some(MEDIA_TYPE), e401)), ApiError::Unauthorized { status: 401, errors } if errors.len() == 1)
        );
        assert!(matches!(
            api_error(&response(403, None, "")),
            ApiError::Unauthorized { status: 403, .. }
        ));
        assert!(matches!(api_error(&response(404, None, "")), ApiError::NotFound { errors } if errors.is_empty()));
        let e422 = r#"{"errors":[{"title":"is invalid","detail":"x - is invalid","code":"100","source":{"pointer":"/data/attributes/x"},"status":"422"}]}"#;
        assert!(matches!(
            api_error(&response(422, Some(MEDIA_TYPE), e422)),
            ApiError::Rejected { status: 422, .. }
        ));
        assert!(matches!(
            api_error(&response(400, Some(MEDIA_TYPE), e422)),
            ApiError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            api_error(&response(400, Some("text/html"), "<h1>bad</h1>")),
            ApiError::Unexpected { status: 400, .. }
        ));
        let mut r429 = response(429, None, "");
        r429.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert!(matches!(
            api_error(&r429),
            ApiError::RateLimited {
                retry_after: Some(RetryAfter::Seconds(2)),
                ..
            }
        ));
        let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
        match api_error(&response(502, Some("text/html"), html)) {
            ApiError::Server {
                status: 502,
                errors,
                excerpt,
            } => {
                assert!(errors.is_empty());
                assert!(excerpt.as_str().contains("502 Bad Gateway"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            api_error(&response(302, None, "")),
            ApiError::Unexpected { status: 302, .. }
        ));
    }

    #[test]
    fn success_parsing() {
        let body = r#"{"data":{"id":"33bdfff7-4de3-4c58-8c90-b99930fb984a","type":"exports","attributes":{"status":"completed"}}}"#;
        assert!(
            parse_get_response(&response(200, Some("application/vnd.api+json; charset=utf-8"), body))
                .unwrap()
                .is_completed()
        );
        assert!(parse_get_response(&response(200, Some("application/json"), body)).is_ok());
        assert!(matches!(
            parse_get_response(&response(200, Some("text/html"), "<html>")),
            Err(ApiError::Unexpected { .. })
        ));
        assert!(matches!(
            parse_get_response(&response(200, Some(MEDIA_TYPE), "{\"data\":")),
            Err(ApiError::Unexpected { .. })
        ));
        assert!(matches!(
            parse_create_response(&response(422, Some(MEDIA_TYPE), r#"{"errors":[]}"#)),
            Err(ApiError::Rejected { .. })
        ));
        let list =
            r#"{"data":[],"meta":{"total_records":0,"api_version":"2026-04-16"},"links":{"first":"a","last":"b"}}"#;
        let page = parse_list_response(&response(200, Some(MEDIA_TYPE), list)).unwrap();
        assert_eq!(page.total_records, Some(0));
        assert_eq!(page.links.first.as_deref(), Some("a"));
    }

    #[test]
    fn download_heads() {
        let ok = Response::builder()
            .status(200)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, "1234")
            .header(
                CONTENT_DISPOSITION,
                "attachment; filename=\"33bdfff7-4de3-4c58-8c90-b99930fb984a.csv.gz\"",
            )
            .body(())
            .unwrap();
        let head = download_head(&ok).unwrap();
        assert_eq!(head.content_length, Some(1234));
        assert_eq!(
            head.file_name.as_deref(),
            Some("33bdfff7-4de3-4c58-8c90-b99930fb984a.csv.gz")
        );
        assert!(download_head(&response(200, Some("text/html"), "")).is_none());
        assert!(download_head(&response(404, None, "")).is_none());
        assert!(matches!(
            download_error(&response(200, Some("text/html"), "<html>")),
            ApiError::Unexpected { status: 200, .. }
        ));
        assert!(matches!(
            download_error(&response(404, None, "")),
            ApiError::NotFound { .. }
        ));
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(
            disposition_file_name("attachment; filename=\"a.csv.gz\"").as_deref(),
            Some("a.csv.gz")
        );
        assert_eq!(
            disposition_file_name("attachment; FILENAME=b.csv.gz").as_deref(),
            Some("b.csv.gz")
        );
        assert_eq!(
            disposition_file_name("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(disposition_file_name("attachment; filename=\"..\""), None);
        assert_eq!(disposition_file_name("attachment; filename=\".bashrc\""), None);
        assert_eq!(disposition_file_name("attachment"), None);
        assert_eq!(sanitize_file_name("C:\\x\\y.gz").as_deref(), Some("y.gz"));
    }
}
