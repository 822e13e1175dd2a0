//! Property tests: every wire type round-trips, parsers never panic, generated
//! valid requests validate and invalid ones fail with the expected violation,
//! and the origin check never accepts another scheme, host or port.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;

use chrono::{DateTime, TimeZone, Utc};
use didww_exports_core::jsonapi::{self, ErrorSource};
use didww_exports_core::validation::{Rule, pointer};
use didww_exports_core::*;
use proptest::prelude::*;
use serde_json::Value;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 16, 6, 39, 44).unwrap()
}

fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
    // 1970..2100 with nanosecond precision.
    (0i64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(s, n)| Utc.timestamp_opt(s, n).unwrap())
}

fn any_id() -> impl Strategy<Value = ExportId> {
    any::<u128>().prop_map(|n| ExportId::from_uuid(uuid::Uuid::from_u128(n)))
}

fn unknown_word(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    "[A-Za-z_]{0,12}".prop_filter("not a known value", move |s| {
        !known.iter().any(|k| k.eq_ignore_ascii_case(s))
    })
}

fn status() -> impl Strategy<Value = ExportStatus> {
    prop_oneof![
        Just(ExportStatus::Pending),
        Just(ExportStatus::Processing),
        Just(ExportStatus::Completed),
        unknown_word(ExportStatus::KNOWN).prop_map(|s| ExportStatus::parse(&s)),
    ]
}

fn export_type() -> impl Strategy<Value = ExportType> {
    prop_oneof![
        Just(ExportType::CdrIn),
        Just(ExportType::CdrOut),
        unknown_word(ExportType::KNOWN).prop_map(|s| ExportType::parse(&s)),
    ]
}

