//! `POST /v1/tickets/{id}/attachments` (a streaming `multipart/form-data`
//! upload) and `GET /v1/tickets/{id}/attachments/{attachment_id}` (the
//! bytes, streamed from disk, with one `Range` honoured).
//!
//! An upload is checked as far as it can be before its bytes are read (the
//! role, the content type, the headers, a ticket the actor sees), then its
//! `file` part streams into the attachment store, hashed and refused at the
//! size limit as it arrives; the rest of the command (visibility, a closed
//! ticket, the limit per ticket, idempotency) is the application layer's.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_app::attachments::Staged;
use docket_app::AppError;
use docket_domain::access::{Action, Read};
use docket_domain::attachment::AttachmentName;
use docket_domain::types::Visibility;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::auth::Auth;
use crate::problem::{edge, ApiError};
use crate::queries::min_position;
use crate::routes::{meta, respond};
use crate::{parse, AppState};

/// The longest text part read, in bytes (`internal` is 8; the console's
/// CSRF value 64, its idempotency key 45).
const TEXT_PART_BYTES_MAX: usize = 256;

/// RFC 5987 `attr-char`s stay as they are; everything else is encoded.
const ATTR_CHAR_ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `POST /v1/tickets/{id}/attachments`: 201 with the attachment.
pub async fn upload(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    Action::Comment.permit(actor.role)?;
    let ticket_id = parse::path_ticket(&id)?;
    let headers = request.headers().clone();
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
        });
    if !is_multipart {
        return Err(edge::not_multipart());
    }
    // The headers' own faults are answered before any byte is read.
    crate::routes::if_match(&headers)?;
    if let Some(key) = headers.get("idempotency-key") {
        docket_app::idempotency::ScopedKey::parse(key.as_bytes(), &actor.sub)?;
    }
    state.commands.check_upload(&actor, ticket_id)?;
    let received = receive(&state, request, &[], |_| Ok(())).await?;
    let path = format!("/v1/tickets/{ticket_id}/attachments");
    let meta = meta(
        actor,
        &headers,
        &Method::POST,
        &path,
        &received.same_request(),
    )?;
    Ok(respond(received.record(&state, meta, ticket_id).await?))
}

/// An upload's parts as read: the file staged in the store, its name as
/// sent, the visibility, and the other small text parts the edge takes.
pub(crate) struct Received {
    /// The bytes, hashed and written, not yet placed.
    pub staged: Staged,
    /// The file part's filename as sent (sanitized when recorded).
    pub filename: String,
    /// `public` unless the `visibility` part says `internal`.
    pub visibility: Visibility,
    /// The extra text parts, by name.
    pub texts: std::collections::HashMap<String, String>,
}

impl Received {
    /// Places the bytes and appends `attachment_added` (the command).
    pub(crate) async fn record(
        &self,
        state: &AppState,
        meta: docket_app::commands::CommandMeta,
        ticket_id: docket_domain::types::TicketId,
    ) -> Result<docket_app::commands::Answer, ApiError> {
        Ok(state
            .commands
            .attach(
                meta,
                ticket_id,
                &state.attachments,
                &self.staged,
                AttachmentName::sanitize(&self.filename),
                self.visibility,
            )
            .await?)
    }

    /// "The same request" for idempotency: the same bytes, filename and
    /// visibility.
    pub(crate) fn same_request(&self) -> Vec<u8> {
        let mut same = self.staged.bytes.sha256.as_bytes().to_vec();
        same.push(0);
        same.extend_from_slice(self.filename.as_bytes());
        same.push(0);
        same.extend_from_slice(visibility_name(self.visibility).as_bytes());
        same
    }
}

