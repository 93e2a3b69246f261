//! The fault-injection suite: the server under the faults people's machines produce and the
//! hostile local clients it must survive. Each case was written to fail on the code before
//! issue 9 and states what "survived" means: nothing saved is lost, and the server keeps
//! answering.
//!
//! - [`locked_db`]: another process holds the database's write lock.
//! - [`full_disk`]: the database cannot grow (SQLite's own "database or disk is full",
//!   through the store's page limit).
//! - [`storm`]: a client that reconnects in a loop, sending a large frame each time.
//! - [`held_frames`]: every session the server lets run streaming at once.
//! - [`stalled`]: clients that send half a request and stall.
//! - [`fuzz`]: arbitrary JSON bodies, bytes and WebSocket messages (proptest, fixed budget).
//! - [`summary_queue`]: the summaries cannot be queued when a session ends.
//! - [`unstreamed`]: sessions that no page streams (paused, then left alone).
//!
//! Helper processes (a second process holding a lock) are this test binary run again with
//! `--exact <helper> --ignored`: a real separate process without a separate build.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod full_disk;
mod fuzz;
mod held_frames;
mod helpers;
mod locked_db;
mod stalled;
mod storm;
mod summary_queue;
mod unstreamed;
