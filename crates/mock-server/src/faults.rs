//! Fault injection: queued faults for the next N requests matching a method
//! and a path pattern.

use serde::{Deserialize, Serialize};

/// The body of a status fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultBody {
    /// A DIDWW-style JSON:API error document.
    #[default]
    Jsonapi,
    /// An HTML error page, as a proxy in front of the API would send.
    Html,
    /// No body at all.
    Empty,
}

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status instead of handling the request (no state changes).
    Status {
        /// The status, e.g. 503.
        status: u16,
        /// The body: `jsonapi` (default), `html` or `empty`.
        #[serde(default)]
        body: FaultBody,
        /// A `Retry-After` header value, e.g. `"2"` or an HTTP date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
    },
    /// Wait this long, then handle the request normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without any response.
    Close,
    /// Handle normally, but cut the response body after this many bytes
    /// (the connection is then closed).
    Truncate {
        /// Bytes of body sent before the cut.
        after_bytes: u64,
    },
    /// Handle normally, but flip the bits of the body byte at this offset
    /// (default 64), so the gzip stream is corrupt.
    CorruptGzip {
        /// Offset of the corrupted byte.
        #[serde(default = "default_corrupt_at")]
        at_byte: u64,
    },
}

fn default_corrupt_at() -> u64 {
    64
}

fn default_count() -> u32 {
    1
}

/// A queued fault: which requests it applies to and how many times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The HTTP method to match (any when absent), case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The path pattern, `*` matching any run of characters, e.g. `/v3/exports/*`.
    pub path: String,
    /// How many matching requests get the fault (default 1).
    #[serde(default = "default_count")]
    pub count: u32,
    /// The fault.
    pub fault: Fault,
}

impl FaultRule {
    /// A rule for `count` requests of `method` to `path`.
    pub fn new(method: Option<&str>, path: &str, count: u32, fault: Fault) -> Self {
        FaultRule {
            method: method.map(str::to_owned),
            path: path.to_owned(),
            count,
            fault,
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && glob_match(&self.path, path)
    }
}

/// `*` matches any run of characters (including `/`); everything else is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The queue of faults, first match wins.
#[derive(Debug, Default)]
pub struct FaultQueue {
    rules: Vec<FaultRule>,
}

impl FaultQueue {
    /// Queues a rule (ignored when its count is 0).
    pub fn push(&mut self, rule: FaultRule) {
        if rule.count > 0 {
            self.rules.push(rule);
        }
    }

    /// The fault for this request, if a rule matches; uses up one of its count.
    pub fn take(&mut self, method: &str, path: &str) -> Option<Fault> {
        let index = self.rules.iter().position(|r| r.matches(method, path))?;
        let rule = &mut self.rules[index];
        rule.count -= 1;
        let fault = rule.fault.clone();
        if rule.count == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }

    /// The rules still queued.
    pub fn pending(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    /// Drops every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/v3/exports", "/v3/exports"));
        assert!(glob_match("/v3/exports/*", "/v3/exports/abc.csv.gz"));
        assert!(glob_match("*.csv.gz", "/v3/exports/abc.csv.gz"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("/v3/exports/*", "/v3/exports"));
        assert!(!glob_match("/v3/exports", "/v3/exports/x"));
        assert!(glob_match("/v3/*/x*", "/v3/a/b/xyz"));
    }

    #[test]
    fn queue_counts_down() {
        let mut q = FaultQueue::default();
        q.push(FaultRule::new(Some("get"), "/v3/exports/*", 2, Fault::Close));
        q.push(FaultRule::new(None, "*", 1, Fault::Delay { ms: 1 }));
        assert_eq!(q.take("POST", "/v3/exports"), Some(Fault::Delay { ms: 1 }));
        assert_eq!(q.take("POST", "/v3/exports"), None);
        assert_eq!(q.take("GET", "/v3/exports/1"), Some(Fault::Close));
        assert_eq!(q.pending().len(), 1);
        assert_eq!(q.take("GET", "/v3/exports/1"), Some(Fault::Close));
        assert_eq!(q.take("GET", "/v3/exports/1"), None);
    }

    #[test]
    fn json_shapes() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"method":"GET","path":"/v3/exports/*","count":2,"fault":{"type":"status","status":503,"body":"html","retry_after":"1"}}"#,
        )
        .unwrap();
        assert_eq!(rule.count, 2);
        assert_eq!(
            rule.fault,
            Fault::Status {
                status: 503,
                body: FaultBody::Html,
                retry_after: Some("1".into())
            }
        );
        let rule: FaultRule = serde_json::from_str(r#"{"path":"*","fault":{"type":"corrupt_gzip"}}"#).unwrap();
        assert_eq!(rule.fault, Fault::CorruptGzip { at_byte: 64 });
        assert_eq!(rule.count, 1);
    }
}