fn callback_method() -> impl Strategy<Value = CallbackMethod> {
    prop_oneof![
        Just(CallbackMethod::Post),
        Just(CallbackMethod::Get),
        unknown_word(CallbackMethod::KNOWN).prop_map(|s| CallbackMethod::parse(&s)),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn filters() -> impl Strategy<Value = ExportFilters> {
    (
        prop::option::of(any_time()),
        prop::option::of(any_time()),
        prop::option::of("[0-9]{1,15}"),
        prop::option::of(".{0,40}"),
        prop::collection::btree_map(
            "[a-z_.]{1,12}".prop_filter("not a modelled key", |k| {
                !["from", "to", "did_number", "voice_out_trunk.id"].contains(&k.as_str())
            }),
            json_leaf().prop_filter("null means absent", |v| !v.is_null()),
            0..3,
        ),
    )
        .prop_map(|(from, to, did, trunk, other)| {
            let mut f = ExportFilters::default();
            f.from = from;
            f.to = to;
            f.did_number = did;
            f.voice_out_trunk_id = trunk;
            f.other = other;
            f
        })
}

fn export() -> impl Strategy<Value = Export> {
    (
        any_id(),
        prop::option::of(status()),
        prop::option::of(any_time()),
        prop::option::of(".{0,60}"),
        prop::option::of(".{0,60}"),
        prop::option::of(callback_method()),
        prop::option::of(export_type()),
        prop::option::of(".{0,100}"),
        prop::option::of(filters()),
    )
        .prop_map(
            |(id, status, created_at, url, callback_url, method, export_type, reference, filters)| {
                let mut e = Export::new(id);
                e.status = status;
                e.created_at = created_at;
                e.url = url;
                e.callback_url = callback_url;
                e.callback_method = method;
                e.export_type = export_type;
                e.external_reference_id = reference;
                e.filters = filters;
                e
            },
        )
}

/// A valid create request at `now()`: from inside the retention window, to after it.
fn valid_create() -> impl Strategy<Value = CreateExport> {
    let earliest = time::retention_start(now()).timestamp();
    (
        prop::bool::ANY,
        earliest..earliest + 200 * 86_400,
        1i64..400 * 86_400,
        prop::option::of("[0-9]{1,15}"),
        prop::option::of(any::<u128>()),
        prop::option::of((
            "(http|https)",
            "[a-z]{1,10}\\.example",
            prop::option::of(1u16..=u16::MAX),
            "/[a-z/]{0,10}",
            prop::option::of(prop::bool::ANY),
        )),
        prop::option::of(".{0,100}"),
    )
        .prop_map(|(inbound, from, span, did, trunk, callback, reference)| {
            let mut b = CreateExport::builder(if inbound { ExportType::CdrIn } else { ExportType::CdrOut })
                .from(Utc.timestamp_opt(from, 0).unwrap())
                .to(Utc.timestamp_opt(from + span, 0).unwrap());
            if inbound {
                if let Some(did) = did {
                    b = b.did_number(did);
                }
            } else if let Some(trunk) = trunk {
                b = b.voice_out_trunk_id(uuid::Uuid::from_u128(trunk).to_string());
            }
            if let Some((scheme, host, port, path, method)) = callback {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                b = b.callback_url(format!("{scheme}://{host}{port}{path}"));
                if let Some(post) = method {
                    b = b.callback_method(if post {
                        CallbackMethod::Post
                    } else {
                        CallbackMethod::Get
                    });
                }
            }
            if let Some(reference) = reference {
                b = b.external_reference_id(reference);
            }
            b.build(now()).expect("generated requests are valid")
        })
}

fn error_object() -> impl Strategy<Value = ErrorObject> {
    (
        prop::option::of(".{0,20}"),
        prop::option::of(".{0,40}"),
        prop::option::of("[0-9]{1,3}"),
        prop::option::of("[1-5][0-9]{2}"),
        prop::option::of((
            prop::option::of("(/[a-z_]{1,8}){1,4}"),
            prop::option::of("[a-z\\[\\]_]{1,12}"),
        )),
        prop::option::of(any_json()),
    )
        .prop_map(|(title, detail, code, status, source, meta)| {
            let mut e = ErrorObject::default();
            e.title = title;
            e.detail = detail;
            e.code = code;
            e.status = status;
            e.source = source.map(|(p, q)| {
                let mut s = ErrorSource::default();
                s.pointer = p;
                s.parameter = q;
                s
            });
            // `meta: null` reads back as absent.
            e.meta = meta.filter(|m| !m.is_null());
            e
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn export_documents_round_trip(e in export()) {
        let doc = jsonapi::export_document(&e, "2026-04-16");
        let bytes = serde_json::to_vec(&doc).unwrap();
        let parsed = jsonapi::parse_export_document(&bytes).unwrap();
        prop_assert_eq!(parsed.export, e);
        prop_assert_eq!(parsed.api_version.as_deref(), Some("2026-04-16"));
    }

    #[test]
    fn list_documents_round_trip(
        exports in prop::collection::vec(export(), 0..5),
        total in prop::option::of(any::<u64>()),
        next in prop::option::of("[a-z/?=&]{1,30}"),
    ) {
        let mut page = ExportPage::new(exports);
        page.total_records = total;
        page.api_version = Some("2026-04-16".into());
        page.links.next = next;
        page.links.first = Some("first".into());
        let bytes = serde_json::to_vec(&jsonapi::export_list_document(&page)).unwrap();
        prop_assert_eq!(jsonapi::parse_export_list_document(&bytes).unwrap(), page);
    }

    #[test]
    fn create_requests_round_trip_through_the_server_parser(req in valid_create()) {
        let bytes = serde_json::to_vec(&jsonapi::create_document(&req)).unwrap();
        prop_assert_eq!(jsonapi::parse_create_document(&bytes, now()).unwrap(), req);
    }

    #[test]
    fn update_requests_round_trip(id in any_id(), reference in prop::option::of(".{0,100}")) {
        let update = match reference {
            Some(r) => UpdateExport::set_external_reference_id(ExternalReferenceId::new(r).unwrap()),
            None => UpdateExport::clear_external_reference_id(),
        };
        let bytes = serde_json::to_vec(&jsonapi::update_document(&id, &update)).unwrap();
        prop_assert_eq!(jsonapi::parse_update_document(&bytes, &id).unwrap(), update);
    }

    #[test]
    fn error_documents_round_trip(errors in prop::collection::vec(error_object(), 0..4)) {
        let doc = ErrorDocument::new(errors);
        prop_assert_eq!(ErrorDocument::parse(&doc.to_vec()).unwrap(), doc);
    }

    #[test]
    fn list_queries_round_trip(
        page in prop::option::of(1u32..=u32::MAX),
        size in prop::option::of(1u32..=1000),
        reference in prop::option::of(".{0,100}"),
        sorts in prop::collection::vec((0usize..3, any::<bool>()), 0..3),
    ) {
        let mut q = ListQuery::new();
        if let Some(p) = page { q = q.page(NonZeroU32::new(p).unwrap()); }
        if let Some(s) = size { q = q.page_size(PageSize::new(s).unwrap()); }
        if let Some(r) = reference { q = q.external_reference_id(ExternalReferenceId::new(r).unwrap()); }
        for (field, desc) in sorts {
            let field = [SortField::CreatedAt, SortField::ExternalReferenceId, SortField::Status][field];
            q = q.sort(Sort { field, descending: desc });
        }
        prop_assert_eq!(ListQuery::parse_query_string(&q.to_query_string()).unwrap(), q);
    }

    #[test]
    fn enums_and_ids_round_trip(s in status(), t in export_type(), m in callback_method(), id in any_id(), did in "[0-9]{1,20}") {
        prop_assert_eq!(serde_json::from_str::<ExportStatus>(&serde_json::to_string(&s).unwrap()).unwrap(), s);
        prop_assert_eq!(serde_json::from_str::<ExportType>(&serde_json::to_string(&t).unwrap()).unwrap(), t);
        prop_assert_eq!(serde_json::from_str::<CallbackMethod>(&serde_json::to_string(&m).unwrap()).unwrap(), m);
        prop_assert_eq!(serde_json::from_str::<ExportId>(&serde_json::to_string(&id).unwrap()).unwrap(), id);
        let did = DidNumber::new(did).unwrap();
        prop_assert_eq!(serde_json::from_str::<DidNumber>(&serde_json::to_string(&did).unwrap()).unwrap(), did);
    }

    #[test]
    fn status_compares_case_insensitively(
        word in prop::sample::select(ExportStatus::KNOWN),
        upper in prop::collection::vec(any::<bool>(), 10),
    ) {
        let s: String = word.chars().zip(upper.iter().cycle()).map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c }).collect();
        prop_assert!(ExportStatus::parse(&s).is_known());
        prop_assert_eq!(ExportStatus::parse(&s), ExportStatus::parse(&s.to_ascii_lowercase()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), status in 100u16..600) {
        let _ = jsonapi::parse_export_document(&bytes);
        let _ = jsonapi::parse_export_list_document(&bytes);
        let _ = ErrorDocument::parse(&bytes);
        let _ = jsonapi::parse_create_document(&bytes, now());
        let id: ExportId = "33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap();
        let _ = jsonapi::parse_update_document(&bytes, &id);
        let text = String::from_utf8_lossy(&bytes);
        let _ = ListQuery::parse_query_string(&text);
        let _ = time::parse_time(&text);
        let _ = time::parse_user_time(&text);
        let _ = time::month_range(&text, now());
        let _ = RetryAfter::parse(&text);
        let _ = operations::disposition_file_name(&text);
        let _ = BaseUrl::parse(&text);
        let _ = ApiVersion::new(&text);
        let response = http::Response::builder()
            .status(status)
            .header("content-type", "application/vnd.api+json")
            .body(bytes.clone())
            .unwrap();
        let _ = operations::parse_create_response(&response);
        let _ = operations::parse_list_response(&response);
        let _ = operations::api_error(&response);
        let _ = operations::download_head(&response);
        let _ = operations::download_error(&response);
        let _ = BodyExcerpt::new(&bytes).to_string();
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let wrapped = serde_json::to_vec(&serde_json::json!({"data": {"type": "exports", "id": "33bdfff7-4de3-4c58-8c90-b99930fb984a", "attributes": v}})).unwrap();
        for b in [&bytes, &wrapped] {
            let _ = jsonapi::parse_export_document(b);
            let _ = jsonapi::parse_export_list_document(b);
            let _ = ErrorDocument::parse(b);
            let _ = jsonapi::parse_create_document(b, now());
            let _ = jsonapi::parse_update_document(b, &"33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap());
        }
    }

    #[test]
    fn arbitrary_attributes_get_pointed_violations(v in any_json()) {
        let doc = serde_json::json!({"data": {"type": "exports", "attributes": v}});
        match jsonapi::parse_create_document(&serde_json::to_vec(&doc).unwrap(), now()) {
            Ok(_) => {}
            Err(rejection) => {
                let errors = rejection.to_error_objects();
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| e.pointer().is_some_and(|p| p.starts_with("/data"))));
            }
        }
    }
}

/// One way to break a valid request, and the violation it must produce.
#[derive(Debug, Clone)]
enum Breakage {
    FromBeforeWindow(i64),
    ToNotAfterFrom(i64),
    ReferenceTooLong(usize),
    MethodWithoutUrl,
    BadCallbackScheme(String),
    WrongTypeFilter,
    DidNotDigits(String),
}

fn breakage() -> impl Strategy<Value = Breakage> {
    prop_oneof![
        (1i64..10_000_000).prop_map(Breakage::FromBeforeWindow),
        (0i64..10_000_000).prop_map(Breakage::ToNotAfterFrom),
        (101usize..300).prop_map(Breakage::ReferenceTooLong),
        Just(Breakage::MethodWithoutUrl),
        "(ftp|file|ws|mailto|data)".prop_map(Breakage::BadCallbackScheme),
        Just(Breakage::WrongTypeFilter),
        "[0-9]{0,5}[^0-9][0-9]{0,5}".prop_map(Breakage::DidNotDigits),
    ]
}

proptest! {
    #[test]
    fn invalid_requests_fail_with_the_expected_violation(b in breakage()) {
        let earliest = time::retention_start(now());
        let from = earliest + chrono::Duration::days(3);
        let mut builder = CreateExport::builder(ExportType::CdrIn).from(from).to(from + chrono::Duration::days(1));
        let (at, check): (&str, fn(&Rule) -> bool) = match &b {
            Breakage::FromBeforeWindow(secs) => {
                builder = builder.from(earliest - chrono::Duration::seconds(*secs));
                (pointer::FROM, |r| matches!(r, Rule::BeforeRetentionWindow { .. }))
            }
            Breakage::ToNotAfterFrom(secs) => {
                builder = builder.to(from - chrono::Duration::seconds(*secs));
                (pointer::FROM, |r| matches!(r, Rule::FromNotBeforeTo { .. }))
            }
            Breakage::ReferenceTooLong(n) => {
                builder = builder.external_reference_id("é".repeat(*n));
                (pointer::EXTERNAL_REFERENCE_ID, |r| matches!(r, Rule::TooLong { max: 100, .. }))
            }
            Breakage::MethodWithoutUrl => {
                builder = builder.callback_method(CallbackMethod::Post);
                (pointer::CALLBACK_METHOD, |r| *r == Rule::CallbackMethodWithoutUrl)
            }
            Breakage::BadCallbackScheme(scheme) => {
                builder = builder.callback_url(format!("{scheme}://example.com/x"));
                (pointer::CALLBACK_URL, |r| matches!(r, Rule::CallbackUrl(_)))
            }
            Breakage::WrongTypeFilter => {
                builder = builder.voice_out_trunk_id("0b1c0a6e-6f39-4c39-9e4a-3f1e5ad1c6a1");
                (pointer::VOICE_OUT_TRUNK_ID, |r| matches!(r, Rule::FilterNotAllowed { .. }))
            }
            Breakage::DidNotDigits(did) => {
                builder = builder.did_number(did.clone());
                (pointer::DID_NUMBER, |r| matches!(r, Rule::DidNumber(_)))
            }
        };
        let err = builder.build(now()).unwrap_err();
        prop_assert!(err.has(at, check), "{:?} gave {:?}", b, err);
    }

    #[test]
    fn origin_check_never_accepts_another_origin(
        base_scheme in "(http|https)", base_host in "[a-c]{1,2}\\.example", base_port in prop::option::of(1u16..=u16::MAX),
        scheme in "(http|https)", host in "[a-c]{1,2}\\.example", port in prop::option::of(1u16..=u16::MAX),
        path in "(/[a-z0-9.]{0,8}){0,3}",
    ) {
        let fmt = |s: &str, h: &str, p: Option<u16>| match p {
            Some(p) => format!("{s}://{h}:{p}"),
            None => format!("{s}://{h}"),
        };
        let default = |s: &str| if s == "http" { 80 } else { 443 };
        let base = BaseUrl::parse(&format!("{}/v3", fmt(&base_scheme, &base_host, base_port))).unwrap();
        let candidate = format!("{}{path}", fmt(&scheme, &host, port));
        let same = base_scheme == scheme
            && base_host == host
            && base_port.unwrap_or(default(&base_scheme)) == port.unwrap_or(default(&scheme));
        prop_assert_eq!(origin::check_origin(&base, &candidate).is_ok(), same, "{} vs {}", base, candidate);
    }
}
