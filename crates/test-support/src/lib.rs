//! Local stand-ins for the outside world, shared by focus-notify's tests and the app's (a
//! dev-dependency only; nothing here ships):
//!
//! # Layout
//! - [`smtp`]: an ESMTP server (plain, STARTTLS or implicit TLS, optional AUTH) that keeps
//!   what it receives;
//! - [`twilio`]: an HTTP server shaped like Twilio's Messages API;
//! - [`tls`]: a test certificate generated at run time;
//! - [`binary`]: the real `focus-sentry` binary started as a server, its log collected;
//! - [`load`]: the largest frame a server still analyses, and a process's resident memory;
//! - [`unused_local_addr`]: an address where nothing listens.
//!
//! The servers listen on `127.0.0.1` with an OS-chosen port, run as tokio tasks and stop when
//! their handle is dropped.

// Test code: a helper that cannot do its job panics with the reason, as a test would.
#![allow(clippy::unwrap_used)]

pub mod binary;
pub mod load;
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
