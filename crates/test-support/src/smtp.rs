//! A small ESMTP server on loopback that records what it receives.
//!
//! It speaks enough of RFC 5321 for a real client: EHLO/HELO, STARTTLS
//! (RFC 3207) with a certificate generated at start, AUTH PLAIN and AUTH
//! LOGIN (RFC 4954) against one configured username and password (535 on a
//! mismatch), MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP,
//! QUIT. Like real servers it only advertises AUTH once the connection is
//! encrypted (or when it runs without TLS at all), and refuses mail before
//! STARTTLS or AUTH when those are required.
//!
//! Behaviours for failure tests: [`SmtpOptions::greeting_delay`] (a server
//! that accepts and then says nothing), [`SmtpOptions::greeting`] (e.g.
//! `421 4.3.2 Try again later`), [`SmtpOptions::echo_auth_on_failure`] (a
//! sloppy server that quotes the client's AUTH line back in its 535).
//! A server that is down is simply not started: see
//! [`crate::unused_local_addr`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::tls::TestCert;

/// How the server protects connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Never encrypted; STARTTLS is not offered.
    Plain,
    /// Plain at first; STARTTLS offered and required before AUTH and MAIL.
    StartTls,
    /// TLS from the first byte (port-465 style).
    ImplicitTls,
}

/// What the server does.
#[derive(Clone, Debug)]
pub struct SmtpOptions {
    /// Encryption mode.
    pub security: SmtpSecurity,
    /// When set, AUTH is required and must match this (username, password).
    pub credentials: Option<(String, String)>,
    /// AUTH mechanisms advertised, e.g. `["PLAIN", "LOGIN"]`.
    pub mechanisms: Vec<&'static str>,
    /// Wait this long after accepting before sending the greeting.
    pub greeting_delay: Option<Duration>,
    /// Replace the `220` greeting with this reply line (then close).
    pub greeting: Option<String>,
    /// Quote the client's AUTH line(s) in the 535 reply.
    pub echo_auth_on_failure: bool,
}

impl Default for SmtpOptions {
    /// STARTTLS with AUTH PLAIN and LOGIN, but no credentials configured.
    fn default() -> Self {
        Self {
            security: SmtpSecurity::StartTls,
            credentials: None,
            mechanisms: vec!["PLAIN", "LOGIN"],
            greeting_delay: None,
            greeting: None,
            echo_auth_on_failure: false,
        }
    }
}

/// One accepted message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The MAIL FROM path, without angle brackets.
    pub mail_from: String,
    /// The RCPT TO paths, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA: headers and body, CRLF line ends,
    /// dot-unstuffed, without the final `.` line.
    pub data: String,
    /// The user who authenticated, if any.
    pub authenticated_as: Option<String>,
    /// Whether the session was encrypted when the message arrived.
    pub tls: bool,
}

impl ReceivedMail {
    /// The first header with this name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    /// The data with quoted-printable soft line breaks and `=XX` escapes
    /// decoded, so tests can search the text of either MIME part (both of
    /// which lettre sends as 7bit or quoted-printable here).
    pub fn decoded(&self) -> String {
        let unfolded = self.data.replace("=\r\n", "");
        let bytes = unfolded.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A running server. Stops when dropped.
pub struct SmtpServer {
    /// Where it listens (127.0.0.1, OS-chosen port).
    pub addr: SocketAddr,
    cert: Arc<TestCert>,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    /// Binds 127.0.0.1:0 and starts accepting connections.
    pub async fn start(options: SmtpOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("SMTP addr");
        let cert = Arc::new(TestCert::generate());
        let acceptor = TlsAcceptor::from(cert.server_config());
        let received = Arc::new(Mutex::new(Vec::new()));
        let options = Arc::new(options);
        let task = {
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                while let Ok((tcp, _peer)) = listener.accept().await {
                    let options = Arc::clone(&options);
                    let acceptor = acceptor.clone();
                    let received = Arc::clone(&received);
                    tokio::spawn(async move {
                        // A client that hangs up mid-session is not a test failure.
                        let _ = serve_connection(tcp, &options, acceptor, &received).await;
                    });
                }
            })
        };
        Self {
            addr,
            cert,
            received,
            task,
        }
    }

