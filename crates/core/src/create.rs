//! The create request: `CreateExport`, its builder, and the one validation path
//! that both the builder and the emulator's request parser go through.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::export::{CallbackMethod, ExportType, VOICE_OUT_TRUNK_ID_KEY};
use crate::ids::{DidNumber, ExternalReferenceId, ExternalReferenceIdError, VoiceOutTrunkId};
use crate::time::{format_time, parse_time, retention_start};
use crate::validation::{Rule, ValidationErrors, Violation, check_callback_url, pointer};

/// The filters of a create request: the CDR range plus the export type's own filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrFilters {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    did_number: Option<DidNumber>,
    voice_out_trunk_id: Option<VoiceOutTrunkId>,
}

impl CdrFilters {
    /// Start of the CDR range.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }
    /// End of the CDR range.
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }
    /// The DID whose calls are exported (`cdr_in`; all owned DIDs when absent).
    pub fn did_number(&self) -> Option<&DidNumber> {
        self.did_number.as_ref()
    }
    /// The outbound trunk whose calls are exported (`cdr_out`).
    pub fn voice_out_trunk_id(&self) -> Option<&VoiceOutTrunkId> {
        self.voice_out_trunk_id.as_ref()
    }

    /// The `filters` object as sent: absent filters are omitted, not null.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("from".into(), Value::String(format_time(&self.from)));
        map.insert("to".into(), Value::String(format_time(&self.to)));
        if let Some(did) = &self.did_number {
            map.insert("did_number".into(), Value::String(did.to_string()));
        }
        if let Some(trunk) = &self.voice_out_trunk_id {
            map.insert(VOICE_OUT_TRUNK_ID_KEY.into(), Value::String(trunk.to_string()));
        }
        Value::Object(map)
    }
}

/// A validated request to create an export. Build one with [`CreateExport::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateExport {
    export_type: ExportType,
    filters: CdrFilters,
    callback_url: Option<String>,
    callback_method: Option<CallbackMethod>,
    external_reference_id: Option<ExternalReferenceId>,
}

impl CreateExport {
    /// Starts a request for `export_type`.
    pub fn builder(export_type: ExportType) -> CreateExportBuilder {
        let draft = Draft {
            export_type: Some(Value::String(export_type.as_str().to_owned())),
            ..Draft::default()
        };
        CreateExportBuilder { draft }
    }

    /// `cdr_in` or `cdr_out`.
    pub fn export_type(&self) -> &ExportType {
        &self.export_type
    }
    /// The filters.
    pub fn filters(&self) -> &CdrFilters {
        &self.filters
    }
    /// Where DIDWW will call back.
    pub fn callback_url(&self) -> Option<&str> {
        self.callback_url.as_deref()
    }
    /// How DIDWW will call back.
    pub fn callback_method(&self) -> Option<&CallbackMethod> {
        self.callback_method.as_ref()
    }
    /// The customer's own identifier.
    pub fn external_reference_id(&self) -> Option<&ExternalReferenceId> {
        self.external_reference_id.as_ref()
    }

    /// The `attributes` object as sent: absent optional attributes are omitted.
    pub fn attributes_json(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "export_type".into(),
            Value::String(self.export_type.as_str().to_owned()),
        );
        map.insert("filters".into(), self.filters.to_json());
        if let Some(url) = &self.callback_url {
            map.insert("callback_url".into(), Value::String(url.clone()));
        }
        if let Some(method) = &self.callback_method {
            map.insert("callback_method".into(), Value::String(method.as_str().to_owned()));
        }
        if let Some(reference) = &self.external_reference_id {
            map.insert(
                "external_reference_id".into(),
                Value::String(reference.as_str().to_owned()),
            );
        }
        Value::Object(map)
    }

    /// Checks the time-dependent rule again at `now` (a request built earlier
    /// may have fallen out of the retention window since).
    pub fn revalidate(&self, now: DateTime<Utc>) -> Result<(), ValidationErrors> {
        let earliest = retention_start(now);
        let violations = if self.filters.from < earliest {
            vec![Violation::new(
                pointer::FROM,
                Rule::BeforeRetentionWindow {
                    from: self.filters.from,
                    earliest,
                },
            )]
        } else {
            Vec::new()
        };
        ValidationErrors::from_violations(violations).map_or(Ok(()), Err)
    }
}

