//! The seam between this crate and an HTTP library: one method that takes a
//! request and returns a response whose body can be streamed.
//!
//! Any closure of the right shape is a transport, which is also the cheapest
//! mock in tests:
//!
//! ```
//! use didww_exports_core::transport::{Transport, TransportError, TransportErrorKind};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("offline")]
//! struct Offline;
//! impl TransportError for Offline {
//!     fn kind(&self) -> TransportErrorKind { TransportErrorKind::Connect }
//! }
//!
//! let canned = |_req: http::Request<Vec<u8>>| -> Result<http::Response<&'static [u8]>, Offline> {
//!     Ok(http::Response::builder().status(404).body(&b""[..]).unwrap())
//! };
//! let response = canned.send(http::Request::new(Vec::new())).unwrap();
//! assert_eq!(response.status(), 404);
//! ```

use std::future::Future;

/// Per-request limits a transport applies, carried in the request's extensions
/// (the clients set them; a transport reads them with
/// `request.extensions().get::<RequestLimits>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Establishing the connection.
    pub connect: std::time::Duration,
    /// The whole exchange, body included (`None` for downloads).
    pub total: Option<std::time::Duration>,
    /// The longest wait for the next bytes of the body (downloads).
    pub stall: Option<std::time::Duration>,
}

/// A copy of `request` (method, URI, version, headers, body and [`RequestLimits`]),
/// for sending it again.
pub fn clone_request(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    if let Some(limits) = request.extensions().get::<RequestLimits>() {
        copy.extensions_mut().insert(*limits);
    }
    copy
}

/// How a transport failed, which decides whether a retry is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection was made (DNS, refused, TLS handshake, connect timeout):
    /// the request was not sent.
    Connect,
    /// The request or response took longer than allowed.
    Timeout,
    /// The connection broke after the request may have been sent.
    Io,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// Whether the request certainly did not reach the server.
    pub fn request_not_sent(self) -> bool {
        matches!(self, TransportErrorKind::Connect)
    }
}

/// An error a transport returns: it can say what kind of failure it was.
pub trait TransportError: std::error::Error + Send + Sync + 'static {
    /// The kind of failure.
    fn kind(&self) -> TransportErrorKind;
}

/// A blocking HTTP transport.
///
/// The response body is a [`std::io::Read`], so a download can be copied to a
/// writer a buffer at a time without ever holding the file in memory.
pub trait Transport {
    /// The response body.
    type Body: std::io::Read;
    /// The failure.
    type Error: TransportError;

    /// Sends `request` and returns the response as soon as its head arrived.
    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Self::Body>, Self::Error>;
}

impl<F, B, E> Transport for F
where
    F: Fn(http::Request<Vec<u8>>) -> Result<http::Response<B>, E>,
    B: std::io::Read,
    E: TransportError,
{
    type Body = B;
    type Error = E;

    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<B>, E> {
        self(request)
    }
}

/// A response body read chunk by chunk, asynchronously.
pub trait AsyncBody: Send {
    /// The failure.
    type Error: TransportError;

    /// The next chunk, or `None` at the end of the body.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<bytes::Bytes>, Self::Error>> + Send;
}

/// An asynchronous HTTP transport: the same request and response types as
/// [`Transport`], with a body read chunk by chunk.
pub trait AsyncTransport: Sync {
    /// The response body.
    type Body: AsyncBody<Error = Self::Error>;
    /// The failure.
    type Error: TransportError;

    /// Sends `request` and returns the response as soon as its head arrived.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> impl Future<Output = Result<http::Response<Self::Body>, Self::Error>> + Send;
}

impl<F, Fut, B, E> AsyncTransport for F
where
    F: Fn(http::Request<Vec<u8>>) -> Fut + Sync,
    Fut: Future<Output = Result<http::Response<B>, E>> + Send,
    B: AsyncBody<Error = E>,
    E: TransportError,
{
    type Body = B;
    type Error = E;

    fn send(&self, request: http::Request<Vec<u8>>) -> impl Future<Output = Result<http::Response<B>, E>> + Send {
        self(request)
    }
}

/// A body held in memory, delivered as one chunk: for tests and canned responses.
#[derive(Debug, Clone, Default)]
pub struct InMemoryBody<E> {
    data: Option<bytes::Bytes>,
    _error: std::marker::PhantomData<fn() -> E>,
}

impl<E> InMemoryBody<E> {
    /// A body holding `data`.
    pub fn new(data: impl Into<bytes::Bytes>) -> Self {
        InMemoryBody {
            data: Some(data.into()),
            _error: std::marker::PhantomData,
        }
    }
}

impl<E: TransportError> AsyncBody for InMemoryBody<E> {
    type Error = E;

    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<bytes::Bytes>, E>> + Send {
        let chunk = self.data.take().filter(|d| !d.is_empty());
        std::future::ready(Ok(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("refused")]
    struct Refused;
    impl TransportError for Refused {
        fn kind(&self) -> TransportErrorKind {
            TransportErrorKind::Connect
        }
    }

    fn poll_once<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("not ready"),
        }
    }

    #[test]
    fn requests_clone_with_their_limits() {
        let mut req = http::Request::post("http://x/v3/exports")
            .header("api-key", "k")
            .body(b"{}".to_vec())
            .unwrap();
        let limits = RequestLimits {
            connect: std::time::Duration::from_secs(1),
            total: None,
            stall: Some(std::time::Duration::from_secs(2)),
        };
        req.extensions_mut().insert(limits);
        let copy = clone_request(&req);
        assert_eq!(
            (copy.method(), copy.uri(), copy.body()),
            (req.method(), req.uri(), req.body())
        );
        assert_eq!(copy.headers(), req.headers());
        assert_eq!(copy.extensions().get::<RequestLimits>(), Some(&limits));
    }

    #[test]
    fn closures_are_transports() {
        let t = |req: http::Request<Vec<u8>>| -> Result<http::Response<std::io::Cursor<Vec<u8>>>, Refused> {
            Ok(http::Response::new(std::io::Cursor::new(req.into_body())))
        };
        let mut body = t.send(http::Request::new(b"echo".to_vec())).unwrap().into_body();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut body, &mut out).unwrap();
        assert_eq!(out, "echo");

        let failing = |_req: http::Request<Vec<u8>>| -> Result<http::Response<&'static [u8]>, Refused> { Err(Refused) };
        assert!(
            failing
                .send(http::Request::new(Vec::new()))
                .unwrap_err()
                .kind()
                .request_not_sent()
        );
    }

    #[test]
    fn async_closures_are_transports() {
        let t = |req: http::Request<Vec<u8>>| async move {
            Ok::<_, Refused>(http::Response::new(InMemoryBody::<Refused>::new(req.into_body())))
        };
        let mut body = poll_once(t.send(http::Request::new(b"chunk".to_vec())))
            .unwrap()
            .into_body();
        assert_eq!(poll_once(body.next_chunk()).unwrap().unwrap().as_ref(), b"chunk");
        assert!(poll_once(body.next_chunk()).unwrap().is_none());
    }
}
