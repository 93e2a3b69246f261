//! The access token on the wire (`FOCUS_ACCESS_TOKEN`, see [`crate::config::AccessToken`]).
//!
//! When the server has a token, [`require_token`] lets a request through only if it carries
//! it: in the `focus_access` cookie (browsers) or as `Authorization: Bearer <token>`
//! (scripts). Without it:
//! - the API and the live WebSocket answer 401 in JSON;
//! - a page (`GET` outside `/api/`) answers 401 with the token page: one password field that
//!   posts to `POST /access`, which sets the cookie (`HttpOnly`, `SameSite=Strict`, a year)
//!   and sends the browser back to the page it asked for. A wrong token gets the page again,
//!   saying so, half a second later.
//!
//! `SameSite=Strict` keeps the cookie off requests that another site starts, so a link to
//! the app from elsewhere (a summary opened in webmail) arrives without it. Such a
//! navigation (`Sec-Fetch-Site: cross-site`) gets a page that reloads itself at once: the
//! reload is this site's own, carries the cookie, and only if there is none does the token
//! page follow.
//!
//! The token page, `/access` and `/assets/*` (the same scripts and styles for everyone, no
//! data) are open. Without a token (loopback, the default) this layer does nothing.

use std::time::Duration;

use axum::Form;
use axum::extract::{Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use focus_notify::message::escape_html;
use serde::Deserialize;

use crate::config::AccessToken;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::pages::{self, Page};

/// The cookie that carries the token.
pub const COOKIE: &str = "focus_access";

/// Where the token page posts.
pub const ACCESS_PATH: &str = "/access";

/// How long a browser keeps the cookie: a year (Chromium caps it at 400 days).
const COOKIE_MAX_AGE_S: u64 = 365 * 24 * 3600;

/// How long a wrong token waits for its answer: a person does not notice, a script trying
/// tokens one after another is slowed.
const WRONG_TOKEN_DELAY: Duration = Duration::from_millis(500);

/// Lets a request through when the server has no token or the request carries it; see the
/// module docs for what the others get.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(Some(token)) = &state.config.access_token else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if path == ACCESS_PATH || path.starts_with("/assets/") || carries(request.headers(), token) {
        return next.run(request).await;
    }
    let is_page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/api?");
    if !is_page {
        tracing::debug!(path, "request without the access token refused");
        return AppError::Unauthorized.into_response();
    }
    let target = local_target(request.uri().path_and_query().map(|pq| pq.as_str()));
    if is_cross_site(request.headers()) {
        return reload_page(&target);
    }
    token_page(StatusCode::UNAUTHORIZED, &target, None)
}

/// Whether the request carries `token`, as a bearer token or in the cookie.
pub fn carries(headers: &HeaderMap, token: &AccessToken) -> bool {
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, value) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| value.trim())
        });
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then_some(value)
        });
    let mut found = false;
    // Every candidate is compared, so the time taken does not say which one was close.
    for candidate in bearer.chain(cookies) {
        found |= token.matches(candidate);
    }
    found
}

/// A navigation that another site started (`Sec-Fetch-Site: cross-site`): it arrives without
/// the `SameSite=Strict` cookie even when the browser has one.
fn is_cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

