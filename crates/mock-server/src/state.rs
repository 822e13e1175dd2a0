//! Everything the emulator remembers, shared safely between concurrent requests.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use didww_exports_core::retry::{RandomSource, SplitMix64};
use didww_exports_core::{Export, ExportId, ExportStatus};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::MockConfig;
use crate::faults::FaultQueue;

/// Settings that can change while the emulator runs (`PUT /__admin/settings`);
/// they apply to exports created afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Rows per export file.
    pub rows: u64,
    /// Time from creation to completion, spread over pending and processing.
    pub processing_delay_ms: u64,
    /// Gzip members each file is split into.
    pub gzip_members: u32,
    /// Requests per second allowed per key (0: no limit).
    pub rate_limit: u32,
}

/// A partial update of [`Settings`].
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct SettingsPatch {
    /// See [`Settings::rows`].
    pub rows: Option<u64>,
    /// See [`Settings::processing_delay_ms`].
    pub processing_delay_ms: Option<u64>,
    /// See [`Settings::gzip_members`].
    pub gzip_members: Option<u32>,
    /// See [`Settings::rate_limit`].
    pub rate_limit: Option<u32>,
}

/// A request the emulator received (admin requests are not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 1 (it keeps counting after the log is cleared).
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// Headers, with `Api-Key` and `Authorization` redacted.
    pub headers: BTreeMap<String, String>,
    /// The status answered (0 when the connection was closed instead; absent while in flight).
    pub status: Option<u16>,
}

/// A callback the emulator made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackRecord {
    /// The export.
    pub export_id: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The URL called (with the query for GET).
    pub url: String,
    /// The `X-DIDWW-Signature` sent.
    pub signature: String,
    /// The status the receiver answered.
    pub status: Option<u16>,
    /// Why the call failed, if it did.
    pub error: Option<String>,
}

/// An export as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredExport {
    /// The attributes fixed at creation (status and url are derived).
    pub(crate) export: Export,
    pub(crate) created: Instant,
    pub(crate) delay: Duration,
    pub(crate) rows: u64,
    pub(crate) members: u32,
    pub(crate) file_seed: u64,
    /// The compressed size, once a download ran to the end.
    pub(crate) file_len: Option<u64>,
}

impl StoredExport {
    pub(crate) fn status_at(&self, now: Instant) -> ExportStatus {
        let elapsed = now.saturating_duration_since(self.created);
        if elapsed >= self.delay {
            ExportStatus::Completed
        } else if elapsed >= self.delay / 2 {
            ExportStatus::Processing
        } else {
            ExportStatus::Pending
        }
    }

    /// The export as the API shows it at `now`.
    pub(crate) fn view(&self, now: Instant, base_url: &str) -> Export {
        let mut e = self.export.clone();
        let status = self.status_at(now);
        if status.is_completed() {
            e.url = Some(format!("{base_url}/exports/{}.csv.gz", e.id));
        }
        e.status = Some(status);
        e
    }
}

pub(crate) const REDACTED: &str = "** redacted **";

