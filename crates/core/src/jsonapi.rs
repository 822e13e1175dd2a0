//! JSON:API documents of the exports resource, both directions: what a client
//! sends and reads, and what a server (the emulator) reads and sends.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::create::{CreateExport, Draft};
use crate::export::{CallbackMethod, Export, ExportFilters, ExportStatus, ExportType};
use crate::ids::{ExportId, ExternalReferenceId, ExternalReferenceIdError};
use crate::list::{ExportPage, PageLinks};
use crate::update::UpdateExport;
use crate::validation::{Rule, ValidationErrors, Violation, field_name, pointer};

/// The JSON:API media type, sent as `Content-Type` and `Accept`.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// The resource type of exports.
pub const EXPORTS_TYPE: &str = "exports";

/// `source` of a JSON:API error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorSource {
    /// The JSON pointer of the field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The query parameter at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// One member of a JSON:API `errors` array.
///
/// Read leniently: every field is optional, and `code`/`status` may be numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// Short summary (`Unauthorized`, `is invalid`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub title: Option<String>,
    /// What happened, in DIDWW's words.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub detail: Option<String>,
    /// DIDWW's code (`100` validation, `102` disallowed filter, `106` missing parameter), not the HTTP status.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub code: Option<String>,
    /// The HTTP status, as a string.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub status: Option<String>,
    /// Where the error is.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_source"
    )]
    pub source: Option<ErrorSource>,
    /// Anything else the server attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

impl ErrorObject {
    /// An error with the given title, detail, DIDWW code and HTTP status.
    pub fn new(title: impl Into<String>, detail: impl Into<String>, code: impl Into<String>, status: u16) -> Self {
        ErrorObject {
            title: Some(title.into()),
            detail: Some(detail.into()),
            code: Some(code.into()),
            status: Some(status.to_string()),
            source: None,
            meta: None,
        }
    }

    /// Sets `source.pointer`.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.source.get_or_insert_with(ErrorSource::default).pointer = Some(pointer.into());
        self
    }

    /// Sets `source.parameter`.
    pub fn with_parameter(mut self, parameter: impl Into<String>) -> Self {
        self.source.get_or_insert_with(ErrorSource::default).parameter = Some(parameter.into());
        self
    }

    /// `source.pointer`, if any.
    pub fn pointer(&self) -> Option<&str> {
        self.source.as_ref()?.pointer.as_deref()
    }

    /// The most useful one-line description: the detail, else the title, else the code.
    pub fn summary(&self) -> String {
        let text = self
            .detail
            .as_deref()
            .or(self.title.as_deref())
            .or(self.code.as_deref())
            .unwrap_or("(no detail)");
        match self
            .source
            .as_ref()
            .and_then(|s| s.pointer.as_deref().or(s.parameter.as_deref()))
        {
            Some(at) => format!("{text} (at {at})"),
            None => text.to_owned(),
        }
    }

    /// DIDWW's 401 body.
    pub fn unauthorized() -> Self {
        ErrorObject::new("Unauthorized", "Authorization failed", "401", 401)
    }

    /// DIDWW's 404 body for `id`.
    pub fn record_not_found(id: &str) -> Self {
        ErrorObject::new(
            "Record not found",
            format!("The record identified by {id} could not be found."),
            "404",
            404,
        )
    }

    /// The 422 error for one validation violation, DIDWW-style: `title` is the
    /// rule, `detail` is `<field> - <rule>`, `code` 100 (106 for a missing field).
    pub fn from_violation(violation: &Violation) -> Self {
        let code = if violation.rule == Rule::Missing { "106" } else { "100" };
        let title = match violation.rule {
            Rule::Missing => "can't be blank",
            _ => "is invalid",
        };
        ErrorObject::new(
            title,
            format!("{} - {}", field_name(&violation.pointer), violation.rule),
            code,
            422,
        )
        .with_pointer(violation.pointer.clone())
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

fn lenient_source<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorSource>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// A JSON:API error document: `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorDocument {
    /// The errors.
    pub errors: Vec<ErrorObject>,
}