/// Reads a `multipart/form-data` upload: the `file` part streams into the
/// attachment store (hashed, refused at the limit), `visibility` and the
/// `extra` text parts are kept (each cut at [`TEXT_PART_BYTES_MAX`]), any
/// other part is refused. `before_file` sees the text parts read so far
/// when the file part begins and may refuse before a byte is stored (the
/// console checks its CSRF value there).
pub(crate) async fn receive(
    state: &AppState,
    request: Request,
    extra: &[&str],
    before_file: impl Fn(&std::collections::HashMap<String, String>) -> Result<(), ApiError>,
) -> Result<Received, ApiError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| edge::malformed_multipart(rejection.body_text()))?;
    let mut file: Option<(Staged, String)> = None;
    let mut visibility: Option<String> = None;
    let mut texts = std::collections::HashMap::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|error| edge::malformed_multipart(error.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            if file.is_some() {
                return Err(edge::unexpected_part("a second file part"));
            }
            before_file(&texts)?;
            let filename = field
                .file_name()
                .map(str::to_owned)
                .ok_or_else(edge::missing_filename)?;
            let mut upload = state.attachments.begin()?;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|error| edge::malformed_multipart(error.body_text()))?
            {
                upload.write(&chunk).await?;
            }
            file = Some((upload.finish().await?, filename));
            continue;
        }
        if name != "visibility" && !extra.contains(&name.as_str()) {
            return Err(edge::unexpected_part(format!(
                "a part named {name:?}; only file and visibility are taken"
            )));
        }
        if name == "visibility" && visibility.is_some() || texts.contains_key(&name) {
            return Err(edge::unexpected_part(format!("a second {name} part")));
        }
        let mut text = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|error| edge::malformed_multipart(error.body_text()))?
        {
            text.extend_from_slice(&chunk);
            if text.len() > TEXT_PART_BYTES_MAX {
                break;
            }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        if name == "visibility" {
            visibility = Some(text);
        } else {
            texts.insert(name, text);
        }
    }
    let (staged, filename) = file.ok_or_else(edge::missing_file)?;
    let visibility = match visibility.as_deref() {
        None | Some("public") => Visibility::Public,
        Some("internal") => Visibility::Internal,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_field",
                "visibility must be public or internal",
            ))
        }
    };
    Ok(Received {
        staged,
        filename,
        visibility,
        texts,
    })
}

fn visibility_name(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Public => "public",
        Visibility::Internal => "internal",
    }
}

/// The query of a download.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadParams {
    min_position: Option<u64>,
}

/// `GET /v1/tickets/{id}/attachments/{attachment_id}`: the bytes.
pub async fn download(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path((id, attachment)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Query<DownloadParams>,
) -> Result<Response, ApiError> {
    let min_position = min_position(&headers, params.min_position)?;
    serve(&state, &actor, &id, &attachment, &headers, min_position).await
}

/// An attachment's bytes for `actor`, with one `Range` honoured: the
/// download of the JSON API and of the console alike.
pub(crate) async fn serve(
    state: &AppState,
    actor: &docket_domain::types::Actor,
    id: &str,
    attachment: &str,
    headers: &HeaderMap,
    min_position: Option<u64>,
) -> Result<Response, ApiError> {
    Read::Tickets.permit(actor)?;
    let ticket_id = parse::path_ticket(id)?;
    let attachment_id = uuid::Uuid::parse_str(attachment).map_err(|_| ApiError::not_found())?;
    let found = state
        .reads
        .attachment(actor, ticket_id, attachment_id, min_position)
        .await?;
    let missing = || {
        ApiError::from(AppError::AttachmentMissing {
            sha256: found.sha256.clone(),
        })
    };
    let mut file = tokio::fs::File::open(state.attachments.path_of(&found.sha256))
        .await
        .map_err(|_| missing())?;
    let size = found.size_bytes;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(text) => {
            let parsed = http_range_header::parse_range_header(text)
                .and_then(|parsed| parsed.validate(size));
            let Ok(ranges) = parsed else {
                let mut refused = edge::range_not_satisfiable(size).into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    refused.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return Ok(refused);
            };
            // One range is served as asked; several, as the whole file.
            match ranges.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            }
        }
    };
    let (status, start, length) = match &range {
        Some(range) => (
            StatusCode::PARTIAL_CONTENT,
            *range.start(),
            range.end() - range.start() + 1,
        ),
        None => (StatusCode::OK, 0, size),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|_| missing())?;
    }
    let body = Body::from_stream(ReaderStream::new(file.take(length)));
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(found.media_type.content_type()),
    );
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let encoded = utf8_percent_encode(&found.filename, ATTR_CHAR_ENCODED).to_string();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")) {
        out.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", found.sha256)) {
        out.insert(header::ETAG, value);
    }
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(range) = range {
        if let Ok(value) =
            HeaderValue::from_str(&format!("bytes {}-{}/{size}", range.start(), range.end()))
        {
            out.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}
