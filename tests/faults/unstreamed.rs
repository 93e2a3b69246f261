//! Sessions nobody streams: a script that starts sessions and never opens their stream, or a
//! tab closed without ending its session. Before issue 9 each ran to its planned end (up to
//! 10 h), saved every 2 s. Now, after `pause_unstreamed_after` without a live connection, the
//! server pauses the session and stops saving it; a page that comes back finds it paused.

use std::time::Duration;

use crate::common::{self, next_json};

/// The session's last save time, from the database.
async fn updated_at(app: &common::TestApp, id: i64) -> i64 {
    app.db
        .call(move |s| s.get_session(id))
        .await
        .unwrap()
        .updated_at_ms
}

/// Waits a few of the test config's ticks (100 ms) and saves (300 ms).
async fn let_it_tick() {
    tokio::time::sleep(Duration::from_millis(700)).await;
}

#[tokio::test]
async fn a_session_nobody_streams_is_paused_and_no_longer_saved() {
    let app = common::spawn_app_adjusted(|config| {
        config.timing.pause_unstreamed_after = Duration::from_secs(60);
    })
    .await;
    let forgotten = app.start_session(30.0, 10.0).await["id"].as_i64().unwrap();
    let streamed = app.start_session(30.0, 10.0).await["id"].as_i64().unwrap();
    let mut page = app.connect_live(streamed).await;
    assert_ne!(next_json(&mut page).await["state"], "paused");

    // Under the limit: both run and are saved.
    app.time.advance_ms(50_000);
    let_it_tick().await;
    let before = updated_at(&app, forgotten).await;
    app.time.advance_ms(5_000);
    let_it_tick().await;
    assert!(
        updated_at(&app, forgotten).await > before,
        "saved while under the limit"
    );

    // Over it: the forgotten one is paused once (one save), then left alone.
    app.time.advance_ms(10_000);
    let_it_tick().await;
    let paused_at = updated_at(&app, forgotten).await;
    for _ in 0..3 {
        app.time.advance_ms(20_000);
        let_it_tick().await;
    }
    assert_eq!(
        updated_at(&app, forgotten).await,
        paused_at,
        "a paused session nobody streams is not saved again"
    );

    // The streamed one was never paused, and is still saved.
    let saved = app.db.call(move |s| s.get_session(streamed)).await.unwrap();
    assert_eq!(saved.totals.paused_ms, 0, "{saved:?}");
    assert!(saved.updated_at_ms > paused_at);
    drop(page);

    // A page that comes back finds it paused (for the minute since), and can resume it.
    let mut back = app.connect_live(forgotten).await;
    let state = next_json(&mut back).await;
    assert_eq!(state["state"], "paused", "{state}");
    let paused_ms = state["paused_ms"].as_u64().unwrap();
    assert!((60_000..=66_000).contains(&paused_ms), "{state}");
    assert_eq!(state["focused_ms"], 0, "{state}");
    let (status, body) = app
        .post_empty(&format!("/api/sessions/{forgotten}/resume"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["live"]["state"], "starting", "{body}");

    // Streamed again, it is saved again.
    app.time.advance_ms(5_000);
    let_it_tick().await;
    assert!(updated_at(&app, forgotten).await > paused_at);
}