impl ErrorDocument {
    /// A document with these errors.
    pub fn new(errors: Vec<ErrorObject>) -> Self {
        ErrorDocument { errors }
    }

    /// Reads an error document; `None` if the bytes are not one.
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<ErrorDocument>(body).ok()
    }

    /// The document as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A response document that is not what the exports API sends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Not JSON, or not shaped like the expected document.
    #[error("not a valid JSON:API exports document: {0}")]
    Json(#[from] serde_json::Error),
    /// A resource of another type.
    #[error("expected a resource of type \"exports\", got {0:?}")]
    WrongType(String),
}

// ---------- wire shapes ----------

#[derive(Serialize, Deserialize, Default)]
struct AttributesWire {
    #[serde(default)]
    status: Option<ExportStatus>,
    #[serde(
        default,
        serialize_with = "ser_created_at",
        deserialize_with = "crate::time::serde_time_opt::deserialize"
    )]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    external_reference_id: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default)]
    callback_method: Option<CallbackMethod>,
    #[serde(default)]
    export_type: Option<ExportType>,
    #[serde(default)]
    filters: Option<ExportFilters>,
}

/// `created_at` as DIDWW writes it: milliseconds always, finer fractions kept.
fn ser_created_at<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        None => s.serialize_none(),
        Some(t) => {
            let format = if t.timestamp_subsec_nanos() % 1_000_000 == 0 {
                SecondsFormat::Millis
            } else {
                SecondsFormat::AutoSi
            };
            s.serialize_str(&t.to_rfc3339_opts(format, true))
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ResourceWire {
    id: ExportId,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    attributes: AttributesWire,
}

#[derive(Serialize, Deserialize, Default)]
struct MetaWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_records: Option<u64>,
}

#[derive(Deserialize)]
struct SingleWire {
    data: ResourceWire,
    #[serde(default)]
    meta: Option<MetaWire>,
}

#[derive(Deserialize)]
struct ListWire {
    data: Vec<ResourceWire>,
    #[serde(default)]
    meta: Option<MetaWire>,
    #[serde(default)]
    links: Option<PageLinks>,
}

impl ResourceWire {
    fn from_export(export: &Export) -> Self {
        ResourceWire {
            id: export.id,
            kind: EXPORTS_TYPE.to_owned(),
            attributes: AttributesWire {
                status: export.status.clone(),
                created_at: export.created_at,
                external_reference_id: export.external_reference_id.clone(),
                url: export.url.clone(),
                callback_url: export.callback_url.clone(),
                callback_method: export.callback_method.clone(),
                export_type: export.export_type.clone(),
                filters: export.filters.clone(),
            },
        }
    }

