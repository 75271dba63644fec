//! The console's styles (and, later, scripts and images): files of the
//! project embedded in the binary, served under
//! `/console/assets/{name}.{hash}.{ext}` with a year of caching, since a
//! changed file gets a new URL. No session needed (contract).

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "assets/console/"]
struct Files;

/// Hex digits of the content hash in a URL: enough to tell versions apart.
const HASH_DIGITS: usize = 12;

fn hash_of(name: &str) -> Option<String> {
    let file = Files::get(name)?;
    let hex: String = file
        .metadata
        .sha256_hash()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Some(hex[..HASH_DIGITS].to_owned())
}

/// The URL of asset `name` (`console.css` → `/console/assets/console.1a2b….css`).
pub fn url(name: &str) -> String {
    static URLS: OnceLock<std::collections::HashMap<String, String>> = OnceLock::new();
    let urls = URLS.get_or_init(|| {
        Files::iter()
            .filter_map(|name| {
                let hash = hash_of(&name)?;
                let hashed = match name.rsplit_once('.') {
                    Some((stem, ext)) => format!("/console/assets/{stem}.{hash}.{ext}"),
                    None => format!("/console/assets/{name}.{hash}"),
                };
                Some((name.into_owned(), hashed))
            })
            .collect()
    });
    urls.get(name).cloned().unwrap_or_default()
}

/// The types of the kinds of file the console ships.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `GET /console/assets/{name}.{hash}.{ext}`: the file, if the hash is its
/// current one (an old URL is 404, never an old file under a new name).
pub async fn serve(Path(requested): Path<String>) -> Response {
    let found = requested.rsplit_once('.').and_then(|(rest, ext)| {
        let (stem, hash) = rest.rsplit_once('.')?;
        let name = format!("{stem}.{ext}");
        (hash_of(&name)? == hash).then_some(name)
    });
    let Some(name) = found else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let Some(file) = Files::get(&name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type(&name).to_owned()),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_owned(),
            ),
        ],
        file.data.into_owned(),
    )
        .into_response()
}
