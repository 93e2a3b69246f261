//! Serving connections: the router on hyper's HTTP/1 connections, with the limits that
//! `axum::serve` has no setting for.
//!
//! - A header read timeout ([`ServeLimits::header_read_timeout`]): a client that has not
//!   sent a whole request head within it is disconnected. The timer also runs while a
//!   keep-alive connection waits for its next request, so idle connections end too.
//! - A cap on open connections ([`ServeLimits::max_connections`]): at the cap the server
//!   accepts nothing more until one closes (new ones wait in the kernel's backlog). As
//!   stalled clients are cut after the timeout, the page gets in within about that long
//!   however many of them there are, and the process never runs out of file descriptors.
//!
//! A connection upgraded to a WebSocket leaves the count when it upgrades: each live
//! stream belongs to a running session (a newer one replaces it), and sessions are capped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use crate::error::error_chain;

/// The limits on connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Time a client has to send a whole request head (also the idle keep-alive limit).
    pub header_read_timeout: Duration,
    /// Connections open at once (WebSockets aside).
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets
/// the requests in progress finish and returns once every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let places = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping `close_tx` tells every connection to close gracefully; each holds a
    // `done_rx` clone, so `done_tx.closed()` resolves when the last one has gone.
    let (close_tx, close_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let place = tokio::select! {
            place = Arc::clone(&places).acquire_owned() => match place {
                Ok(place) => place,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: wait a moment rather than spin.
                    tracing::warn!(error = %error_chain(&e), "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(
            router
                .clone()
                .map_request(|request: Request<Incoming>| request.map(Body::new)),
        );
        let mut close = close_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let _place = place;
            let _done = done;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = close.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %error_chain(&e), "connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(close_tx);
    drop(done_rx);
    done_tx.closed().await;
}
