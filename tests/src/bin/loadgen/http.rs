//! The client side of `loadgen`: one hyper HTTP/1.1 connection per
//! virtual client, kept alive for the whole run (no pool, no lock, no lookup
//! per request), with Nagle off as a browser or SDK would have it.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const MIN_POSITION: HeaderName = HeaderName::from_static("x-min-position");
pub const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Where the server listens.
pub struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

pub fn get_request(
    target: &Target,
    path: &str,
    token: &HeaderValue,
    min_position: Option<u64>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, target.host.clone())
        .header(AUTHORIZATION, token.clone());
    if let Some(position) = min_position {
        builder = builder.header(MIN_POSITION, position);
    }
    builder
        .body(Full::new(Bytes::new()))
        .expect("the paths and headers built here are valid")
}

/// A GET of an ops endpoint (no token).
pub fn get_request_anonymous(target: &Target, path: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, target.host.clone())
        .body(Full::new(Bytes::new()))
        .expect("the paths and headers built here are valid")
}

impl Conn {
    pub async fn open(target: &Target) -> Result<Conn, String> {
        let stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        // Ends when the sender is dropped or the server closes; a failure
        // shows up in the next `send`.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { sender })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), hyper::Error> {
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

pub fn header_value(text: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(text).map_err(|_| format!("{text:?} is not a valid header value"))
}

/// `http://HOST:PORT`.
pub async fn resolve(url: &str) -> Result<Target, String> {
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?
        .trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(format!(
            "{url}: give the server's base URL, http://HOST:PORT"
        ));
    }
    let addr = tokio::net::lookup_host(authority)
        .await
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to no address"))?;
    Ok(Target {
        addr,
        host: header_value(authority)?,
    })
}
