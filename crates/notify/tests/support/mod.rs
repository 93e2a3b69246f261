//! Local stand-ins for the outside world, for focus-notify's tests and the
//! app's: an ESMTP server ([`smtp`]) and a Twilio-shaped HTTP server
//! ([`twilio`]), both on `127.0.0.1` with an OS-chosen port, plus a test
//! certificate generated at run time ([`tls`]).
//!
//! Reuse from another crate's integration tests with
//! `#[path = "../crates/notify/tests/support/mod.rs"] mod notify_support;`
//! and the same dev-dependencies (tokio with `io-util`, tokio-rustls and
//! rcgen with the `ring` feature, axum, base64, form_urlencoded).
//!
//! Each server runs as a tokio task and stops when its handle is dropped.

pub mod smtp;
pub mod tls;
pub mod twilio;

use std::net::SocketAddr;

/// An address on loopback where nothing listens: a port that was bound and
/// released. Connecting to it is refused, like a server that is down.
pub fn unused_local_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr
}