/// Builds a [`CreateExport`]; `build` reports every broken rule at once.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use didww_exports_core::{CreateExport, ExportType};
///
/// let now = Utc.with_ymd_and_hms(2025, 12, 16, 6, 39, 44).unwrap();
/// let request = CreateExport::builder(ExportType::CdrIn)
///     .from(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap())
///     .to(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap())
///     .did_number("123456789")
///     .build(now)
///     .expect("valid");
/// assert_eq!(request.filters().did_number().unwrap().as_str(), "123456789");
/// ```
#[derive(Debug, Clone)]
pub struct CreateExportBuilder {
    draft: Draft,
}

impl CreateExportBuilder {
    fn filter(mut self, key: &str, value: Value) -> Self {
        let filters = self.draft.filters.get_or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = filters {
            map.insert(key.to_owned(), value);
        }
        self
    }

    /// Start of the CDR range.
    pub fn from(self, from: DateTime<Utc>) -> Self {
        self.filter("from", Value::String(format_time(&from)))
    }
    /// End of the CDR range.
    pub fn to(self, to: DateTime<Utc>) -> Self {
        self.filter("to", Value::String(format_time(&to)))
    }
    /// Restricts a `cdr_in` export to one DID (digits only).
    pub fn did_number(self, did_number: impl Into<String>) -> Self {
        self.filter("did_number", Value::String(did_number.into()))
    }
    /// Restricts a `cdr_out` export to one trunk (a UUID).
    pub fn voice_out_trunk_id(self, trunk_id: impl Into<String>) -> Self {
        self.filter(VOICE_OUT_TRUNK_ID_KEY, Value::String(trunk_id.into()))
    }
    /// Where DIDWW calls back when the export completes (absolute http/https URL).
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.draft.callback_url = Some(Value::String(url.into()));
        self
    }
    /// How DIDWW calls back; needs a callback URL.
    pub fn callback_method(mut self, method: CallbackMethod) -> Self {
        self.draft.callback_method = Some(Value::String(method.as_str().to_owned()));
        self
    }
    /// The customer's own identifier (at most 100 characters).
    pub fn external_reference_id(mut self, reference: impl Into<String>) -> Self {
        self.draft.external_reference_id = Some(Value::String(reference.into()));
        self
    }

    /// Validates everything at `now` and returns the request, or every violation.
    pub fn build(self, now: DateTime<Utc>) -> Result<CreateExport, ValidationErrors> {
        self.draft.validate(now)
    }
}

/// The attributes of a create request before validation, as loose JSON values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Draft {
    pub(crate) export_type: Option<Value>,
    pub(crate) filters: Option<Value>,
    pub(crate) callback_url: Option<Value>,
    pub(crate) callback_method: Option<Value>,
    pub(crate) external_reference_id: Option<Value>,
}

const FILTERS_CDR_IN: &[&str] = &["from", "to", "did_number"];
const FILTERS_CDR_OUT: &[&str] = &["from", "to", VOICE_OUT_TRUNK_ID_KEY];

/// Reads an optional (`required == false`) or required string field.
fn string_field<'a>(
    value: Option<&'a Value>,
    at: &str,
    required: bool,
    violations: &mut Vec<Violation>,
) -> Option<&'a str> {
    match value {
        None | Some(Value::Null) => {
            if required {
                violations.push(Violation::new(at, Rule::Missing));
            }
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            violations.push(Violation::new(at, Rule::WrongType { expected: "a string" }));
            None
        }
    }
}

impl Draft {
    /// Reads the draft from a JSON:API `attributes` object.
    pub(crate) fn from_attributes(attributes: &Map<String, Value>) -> Self {
        Draft {
            export_type: attributes.get("export_type").cloned(),
            filters: attributes.get("filters").cloned(),
            callback_url: attributes.get("callback_url").cloned(),
            callback_method: attributes.get("callback_method").cloned(),
            external_reference_id: attributes.get("external_reference_id").cloned(),
        }
    }

