//! An HTTP server shaped like Twilio's Messages API, on loopback.
//!
//! It records every request (method, path, `Authorization` header decoded
//! from basic auth, form fields) and answers like Twilio:
//! - a scripted answer, if one is queued ([`TwilioServer::respond_next`]),
//!   e.g. 500 then the default; answers are used once each, in order;
//! - otherwise 404 with Twilio error 20404 for any path other than
//!   `/2010-04-01/Accounts/{sid}/Messages.json` with the configured SID,
//!   401 with error 20003 when the basic-auth credentials do not match,
//!   and 201 with a message resource when they do.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tokio::task::JoinHandle;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `POST`, normally.
    pub method: String,
    /// The request path, e.g. `/2010-04-01/Accounts/AC…/Messages.json`.
    pub path: String,
    /// The raw `Authorization` header.
    pub authorization: Option<String>,
    /// The decoded basic-auth (user, password), if the header was basic auth.
    pub basic_auth: Option<(String, String)>,
    /// The raw `Content-Type` header.
    pub content_type: Option<String>,
    /// The url-encoded form fields, in order.
    pub form: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first form field with this name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Twilio's JSON error body.
pub fn error_body(status: u16, code: u32, message: &str) -> String {
    format!(
        r#"{{"code": {code}, "message": "{message}", "more_info": "https://www.twilio.com/docs/errors/{code}", "status": {status}}}"#
    )
}

struct Shared {
    account_sid: String,
    auth_token: String,
    requests: Mutex<Vec<RecordedRequest>>,
    script: Mutex<VecDeque<(u16, String)>>,
}

/// A running server. Stops when dropped.
pub struct TwilioServer {
    /// Where it listens (127.0.0.1, OS-chosen port).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for TwilioServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for TwilioServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TwilioServer {
    /// Starts a server that accepts this account's credentials.
    pub async fn start(account_sid: &str, auth_token: &str) -> Self {
        let shared = Arc::new(Shared {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind Twilio");
        let addr = listener.local_addr().expect("Twilio addr");
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The value for `TWILIO_API_BASE`: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues an answer for the next request, whatever it is.
    pub fn respond_next(&self, status: u16, body: impl Into<String>) {
        if let Ok(mut script) = self.shared.script.lock() {
            script.push_back((status, body.into()));
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = text(header::AUTHORIZATION);
    let basic_auth = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(u, p)| (u.to_owned(), p.to_owned()))
        });
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let request = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        authorization,
        basic_auth: basic_auth.clone(),
        content_type: text(header::CONTENT_TYPE),
        form,
    };
    if let Ok(mut all) = shared.requests.lock() {
        all.push(request.clone());
    }

    let scripted = shared.script.lock().ok().and_then(|mut s| s.pop_front());
    let (status, body) = match scripted {
        Some(answer) => answer,
        None => default_answer(&shared, &request, basic_auth),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn default_answer(
    shared: &Shared,
    request: &RecordedRequest,
    basic_auth: Option<(String, String)>,
) -> (u16, String) {
    let expected_path = format!("/2010-04-01/Accounts/{}/Messages.json", shared.account_sid);
    if request.method != "POST" || request.path != expected_path {
        return (
            404,
            error_body(404, 20404, "The requested resource was not found"),
        );
    }
    match basic_auth {
        Some((user, pass)) if user == shared.account_sid && pass == shared.auth_token => {}
        _ => return (401, error_body(401, 20003, "Authenticate")),
    }
    let field = |name: &str| request.field(name).unwrap_or_default().replace('"', "\\\"");
    (
        201,
        format!(
            r#"{{"sid": "SM0123456789abcdef0123456789abcdef", "account_sid": "{sid}", "to": "{to}", "from": "{from}", "body": "{body}", "status": "queued", "num_segments": "1"}}"#,
            sid = shared.account_sid,
            to = field("To"),
            from = field("From"),
            body = field("Body"),
        ),
    )
}
