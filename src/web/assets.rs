//! The pages and their assets, compiled into the binary (`include_bytes!` of `assets/`), so
//! the app is one file and no request ever leaves the machine.
//!
//! Each asset is served with `Cache-Control: no-cache` and a strong `ETag` (a hash of its
//! bytes): the browser revalidates and gets a `304` when nothing changed.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::web::error::AppError;

/// One embedded file.
#[derive(Debug)]
struct Asset {
    /// Path under `/assets/` (or the page's route for pages).
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../assets/", $name)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("history.html", HTML),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("common.js", JS),
    asset!("live.js", JS),
    asset!("history.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
];

fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let mut hasher = DefaultHasher::new();
                asset.body.hash(&mut hasher);
                format!("\"{:016x}\"", hasher.finish())
            })
            .collect()
    })
}

fn serve(name: &str, request_headers: &HeaderMap) -> Result<Response, AppError> {
    let (index, asset) = ASSETS
        .iter()
        .enumerate()
        .find(|(_, asset)| asset.name == name)
        .ok_or(AppError::RouteNotFound)?;
    let etag = etags().get(index).map(String::as_str).unwrap_or("\"0\"");
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let cached = request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let common = [
        (header::ETAG, etag_value),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body,
    )
        .into_response())
}

/// `GET /`: the live session page.
pub async fn index_page(headers: HeaderMap) -> Result<Response, AppError> {
    serve("index.html", &headers)
}

/// `GET /history`: the history page.
pub async fn history_page(headers: HeaderMap) -> Result<Response, AppError> {
    serve("history.html", &headers)
}

/// `GET /assets/{name}`: scripts, styles and the icon.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    if name.ends_with(".html") {
        return Err(AppError::RouteNotFound);
    }
    serve(&name, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_embedded_and_typed() {
        for asset in ASSETS {
            assert!(!asset.body.is_empty(), "{} is empty", asset.name);
            if asset.name.ends_with(".js") {
                assert_eq!(asset.content_type, JS);
            }
        }
    }

    #[test]
    fn pages_have_no_inline_script_or_cdn() {
        for asset in ASSETS.iter().filter(|a| a.content_type == HTML) {
            let text = String::from_utf8_lossy(asset.body);
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with("<script") {
                    assert!(line.contains("src=\"/assets/"), "{}: {line}", asset.name);
                }
                assert!(
                    !line.contains("style=\""),
                    "{}: inline style {line}",
                    asset.name
                );
            }
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{}",
                asset.name
            );
        }
    }
}