    pub(crate) fn validate(&self, now: DateTime<Utc>) -> Result<CreateExport, ValidationErrors> {
        let mut v = Vec::new();

        let export_type = string_field(self.export_type.as_ref(), pointer::EXPORT_TYPE, true, &mut v).and_then(|s| {
            let t = ExportType::parse(s);
            if t.is_known() {
                Some(t)
            } else {
                v.push(Violation::new(
                    pointer::EXPORT_TYPE,
                    Rule::NotAllowedValue {
                        value: s.to_owned(),
                        allowed: ExportType::KNOWN,
                    },
                ));
                None
            }
        });

        let filters = match &self.filters {
            None | Some(Value::Null) => {
                v.push(Violation::new(pointer::FILTERS, Rule::Missing));
                None
            }
            Some(Value::Object(map)) => Some(self.validate_filters(map, export_type.as_ref(), now, &mut v)),
            Some(_) => {
                v.push(Violation::new(
                    pointer::FILTERS,
                    Rule::WrongType { expected: "an object" },
                ));
                None
            }
        };

        let callback_url =
            string_field(self.callback_url.as_ref(), pointer::CALLBACK_URL, false, &mut v).and_then(|s| {
                match check_callback_url(s) {
                    Ok(_) => Some(s.to_owned()),
                    Err(problem) => {
                        v.push(Violation::new(pointer::CALLBACK_URL, Rule::CallbackUrl(problem)));
                        None
                    }
                }
            });
        let callback_url_given = matches!(self.callback_url, Some(Value::String(_)));

        let callback_method = string_field(self.callback_method.as_ref(), pointer::CALLBACK_METHOD, false, &mut v)
            .and_then(|s| {
                let m = CallbackMethod::parse(s);
                if !m.is_known() {
                    v.push(Violation::new(
                        pointer::CALLBACK_METHOD,
                        Rule::NotAllowedValue {
                            value: s.to_owned(),
                            allowed: CallbackMethod::KNOWN,
                        },
                    ));
                    return None;
                }
                if !callback_url_given {
                    v.push(Violation::new(pointer::CALLBACK_METHOD, Rule::CallbackMethodWithoutUrl));
                }
                Some(m)
            });

        let external_reference_id = string_field(
            self.external_reference_id.as_ref(),
            pointer::EXTERNAL_REFERENCE_ID,
            false,
            &mut v,
        )
        .and_then(|s| match ExternalReferenceId::new(s) {
            Ok(id) => Some(id),
            Err(ExternalReferenceIdError::TooLong { len, max }) => {
                v.push(Violation::new(
                    pointer::EXTERNAL_REFERENCE_ID,
                    Rule::TooLong { len, max },
                ));
                None
            }
        });

        match (ValidationErrors::from_violations(v), export_type, filters.flatten()) {
            (None, Some(export_type), Some(filters)) => Ok(CreateExport {
                export_type,
                filters,
                callback_url,
                callback_method,
                external_reference_id,
            }),
            (Some(errors), _, _) => Err(errors),
            // A missing part always records a violation; this arm only keeps the match total.
            (None, _, _) => Err(ValidationErrors::single(Violation::new(
                pointer::ATTRIBUTES,
                Rule::Missing,
            ))),
        }
    }

