//! The pages and their assets, compiled into the binary (`include_bytes!` of `assets/`), so
//! the app is one file and no request ever leaves the machine.
//!
//! - Assets (`GET /assets/{*path}`): the stylesheet, the icon, and the scripts, one ES module
//!   per concern: `common.js`, `notice.js`, `deliveries.js` shared by both pages,
//!   `live/*.js` for the session page, `history/*.js` for the history page and
//!   `calibrate/*.js` for the calibration page (which reuses `live/camera.js` and
//!   `live/capture.js`). The content
//!   type follows the file's extension.
//! - Pages (`GET /`, `GET /history`, `GET /calibrate`): the fragments in `assets/pages/` wrapped once in the
//!   page chrome ([`super::pages`]).
//!
//! Everything is served with `Cache-Control: no-cache` and a strong `ETag` (a hash of its
//! bytes): the browser revalidates and gets a `304` when nothing changed.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::pages::{self, Nav, Page};
use crate::web::error::AppError;

/// One embedded file, by its path under `assets/` (and `/assets/`).
#[derive(Debug)]
struct Asset {
    path: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, body: include_bytes!(concat!("../../assets/", $path)) }),*]
    };
}

/// Every file served under `/assets/` (a test checks that this is all of `assets/` but the
/// page fragments).
static ASSETS: &[Asset] = assets![
    "app.css",
    "favicon.svg",
    "common.js",
    "notice.js",
    "deliveries.js",
    "live/main.js",
    "live/settings.js",
    "live/camera.js",
    "live/preview.js",
    "live/profiles.js",
    "live/capture.js",
    "live/stream.js",
    "live/rate.js",
    "live/encoder.js",
    "live/indicator.js",
    "live/view.js",
    "live/alerts.js",
    "live/summary.js",
    "history/main.js",
    "history/chart.js",
    "calibrate/main.js",
    "calibrate/run.js",
    "calibrate/view.js",
];

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The content type of an asset, by its extension; `None` for a kind not served.
fn content_type(path: &str) -> Option<&'static str> {
    let (_, extension) = path.rsplit_once('.')?;
    Some(match extension {
        "js" => JS,
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// A page: its route's name for lookups, and how it is wrapped in the chrome.
#[derive(Debug)]
struct PageSpec {
    name: &'static str,
    title: &'static str,
    nav: Nav,
    script: &'static str,
    main: &'static str,
    footer: &'static str,
}

static PAGES: &[PageSpec] = &[
    PageSpec {
        name: "session",
        title: "Current session",
        nav: Nav::Session,
        script: "live/main.js",
        main: include_str!("../../assets/pages/session.html"),
        footer: "Focus Sentry runs entirely on this computer. Keyboard: Tab moves between controls; Enter starts a session; ending early asks first (Escape keeps going).",
    },
    PageSpec {
        name: "history",
        title: "History",
        nav: Nav::History,
        script: "history/main.js",
        main: include_str!("../../assets/pages/history.html"),
        footer: "Times are shown in your local time zone. The CSV export uses UTC.",
    },
    PageSpec {
        name: "calibrate",
        title: "Calibrate",
        nav: Nav::Calibrate,
        script: "calibrate/main.js",
        main: include_str!("../../assets/pages/calibrate.html"),
        footer: "Frames are analysed in memory and never stored; a profile keeps numbers only. Keyboard: Tab moves between controls; Escape cancels a calibration.",
    },
];

/// A body ready to serve, with its ETag.
#[derive(Debug)]
struct Served {
    content_type: &'static str,
    body: &'static [u8],
    etag: String,
}

impl Served {
    fn new(content_type: &'static str, body: &'static [u8]) -> Self {
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let etag = format!("\"{:016x}\"", hasher.finish());
        Served {
            content_type,
            body,
            etag,
        }
    }

    fn response(&self, request_headers: &HeaderMap) -> Response {
        let etag = HeaderValue::from_str(&self.etag).unwrap_or(HeaderValue::from_static("\"0\""));
        let cached = request_headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == self.etag.as_bytes());
        let common = [
            (header::ETAG, etag),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ];
        if cached {
            return (StatusCode::NOT_MODIFIED, common).into_response();
        }
        (
            common,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            )],
            self.body,
        )
            .into_response()
    }
}

/// The assets, typed and tagged, in the order of [`ASSETS`].
fn served_assets() -> &'static [Option<Served>] {
    static SERVED: OnceLock<Vec<Option<Served>>> = OnceLock::new();
    SERVED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| content_type(asset.path).map(|kind| Served::new(kind, asset.body)))
            .collect()
    })
}

