//! Every session the server lets run has room for its one frame. The global bound on frames
//! held for analysis was four per inference slot (8 on 2 cores), so from 9 sessions
//! streaming at once some frames were refused as "busy" while replies were still fast; it
//! now holds one frame for each session allowed to run (`FOCUS_MAX_SESSIONS`) plus a framing
//! check.

use focus_sentry::config::Limits;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{self, ATTENTIVE, fixture, next_frame_reply};

/// As many sessions as the server allows, each with one frame in flight at the same moment,
/// and a framing check beside them: every frame is analysed, none refused as busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_allowed_session_gets_its_frame_analysed_at_once() {
    // The default cap (`FOCUS_MAX_SESSIONS`, 32): the limit the load test ran into.
    let sessions = Limits::default().max_running_sessions;
    let app = common::spawn_app().await;
    let mut sockets = Vec::new();
    for _ in 0..sessions {
        let id = app.start_session(25.0, 5.0).await["id"].as_i64().unwrap();
        sockets.push(app.connect_live(id).await);
    }

    // All frames are sent before any reply is read: with 2 inference slots and tens of
    // milliseconds a frame, far more than 8 are held at once.
    let frame = fixture(ATTENTIVE);
    for ws in &mut sockets {
        ws.send(Message::Binary(frame.clone().into()))
            .await
            .unwrap();
    }
    let check = app
        .client
        .post(app.url("/api/frames/check"))
        .header("Content-Type", "image/jpeg")
        .body(frame.clone())
        .send();
    let (check, replies) = tokio::join!(check, async {
        let mut replies = Vec::new();
        for ws in &mut sockets {
            replies.push(next_frame_reply(ws).await);
        }
        replies
    });
    for reply in &replies {
        assert!(reply.get("error").is_none(), "{reply}");
        assert_eq!(reply["verdict"]["focused"], true, "{reply}");
    }
    let check = check.unwrap();
    assert_eq!(check.status(), 200, "{:?}", check.text().await);
}