    fn validate_filters(
        &self,
        map: &Map<String, Value>,
        export_type: Option<&ExportType>,
        now: DateTime<Utc>,
        v: &mut Vec<Violation>,
    ) -> Option<CdrFilters> {
        let time = |key: &str, at: &str, v: &mut Vec<Violation>| {
            string_field(map.get(key), at, true, v).and_then(|s| match parse_time(s) {
                Ok(t) => Some(t),
                Err(err) => {
                    v.push(Violation::new(at, Rule::InvalidTime(err)));
                    None
                }
            })
        };
        let from = time("from", pointer::FROM, v);
        let to = time("to", pointer::TO, v);
        if let Some(from) = from {
            let earliest = retention_start(now);
            if from < earliest {
                v.push(Violation::new(
                    pointer::FROM,
                    Rule::BeforeRetentionWindow { from, earliest },
                ));
            }
            if let Some(to) = to {
                if from >= to {
                    v.push(Violation::new(pointer::FROM, Rule::FromNotBeforeTo { from, to }));
                }
            }
        }

        let allowed = match export_type {
            Some(ExportType::CdrIn) => Some(FILTERS_CDR_IN),
            Some(ExportType::CdrOut) => Some(FILTERS_CDR_OUT),
            _ => None,
        };
        // Keys in document order would need a preserving map; report in a stable (sorted) order.
        for key in map.keys() {
            if key == "from" || key == "to" {
                continue;
            }
            let known = key == "did_number" || key == VOICE_OUT_TRUNK_ID_KEY;
            if let (Some(allowed), Some(export_type)) = (allowed, export_type) {
                if !(allowed.contains(&key.as_str()) || (map[key].is_null() && known)) {
                    v.push(Violation::new(
                        format!("{}/{}", pointer::FILTERS, escape_pointer(key)),
                        Rule::FilterNotAllowed {
                            filter: key.clone(),
                            export_type: export_type.as_str().to_owned(),
                            allowed,
                        },
                    ));
                }
            }
        }

        let did_number = string_field(map.get("did_number"), pointer::DID_NUMBER, false, v).and_then(|s| {
            DidNumber::new(s)
                .map_err(|err| v.push(Violation::new(pointer::DID_NUMBER, Rule::DidNumber(err))))
                .ok()
        });
        let voice_out_trunk_id = string_field(map.get(VOICE_OUT_TRUNK_ID_KEY), pointer::VOICE_OUT_TRUNK_ID, false, v)
            .and_then(|s| {
                s.parse::<VoiceOutTrunkId>()
                    .map_err(|err| v.push(Violation::new(pointer::VOICE_OUT_TRUNK_ID, Rule::NotUuid(err))))
                    .ok()
            });

        Some(CdrFilters {
            from: from?,
            to: to?,
            did_number,
            voice_out_trunk_id,
        })
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, s).unwrap()
    }
    fn now() -> DateTime<Utc> {
        t(2025, 12, 16, 6, 39, 44)
    }
    fn seed() -> CreateExportBuilder {
        CreateExport::builder(ExportType::CdrIn)
            .from(t(2025, 12, 1, 0, 0, 0))
            .to(t(2025, 12, 31, 23, 59, 59))
    }

    #[test]
    fn the_seed_example_is_valid_and_serializes_like_the_seed() {
        let req = seed().did_number("123456789").build(now()).unwrap();
        assert_eq!(
            req.attributes_json(),
            serde_json::json!({
                "export_type": "cdr_in",
                "filters": {"from": "2025-12-01T00:00:00Z", "to": "2025-12-31T23:59:59Z", "did_number": "123456789"}
            })
        );
    }

    #[test]
    fn a_future_to_is_allowed() {
        assert!(seed().to(t(2030, 1, 1, 0, 0, 0)).build(now()).is_ok());
    }

    #[test]
    fn retention_window_boundary() {
        assert!(
            CreateExport::builder(ExportType::CdrIn)
                .from(t(2025, 10, 1, 0, 0, 0))
                .to(t(2025, 10, 2, 0, 0, 0))
                .build(now())
                .is_ok()
        );
        let err = CreateExport::builder(ExportType::CdrIn)
            .from(t(2025, 9, 30, 23, 59, 59))
            .to(t(2025, 10, 2, 0, 0, 0))
            .build(now())
            .unwrap_err();
        assert_eq!(
            err.violations(),
            &[Violation::new(
                pointer::FROM,
                Rule::BeforeRetentionWindow {
                    from: t(2025, 9, 30, 23, 59, 59),
                    earliest: t(2025, 10, 1, 0, 0, 0)
                }
            )]
        );
    }

    #[test]
    fn from_must_be_strictly_before_to() {
        let err = seed().to(t(2025, 12, 1, 0, 0, 0)).build(now()).unwrap_err();
        assert!(err.has(pointer::FROM, |r| matches!(r, Rule::FromNotBeforeTo { .. })));
    }

    #[test]
    fn reports_every_violation_at_once() {
        let err = CreateExport::builder(ExportType::CdrOut)
            .from(t(2025, 1, 1, 0, 0, 0))
            .to(t(2024, 1, 1, 0, 0, 0))
            .did_number("12x")
            .voice_out_trunk_id("not-a-uuid")
            .callback_url("ftp://example.com/")
            .callback_method(CallbackMethod::Post)
            .external_reference_id("r".repeat(101))
            .build(now())
            .unwrap_err();
        let pointers: Vec<&str> = err.violations().iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                pointer::FROM,
                pointer::FROM,
                pointer::DID_NUMBER, // not a cdr_out filter
                pointer::DID_NUMBER, // not digits
                pointer::VOICE_OUT_TRUNK_ID,
                pointer::CALLBACK_URL,
                pointer::EXTERNAL_REFERENCE_ID,
            ]
        );
        assert!(err.has(pointer::DID_NUMBER, |r| matches!(r, Rule::FilterNotAllowed { .. })));
        assert!(err.has(pointer::EXTERNAL_REFERENCE_ID, |r| *r
            == Rule::TooLong { len: 101, max: 100 }));
    }

    #[test]
    fn callback_method_needs_a_url() {
        let err = seed().callback_method(CallbackMethod::Get).build(now()).unwrap_err();
        assert_eq!(
            err.violations(),
            &[Violation::new(pointer::CALLBACK_METHOD, Rule::CallbackMethodWithoutUrl)]
        );
        assert!(
            seed()
                .callback_url("https://example.com/cb")
                .callback_method(CallbackMethod::Get)
                .build(now())
                .is_ok()
        );
        // A URL without a method is fine: DIDWW picks its default.
        assert!(seed().callback_url("https://example.com/cb").build(now()).is_ok());
    }

    #[test]
    fn trunk_filter_belongs_to_cdr_out() {
        let trunk = "0b1c0a6e-6f39-4c39-9e4a-3f1e5ad1c6a1";
        let err = seed().voice_out_trunk_id(trunk).build(now()).unwrap_err();
        assert!(err.has(pointer::VOICE_OUT_TRUNK_ID, |r| matches!(
            r,
            Rule::FilterNotAllowed { .. }
        )));
        let ok = CreateExport::builder(ExportType::CdrOut)
            .from(t(2025, 12, 1, 0, 0, 0))
            .to(t(2025, 12, 2, 0, 0, 0))
            .voice_out_trunk_id(trunk)
            .build(now())
            .unwrap();
        assert_eq!(ok.filters().voice_out_trunk_id().unwrap().to_string(), trunk);
        assert_eq!(ok.attributes_json()["filters"]["voice_out_trunk.id"], trunk);
    }

    #[test]
    fn missing_and_wrong_types() {
        let draft = Draft::from_attributes(
            serde_json::json!({"export_type": 3, "filters": {"from": 1}, "callback_url": null})
                .as_object()
                .unwrap(),
        );
        let err = draft.validate(now()).unwrap_err();
        assert!(err.has(pointer::EXPORT_TYPE, |r| matches!(r, Rule::WrongType { .. })));
        assert!(err.has(pointer::FROM, |r| matches!(r, Rule::WrongType { .. })));
        assert!(err.has(pointer::TO, |r| *r == Rule::Missing));
        let err = Draft::default().validate(now()).unwrap_err();
        assert!(err.has(pointer::EXPORT_TYPE, |r| *r == Rule::Missing));
        assert!(err.has(pointer::FILTERS, |r| *r == Rule::Missing));
        let err = Draft::from_attributes(
            serde_json::json!({"export_type": "sms_in", "filters": []})
                .as_object()
                .unwrap(),
        )
        .validate(now())
        .unwrap_err();
        assert!(err.has(pointer::EXPORT_TYPE, |r| matches!(r, Rule::NotAllowedValue { .. })));
        assert!(err.has(pointer::FILTERS, |r| matches!(r, Rule::WrongType { .. })));
    }

    #[test]
    fn unknown_filters_are_rejected_with_their_pointer() {
        let draft = Draft::from_attributes(
            serde_json::json!({"export_type": "cdr_in", "filters": {
                "from": "2025-12-01T00:00:00Z", "to": "2025-12-02 00:00:00", "a/b": "x"}})
            .as_object()
            .unwrap(),
        );
        let err = draft.validate(now()).unwrap_err();
        assert_eq!(err.violations()[0].pointer, "/data/attributes/filters/a~1b");
    }

    #[test]
    fn revalidate_applies_the_window_at_a_later_now() {
        let req = seed().build(now()).unwrap();
        assert!(req.revalidate(now()).is_ok());
        assert!(req.revalidate(t(2026, 3, 1, 0, 0, 0)).is_err());
    }
}
