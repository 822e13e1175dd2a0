//! Admin endpoints under `/__admin`: no API key, loopback clients only, never
//! recorded in the request log.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::faults::FaultRule;
use crate::state::{AppState, SettingsPatch};

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/__admin/requests", get(requests).delete(clear_requests))
        .route("/__admin/faults", get(faults).post(add_faults).delete(clear_faults))
        .route("/__admin/callbacks", get(callbacks))
        .route(
            "/__admin/settings",
            get(settings).put(update_settings).patch(update_settings),
        )
        .route(
            "/__admin/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({"error": "no such admin endpoint"})),
            )
        })
        .with_state(state)
}

async fn requests(State(state): State<Arc<AppState>>) -> Response {
    Json(state.requests()).into_response()
}

async fn clear_requests(State(state): State<Arc<AppState>>) -> StatusCode {
    state.clear_requests();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(FaultRule),
    Many(Vec<FaultRule>),
}

fn bad_request(detail: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error": detail}))).into_response()
}

async fn add_faults(State(state): State<Arc<AppState>>, body: bytes::Bytes) -> Response {
    let rules = match serde_json::from_slice::<OneOrMany>(&body) {
        Ok(OneOrMany::One(rule)) => vec![rule],
        Ok(OneOrMany::Many(rules)) => rules,
        Err(e) => return bad_request(format!("not a fault rule (see docs/emulator.md): {e}")),
    };
    let queued = rules.len();
    let mut faults = state.faults();
    for rule in rules {
        faults.push(rule);
    }
    (
        StatusCode::CREATED,
        Json(serde_json::json!({"queued": queued, "pending": faults.pending()})),
    )
        .into_response()
}

async fn faults(State(state): State<Arc<AppState>>) -> Response {
    Json(state.faults().pending()).into_response()
}

async fn clear_faults(State(state): State<Arc<AppState>>) -> StatusCode {
    state.faults().clear();
    StatusCode::NO_CONTENT
}

async fn callbacks(State(state): State<Arc<AppState>>) -> Response {
    Json(state.callbacks()).into_response()
}

async fn settings(State(state): State<Arc<AppState>>) -> Response {
    Json(state.settings()).into_response()
}

async fn update_settings(State(state): State<Arc<AppState>>, body: bytes::Bytes) -> Response {
    match serde_json::from_slice::<SettingsPatch>(&body) {
        Ok(patch) => Json(state.update_settings(patch)).into_response(),
        Err(e) => bad_request(format!("not a settings object: {e}")),
    }
}
