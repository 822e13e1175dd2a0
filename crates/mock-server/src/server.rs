//! The accept loop and the outer request handling that every API request goes
//! through: record, faults, authentication, API version, rate limit, routing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use didww_exports_core::ApiVersion;
use didww_exports_core::jsonapi::ErrorObject;
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::api::errors;
use crate::faults::{Fault, FaultBody};
use crate::state::AppState;

/// Returned by the service to make hyper drop the connection without answering.
#[derive(Debug)]
pub(crate) struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by an injected fault")
    }
}
impl std::error::Error for CloseConnection {}

pub(crate) struct Routers {
    api: Router,
    admin: Router,
}

/// Serves until `shutdown` fires, then lets connections finish for up to a second.
pub(crate) async fn serve(listener: TcpListener, state: Arc<AppState>, mut shutdown: oneshot::Receiver<()>) {
    let routers = Arc::new(Routers {
        api: crate::api::router(state.clone()),
        admin: crate::admin::router(state.clone()),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let routers = routers.clone();
                let service = hyper::service::service_fn(move |req| handle(state.clone(), routers.clone(), peer, req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                connections.spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(1), graceful.shutdown()).await;
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

fn status_fault_response(status: u16, body: FaultBody, retry_after: Option<&str>) -> Response<Body> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = code.canonical_reason().unwrap_or("Error");
    let mut resp = match body {
        FaultBody::Jsonapi => errors(
            code,
            vec![ErrorObject::new(
                reason,
                format!("{reason} (injected by the emulator)"),
                status.to_string(),
                status,
            )],
        ),
        FaultBody::Html => {
            let page = format!(
                "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            );
            let mut r = Response::new(Body::from(page));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            r
        }
        FaultBody::Empty => Response::new(Body::empty()),
    };
    *resp.status_mut() = code;
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

#[derive(Clone, Copy)]
enum Phase {
    Pass,
    FailNext,
    Done,
}

fn cut_error() -> std::io::Error {
    std::io::Error::other("body cut by an injected fault")
}

/// Cuts or corrupts the response body, for download faults. A cut body ends
/// with an error, which makes hyper drop the connection mid-body.
fn apply_body_fault(resp: Response<Body>, fault: Fault) -> Response<Body> {
    let (parts, body) = resp.into_parts();
    let inner = body.into_data_stream();
    let stream = futures_util::stream::unfold((inner, 0u64, Phase::Pass), move |(mut inner, sent, phase)| {
        let fault = fault.clone();
        async move {
            match phase {
                Phase::Done => None,
                Phase::FailNext => {
                    // Pending for a moment makes hyper flush the bytes before the cut.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((Err(cut_error()), (inner, sent, Phase::Done)))
                }
                Phase::Pass => {
                    let chunk = match inner.next().await? {
                        Ok(c) => c,
                        Err(e) => return Some((Err(std::io::Error::other(e)), (inner, sent, Phase::Done))),
                    };
                    let (start, end) = (sent, sent + chunk.len() as u64);
                    match fault {
                        Fault::Truncate { after_bytes } if end >= after_bytes => {
                            let keep = (after_bytes - start) as usize;
                            if keep == 0 {
                                Some((Err(cut_error()), (inner, end, Phase::Done)))
                            } else {
                                Some((Ok(chunk.slice(..keep)), (inner, end, Phase::FailNext)))
                            }
                        }
                        Fault::CorruptGzip { at_byte } if (start..end).contains(&at_byte) => {
                            let mut bytes = chunk.to_vec();
                            bytes[(at_byte - start) as usize] ^= 0xFF;
                            Some((Ok(bytes::Bytes::from(bytes)), (inner, end, Phase::Pass)))
                        }
                        _ => Some((Ok(chunk), (inner, end, Phase::Pass))),
                    }
                }
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

fn unauthorized() -> Response<Body> {
    errors(StatusCode::UNAUTHORIZED, vec![ErrorObject::unauthorized()])
}

/// The credential presented: `Api-Key`, or `Authorization: Bearer` (2026-11-19).
fn presented_key(headers: &http::HeaderMap) -> Option<&str> {
    if let Some(key) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
        return Some(key);
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(
    state: Arc<AppState>,
    routers: Arc<Routers>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, CloseConnection> {
    let path = req.uri().path().to_owned();
    if path.starts_with("/__admin") {
        if !peer.ip().is_loopback() {
            return Ok(errors(
                StatusCode::FORBIDDEN,
                vec![ErrorObject::new(
                    "Forbidden",
                    "Admin endpoints answer loopback clients only.",
                    "403",
                    403,
                )],
            ));
        }
        return Ok(into_ok(routers.admin.clone().oneshot(req.map(Body::new)).await));
    }

    let (parts, body) = req.into_parts();
    let seq = state.record_request(&parts);
    let fault = state.faults().take(parts.method.as_str(), &path);
    let mut body_fault = None;
    match fault {
        Some(Fault::Close) => {
            state.record_status(seq, 0);
            return Err(CloseConnection);
        }
        Some(Fault::Status {
            status,
            body,
            retry_after,
        }) => {
            let resp = status_fault_response(status, body, retry_after.as_deref());
            state.record_status(seq, resp.status().as_u16());
            return Ok(resp);
        }
        Some(Fault::Delay { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(f @ (Fault::Truncate { .. } | Fault::CorruptGzip { .. })) => body_fault = Some(f),
        None => {}
    }

    let resp = match precheck(&state, &parts) {
        Err(resp) => resp,
        Ok(version) => {
            let mut req = Request::from_parts(parts, Body::new(body));
            req.extensions_mut().insert(version);
            into_ok(routers.api.clone().oneshot(req).await)
        }
    };
    state.record_status(seq, resp.status().as_u16());
    Ok(match body_fault {
        Some(f) => apply_body_fault(resp, f),
        None => resp,
    })
}

fn into_ok(r: Result<Response<Body>, Infallible>) -> Response<Body> {
    match r {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

/// Authentication, API version and rate limit, in that order.
fn precheck(state: &AppState, parts: &http::request::Parts) -> Result<ApiVersion, Response<Body>> {
    let expected = state.config.api_key.expose_secret().as_bytes();
    match presented_key(&parts.headers) {
        Some(key) if constant_time_eq(key.as_bytes(), expected) => {}
        _ => return Err(unauthorized()),
    }
    let version = match parts.headers.get("x-didww-api-version") {
        None => ApiVersion::default(),
        Some(v) => match v.to_str().ok().map(ApiVersion::new) {
            Some(Ok(version)) => version,
            _ => {
                return Err(errors(
                    StatusCode::BAD_REQUEST,
                    vec![ErrorObject::new(
                        "Invalid API version",
                        format!("X-DIDWW-API-Version must be a date such as {}.", ApiVersion::DEFAULT),
                        "400",
                        400,
                    )],
                ));
            }
        },
    };
    if let Err(retry_after) = state.rate_check(presented_key(&parts.headers).unwrap_or(""), tokio::time::Instant::now())
    {
        let mut resp = errors(
            StatusCode::TOO_MANY_REQUESTS,
            vec![ErrorObject::new(
                "Too Many Requests",
                format!(
                    "Rate limit of {} requests per second exceeded.",
                    state.settings().rate_limit
                ),
                "429",
                429,
            )],
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return Err(resp);
    }
    Ok(version)
}
