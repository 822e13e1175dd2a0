//! The exports API: create, show, list, update and the file download.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use didww_exports_core::jsonapi::{self, ErrorObject, MEDIA_TYPE};
use didww_exports_core::list::{ExportPage, ListQuery, PageLinks, PageSize, SortField};
use didww_exports_core::{ApiVersion, ExportId, ExportStatus, ExportType};
use serde_json::Value;
use tokio::time::Instant;

use crate::cdrgen::{self, CdrSpec};
use crate::state::{AppState, StoredExport};

/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v3/exports", get(list).post(create))
        .route("/v3/exports/{id}", get(show_or_download).patch(update))
        .fallback(not_found_route)
        .with_state(state)
}

/// A JSON:API document response.
pub(crate) fn document(status: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
        body,
    )
        .into_response()
}

/// A JSON:API error response.
pub(crate) fn errors(status: StatusCode, errors: Vec<ErrorObject>) -> Response {
    let doc = jsonapi::ErrorDocument::new(errors);
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
        doc.to_vec(),
    )
        .into_response()
}

fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

async fn not_found_route() -> Response {
    errors(
        StatusCode::NOT_FOUND,
        vec![ErrorObject::new(
            "Not found",
            "No such endpoint in the exports API emulator.",
            "404",
            404,
        )],
    )
}

async fn read_body(body: Body) -> Result<bytes::Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        errors(
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![ErrorObject::new(
                "Payload too large",
                format!("The request body exceeds {MAX_BODY} bytes."),
                "413",
                413,
            )],
        )
    })
}

fn check_content_type(headers: &http::HeaderMap) -> Result<(), Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == MEDIA_TYPE || essence == "application/json" {
        Ok(())
    } else {
        Err(errors(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec![ErrorObject::new(
                "Unsupported media type",
                format!("Send the body as {MEDIA_TYPE}, not {ct:?}."),
                "415",
                415,
            )],
        ))
    }
}

/// Keeps only the attributes named in `fields[exports]`.
fn sparse(mut resource: Value, fields: Option<&[String]>) -> Value {
    if let (Some(fields), Some(Value::Object(attrs))) = (fields, resource.get_mut("attributes")) {
        attrs.retain(|k, _| fields.iter().any(|f| f == k));
    }
    resource
}