/// The emulator's state.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: MockConfig,
    pub(crate) base_url: String,
    pub(crate) started: Instant,
    settings: Mutex<Settings>,
    exports: Mutex<(Vec<StoredExport>, HashMap<ExportId, usize>)>,
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<FaultQueue>,
    callbacks: Mutex<Vec<CallbackRecord>>,
    rate: Mutex<HashMap<String, VecDeque<Instant>>>,
    next_id: AtomicU64,
    next_seq: AtomicU64,
    pub(crate) http: reqwest::Client,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub(crate) fn new(config: MockConfig, base_url: String) -> Self {
        let settings = Settings {
            rows: config.rows,
            processing_delay_ms: u64::try_from(config.processing_delay.as_millis()).unwrap_or(u64::MAX),
            gzip_members: config.gzip_members.max(1),
            rate_limit: config.rate_limit,
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        AppState {
            config,
            base_url,
            started: Instant::now(),
            settings: Mutex::new(settings),
            exports: Mutex::new((Vec::new(), HashMap::new())),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(FaultQueue::default()),
            callbacks: Mutex::new(Vec::new()),
            rate: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
            http,
        }
    }

    /// The emulator's wall clock: the real one, or `--now` moving forward from its start.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        match self.config.now {
            Some(start) => {
                start + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_else(|_| chrono::Duration::zero())
            }
            None => Utc::now(),
        }
    }

    /// The current settings.
    pub(crate) fn settings(&self) -> Settings {
        *lock(&self.settings)
    }

    /// Applies a partial settings update and returns the result.
    pub(crate) fn update_settings(&self, patch: SettingsPatch) -> Settings {
        let mut s = lock(&self.settings);
        if let Some(v) = patch.rows {
            s.rows = v;
        }
        if let Some(v) = patch.processing_delay_ms {
            s.processing_delay_ms = v;
        }
        if let Some(v) = patch.gzip_members {
            s.gzip_members = v.max(1);
        }
        if let Some(v) = patch.rate_limit {
            s.rate_limit = v;
        }
        *s
    }

    /// A new export id: deterministic from the seed and the count so far.
    pub(crate) fn new_id(&self) -> ExportId {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut rng = SplitMix64::new(self.config.seed ^ n.wrapping_mul(0xA24B_AED4_963E_E407));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        ExportId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    pub(crate) fn insert(&self, stored: StoredExport) {
        let mut guard = lock(&self.exports);
        let (list, index) = &mut *guard;
        index.insert(stored.export.id, list.len());
        list.push(stored);
    }

    pub(crate) fn get(&self, id: &ExportId) -> Option<StoredExport> {
        let guard = lock(&self.exports);
        guard.1.get(id).map(|&i| guard.0[i].clone())
    }

    pub(crate) fn modify<R>(&self, id: &ExportId, f: impl FnOnce(&mut StoredExport) -> R) -> Option<R> {
        let mut guard = lock(&self.exports);
        let (list, index) = &mut *guard;
        index.get(id).copied().map(|i| f(&mut list[i]))
    }

    pub(crate) fn all(&self) -> Vec<StoredExport> {
        lock(&self.exports).0.clone()
    }

    pub(crate) fn record_request(&self, req: &http::request::Parts) -> u64 {
        // Numbered from a counter, not the log's length: clearing the log must
        // not make a request still in flight record its status on another entry.
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut log = lock(&self.requests);
        let headers = req
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = match name.as_str() {
                    "api-key" | "authorization" | "cookie" => REDACTED.to_owned(),
                    _ => String::from_utf8_lossy(value.as_bytes()).into_owned(),
                };
                (name.as_str().to_owned(), shown)
            })
            .collect();
        log.push(RecordedRequest {
            seq,
            method: req.method.as_str().to_owned(),
            path: req.uri.path().to_owned(),
            query: req.uri.query().map(str::to_owned),
            headers,
            status: None,
        });
        seq
    }

    pub(crate) fn record_status(&self, seq: u64, status: u16) {
        let mut log = lock(&self.requests);
        if let Some(entry) = log.iter_mut().rev().find(|e| e.seq == seq) {
            entry.status = Some(status);
        }
    }

    /// The requests received so far (admin requests excluded).
    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    /// Forgets the requests received so far.
    pub(crate) fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    /// The fault queue.
    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.faults)
    }

    pub(crate) fn record_callback(&self, record: CallbackRecord) {
        lock(&self.callbacks).push(record);
    }

    /// The callbacks made so far.
    pub(crate) fn callbacks(&self) -> Vec<CallbackRecord> {
        lock(&self.callbacks).clone()
    }

    /// Counts a request for `key`; `Err(retry_after_secs)` when over the limit.
    pub(crate) fn rate_check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let limit = self.settings().rate_limit;
        if limit == 0 {
            return Ok(());
        }
        let mut rate = lock(&self.rate);
        let window = rate.entry(key.to_owned()).or_default();
        let second = Duration::from_secs(1);
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= second)
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            let oldest = window.front().copied().unwrap_or(now);
            let wait = second.saturating_sub(now.saturating_duration_since(oldest));
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        window.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_land_on_their_own_request_after_a_clear() {
        let state = AppState::new(MockConfig::new("k"), "http://x/v3".into());
        let (parts, ()) = http::Request::get("/v3/exports").body(()).unwrap().into_parts();
        let in_flight = state.record_request(&parts);
        state.clear_requests();
        let newer = state.record_request(&parts);
        state.record_status(in_flight, 503);
        state.record_status(newer, 200);
        let log = state.requests();
        assert_eq!(log.len(), 1);
        assert_eq!((log[0].seq, log[0].status), (2, Some(200)));
    }
}