    fn into_export(self) -> Result<Export, DocumentError> {
        if self.kind != EXPORTS_TYPE {
            return Err(DocumentError::WrongType(self.kind));
        }
        let a = self.attributes;
        let mut export = Export::new(self.id);
        export.status = a.status;
        export.created_at = a.created_at;
        export.url = a.url;
        export.callback_url = a.callback_url;
        export.callback_method = a.callback_method;
        export.export_type = a.export_type;
        export.external_reference_id = a.external_reference_id;
        export.filters = a.filters;
        Ok(export)
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    // These wire types only hold strings, numbers and maps with string keys.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

// ---------- client side: requests out, responses in ----------

/// The body of `POST /exports` for `request`, as in DIDWW's example.
pub fn create_document(request: &CreateExport) -> Value {
    serde_json::json!({
        "data": {
            "type": EXPORTS_TYPE,
            "attributes": request.attributes_json(),
        }
    })
}

/// The body of `PATCH /exports/{id}`.
pub fn update_document(id: &ExportId, update: &UpdateExport) -> Value {
    serde_json::json!({
        "data": {
            "id": id.to_string(),
            "type": EXPORTS_TYPE,
            "attributes": {
                "external_reference_id": update.external_reference_id().map(|r| r.as_str()),
            }
        }
    })
}

/// An export document with its `meta.api_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportDocument {
    /// The export.
    pub export: Export,
    /// `meta.api_version`, when sent.
    pub api_version: Option<String>,
}

/// Reads a single-export document (create, show and update responses).
pub fn parse_export_document(body: &[u8]) -> Result<ExportDocument, DocumentError> {
    let wire: SingleWire = serde_json::from_slice(body)?;
    Ok(ExportDocument {
        export: wire.data.into_export()?,
        api_version: wire.meta.and_then(|m| m.api_version),
    })
}

/// Reads a list document.
pub fn parse_export_list_document(body: &[u8]) -> Result<ExportPage, DocumentError> {
    let wire: ListWire = serde_json::from_slice(body)?;
    let exports = wire
        .data
        .into_iter()
        .map(ResourceWire::into_export)
        .collect::<Result<Vec<_>, _>>()?;
    let meta = wire.meta.unwrap_or_default();
    let mut page = ExportPage::new(exports);
    page.total_records = meta.total_records;
    page.api_version = meta.api_version;
    page.links = wire.links.unwrap_or_default();
    Ok(page)
}

// ---------- server side: requests in, responses out ----------

/// A single-export response document, every attribute present (null when
/// unset), as in DIDWW's 201 example.
pub fn export_document(export: &Export, api_version: &str) -> Value {
    serde_json::json!({
        "data": to_value(&ResourceWire::from_export(export)),
        "meta": {"api_version": api_version},
    })
}

/// A list response document.
pub fn export_list_document(page: &ExportPage) -> Value {
    let data: Vec<Value> = page
        .exports
        .iter()
        .map(|e| to_value(&ResourceWire::from_export(e)))
        .collect();
    let meta = MetaWire {
        api_version: page.api_version.clone(),
        total_records: page.total_records,
    };
    serde_json::json!({
        "data": data,
        "meta": to_value(&meta),
        "links": to_value(&page.links),
    })
}

/// Why a server refuses a request document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestRejection {
    /// The body is not a JSON:API document of the right shape (400).
    #[error("malformed request: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
        /// Where, as a JSON pointer.
        pointer: String,
    },
    /// `data.id` differs from the id in the URL (409, as JSON:API prescribes).
    #[error("data.id {body_id:?} does not match the URL's id")]
    IdMismatch {
        /// The id in the body.
        body_id: String,
    },
    /// The document is well formed but breaks rules (422).
    #[error("{0}")]
    Invalid(ValidationErrors),
}

impl RequestRejection {
    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            RequestRejection::Malformed { .. } => 400,
            RequestRejection::IdMismatch { .. } => 409,
            RequestRejection::Invalid(_) => 422,
        }
    }

    /// The JSON:API errors to answer with: one per violation.
    pub fn to_error_objects(&self) -> Vec<ErrorObject> {
        match self {
            RequestRejection::Malformed { detail, pointer } => {
                vec![ErrorObject::new("Bad request", detail.clone(), "105", 400).with_pointer(pointer.clone())]
            }
            RequestRejection::IdMismatch { .. } => {
                vec![ErrorObject::new("Conflict", self.to_string(), "409", 409).with_pointer(pointer::ID)]
            }
            RequestRejection::Invalid(errors) => errors.violations().iter().map(ErrorObject::from_violation).collect(),
        }
    }
}

fn malformed(detail: impl Into<String>, at: &str) -> RequestRejection {
    RequestRejection::Malformed {
        detail: detail.into(),
        pointer: at.to_owned(),
    }
}

type JsonObject = Map<String, Value>;

