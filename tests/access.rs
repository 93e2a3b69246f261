//! The access token (`FOCUS_ACCESS_TOKEN`): a server on the network refuses to start without
//! one; with one, the API, the WebSocket and the pages want it (bearer or cookie), the token
//! page sets the cookie, and loopback without a token stays open as before.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::{spawn_app, spawn_app_adjusted, test_config};
use focus_sentry::App;
use focus_sentry::config::AccessToken;
use focus_sentry::startup::StartupError;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const TOKEN: &str = "s3cret-Token-0123456789";

fn with_token(config: &mut focus_sentry::config::Config) {
    config.access_token = Ok(Some(AccessToken::parse(TOKEN).unwrap()));
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    focus_notify::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn form(token: &str, next: &str) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!("token={}&next={}", encode(token), encode(next))
}

#[tokio::test]
async fn a_network_address_without_a_token_refuses_to_start_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("focus.db");
    let mut config = test_config(&db_path);
    config.listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    let error = App::build(config).await.expect_err("must refuse");
    assert!(
        matches!(error, StartupError::AccessTokenRequired { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("FOCUS_ACCESS_TOKEN"), "{message}");
    assert!(message.contains("0.0.0.0"), "{message}");
    assert!(
        message.contains("127.0.0.1"),
        "says how to stay local: {message}"
    );
    assert!(!db_path.exists(), "no database was created");

    // A token that is set but too weak is refused on any address, without quoting it.
    let mut config = test_config(&db_path);
    config.access_token = AccessToken::parse("hunter2").map(Some);
    let error = App::build(config).await.expect_err("must refuse");
    let message = error.to_string();
    assert!(matches!(error, StartupError::AccessToken(_)), "{error:?}");
    assert!(message.contains("at least 16"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn on_the_network_with_a_token_the_api_wants_it() {
    let app = spawn_app_adjusted(|config| {
        config.listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        with_token(config);
    })
    .await;
    let port = app.address.rsplit(':').next().unwrap();
    let url = format!("http://127.0.0.1:{port}/api/sessions");
    let client = &app.client;

    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()[header::WWW_AUTHENTICATE], "Bearer");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"),
        "{body}"
    );

    let wrong = client
        .get(&url)
        .bearer_auth("s3cret-Token-012345678")
        .send()
        .await;
    assert_eq!(wrong.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Starting a session without the token stores nothing.
    let start = json!({"duration_minutes": 5, "alert_threshold_s": 10, "alert_mode": "both",
                    "send_email": false, "send_sms": false});
    let refused = client.post(&url).json(&start).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let listed = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(
        listed["sessions"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );

    let by_cookie = client
        .post(&url)
        .header(header::COOKIE, format!("theme=dark; focus_access={TOKEN}"))
        .json(&start)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_websocket_wants_the_token_too() {
    let app = spawn_app_adjusted(with_token).await;
    let created = app
        .client
        .post(app.url("/api/sessions"))
        .bearer_auth(TOKEN)
        .json(
            &json!({"duration_minutes": 5, "alert_threshold_s": 10, "alert_mode": "both",
                    "send_email": false, "send_sms": false}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let ws_url = app.ws_url(&format!("/api/sessions/{id}/live"));

    match tokio_tungstenite::connect_async(ws_url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
        }
        other => panic!("a socket without the token must be refused: {other:?}"),
    }

    let mut request = ws_url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "Cookie",
        HeaderValue::from_str(&format!("focus_access={TOKEN}")).unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the cookie lets the socket in");
    let state = common::next_json(&mut ws).await;
    assert!(state.get("state").is_some(), "{state}");
}

#[tokio::test]
async fn the_pages_ask_for_the_token_once_and_keep_it_in_a_cookie() {
    let app = spawn_app_adjusted(with_token).await;
    let client = no_redirects();

    // A page without the token: the token page, which comes back to the page asked for.
    let page = client.get(app.url("/history?days=7")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    // Under `no-referrer` a browser's form post says `Origin: null`, which the cross-site
    // check refuses: the token page lets its post carry its origin.
    assert_eq!(page.headers()[header::REFERRER_POLICY], "same-origin");
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<form method="post" action="/access">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="next" value="/history?days=7""#),
        "{html}"
    );
    assert!(html.contains(r#"type="password""#), "{html}");
    // Its stylesheet is open.
    let css = client.get(app.url("/assets/app.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);

    // A wrong token: the page again, saying so; no cookie.
    let wrong = client
        .post(app.url("/access"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form("not-the-token-0123456", "/history"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That is not this server")
    );

    // The right one: the cookie, and back to the page.
    let right = client
        .post(app.url("/access"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(TOKEN, "/history?days=7"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(right.headers()[header::LOCATION], "/history?days=7");
    let cookie = right.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with(&format!("focus_access={TOKEN};")),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let with_cookie = client
        .get(app.url("/history"))
        .header(header::COOKIE, format!("focus_access={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), StatusCode::OK);
    assert!(!with_cookie.text().await.unwrap().contains("/access"));

    // It never sends the browser to another site.
    let away = client
        .post(app.url("/access"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(TOKEN, "//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(away.headers()[header::LOCATION], "/");

    // A link from another site arrives without the SameSite=Strict cookie: the page reloads
    // itself as this site's own navigation (which carries it) instead of asking.
    let linked = client
        .get(app.url("/?session=3"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), StatusCode::OK);
    let html = linked.text().await.unwrap();
    assert!(
        html.contains(r#"http-equiv="refresh" content="0; url=/?session=3""#),
        "{html}"
    );
    assert!(!html.contains("<form"), "{html}");
}

#[tokio::test]
async fn loopback_without_a_token_stays_open() {
    let app = spawn_app().await;
    let client = no_redirects();
    let listed = client.get(app.url("/api/sessions")).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(!page.text().await.unwrap().contains("action=\"/access\""));
    // Nothing to enter: the token page goes home.
    let access = client
        .post(app.url("/access"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form("anything-at-all-0123", "/history"))
        .send()
        .await
        .unwrap();
    assert_eq!(access.status(), StatusCode::SEE_OTHER);
    assert!(access.headers().get(header::SET_COOKIE).is_none());
}