fn fields_param(query: Option<&str>) -> Option<Vec<String>> {
    let query = query?;
    url_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "fields[exports]")
        .map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn create(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    headers: http::HeaderMap,
    body: Body,
) -> Response {
    if let Err(resp) = check_content_type(&headers) {
        return resp;
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let now = state.now();
    let request = match jsonapi::parse_create_document(&body, now) {
        Ok(r) => r,
        Err(rejection) => return errors(status_code(rejection.status()), rejection.to_error_objects()),
    };
    let settings = state.settings();
    let id = state.new_id();
    let mut export = didww_exports_core::Export::new(id);
    // created_at with millisecond precision, as DIDWW writes it.
    let millis = now.timestamp_millis();
    export.created_at = chrono::DateTime::from_timestamp_millis(millis);
    export.export_type = Some(request.export_type().clone());
    export.callback_url = request.callback_url().map(str::to_owned);
    export.callback_method = request.callback_method().cloned();
    export.external_reference_id = request.external_reference_id().map(|r| r.as_str().to_owned());
    let mut filters = didww_exports_core::ExportFilters::default();
    filters.from = Some(request.filters().from());
    filters.to = Some(request.filters().to());
    filters.did_number = request.filters().did_number().map(|d| d.to_string());
    filters.voice_out_trunk_id = request.filters().voice_out_trunk_id().map(|t| t.to_string());
    export.filters = Some(filters);
    let stored = StoredExport {
        export,
        created: Instant::now(),
        delay: std::time::Duration::from_millis(settings.processing_delay_ms),
        rows: settings.rows,
        members: settings.gzip_members,
        file_seed: state.config.seed ^ id.as_uuid().as_u64_pair().0 ^ id.as_uuid().as_u64_pair().1,
        file_len: None,
    };
    let delay = stored.delay;
    let has_callback = stored.export.callback_url.is_some();
    // The create answer always shows the export as DIDWW does: pending.
    let mut shown = stored.export.clone();
    shown.status = Some(ExportStatus::Pending);
    state.insert(stored);
    if has_callback {
        crate::callbacks::schedule(state.clone(), id, delay);
    }
    document(StatusCode::CREATED, &jsonapi::export_document(&shown, version.as_str()))
}

fn parse_id(raw: &str) -> Result<ExportId, Response> {
    raw.parse::<ExportId>().map_err(|_| {
        let shown: String = raw.chars().take(64).collect();
        errors(StatusCode::NOT_FOUND, vec![ErrorObject::record_not_found(&shown)])
    })
}

async fn show_or_download(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(id) = raw.strip_suffix(".csv.gz") {
        return download(&state, id);
    }
    let id = match parse_id(&raw) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let Some(stored) = state.get(&id) else {
        return errors(
            StatusCode::NOT_FOUND,
            vec![ErrorObject::record_not_found(&id.to_string())],
        );
    };
    let mut doc = jsonapi::export_document(&stored.view(Instant::now(), &state.base_url), version.as_str());
    if let Some(fields) = fields_param(query.as_deref()) {
        doc["data"] = sparse(doc["data"].take(), Some(&fields));
    }
    document(StatusCode::OK, &doc)
}

fn empty_not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

fn download(state: &Arc<AppState>, raw_id: &str) -> Response {
    let Ok(id) = raw_id.parse::<ExportId>() else {
        return empty_not_found();
    };
    let Some(stored) = state.get(&id) else {
        return empty_not_found();
    };
    if !stored.status_at(Instant::now()).is_completed() {
        return empty_not_found();
    }
    let filters = stored.export.filters.clone().unwrap_or_default();
    let spec = CdrSpec {
        inbound: !matches!(stored.export.export_type, Some(ExportType::CdrOut)),
        from: filters.from.unwrap_or_default(),
        to: filters.to.unwrap_or_default(),
        did_number: filters.did_number.clone(),
        trunk_id: filters.voice_out_trunk_id.clone(),
        rows: stored.rows,
        seed: stored.file_seed,
        members: stored.members,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4);
    let state_for_len = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut total = 0u64;
        let complete = cdrgen::generate(spec, |chunk| {
            total += chunk.len() as u64;
            tx.blocking_send(chunk).is_ok()
        });
        if complete {
            state_for_len.modify(&id, |s| s.file_len = Some(total));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.csv.gz\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = stored.file_len {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    response
}

async fn list(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    RawQuery(query): RawQuery,
) -> Response {
    let raw = query.unwrap_or_default();
    let q = match ListQuery::parse_query_string(&raw) {
        Ok(q) => q,
        Err(errs) => {
            let objects = errs
                .iter()
                .map(|e| {
                    let code = if e.parameter.starts_with("filter[") {
                        "102"
                    } else {
                        "103"
                    };
                    ErrorObject::new("Invalid parameter", e.to_string(), code, 400).with_parameter(e.parameter.clone())
                })
                .collect();
            return errors(StatusCode::BAD_REQUEST, objects);
        }
    };
    let now = Instant::now();
    let mut exports: Vec<_> = state
        .all()
        .into_iter()
        .map(|s| s.view(now, &state.base_url))
        .filter(|e| {
            q.external_reference_id_filter()
                .is_none_or(|r| e.external_reference_id.as_deref() == Some(r.as_str()))
        })
        .collect();
    // Stable sorts applied from the last key to the first give the combined order.
    for sort in q.sort_keys().iter().rev() {
        exports.sort_by(|a, b| {
            let ord = match sort.field {
                SortField::CreatedAt => a.created_at.cmp(&b.created_at),
                SortField::ExternalReferenceId => a.external_reference_id.cmp(&b.external_reference_id),
                SortField::Status => {
                    let s = |e: &didww_exports_core::Export| e.status.as_ref().map(|s| s.as_str().to_owned());
                    s(a).cmp(&s(b))
                }
                _ => std::cmp::Ordering::Equal,
            };
            if sort.descending { ord.reverse() } else { ord }
        });
    }
    let total = exports.len() as u64;
    let size = u64::from(q.page_size_value().unwrap_or(PageSize::DEFAULT).get());
    let number = u64::from(q.page_number().map_or(1, |n| n.get()));
    let last = total.div_ceil(size).max(1);
    let start = (number - 1).saturating_mul(size).min(total) as usize;
    let end = (start as u64 + size).min(total) as usize;
    let page_exports = exports[start..end].to_vec();

    let link = |n: u64| {
        let mut lq = q.clone();
        if let Some(n) = std::num::NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)) {
            lq = lq.page(n);
        }
        if q.page_size_value().is_none() {
            lq = lq.page_size(PageSize::DEFAULT);
        }
        format!("{}/exports?{}", state.base_url, lq.to_query_string())
    };
    let mut page = ExportPage::new(page_exports);
    page.total_records = Some(total);
    page.api_version = Some(version.as_str().to_owned());
    let mut links = PageLinks::default();
    links.first = Some(link(1));
    links.last = Some(link(last));
    links.next = (number < last).then(|| link(number + 1));
    links.prev = (number > 1).then(|| link((number - 1).min(last)));
    page.links = links;
    let mut doc = jsonapi::export_list_document(&page);
    if let (Some(fields), Some(Value::Array(items))) = (fields_param(Some(&raw)), doc.get_mut("data")) {
        for item in items.iter_mut() {
            *item = sparse(item.take(), Some(&fields));
        }
    }
    document(StatusCode::OK, &doc)
}

async fn update(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    Path(raw): Path<String>,
    headers: http::HeaderMap,
    body: Body,
) -> Response {
    let id = match parse_id(&raw) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    if state.get(&id).is_none() {
        return errors(
            StatusCode::NOT_FOUND,
            vec![ErrorObject::record_not_found(&id.to_string())],
        );
    }
    if let Err(resp) = check_content_type(&headers) {
        return resp;
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let update = match jsonapi::parse_update_document(&body, &id) {
        Ok(u) => u,
        Err(rejection) => return errors(status_code(rejection.status()), rejection.to_error_objects()),
    };
    let now = Instant::now();
    let base = state.base_url.clone();
    match state.modify(&id, |s| {
        s.export.external_reference_id = update.external_reference_id().map(|r| r.as_str().to_owned());
        s.view(now, &base)
    }) {
        Some(view) => document(StatusCode::OK, &jsonapi::export_document(&view, version.as_str())),
        None => errors(
            StatusCode::NOT_FOUND,
            vec![ErrorObject::record_not_found(&id.to_string())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_fieldsets() {
        assert_eq!(
            fields_param(Some("fields%5Bexports%5D=status%2C+url&a=b")),
            Some(vec!["status".to_owned(), "url".to_owned()])
        );
        assert_eq!(fields_param(Some("a=b")), None);
        let resource = serde_json::json!({"id": "x", "type": "exports", "attributes": {"status": "pending", "url": null, "filters": {}}});
        let fields = vec!["status".to_owned()];
        assert_eq!(
            sparse(resource, Some(&fields)),
            serde_json::json!({"id": "x", "type": "exports", "attributes": {"status": "pending"}})
        );
    }
}
