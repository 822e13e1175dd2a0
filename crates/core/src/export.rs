//! The export resource as DIDWW describes it.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::ExportId;
use crate::time::{format_time, parse_time};

/// A value the server sent that this version of the crate does not know.
/// It is kept as sent, and compares case-insensitively.
#[derive(Clone)]
pub struct UnknownValue(String);

impl UnknownValue {
    /// The value as the server sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for UnknownValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for UnknownValue {}
impl Hash for UnknownValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_ascii_lowercase().hash(state)
    }
}
impl fmt::Debug for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know, kept as the server sent it.
            Unknown(UnknownValue),
        }

        impl $name {
            /// Every value this crate knows, in DIDWW's spelling.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The value in DIDWW's (lowercase) spelling, or as sent when unknown.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(v) => v.as_str(),
                }
            }

            /// Reads a value, ignoring ASCII case; an unknown value is kept.
            pub fn parse(value: &str) -> Self {
                $( if value.eq_ignore_ascii_case($wire) { return $name::$variant; } )+
                $name::Unknown(UnknownValue(value.to_owned()))
            }

            /// Whether this is a value this crate knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::parse(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

wire_enum!(
    /// Which calls an export covers.
    ExportType {
        /// Inbound calls (to the customer's DIDs).
        CdrIn => "cdr_in",
        /// Outbound calls (through the customer's voice out trunks).
        CdrOut => "cdr_out",
    }
);

wire_enum!(
    /// Where an export is in its life: pending, then processing, then completed.
    ///
    /// API versions up to 2022-05-10 capitalized these (`Completed`); they are
    /// compared case-insensitively, so `Completed` and `completed` are equal.
    ExportStatus {
        /// Accepted, not started.
        Pending => "pending",
        /// Being generated.
        Processing => "processing",
        /// Done: the export's `url` points to the file.
        Completed => "completed",
    }
);

wire_enum!(
    /// The HTTP method DIDWW uses to call an export's `callback_url`.
    CallbackMethod {
        /// Form-encoded POST body.
        Post => "post",
        /// Query parameters on a GET.
        Get => "get",
    }
);

impl ExportStatus {
    /// Whether the file is ready to download.
    pub fn is_completed(&self) -> bool {
        matches!(self, ExportStatus::Completed)
    }
}

/// The filters of an export as the server reports them.
///
/// Read leniently: keys are optional, times in either of DIDWW's forms, and
/// anything this crate does not model (or cannot read) is kept in `other`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExportFilters {
    /// Start of the CDR range.
    pub from: Option<DateTime<Utc>>,
    /// End of the CDR range.
    pub to: Option<DateTime<Utc>>,
    /// `did_number` (inbound exports).
    pub did_number: Option<String>,
    /// `voice_out_trunk.id` (outbound exports).
    pub voice_out_trunk_id: Option<String>,
    /// Every other key, as sent.
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The wire key of the outbound trunk filter (a flat key with a dot in it).
pub const VOICE_OUT_TRUNK_ID_KEY: &str = "voice_out_trunk.id";

impl Serialize for ExportFilters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(from) = &self.from {
            map.serialize_entry("from", &format_time(from))?;
        }
        if let Some(to) = &self.to {
            map.serialize_entry("to", &format_time(to))?;
        }
        if let Some(did) = &self.did_number {
            map.serialize_entry("did_number", did)?;
        }
        if let Some(trunk) = &self.voice_out_trunk_id {
            map.serialize_entry(VOICE_OUT_TRUNK_ID_KEY, trunk)?;
        }
        for (key, value) in &self.other {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ExportFilters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
        let mut filters = ExportFilters::default();
        for (key, value) in raw {
            let kept = match (key.as_str(), &value) {
                (_, serde_json::Value::Null) => continue,
                ("from", serde_json::Value::String(s)) => parse_time(s).map(|t| filters.from = Some(t)).is_ok(),
                ("to", serde_json::Value::String(s)) => parse_time(s).map(|t| filters.to = Some(t)).is_ok(),
                ("did_number", serde_json::Value::String(s)) => {
                    filters.did_number = Some(s.clone());
                    true
                }
                (VOICE_OUT_TRUNK_ID_KEY, serde_json::Value::String(s)) => {
                    filters.voice_out_trunk_id = Some(s.clone());
                    true
                }
                _ => false,
            };
            if !kept {
                filters.other.insert(key, value);
            }
        }
        Ok(filters)
    }
}

/// An export as the API reports it.
///
/// Every attribute is optional because real responses omit some keys (and
/// `fields[exports]` can ask for a subset); unknown `export_type`, `status` and
/// `callback_method` values are kept rather than rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Export {
    /// The export's id.
    pub id: ExportId,
    /// `pending`, `processing` or `completed`.
    pub status: Option<ExportStatus>,
    /// When the export was created.
    pub created_at: Option<DateTime<Utc>>,
    /// Where the file is, once completed.
    pub url: Option<String>,
    /// Where DIDWW calls back when the export completes.
    pub callback_url: Option<String>,
    /// How DIDWW calls back.
    pub callback_method: Option<CallbackMethod>,
    /// `cdr_in` or `cdr_out`.
    pub export_type: Option<ExportType>,
    /// The customer's own identifier.
    pub external_reference_id: Option<String>,
    /// The CDR range and filters.
    pub filters: Option<ExportFilters>,
}

impl Export {
    /// An export with only its id known.
    pub fn new(id: ExportId) -> Self {
        Export {
            id,
            status: None,
            created_at: None,
            url: None,
            callback_url: None,
            callback_method: None,
            export_type: None,
            external_reference_id: None,
            filters: None,
        }
    }

    /// Whether the file is ready to download.
    pub fn is_completed(&self) -> bool {
        self.status.as_ref().is_some_and(ExportStatus::is_completed)
    }

    /// The name DIDWW gives the file, `<id>.csv.gz`.
    pub fn default_file_name(&self) -> String {
        format!("{}.csv.gz", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_case_insensitive_and_keeps_unknown_values() {
        assert_eq!(ExportStatus::parse("Completed"), ExportStatus::Completed);
        assert_eq!(ExportStatus::parse("completed"), ExportStatus::Completed);
        assert!(ExportStatus::parse("COMPLETED").is_completed());
        let failed = ExportStatus::parse("Failed");
        assert!(!failed.is_known());
        assert_eq!(failed.as_str(), "Failed");
        assert_eq!(failed, ExportStatus::parse("failed"));
        assert_eq!(ExportStatus::Pending.to_string(), "pending");
    }

    #[test]
    fn unknown_export_types_parse() {
        let t: ExportType = serde_json::from_str("\"sms_in\"").unwrap();
        assert_eq!(t.as_str(), "sms_in");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"sms_in\"");
        let t: ExportType = serde_json::from_str("\"CDR_OUT\"").unwrap();
        assert_eq!(t, ExportType::CdrOut);
    }

    #[test]
    fn filters_read_leniently() {
        let f: ExportFilters = serde_json::from_value(serde_json::json!({
            "from": "2026-04-01 00:00:00",
            "to": "not a time",
            "did_number": null,
            "voice_out_trunk.id": "0b1c0a6e-6f39-4c39-9e4a-3f1e5ad1c6a1",
            "sms_thing": 3
        }))
        .unwrap();
        assert_eq!(f.from.unwrap().to_rfc3339(), "2026-04-01T00:00:00+00:00");
        assert_eq!(f.to, None);
        assert_eq!(f.other["to"], "not a time");
        assert_eq!(f.other["sms_thing"], 3);
        assert_eq!(f.did_number, None);
        assert!(f.voice_out_trunk_id.is_some());
    }
}