    /// The server certificate, PEM: trust it as an extra root.
    pub fn cert_pem(&self) -> Vec<u8> {
        self.cert.cert_pem.clone()
    }

    /// Everything accepted so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Session {
    stream: BufReader<Box<dyn Io>>,
    tls: bool,
    greeted: bool,
    user: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

impl Session {
    async fn reply(&mut self, line: &str) -> std::io::Result<()> {
        self.stream.get_mut().write_all(line.as_bytes()).await?;
        self.stream.get_mut().write_all(b"\r\n").await?;
        self.stream.get_mut().flush().await
    }

    /// One line without its CRLF; `None` at end of stream.
    async fn read_line(&mut self) -> std::io::Result<Option<String>> {
        let mut buf = Vec::new();
        if self.stream.read_until(b'\n', &mut buf).await? == 0 {
            return Ok(None);
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    options: &SmtpOptions,
    acceptor: TlsAcceptor,
    received: &Mutex<Vec<ReceivedMail>>,
) -> std::io::Result<()> {
    let (stream, tls): (Box<dyn Io>, bool) = match options.security {
        SmtpSecurity::ImplicitTls => (Box::new(acceptor.accept(tcp).await?), true),
        _ => (Box::new(tcp), false),
    };
    let mut s = Session {
        stream: BufReader::new(stream),
        tls,
        greeted: false,
        user: None,
        mail_from: None,
        rcpt_to: Vec::new(),
    };
    if let Some(delay) = options.greeting_delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(greeting) = &options.greeting {
        s.reply(greeting).await?;
        return Ok(());
    }
    s.reply("220 focus-test.local ESMTP ready").await?;

    while let Some(line) = s.read_line().await? {
        let upper = line.to_ascii_uppercase();
        let verb = upper
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                s.greeted = true;
                let mut caps = vec![
                    "focus-test.local greets you".to_owned(),
                    "8BITMIME".to_owned(),
                ];
                if options.security == SmtpSecurity::StartTls && !s.tls {
                    caps.push("STARTTLS".to_owned());
                }
                let auth_allowed = s.tls || options.security == SmtpSecurity::Plain;
                if options.credentials.is_some() && auth_allowed && verb == "EHLO" {
                    caps.push(format!("AUTH {}", options.mechanisms.join(" ")));
                }
                if verb == "HELO" {
                    caps.truncate(1);
                }
                let last = caps.len() - 1;
                for (i, cap) in caps.iter().enumerate() {
                    let sep = if i == last { ' ' } else { '-' };
                    s.reply(&format!("250{sep}{cap}")).await?;
                }
            }
            "STARTTLS" => {
                if options.security != SmtpSecurity::StartTls || s.tls {
                    s.reply("503 5.5.1 STARTTLS not available").await?;
                    continue;
                }
                s.reply("220 2.0.0 Ready to start TLS").await?;
                // The client waits for the 220 before its ClientHello, so
                // nothing is left in the read buffer.
                let plain = std::mem::replace(
                    &mut s.stream,
                    BufReader::new(Box::new(tokio::io::duplex(1).0) as Box<dyn Io>),
                )
                .into_inner();
                let tls_stream = acceptor.accept(plain).await?;
                s.stream = BufReader::new(Box::new(tls_stream));
                s.tls = true;
                // RFC 3207: forget everything learnt before TLS.
                s.greeted = false;
                s.user = None;
                s.mail_from = None;
                s.rcpt_to.clear();
            }
            "AUTH" => handle_auth(&mut s, options, &line).await?,
            "MAIL" => {
                if options.security == SmtpSecurity::StartTls && !s.tls {
                    s.reply("530 5.7.0 Must issue a STARTTLS command first")
                        .await?;
                } else if options.credentials.is_some() && s.user.is_none() {
                    s.reply("530 5.7.0 Authentication required").await?;
                } else if !s.greeted {
                    s.reply("503 5.5.1 EHLO first").await?;
                } else {
                    s.mail_from = Some(path_arg(&line));
                    s.rcpt_to.clear();
                    s.reply("250 2.1.0 OK").await?;
                }
            }
            "RCPT" => {
                if s.mail_from.is_none() {
                    s.reply("503 5.5.1 MAIL first").await?;
                } else {
                    s.rcpt_to.push(path_arg(&line));
                    s.reply("250 2.1.5 OK").await?;
                }
            }
            "DATA" => {
                if s.rcpt_to.is_empty() {
                    s.reply("503 5.5.1 RCPT first").await?;
                    continue;
                }
                s.reply("354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = String::new();
                loop {
                    let Some(l) = s.read_line().await? else {
                        return Ok(());
                    };
                    if l == "." {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    data.push_str("\r\n");
                }
                let mail = ReceivedMail {
                    mail_from: s.mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut s.rcpt_to),
                    data,
                    authenticated_as: s.user.clone(),
                    tls: s.tls,
                };
                let n = match received.lock() {
                    Ok(mut all) => {
                        all.push(mail);
                        all.len()
                    }
                    Err(_) => 0,
                };
                s.reply(&format!("250 2.0.0 OK: queued as {n}")).await?;
            }
            "RSET" => {
                s.mail_from = None;
                s.rcpt_to.clear();
                s.reply("250 2.0.0 OK").await?;
            }
            "NOOP" => s.reply("250 2.0.0 OK").await?,
            "QUIT" => {
                s.reply("221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => s.reply("502 5.5.2 Command not recognized").await?,
        }
    }
    Ok(())
}

async fn handle_auth(s: &mut Session, options: &SmtpOptions, line: &str) -> std::io::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((user, pass)) = options.credentials.clone() else {
        return s.reply("502 5.5.1 AUTH not supported").await;
    };
    if !(s.tls || options.security == SmtpSecurity::Plain) {
        return s.reply("538 5.7.11 Encryption required for AUTH").await;
    }
    if s.user.is_some() {
        return s.reply("503 5.5.1 Already authenticated").await;
    }
    let mut words = line.split_whitespace().skip(1);
    let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
    let initial = words.next().map(str::to_owned);
    if !options.mechanisms.iter().any(|m| *m == mechanism) {
        return s.reply("504 5.5.4 Unrecognized authentication type").await;
    }
    let mut transcript = vec![line.to_owned()];
    let decode = |text: &str| {
        b64.decode(text.trim())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    let (given_user, given_pass) = if mechanism == "PLAIN" {
        let blob = match initial {
            Some(blob) => blob,
            None => {
                s.reply("334 ").await?;
                let Some(l) = s.read_line().await? else {
                    return Ok(());
                };
                transcript.push(l.clone());
                l
            }
        };
        let decoded = decode(&blob);
        let mut parts = decoded.split('\0').skip(1);
        (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        )
    } else {
        let Some(u) = ask(s, "Username:").await? else {
            return Ok(());
        };
        let Some(p) = ask(s, "Password:").await? else {
            return Ok(());
        };
        transcript.push(u.clone());
        transcript.push(p.clone());
        (decode(&u), decode(&p))
    };
    if given_user == user && given_pass == pass {
        s.user = Some(given_user);
        s.reply("235 2.7.0 Authentication successful").await
    } else if options.echo_auth_on_failure {
        s.reply(&format!(
            "535 5.7.8 Username and Password not accepted (got: {})",
            transcript.join(" / ")
        ))
        .await
    } else {
        s.reply("535 5.7.8 Username and Password not accepted")
            .await
    }
}

/// Sends an AUTH LOGIN challenge and reads the answer.
async fn ask(s: &mut Session, prompt: &str) -> std::io::Result<Option<String>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    s.reply(&format!("334 {}", b64.encode(prompt))).await?;
    s.read_line().await
}

/// `MAIL FROM:<a@b>` / `RCPT TO:<a@b> PARAM` -> `a@b`.
fn path_arg(line: &str) -> String {
    let after = line
        .split_once(':')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let path = after.split_whitespace().next().unwrap_or_default();
    path.trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}
