//! Cross-site protection and security headers.
//!
//! - [`check_origin`]: a state-changing request (any method but GET/HEAD/OPTIONS) or a
//!   WebSocket handshake that carries an `Origin` header must come from this server's own
//!   host and port (the `Host` header). Requests without `Origin` (curl, scripts, the tests)
//!   pass: browsers always send it on cross-site requests of these kinds, so a page on
//!   another site can neither start or end sessions nor open the camera stream.
//! - [`check_host`]: when the server listens on loopback (the default), a request whose
//!   `Host` is not a loopback name (`localhost`, `127.x.x.x`, `[::1]`) is refused. This stops
//!   DNS rebinding: a page on `evil.example` whose name is made to resolve to 127.0.0.1 would
//!   otherwise be same-origin with the app and could read the history.
//! - [`security_headers`]: a Content-Security-Policy with no inline script and no third
//!   party (every asset is served by the binary), `nosniff`, no framing, no referrer, and
//!   camera access for this origin only.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::web::error::AppError;

/// Refuses cross-site state-changing requests and WebSocket handshakes with 403.
pub async fn check_origin(request: Request, next: Next) -> Response {
    let needs_check = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || is_websocket_upgrade(request.headers());
    if needs_check && !origin_allowed(request.headers()) {
        tracing::warn!(
            method = %request.method(),
            path = request.uri().path(),
            origin = ?request.headers().get(header::ORIGIN),
            "cross-site request refused"
        );
        return AppError::ForbiddenOrigin.into_response();
    }
    next.run(request).await
}

/// Refuses requests addressed to a non-loopback host name when `loopback_only` (403).
pub async fn check_host(
    State(loopback_only): State<bool>,
    request: Request,
    next: Next,
) -> Response {
    if loopback_only && !host_is_loopback(request.headers()) {
        tracing::warn!(
            host = ?request.headers().get(header::HOST),
            "request for another host refused"
        );
        return AppError::ForbiddenHost.into_response();
    }
    next.run(request).await
}

/// The `Host` header names this machine's loopback interface (any port). A request without
/// `Host` (HTTP/1.0) is let through: browsers always send it.
pub fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Some(authority) = host
        .to_str()
        .ok()
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
    else {
        return false;
    };
    let name = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// No `Origin`, or an `Origin` whose host and port are the request's `Host`.
pub fn origin_allowed(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    match (origin_authority(origin), normalise_host(host, None)) {
        (Some(origin), Some(host)) => origin == host,
        _ => false,
    }
}

/// `scheme://host[:port]` to `host:port` (lower case, default port filled in). `None` for
/// `null` and anything that is not an http(s) origin.
fn origin_authority(origin: &str) -> Option<String> {
    let uri: Uri = origin.parse().ok()?;
    let default_port = match uri.scheme_str()? {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    if uri.path() != "/" && !uri.path().is_empty() {
        return None;
    }
    normalise_host(uri.authority()?.as_str(), Some(default_port))
}

/// `host[:port]` to `host:port`, lower case. A `Host` header without a port means port 80
/// (the page is served over plain HTTP on loopback); an origin gets its scheme's default.
fn normalise_host(authority: &str, default_port: Option<u16>) -> Option<String> {
    if authority.contains('@') {
        return None;
    }
    let authority: axum::http::uri::Authority = authority.parse().ok()?;
    let port = authority.port_u16().or(default_port).unwrap_or(80);
    Some(format!("{}:{port}", authority.host().to_ascii_lowercase()))
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(), geolocation=()",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if is_api {
        // Session data is personal: never keep it in a shared cache.
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
        if let Some(origin) = origin {
            h.insert(
                header::ORIGIN,
                HeaderValue::from_str(origin).expect("origin"),
            );
        }
        h
    }

    #[test]
    fn origin_table() {
        let cases = [
            (None, "127.0.0.1:8000", true),
            (Some("http://127.0.0.1:8000"), "127.0.0.1:8000", true),
            (Some("http://LOCALHOST:8000"), "localhost:8000", true),
            (Some("http://localhost"), "localhost:80", true),
            (Some("http://localhost:8000"), "127.0.0.1:8000", false),
            (Some("http://127.0.0.1:9000"), "127.0.0.1:8000", false),
            (Some("https://evil.example"), "127.0.0.1:8000", false),
            (Some("null"), "127.0.0.1:8000", false),
            (Some("http://127.0.0.1:8000/x"), "127.0.0.1:8000", false),
            (Some("http://user@127.0.0.1:8000"), "127.0.0.1:8000", false),
            (Some("http://[::1]:8000"), "[::1]:8000", true),
        ];
        for (origin, host, want) in cases {
            assert_eq!(
                origin_allowed(&headers(origin, host)),
                want,
                "origin {origin:?} host {host}"
            );
        }
    }

    #[test]
    fn host_table() {
        for (host, want) in [
            ("127.0.0.1:8000", true),
            ("localhost:8000", true),
            ("LOCALHOST", true),
            ("127.1.2.3:9", true),
            ("[::1]:8000", true),
            ("evil.example:8000", false),
            ("192.168.1.2:8000", false),
            ("localhost.evil.example", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
            assert_eq!(host_is_loopback(&h), want, "{host}");
        }
    }

    #[test]
    fn origin_without_host_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static("http://a:1"));
        assert!(!origin_allowed(&h));
    }
}