/// Reads `data` of a request document, checking `type`; returns `data` and its `attributes`.
fn request_attributes(body: &[u8]) -> Result<(JsonObject, JsonObject), RequestRejection> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("the body is not valid JSON ({e})"), ""))?;
    let Value::Object(mut doc) = doc else {
        return Err(malformed("the body must be a JSON object", ""));
    };
    let Some(Value::Object(mut data)) = doc.remove("data") else {
        return Err(malformed("data must be an object", pointer::DATA));
    };
    match data.get("type") {
        Some(Value::String(t)) if t == EXPORTS_TYPE => {}
        Some(Value::String(t)) => {
            return Err(malformed(
                format!(
                    "data.type must be \"exports\", got {:?}",
                    t.chars().take(64).collect::<String>()
                ),
                pointer::TYPE,
            ));
        }
        _ => return Err(malformed("data.type must be \"exports\"", pointer::TYPE)),
    }
    let attributes = match data.remove("attributes") {
        Some(Value::Object(a)) => a,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(malformed("data.attributes must be an object", pointer::ATTRIBUTES)),
    };
    Ok((data, attributes))
}

/// Reads and validates a `POST /exports` body at `now`, exactly as a client's
/// builder validates: one path, one set of rules.
pub fn parse_create_document(body: &[u8], now: DateTime<Utc>) -> Result<CreateExport, RequestRejection> {
    let (_, attributes) = request_attributes(body)?;
    Draft::from_attributes(&attributes)
        .validate(now)
        .map_err(RequestRejection::Invalid)
}

