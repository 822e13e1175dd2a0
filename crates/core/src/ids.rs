//! Validated identifiers: once constructed, they hold a value DIDWW accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid UUID identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UuidError {
    /// Not in the hyphenated 8-4-4-4-12 hexadecimal form.
    #[error("must be a UUID like 33bdfff7-4de3-4c58-8c90-b99930fb984a, got {value:?}")]
    NotUuid {
        /// The rejected value (at most 64 characters of it).
        value: String,
    },
}

fn parse_uuid(value: &str) -> Result<uuid::Uuid, UuidError> {
    // Only the hyphenated form DIDWW uses; `Uuid::try_parse` alone also takes
    // braced, URN and simple forms that would not round-trip.
    if value.len() == 36 {
        if let Ok(id) = uuid::Uuid::try_parse(value) {
            return Ok(id);
        }
    }
    Err(UuidError::NotUuid {
        value: value.chars().take(64).collect(),
    })
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// The UUID.
            pub const fn as_uuid(&self) -> &uuid::Uuid {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = UuidError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_uuid(s).map(Self)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = UuidError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// The id of an export, a UUID assigned by DIDWW.
    ExportId
);
uuid_id!(
    /// The id of an outbound voice trunk, used by the `voice_out_trunk.id` filter of `cdr_out` exports.
    VoiceOutTrunkId
);

/// Why a string is not a DID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidNumberError {
    /// The number is empty.
    #[error("must not be empty")]
    Empty,
    /// A character other than an ASCII digit.
    #[error("must contain only the digits 0-9 (no '+', spaces or dashes); found {character:?} at position {position}")]
    NotDigit {
        /// 1-based position of the offending character.
        position: usize,
        /// The offending character.
        character: char,
    },
}

/// A DID (phone) number as DIDWW writes it: ASCII digits only, e.g. `123456789`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DidNumber(String);

impl DidNumber {
    /// Validates a DID number.
    pub fn new(value: impl Into<String>) -> Result<Self, DidNumberError> {
        let value = value.into();
        if value.is_empty() {
            return Err(DidNumberError::Empty);
        }
        if let Some((index, character)) = value.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(DidNumberError::NotDigit {
                position: index + 1,
                character,
            });
        }
        Ok(Self(value))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not a valid external reference id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalReferenceIdError {
    /// Longer than DIDWW allows (counted in characters, not bytes).
    #[error("must be at most {max} characters long, got {len}")]
    TooLong {
        /// The number of characters given.
        len: usize,
        /// The most DIDWW accepts.
        max: usize,
    },
}

/// The customer's own identifier for an export: at most 100 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ExternalReferenceId(String);

impl ExternalReferenceId {
    /// The most characters DIDWW accepts.
    pub const MAX_CHARS: usize = 100;

    /// Validates an external reference id.
    pub fn new(value: impl Into<String>) -> Result<Self, ExternalReferenceIdError> {
        let value = value.into();
        let len = value.chars().count();
        if len > Self::MAX_CHARS {
            return Err(ExternalReferenceIdError::TooLong {
                len,
                max: Self::MAX_CHARS,
            });
        }
        Ok(Self(value))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($name:ident, $err:ty) => {
        impl FromStr for $name {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $err;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_newtype_impls!(DidNumber, DidNumberError);
string_newtype_impls!(ExternalReferenceId, ExternalReferenceIdError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_id_accepts_only_hyphenated_uuids() {
        let id: ExportId = "33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap();
        assert_eq!(id.to_string(), "33bdfff7-4de3-4c58-8c90-b99930fb984a");
        let upper: ExportId = "33BDFFF7-4DE3-4C58-8C90-B99930FB984A".parse().unwrap();
        assert_eq!(upper, id);
        for bad in [
            "",
            "33bdfff74de34c588c90b99930fb984a",
            "{33bdfff7-4de3-4c58-8c90-b99930fb984a}",
            "../../etc/passwd",
            "33bdfff7-4de3-4c58-8c90-b99930fb984z",
        ] {
            assert!(bad.parse::<ExportId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn did_numbers_are_ascii_digits() {
        assert_eq!(DidNumber::new("123456789").unwrap().as_str(), "123456789");
        assert_eq!(DidNumber::new(""), Err(DidNumberError::Empty));
        assert_eq!(
            DidNumber::new("+4912"),
            Err(DidNumberError::NotDigit {
                position: 1,
                character: '+'
            })
        );
        // Non-ASCII digits (Arabic-Indic here) are digits to Unicode, not to DIDWW.
        assert!(DidNumber::new("12\u{0663}").is_err());
    }

    #[test]
    fn external_reference_id_counts_characters_not_bytes() {
        let hundred_wide = "é".repeat(100);
        assert_eq!(hundred_wide.len(), 200);
        assert!(ExternalReferenceId::new(hundred_wide).is_ok());
        assert_eq!(
            ExternalReferenceId::new("x".repeat(101)),
            Err(ExternalReferenceIdError::TooLong { len: 101, max: 100 })
        );
        assert!(ExternalReferenceId::new("").is_ok());
    }

    #[test]
    fn serde_goes_through_validation() {
        assert!(serde_json::from_str::<DidNumber>("\"12a\"").is_err());
        assert!(serde_json::from_str::<ExportId>("\"nope\"").is_err());
        let id: VoiceOutTrunkId = serde_json::from_str("\"0b1c0a6e-6f39-4c39-9e4a-3f1e5ad1c6a1\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"0b1c0a6e-6f39-4c39-9e4a-3f1e5ad1c6a1\""
        );
    }
}
