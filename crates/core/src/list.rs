//! Listing exports: the query (pagination, filter, sort) and the page returned.

use std::fmt;
use std::num::NonZeroU32;

use crate::export::Export;
use crate::ids::{ExternalReferenceId, ExternalReferenceIdError};

/// A page size DIDWW accepts: 1..=1000 (default 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageSize(u16);

impl PageSize {
    /// The smallest page.
    pub const MIN: u16 = 1;
    /// The largest page DIDWW serves.
    pub const MAX: u16 = 1000;
    /// DIDWW's default.
    pub const DEFAULT: PageSize = PageSize(50);

    /// A page size, or `None` outside 1..=1000.
    pub fn new(size: u32) -> Option<Self> {
        u16::try_from(size)
            .ok()
            .filter(|s| (Self::MIN..=Self::MAX).contains(s))
            .map(PageSize)
    }

    /// The size.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A field exports can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortField {
    /// `created_at`.
    CreatedAt,
    /// `external_reference_id`.
    ExternalReferenceId,
    /// `status`.
    Status,
}

impl SortField {
    /// Every sort field, as DIDWW spells it.
    pub const NAMES: &'static [&'static str] = &["created_at", "external_reference_id", "status"];

    /// DIDWW's name for the field.
    pub fn as_str(self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::ExternalReferenceId => "external_reference_id",
            SortField::Status => "status",
        }
    }

    /// Reads a field name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "created_at" => Some(SortField::CreatedAt),
            "external_reference_id" => Some(SortField::ExternalReferenceId),
            "status" => Some(SortField::Status),
            _ => None,
        }
    }
}

/// One sort key: a field, ascending or descending (`-created_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    /// The field.
    pub field: SortField,
    /// Whether the order is descending.
    pub descending: bool,
}

impl Sort {
    /// Ascending by `field`.
    pub fn asc(field: SortField) -> Self {
        Sort {
            field,
            descending: false,
        }
    }
    /// Descending by `field`.
    pub fn desc(field: SortField) -> Self {
        Sort {
            field,
            descending: true,
        }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.field.as_str())
    }
}

impl std::str::FromStr for Sort {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, s),
        };
        SortField::parse(name)
            .map(|field| Sort { field, descending })
            .ok_or_else(|| QueryError {
                parameter: "sort".into(),
                rule: QueryRule::UnknownSortField {
                    value: s.chars().take(64).collect(),
                },
            })
    }
}

/// What is wrong with a query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryRule {
    /// Not a whole number of at least 1.
    NotPositiveInteger {
        /// The value given.
        value: String,
    },
    /// Outside the allowed range.
    OutOfRange {
        /// The value given.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// Not a sortable field.
    UnknownSortField {
        /// The value given.
        value: String,
    },
    /// A filter DIDWW does not offer on exports.
    FilterNotAllowed,
    /// Longer than allowed.
    TooLong {
        /// Characters given.
        len: usize,
        /// Characters allowed.
        max: usize,
    },
}

/// A query parameter DIDWW would reject (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter {parameter} {rule}")]
pub struct QueryError {
    /// The parameter, e.g. `page[size]`.
    pub parameter: String,
    /// The rule.
    pub rule: QueryRule,
}

impl fmt::Display for QueryRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryRule::NotPositiveInteger { value } => {
                write!(f, "must be a whole number of at least 1, got {value:?}")
            }
            QueryRule::OutOfRange { value, min, max } => {
                write!(f, "must be between {min} and {max}, got {value}")
            }
            QueryRule::UnknownSortField { value } => write!(
                f,
                "must be one of {} (with '-' for descending), got {value:?}",
                SortField::NAMES.join(", ")
            ),
            QueryRule::FilterNotAllowed => {
                f.write_str("is not a filter of exports (only filter[external_reference_id] is)")
            }
            QueryRule::TooLong { len, max } => {
                write!(f, "must be at most {max} characters long, got {len}")
            }
        }
    }
}

/// Which exports to list: page, page size, `filter[external_reference_id]`, sort.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    page_number: Option<NonZeroU32>,
    page_size: Option<PageSize>,
    external_reference_id: Option<ExternalReferenceId>,
    sort: Vec<Sort>,
}

impl ListQuery {
    /// The first page with DIDWW's defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks for page `number` (1-based).
    pub fn page(mut self, number: NonZeroU32) -> Self {
        self.page_number = Some(number);
        self
    }
    /// Asks for `size` exports a page.
    pub fn page_size(mut self, size: PageSize) -> Self {
        self.page_size = Some(size);
        self
    }
    /// Only exports with this external reference id.
    pub fn external_reference_id(mut self, reference: ExternalReferenceId) -> Self {
        self.external_reference_id = Some(reference);
        self
    }
    /// Adds a sort key (keys apply in the order added).
    pub fn sort(mut self, sort: Sort) -> Self {
        self.sort.push(sort);
        self
    }

    /// The page asked for.
    pub fn page_number(&self) -> Option<NonZeroU32> {
        self.page_number
    }
    /// The page size asked for.
    pub fn page_size_value(&self) -> Option<PageSize> {
        self.page_size
    }
    /// The filter.
    pub fn external_reference_id_filter(&self) -> Option<&ExternalReferenceId> {
        self.external_reference_id.as_ref()
    }
    /// The sort keys.
    pub fn sort_keys(&self) -> &[Sort] {
        &self.sort
    }