/// Reads a `PATCH /exports/{id}` body for the export `id`: only
/// `external_reference_id` may be present among the attributes.
pub fn parse_update_document(body: &[u8], id: &ExportId) -> Result<UpdateExport, RequestRejection> {
    let (data, attributes) = request_attributes(body)?;
    match data.get("id") {
        Some(Value::String(body_id)) if body_id.parse::<ExportId>().ok().as_ref() == Some(id) => {}
        Some(Value::String(body_id)) => {
            return Err(RequestRejection::IdMismatch {
                body_id: body_id.chars().take(64).collect(),
            });
        }
        _ => return Err(malformed("data.id must be the export's id", pointer::ID)),
    }
    let mut violations = Vec::new();
    let mut update = UpdateExport::clear_external_reference_id();
    for (key, value) in &attributes {
        let at = format!("{}/{}", pointer::ATTRIBUTES, crate::create::escape_pointer(key));
        if key != "external_reference_id" {
            violations.push(Violation::new(at, Rule::ReadOnly));
            continue;
        }
        match value {
            Value::Null => {}
            Value::String(s) => match ExternalReferenceId::new(s.as_str()) {
                Ok(r) => update = UpdateExport::set_external_reference_id(r),
                Err(ExternalReferenceIdError::TooLong { len, max }) => {
                    violations.push(Violation::new(at, Rule::TooLong { len, max }))
                }
            },
            _ => violations.push(Violation::new(
                at,
                Rule::WrongType {
                    expected: "a string or null",
                },
            )),
        }
    }
    if !attributes.contains_key("external_reference_id") && violations.is_empty() {
        violations.push(Violation::new(pointer::EXTERNAL_REFERENCE_ID, Rule::Missing));
    }
    match ValidationErrors::from_violations(violations) {
        Some(errors) => Err(RequestRejection::Invalid(errors)),
        None => Ok(update),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// DIDWW's "Create Export" page, request and response, verbatim.
    const SEED_REQUEST: &str = include_str!("../fixtures/seed_create_request.json");
    const SEED_RESPONSE: &str = include_str!("../fixtures/seed_create_response.json");

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 12, 16, 6, 39, 44).unwrap()
    }

    fn seed_request() -> CreateExport {
        CreateExport::builder(ExportType::CdrIn)
            .from(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap())
            .to(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap())
            .did_number("123456789")
            .build(now())
            .unwrap()
    }

    #[test]
    fn seed_request_body_equals_the_seed_as_json_values() {
        let expected: Value = serde_json::from_str(SEED_REQUEST).unwrap();
        assert_eq!(create_document(&seed_request()), expected);
    }

    #[test]
    fn seed_request_parses_back_on_the_server_side() {
        assert_eq!(
            parse_create_document(SEED_REQUEST.as_bytes(), now()).unwrap(),
            seed_request()
        );
    }

    #[test]
    fn seed_response_parses_with_every_field_set() {
        let doc = parse_export_document(SEED_RESPONSE.as_bytes()).unwrap();
        let e = &doc.export;
        assert_eq!(e.id.to_string(), "33bdfff7-4de3-4c58-8c90-b99930fb984a");
        assert_eq!(e.status, Some(ExportStatus::Pending));
        assert_eq!(
            e.created_at.unwrap(),
            Utc.with_ymd_and_hms(2025, 12, 16, 6, 39, 44).unwrap() + chrono::Duration::milliseconds(465)
        );
        assert_eq!(e.export_type, Some(ExportType::CdrIn));
        assert_eq!(e.external_reference_id, None);
        assert_eq!(e.url, None);
        let f = e.filters.as_ref().unwrap();
        assert_eq!(f.from, Some(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap()));
        assert_eq!(f.to, Some(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap()));
        assert_eq!(f.did_number.as_deref(), Some("123456789"));
        assert_eq!(doc.api_version.as_deref(), Some("2026-04-16"));
    }

    #[test]
    fn server_side_document_reproduces_the_seed_response() {
        let doc = parse_export_document(SEED_RESPONSE.as_bytes()).unwrap();
        let expected: Value = serde_json::from_str(SEED_RESPONSE).unwrap();
        assert_eq!(export_document(&doc.export, "2026-04-16"), expected);
    }

    #[test]
    fn missing_attributes_and_old_formats_are_tolerated() {
        let body = br#"{"data":{"id":"33bdfff7-4de3-4c58-8c90-b99930fb984a","type":"exports",
            "attributes":{"status":"Completed","created_at":"2026-04-01 10:00:00","export_type":"sms_in"}}}"#;
        let e = parse_export_document(body).unwrap().export;
        assert!(e.is_completed());
        assert_eq!(e.export_type.unwrap().as_str(), "sms_in");
        assert_eq!(e.filters, None);
        let bare = br#"{"data":{"id":"33bdfff7-4de3-4c58-8c90-b99930fb984a","type":"exports"}}"#;
        assert_eq!(parse_export_document(bare).unwrap().export.status, None);
    }

    #[test]
    fn wrong_resource_type_is_an_error() {
        let body = br#"{"data":{"id":"33bdfff7-4de3-4c58-8c90-b99930fb984a","type":"orders","attributes":{}}}"#;
        assert!(matches!(parse_export_document(body), Err(DocumentError::WrongType(t)) if t == "orders"));
    }

    #[test]
    fn error_documents_from_the_contract() {
        for (body, title, detail, code, status, pointer) in [
            (
                r#"{"errors":[{"title":"Unauthorized","detail":"Authorization failed","code":"401","status":"401"}]}"#,
                "Unauthorized",
                "Authorization failed",
                "401",
                "401",
                None,
            ),
            (
                r#"{"errors":[{"title":"Record not found","detail":"The record identified by 21e02b15-806d-44b3-b67f-434ea6c44f61 could not be found.","code":"404","status":"404"}]}"#,
                "Record not found",
                "The record identified by 21e02b15-806d-44b3-b67f-434ea6c44f61 could not be found.",
                "404",
                "404",
                None,
            ),
            (
                r#"{"errors":[{"title":"is invalid","detail":"voice_in_trunk_group - is invalid","code":"100","source":{"pointer":"/data/attributes/voice_in_trunk_group_id"},"status":"422"}]}"#,
                "is invalid",
                "voice_in_trunk_group - is invalid",
                "100",
                "422",
                Some("/data/attributes/voice_in_trunk_group_id"),
            ),
        ] {
            let doc = ErrorDocument::parse(body.as_bytes()).unwrap();
            let e = &doc.errors[0];
            assert_eq!(e.title.as_deref(), Some(title));
            assert_eq!(e.detail.as_deref(), Some(detail));
            assert_eq!(e.code.as_deref(), Some(code));
            assert_eq!(e.status.as_deref(), Some(status));
            assert_eq!(e.pointer(), pointer);
            // And the server side writes it back identically.
            assert_eq!(
                serde_json::to_value(&doc).unwrap(),
                serde_json::from_str::<Value>(body).unwrap()
            );
        }
        assert_eq!(
            ErrorObject::unauthorized(),
            ErrorDocument::parse(
                br#"{"errors":[{"title":"Unauthorized","detail":"Authorization failed","code":"401","status":"401"}]}"#
            )
            .unwrap()
            .errors[0]
        );
        let numeric = ErrorDocument::parse(br#"{"errors":[{"code":100,"status":422,"source":"weird"}]}"#).unwrap();
        assert_eq!(numeric.errors[0].code.as_deref(), Some("100"));
        assert_eq!(numeric.errors[0].source, None);
        assert!(ErrorDocument::parse(b"<html>502</html>").is_none());
    }

    #[test]
    fn create_rejections() {
        assert_eq!(parse_create_document(b"{not json", now()).unwrap_err().status(), 400);
        assert_eq!(parse_create_document(b"[]", now()).unwrap_err().status(), 400);
        let wrong_type = br#"{"data":{"type":"orders","attributes":{}}}"#;
        let rejection = parse_create_document(wrong_type, now()).unwrap_err();
        assert_eq!(rejection.status(), 400);
        assert_eq!(rejection.to_error_objects()[0].pointer(), Some(pointer::TYPE));
        let invalid = br#"{"data":{"type":"exports","attributes":{"export_type":"cdr_in","filters":{"from":"2020-01-01T00:00:00Z","to":"2019-01-01T00:00:00Z"},"external_reference_id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}"#;
        let rejection = parse_create_document(invalid, now()).unwrap_err();
        assert_eq!(rejection.status(), 422);
        let errors = rejection.to_error_objects();
        assert_eq!(errors.len(), 3);
        assert!(
            errors
                .iter()
                .all(|e| e.status.as_deref() == Some("422") && e.pointer().is_some())
        );
        assert!(
            errors[2]
                .detail
                .as_deref()
                .unwrap()
                .starts_with("external_reference_id - must be at most 100")
        );
    }

    #[test]
    fn update_documents() {
        let id: ExportId = "33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap();
        let update = UpdateExport::set_external_reference_id(ExternalReferenceId::new("inv-1").unwrap());
        let doc = update_document(&id, &update);
        assert_eq!(
            doc,
            serde_json::json!({"data":{"id":"33bdfff7-4de3-4c58-8c90-b99930fb984a","type":"exports","attributes":{"external_reference_id":"inv-1"}}})
        );
        let body = serde_json::to_vec(&doc).unwrap();
        assert_eq!(parse_update_document(&body, &id).unwrap(), update);
        let clear = serde_json::to_vec(&update_document(&id, &UpdateExport::clear_external_reference_id())).unwrap();
        assert_eq!(
            parse_update_document(&clear, &id).unwrap(),
            UpdateExport::clear_external_reference_id()
        );
        let other: ExportId = "21e02b15-806d-44b3-b67f-434ea6c44f61".parse().unwrap();
        assert_eq!(parse_update_document(&body, &other).unwrap_err().status(), 409);
        let read_only = br#"{"data":{"id":"33bdfff7-4de3-4c58-8c90-b99930fb984a","type":"exports","attributes":{"status":"completed"}}}"#;
        let rejection = parse_update_document(read_only, &id).unwrap_err();
        assert_eq!(rejection.status(), 422);
        assert_eq!(
            rejection.to_error_objects()[0].pointer(),
            Some("/data/attributes/status")
        );
    }
}
