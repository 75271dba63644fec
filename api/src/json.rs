//! The JSON body extractor of commands: content type, size limit, syntax and
//! shape are checked here, each with its own stable error code.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::problem::{edge, ApiError};

/// Request bodies larger than this get 413 (contract: 1 MiB).
pub const BODY_BYTES_MAX: usize = 1024 * 1024;

/// A body over the limit is still read to its end and thrown away, up to
/// this many bytes in all, before the 413 goes out. A client that sends
/// without `Expect: 100-continue` is still writing when the server answers;
/// if the server closed the connection with the body half read, the kernel
/// would reset it and the client would see a broken pipe instead of the
/// problem body. Past this size the connection is closed unread: no client
/// that means well sends a body many times the limit.
const OVERSIZE_DRAIN_BYTES_MAX: usize = 16 * 1024 * 1024;

/// A JSON body, with the bytes it came from (the idempotency fingerprint
/// covers the bytes, so a retry must resend the same body).
///
/// The extractor refuses what is not a JSON body at all (415, 413, 400
/// `malformed_json`); a well-formed body of the wrong shape is refused only
/// when the handler asks for [`JsonBody::value`], after its role check
/// ("role checks come first", docs/api.md).
pub struct JsonBody<T> {
    shaped: Result<T, ApiError>,
    /// The body as received, for the idempotency fingerprint.
    pub raw: Bytes,
}

impl<T> JsonBody<T> {
    /// The body as `T`, or its 422.
    pub fn value(self) -> Result<T, ApiError> {
        self.shaped
    }

    /// The body as `T`, if it has that shape: for a role check that depends
    /// on the body, made before its 422.
    pub fn peek(&self) -> Option<&T> {
        self.shaped.as_ref().ok()
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers().get(CONTENT_TYPE)) {
            return Err(edge::unsupported_media_type());
        }
        let declared_length = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > OVERSIZE_DRAIN_BYTES_MAX as u64) {
            return Err(too_large());
        }
        let raw = read_limited(request.into_body()).await?;
        check_syntax(&raw)?;
        Ok(JsonBody {
            shaped: shape(&raw),
            raw,
        })
    }
}

/// Reads the whole body, keeping at most [`BODY_BYTES_MAX`] bytes; see
/// [`OVERSIZE_DRAIN_BYTES_MAX`] for why an oversize body is read on.
async fn read_limited(body: Body) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut kept: Vec<Bytes> = Vec::new();
    let mut received = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            edge::malformed_json(format!("the request body could not be read: {error}"))
        })?;
        received = received.saturating_add(chunk.len());
        if received > OVERSIZE_DRAIN_BYTES_MAX {
            return Err(too_large());
        }
        if received > BODY_BYTES_MAX {
            // Past the limit the body is only counted, not kept.
            kept.clear();
            continue;
        }
        kept.push(chunk);
    }
    if received > BODY_BYTES_MAX {
        return Err(too_large());
    }
    // Most bodies arrive as one chunk, which is kept without a copy.
    Ok(match kept.len() {
        1 => kept.swap_remove(0),
        _ => Bytes::from(kept.concat()),
    })
}

/// 413 `payload_too_large`.
pub fn too_large() -> ApiError {
    edge::payload_too_large(BODY_BYTES_MAX)
}

fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Parses JSON: syntax errors (including invalid UTF-8) are 400
/// `malformed_json`; well-formed JSON of the wrong shape, however deep, is
/// 422.
///
/// Syntax is checked on its own first because serde_json reports some type
/// errors as syntax errors: an enum field given a number fails with
/// "expected value", which is well-formed JSON of the wrong type.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    check_syntax(raw)?;
    shape(raw)
}

/// 400 `malformed_json` unless `raw` is well-formed JSON.
fn check_syntax(raw: &[u8]) -> Result<(), ApiError> {
    // JSON text is UTF-8 throughout (RFC 8259), and skipping a string for
    // `IgnoredAny` does not check its bytes.
    if let Err(error) = std::str::from_utf8(raw) {
        return Err(edge::malformed_json(format!(
            "malformed JSON: the body is not UTF-8: {error}"
        )));
    }
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
        return Err(edge::malformed_json(format!("malformed JSON: {error}")));
    }
    Ok(())
}

/// Well-formed JSON as `T`: 422 with the code of what is wrong.
fn shape<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(raw).map_err(|error| edge::wrong_shape(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        subject: String,
    }

    #[test]
    fn each_kind_of_bad_body_has_its_code() {
        let cases: &[(&[u8], &str)] = &[
            (b"{", "malformed_json"),
            (b"\xff\xfe", "malformed_json"),
            (b"{\"subject\": \"\xff\"}", "malformed_json"),
            (b"{}", "missing_field"),
            (b"{\"subject\": 1}", "invalid_field"),
            (b"{\"subject\": \"a\", \"x\": 1}", "unknown_field"),
        ];
        for (raw, code) in cases {
            let error = parse::<Body>(raw).expect_err("bad body");
            assert_eq!(error.code, *code, "{:?}", String::from_utf8_lossy(raw));
        }
        assert!(parse::<Body>(b"{\"subject\": \"a\"}").is_ok());
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Low,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct WithEnum {
        kind: Kind,
    }

    #[test]
    fn a_wrong_type_for_an_enum_is_invalid_not_malformed() {
        for raw in [
            &b"{\"kind\": 5}"[..],
            b"{\"kind\": [1]}",
            b"{\"kind\": \"high\"}",
        ] {
            let error = parse::<WithEnum>(raw).expect_err("bad body");
            assert_eq!(
                error.code,
                "invalid_field",
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert!(parse::<WithEnum>(b"{\"kind\": \"low\"}").is_ok());
        let deep = format!("{{\"kind\": {}{}}}", "[".repeat(500), "]".repeat(500));
        assert_eq!(
            parse::<WithEnum>(deep.as_bytes()).expect_err("deep").code,
            "invalid_field"
        );
        let unclosed = "[".repeat(100_000);
        assert_eq!(
            parse::<WithEnum>(unclosed.as_bytes())
                .expect_err("open")
                .code,
            "malformed_json"
        );
    }
}