    /// The query parameters, in a stable order, unencoded.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(reference) = &self.external_reference_id {
            pairs.push(("filter[external_reference_id]", reference.as_str().to_owned()));
        }
        if let Some(number) = self.page_number {
            pairs.push(("page[number]", number.to_string()));
        }
        if let Some(size) = self.page_size {
            pairs.push(("page[size]", size.get().to_string()));
        }
        if !self.sort.is_empty() {
            let keys: Vec<String> = self.sort.iter().map(Sort::to_string).collect();
            pairs.push(("sort", keys.join(",")));
        }
        pairs
    }

    /// The query string (form-encoded, no leading `?`).
    pub fn to_query_string(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in self.to_pairs() {
            out.append_pair(key, &value);
        }
        out.finish()
    }

    /// Reads a query string as the server does, reporting every bad parameter.
    /// Unknown parameters other than filters are ignored; `fields[...]` is allowed.
    pub fn parse_query_string(query: &str) -> Result<Self, Vec<QueryError>> {
        let mut q = ListQuery::default();
        let mut errors = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let err = |rule| QueryError {
                parameter: key.to_string(),
                rule,
            };
            match key.as_ref() {
                "page[number]" => match value.parse::<u32>().ok().and_then(NonZeroU32::new) {
                    Some(n) => q.page_number = Some(n),
                    None => errors.push(err(QueryRule::NotPositiveInteger {
                        value: value.chars().take(64).collect(),
                    })),
                },
                "page[size]" => match value.parse::<u64>() {
                    Ok(n) => match u32::try_from(n).ok().and_then(PageSize::new) {
                        Some(size) => q.page_size = Some(size),
                        None => errors.push(err(QueryRule::OutOfRange {
                            value: n,
                            min: PageSize::MIN.into(),
                            max: PageSize::MAX.into(),
                        })),
                    },
                    Err(_) => errors.push(err(QueryRule::NotPositiveInteger {
                        value: value.chars().take(64).collect(),
                    })),
                },
                "filter[external_reference_id]" => match ExternalReferenceId::new(value.as_ref()) {
                    Ok(reference) => q.external_reference_id = Some(reference),
                    Err(ExternalReferenceIdError::TooLong { len, max }) => {
                        errors.push(err(QueryRule::TooLong { len, max }))
                    }
                },
                "sort" => {
                    for part in value.split(',').filter(|p| !p.is_empty()) {
                        match part.parse::<Sort>() {
                            Ok(sort) => q.sort.push(sort),
                            Err(e) => errors.push(e),
                        }
                    }
                }
                other if other.starts_with("filter[") => errors.push(err(QueryRule::FilterNotAllowed)),
                _ => {}
            }
        }
        if errors.is_empty() { Ok(q) } else { Err(errors) }
    }
}

/// Links of a list page, as the server sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PageLinks {
    /// The first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// The last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// The next page (absent on the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The previous page (absent on the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
}

/// One page of exports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExportPage {
    /// The exports on this page.
    pub exports: Vec<Export>,
    /// `meta.total_records`: how many exports match, over all pages.
    pub total_records: Option<u64>,
    /// `meta.api_version`.
    pub api_version: Option<String>,
    /// Pagination links.
    pub links: PageLinks,
}

impl ExportPage {
    /// A page holding `exports`.
    pub fn new(exports: Vec<Export>) -> Self {
        ExportPage {
            exports,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_string_round_trip() {
        let q = ListQuery::new()
            .page(NonZeroU32::new(3).unwrap())
            .page_size(PageSize::new(1000).unwrap())
            .external_reference_id(ExternalReferenceId::new("inv 2025/12&x").unwrap())
            .sort(Sort::desc(SortField::CreatedAt))
            .sort(Sort::asc(SortField::Status));
        let s = q.to_query_string();
        assert_eq!(
            s,
            "filter%5Bexternal_reference_id%5D=inv+2025%2F12%26x&page%5Bnumber%5D=3&page%5Bsize%5D=1000&sort=-created_at%2Cstatus"
        );
        assert_eq!(ListQuery::parse_query_string(&s).unwrap(), q);
        // Unencoded brackets, as people type them, read the same.
        assert_eq!(
            ListQuery::parse_query_string(
                "page[size]=1000&page[number]=3&sort=-created_at,status&filter[external_reference_id]=inv+2025%2F12%26x"
            )
            .unwrap(),
            q
        );
    }

    #[test]
    fn bad_parameters_are_all_reported() {
        let errs = ListQuery::parse_query_string(
            "page[size]=1001&page[number]=0&sort=name&filter[id]=x&fields[exports]=status",
        )
        .unwrap_err();
        let params: Vec<&str> = errs.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(params, ["page[size]", "page[number]", "sort", "filter[id]"]);
        assert_eq!(
            errs[0].rule,
            QueryRule::OutOfRange {
                value: 1001,
                min: 1,
                max: 1000
            }
        );
        assert!(ListQuery::parse_query_string("page[size]=0").is_err());
        assert!(ListQuery::parse_query_string("page[size]=-1").is_err());
        assert!(ListQuery::parse_query_string("page[size]=99999999999999999999").is_err());
        assert_eq!(ListQuery::parse_query_string("").unwrap(), ListQuery::new());
    }

    #[test]
    fn page_size_bounds() {
        assert!(PageSize::new(0).is_none());
        assert_eq!(PageSize::new(1).unwrap().get(), 1);
        assert_eq!(PageSize::new(1000).unwrap().get(), 1000);
        assert!(PageSize::new(1001).is_none());
    }
}