/// The pages in their chrome, in the order of [`PAGES`]. Rendered once; they live as long as
/// the process, as the embedded assets do.
fn served_pages() -> &'static [Served] {
    static SERVED: OnceLock<Vec<Served>> = OnceLock::new();
    SERVED.get_or_init(|| {
        PAGES
            .iter()
            .map(|spec| {
                let html = pages::render(&Page {
                    title: spec.title,
                    current: Some(spec.nav),
                    script: Some(spec.script),
                    notice: true,
                    main: spec.main,
                    footer: spec.footer,
                });
                Served::new(HTML, String::leak(html).as_bytes())
            })
            .collect()
    })
}

fn page(name: &str, headers: &HeaderMap) -> Result<Response, AppError> {
    let index = PAGES
        .iter()
        .position(|p| p.name == name)
        .ok_or(AppError::RouteNotFound)?;
    let served = served_pages().get(index).ok_or(AppError::RouteNotFound)?;
    Ok(served.response(headers))
}

/// `GET /`: the live session page.
pub async fn index_page(headers: HeaderMap) -> Result<Response, AppError> {
    page("session", &headers)
}

/// `GET /history`: the history page.
pub async fn history_page(headers: HeaderMap) -> Result<Response, AppError> {
    page("history", &headers)
}

/// `GET /calibrate`: the calibration page.
pub async fn calibrate_page(headers: HeaderMap) -> Result<Response, AppError> {
    page("calibrate", &headers)
}

/// `GET /assets/{*path}`: scripts, styles and the icon; 404 for anything else.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    let index = ASSETS
        .iter()
        .position(|asset| asset.path == path)
        .ok_or(AppError::RouteNotFound)?;
    let served = served_assets()
        .get(index)
        .and_then(Option::as_ref)
        .ok_or(AppError::RouteNotFound)?;
    Ok(served.response(&headers))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn every_asset_is_embedded_and_typed() {
        for asset in ASSETS {
            assert!(!asset.body.is_empty(), "{} is empty", asset.path);
            assert!(content_type(asset.path).is_some(), "{}", asset.path);
        }
        assert_eq!(content_type("live/stream.js"), Some(JS));
        assert_eq!(content_type("app.css"), Some("text/css; charset=utf-8"));
        assert_eq!(content_type("pages/session.html"), None);
        assert_eq!(served_assets().len(), ASSETS.len());
        assert!(served_assets().iter().all(Option::is_some));
    }

    /// A module added to `assets/` but not listed would 404 in the browser: list them all.
    #[test]
    fn every_file_in_assets_is_served_or_a_page() {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    let relative = path.strip_prefix(root).unwrap();
                    out.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut files = Vec::new();
        walk(&root, &root, &mut files);
        for file in files {
            let listed = ASSETS.iter().any(|a| a.path == file)
                || PAGES
                    .iter()
                    .any(|p| file == format!("pages/{}.html", p.name));
            assert!(listed, "assets/{file} is neither an asset nor a page");
        }
    }

    #[test]
    fn scripts_import_only_served_modules() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).unwrap();
            let dir = asset.path.rsplit_once('/').map_or("", |(d, _)| d);
            for line in text.lines().filter(|l| l.contains(" from \"")) {
                let target = line.split('"').nth(1).unwrap();
                let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
                for segment in target.split('/') {
                    match segment {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        s => parts.push(s),
                    }
                }
                let resolved = parts.join("/");
                assert!(
                    ASSETS.iter().any(|a| a.path == resolved),
                    "{} imports {target} ({resolved}), which is not served",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn pages_have_the_chrome_once_and_no_inline_script_or_cdn() {
        for (spec, served) in PAGES.iter().zip(served_pages()) {
            assert_eq!(served.content_type, HTML);
            let text = std::str::from_utf8(served.body).unwrap();
            assert_eq!(text.matches("<header class=\"topbar\">").count(), 1);
            assert_eq!(text.matches("<footer>").count(), 1);
            assert_eq!(text.matches("id=\"notice\"").count(), 1);
            assert!(text.contains(&format!("src=\"/assets/{}\"", spec.script)));
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with("<script") {
                    assert!(line.contains("src=\"/assets/"), "{}: {line}", spec.name);
                }
                assert!(
                    !line.contains("style=\""),
                    "{}: inline style {line}",
                    spec.name
                );
            }
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{}",
                spec.name
            );
        }
    }
}
