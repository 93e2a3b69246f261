//! Test helpers: start the real app on `127.0.0.1:0` with a temporary database, talk to it
//! over HTTP and WebSocket, and read the face photos in `tests/fixtures/faces`.
//!
//! Each test gets its own app and database. The vision models are loaded once per test
//! binary and shared (loading takes about half a second). Time is a [`ShiftedTime`]: tests
//! jump ahead ("a minute has passed") instead of sleeping.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use focus_sentry::App;
use focus_sentry::config::Config;
use focus_sentry::db::Db;
use focus_sentry::time::ShiftedTime;
use focus_sentry::vision::{FrameBounds, Vision};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The models, loaded once for the whole test binary.
pub fn shared_vision() -> Vision {
    static VISION: OnceLock<Vision> = OnceLock::new();
    VISION
        .get_or_init(|| {
            Vision::load_embedded(FrameBounds::new(2, 32)).expect("the embedded models load")
        })
        .clone()
}

/// An HTTP client. reqwest is built without a TLS provider of its own (the notify crate
/// picks one for the process), so install it first even though tests speak plain HTTP.
pub fn http_client() -> reqwest::Client {
    focus_notify::install_crypto_provider();
    // Idle connections are dropped before the server's 10 s idle limit closes them, so a
    // request never goes out on a connection the server is closing.
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A running app. Its HTTP and WebSocket helpers are those of [`Api`] (through `Deref`).
pub struct TestApp {
    pub api: Api,
    pub time: Arc<ShiftedTime>,
    pub db_path: PathBuf,
    /// The app's own database handle (the same writer and readers it uses).
    pub db: Db,
    /// The app's vision pipeline (its inference slots, how many frames it analyses at once).
    pub vision: Vision,
    stop: Option<oneshot::Sender<()>>,
    pub server: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// Test timing: the clock ticks every 100 ms, totals are saved every 300 ms.
pub fn test_config(db_path: &Path) -> Config {
    let mut config = Config::for_database(db_path);
    config.timing.tick_interval = Duration::from_millis(100);
    config.timing.save_interval = Duration::from_millis(300);
    config.timing.idle_push_interval = Duration::from_millis(500);
    config.timing.shutdown_grace = Duration::from_secs(2);
    config
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("focus.db");
    let mut app = spawn_app_with(test_config(&db_path)).await;
    app._dir = Some(dir);
    app
}

/// As [`spawn_app`], on a clock that stands still between the test's steps
/// ([`ShiftedTime::frozen`]): frames are stamped at exactly the times the test advances to,
/// however long their analysis takes on a loaded machine.
pub async fn spawn_app_frozen() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("focus.db");
    let mut app = spawn_app_with_time(test_config(&db_path), ShiftedTime::frozen()).await;
    app._dir = Some(dir);
    app
}

/// The server back `after_ms` later (on a frozen clock) on the database file `db_path` of
/// an app that stopped: what a restart finds, e.g. the sessions it interrupted.
pub async fn spawn_app_later(db_path: &Path, after_ms: i64) -> TestApp {
    let time = ShiftedTime::frozen();
    time.advance_ms(after_ms);
    spawn_app_with_time(test_config(db_path), time).await
}

/// Starts an app on a fresh temporary database with `adjust` applied to the test config
/// (notifications, retry timing, ...).
pub async fn spawn_app_adjusted(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("focus.db");
    let mut config = test_config(&db_path);
    adjust(&mut config);
    let mut app = spawn_app_with(config).await;
    app._dir = Some(dir);
    app
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    spawn_app_with_time(config, ShiftedTime::new()).await
}

/// Starts an app with `config` on the clock `time` (e.g. [`ShiftedTime::frozen`]).
pub async fn spawn_app_with_time(config: Config, time: Arc<ShiftedTime>) -> TestApp {
    let db_path = config.db_path.clone();
    let app = App::builder(config)
        .time(time.clone())
        .vision(shared_vision())
        .build()
        .await
        .expect("the app builds");
    let address = format!("http://{}", app.address());
    let db = app.db();
    let vision = app.vision();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    TestApp {
        api: Api::new(address),
        time,
        db_path,
        db,
        vision,
        stop: Some(stop_tx),
        server: Some(server),
        _dir: None,
    }
}

/// The HTTP API and live socket of a server at `address` (`http://HOST:PORT`): an
/// in-process [`TestApp`] or the real binary ([`focus_test_support::binary::Server`]).
pub struct Api {
    pub address: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(address: impl Into<String>) -> Api {
        Api {
            address: address.into(),
            client: http_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{}", self.address.replacen("http://", "ws://", 1), path)
    }

    pub fn host(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_empty(&self, path: &str) -> (u16, Value) {
        let response = self.client.post(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a session from `body` (asserting 201 Created) and returns its JSON.
    pub async fn create_session(&self, body: &Value) -> Value {
        let (status, session) = self.post_json("/api/sessions", body).await;
        assert_eq!(status, 201, "{session}");
        session
    }

    /// Starts a session with no summaries to send and returns its JSON.
    pub async fn start_session(&self, minutes: f64, threshold_s: f64) -> Value {
        self.create_session(&json!({
            "duration_minutes": minutes,
            "alert_threshold_s": threshold_s,
            "alert_mode": "both",
            "send_email": false,
            "send_sms": false,
        }))
        .await
    }

    pub async fn connect_live(&self, id: i64) -> Ws {
        let (ws, _) =
            tokio_tungstenite::connect_async(self.ws_url(&format!("/api/sessions/{id}/live")))
                .await
                .expect("websocket connects");
        ws
    }

    /// Connects with an `Origin` header; returns the HTTP status of a refused handshake.
    pub async fn connect_live_with_origin(&self, id: i64, origin: &str) -> Result<Ws, u16> {
        let mut request = self
            .ws_url(&format!("/api/sessions/{id}/live"))
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("unexpected websocket error: {e}"),
        }
    }

    /// The session's detail once `done` holds for it, polled every 25 ms for at most
    /// `within`; panics with the last detail seen if it never does.
    pub async fn session_when(
        &self,
        id: i64,
        within: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = std::time::Instant::now();
        loop {
            let (status, detail) = self.get_json(&format!("/api/sessions/{id}")).await;
            assert_eq!(status, 200, "{detail}");
            if done(&detail) {
                return detail;
            }
            assert!(
                started.elapsed() < within,
                "{what}: not within {within:?}: {detail}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl std::ops::Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl TestApp {
    /// Stops the server the clean way (Ctrl-C path) and waits for it.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let result = tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("the server stops in time");
            result.unwrap().unwrap();
        }
    }
}

/// Where a fixture photo lies, e.g. `fixture_path("attentive/att01_skimage_astronaut.jpg")`.
pub fn fixture_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/faces")
        .join(path)
}

/// The bytes of a fixture photo, e.g. `fixture("attentive/att01_skimage_astronaut.jpg")`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = fixture_path(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

pub const ATTENTIVE: &str = "attentive/att01_skimage_astronaut.jpg";
pub const LOOKING_AWAY: &str = "away/awy02_vfa_looking_down.jpg";
pub const EYES_CLOSED: &str = "eyes_closed/ecl19_pexels_woman_f025.jpg";
pub const NO_FACE: &str = "no_face/nof01_skimage_coffee.jpg";

/// The next text message as JSON, within 10 s.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .expect("no websocket error");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Close(frame) => panic!("closed unexpectedly: {frame:?}"),
            _ => continue,
        }
    }
}

/// The next message that answers a frame (skipping the state the server sends unasked).
pub async fn next_frame_reply(ws: &mut Ws) -> Value {
    loop {
        let message = next_json(ws).await;
        if message["source"] == "frame" || message["ended"] == true {
            return message;
        }
    }
}

/// Sends a frame and returns its reply.
pub async fn send_frame(ws: &mut Ws, bytes: &[u8]) -> Value {
    ws.send(Message::Binary(bytes.to_vec().into()))
        .await
        .expect("frame sent");
    next_frame_reply(ws).await
}

/// Reads until the close frame; returns its code. Panics on anything but a clean close.
pub async fn expect_close(ws: &mut Ws) -> u16 {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closed within 10 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Close(None))) => return 1005,
            Some(Ok(_)) => continue,
            None => panic!("the socket ended without a close frame"),
            Some(Err(e)) => panic!("websocket error before close: {e}"),
        }
    }
}

/// Waits (up to 10 s) for `ended` and returns the summary.
pub async fn expect_ended(ws: &mut Ws) -> Value {
    loop {
        let message = next_json(ws).await;
        if message["ended"] == true {
            return message["summary"].clone();
        }
    }
}

/// Asserts that a summary's five parts (focused, unfocused, starting, paused and offline
/// seconds) add up to its total, within the 0.3 s its one-decimal rounding allows.
pub fn assert_parts_add_up(summary: &Value) {
    let parts: f64 = [
        "focused_seconds",
        "unfocused_seconds",
        "starting_seconds",
        "paused_seconds",
        "offline_seconds",
    ]
    .iter()
    .map(|k| summary[k].as_f64().unwrap())
    .sum();
    let total = summary["total_seconds"].as_f64().unwrap();
    assert!(
        (parts - total).abs() <= 0.3,
        "{parts} vs {total}: {summary}"
    );
}
