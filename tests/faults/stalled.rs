//! Stalled clients: connections that send half a request and then nothing. Before issue 9
//! they were held forever (no header read timeout); at the process's file limit the server
//! stopped answering.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common;

/// Stalled connections, more than the connection cap.
const STALLED: usize = 40;

/// Issue 9: a client that does not finish its request head within the header read timeout
/// is disconnected, and however many stall, the page is still answered (at the connection
/// cap it waits at most about one timeout for a place).
#[tokio::test]
async fn stalled_clients_are_cut_after_the_header_timeout_and_the_page_still_gets_in() {
    let app = common::spawn_app_adjusted(|c| {
        c.limits.header_read_timeout = Duration::from_secs(1);
        c.limits.max_connections = 16;
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut stream = TcpStream::connect(app.host()).await.unwrap();
        // Half a request head, never finished.
        stream
            .write_all(format!("GET /api/sessions HTTP/1.1\r\nHost: {}\r\n", app.host()).as_bytes())
            .await
            .unwrap();
        stalled.push(stream);
    }

    // The server closes idle connections after the (1 s) timeout here, so no pooled
    // connection is reused: each request opens its own, as a fresh page load would.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let get = |path: &str| client.get(app.url(path)).send();

    // The page's request, while every place is held by a stalled client.
    let started = Instant::now();
    let response = get("/api/sessions").await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 200);
    eprintln!("with {STALLED} stalled clients the page waited {waited:?}");
    // Places come free as the stalled clients are cut (1 s each, in waves of 16).
    assert!(
        waited < Duration::from_secs(8),
        "the page waited {waited:?}"
    );

    // Every stalled connection is closed by the server (end of stream, or a 408 and then
    // the end), soon after the timeout: none is held.
    for stream in &mut stalled {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .expect("a stalled connection is closed by the server");
        // A reset is a close too.
        if let Ok(n) = read {
            let text = String::from_utf8_lossy(&rest[..n]);
            assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
        }
    }
    // And the server goes on answering.
    assert_eq!(get("/api/sessions").await.unwrap().status(), 200);

    // A keep-alive connection left idle after its answer is closed too.
    let mut idle = TcpStream::connect(app.host()).await.unwrap();
    idle.write_all(format!("GET /api/config HTTP/1.1\r\nHost: {}\r\n\r\n", app.host()).as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0; 64 * 1024];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut rest))
        .await
        .expect("an idle keep-alive connection is closed by the server");
    eprintln!(
        "an idle keep-alive connection was closed after {:?}",
        started.elapsed()
    );
}