/// `raw` if it is a path on this server (`/…`, not `//host` or `/\host`, which browsers
/// read as another site, and not the token page itself), else `/`.
fn local_target(raw: Option<&str>) -> String {
    match raw {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with(ACCESS_PATH)
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `GET /access?next=/history`: the token page (without a server token, home).
pub async fn access_page(
    State(state): State<AppState>,
    Query(query): Query<AccessQuery>,
) -> Response {
    if !matches!(state.config.access_token, Ok(Some(_))) {
        return Redirect::to("/").into_response();
    }
    token_page(StatusCode::OK, &local_target(query.next.as_deref()), None)
}

/// The query of `GET /access`.
#[derive(Debug, Deserialize)]
pub struct AccessQuery {
    next: Option<String>,
}

/// The token page's form.
#[derive(Debug, Deserialize)]
pub struct AccessForm {
    token: String,
    next: Option<String>,
}

/// `POST /access`: a right token sets the cookie and goes back to `next` (303); a wrong one
/// gets the page again with 401. Without a server token there is nothing to enter: to `/`.
pub async fn submit_token(State(state): State<AppState>, Form(form): Form<AccessForm>) -> Response {
    let target = local_target(form.next.as_deref());
    let Ok(Some(token)) = &state.config.access_token else {
        return Redirect::to("/").into_response();
    };
    if !token.matches(form.token.trim()) {
        tracing::warn!("a wrong access token was entered on the token page");
        tokio::time::sleep(WRONG_TOKEN_DELAY).await;
        return token_page(
            StatusCode::UNAUTHORIZED,
            &target,
            Some("That is not this server's access token. Check FOCUS_ACCESS_TOKEN where it runs."),
        );
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict",
        token.expose()
    );
    let mut response = Redirect::to(&target).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The token page, with an error line when a wrong token was entered.
fn token_page(status: StatusCode, target: &str, error: Option<&str>) -> Response {
    let error = error.map(escape_html).unwrap_or_default();
    let main = format!(
        r#"  <section class="card" aria-labelledby="access-title">
    <div class="card-head">
      <h1 id="access-title">Enter the access token</h1>
    </div>
    <p class="muted">This Focus Sentry is open to the network, so it asks for the token set in
      FOCUS_ACCESS_TOKEN where it runs. This browser keeps it afterwards.</p>
    <form method="post" action="{ACCESS_PATH}">
      <input type="hidden" name="next" value="{next}">
      <div class="field">
        <label for="access-token">Access token</label>
        <input id="access-token" name="token" type="password" autocomplete="current-password" required autofocus>
        <p class="field-error" id="access-error" role="alert">{error}</p>
      </div>
      <div class="actions">
        <button type="submit" class="btn primary" id="access-submit">Continue</button>
      </div>
    </form>
  </section>
"#,
        next = escape_html(target),
    );
    let html = pages::render(&Page {
        title: "Access token",
        current: None,
        script: None,
        notice: false,
        main: &main,
        footer: "The token travels unencrypted on plain http: use it on a network you trust.",
    });
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Under the app's `no-referrer` a form post carries `Origin: null`, which the cross-site
    // check refuses; `same-origin` lets the post say where it comes from and still tells
    // other sites nothing.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A page that loads `target` again at once, as this site's own navigation (see the module
/// docs).
fn reload_page(target: &str) -> Response {
    let target = escape_html(target);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0; url={target}\">\
         <title>Focus Sentry</title></head>\
         <body><p><a href=\"{target}\">Continue to Focus Sentry</a></p></body></html>\n"
    );
    let mut response = (StatusCode::OK, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Parses a URI for [`local_target`]'s tests.
#[cfg(test)]
fn target_of(uri: &str) -> String {
    let uri: axum::http::Uri = uri.parse().expect("uri");
    local_target(uri.path_and_query().map(|pq| pq.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> AccessToken {
        AccessToken::parse("0123456789abcdef").expect("valid")
    }

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("value"));
        headers
    }

    #[test]
    fn the_token_is_found_in_a_bearer_header_or_the_cookie() {
        let token = token();
        let yes = [
            with(header::AUTHORIZATION, "Bearer 0123456789abcdef"),
            with(header::AUTHORIZATION, "bearer  0123456789abcdef "),
            with(header::COOKIE, "focus_access=0123456789abcdef"),
            with(header::COOKIE, "a=b; focus_access=0123456789abcdef; c=d"),
        ];
        for headers in &yes {
            assert!(carries(headers, &token), "{headers:?}");
        }
        let no = [
            HeaderMap::new(),
            with(header::AUTHORIZATION, "Basic 0123456789abcdef"),
            with(header::AUTHORIZATION, "Bearer 0123456789abcde"),
            with(header::AUTHORIZATION, "0123456789abcdef"),
            with(header::COOKIE, "other_access=0123456789abcdef"),
            with(header::COOKIE, "focus_access=0123456789abcdeF"),
            with(header::COOKIE, "focus_access="),
        ];
        for headers in &no {
            assert!(!carries(headers, &token), "{headers:?}");
        }
    }

    #[test]
    fn the_page_sends_back_only_to_paths_on_this_server() {
        assert_eq!(target_of("/history?days=7"), "/history?days=7");
        assert_eq!(target_of("/"), "/");
        assert_eq!(local_target(Some("//evil.example/x")), "/");
        assert_eq!(local_target(Some("/\\evil.example")), "/");
        assert_eq!(local_target(Some("https://evil.example/")), "/");
        assert_eq!(local_target(Some("/access?next=/x")), "/");
        assert_eq!(local_target(Some("/a\nb")), "/");
        assert_eq!(local_target(None), "/");
    }
}
