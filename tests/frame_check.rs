//! `POST /api/frames/check`, the camera preview's framing check, on real photos: a well
//! framed face, no face, the same face darkened as in a dim room, the face off to one side;
//! and its bounds: the frame size limit, bodies that are not images, one check at a time.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;

use common::*;
use image::{ImageFormat, Rgb, RgbImage};
use serde_json::Value;

/// A frontal face filling the middle of its frame, as at a desk (checked by eye).
const WELL_FRAMED: &str = "attentive/att04_vfa_s3_f0.jpg";
/// An office desk and no one at it.
const DESK: &str = "no_face/nof09_opencv_desk.jpg";

async fn check(app: &TestApp, body: Vec<u8>) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = app
        .client
        .post(app.url("/api/frames/check"))
        .header("Content-Type", "image/jpeg")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap(), headers)
}

fn problems(body: &Value) -> Vec<&str> {
    body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn decoded(path: &str) -> RgbImage {
    image::load_from_memory(&fixture(path)).unwrap().to_rgb8()
}

#[tokio::test]
async fn a_well_framed_face_is_ready() {
    let app = spawn_app().await;
    let (status, body, _) = check(&app, fixture(WELL_FRAMED)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["good"], true, "{body}");
    assert_eq!(body["face_found"], true);
    assert_eq!(body["centred"], true);
    assert_eq!(body["near_enough"], true);
    assert_eq!(body["enough_light"], true);
    assert_eq!(problems(&body), Vec::<&str>::new());
    assert_eq!(body["advice"].as_array().unwrap().len(), 0);
    assert!(body["headline"].as_str().unwrap().starts_with("Ready"));
    assert_eq!(body["focused"], true);
    let face = &body["face"];
    assert!(face["width"].as_f64().unwrap() > 0.2, "{face}");
    assert!(face["offset"][0].as_f64().unwrap().abs() < 0.1, "{face}");
    assert!(body["face_luma"].as_f64().unwrap() > 100.0);
}

#[tokio::test]
async fn no_face_says_so_and_what_to_do() {
    let app = spawn_app().await;
    let (status, body, _) = check(&app, fixture(DESK)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["good"], false);
    assert_eq!(body["face_found"], false);
    assert_eq!(body["centred"], Value::Null);
    assert_eq!(body["enough_light"], true, "the desk is well lit");
    assert_eq!(problems(&body), vec!["no_face"]);
    assert_eq!(body["headline"], "No face found.");
    assert!(
        body["advice"][0]
            .as_str()
            .unwrap()
            .contains("in front of the camera")
    );
    assert_eq!(body["face"], Value::Null);
    assert_eq!(body["reason"], "no_face");
}

#[tokio::test]
async fn a_dark_frame_asks_for_light() {
    let app = spawn_app().await;
    // The well-framed face at a fifth of its brightness: a dim room. The face is still
    // found (the pipeline copes), but its luma is under the check's threshold.
    let mut dim = decoded(WELL_FRAMED);
    for Rgb(pixel) in dim.pixels_mut() {
        for v in pixel.iter_mut() {
            *v = (f32::from(*v) * 0.2).round() as u8;
        }
    }
    let (status, body, _) = check(&app, jpeg(&dim)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["good"], false);
    assert_eq!(body["enough_light"], false, "{body}");
    assert!(problems(&body).contains(&"too_dark"), "{body}");
    assert!(body["face_luma"].as_f64().unwrap() < 60.0, "{body}");
    let advice = body["advice"].as_array().unwrap();
    assert!(
        advice.iter().any(|a| a.as_str().unwrap().contains("light")),
        "{body}"
    );

    // Nearly black: no face either; both are said, the face first.
    let mut black = decoded(WELL_FRAMED);
    for Rgb(pixel) in black.pixels_mut() {
        for v in pixel.iter_mut() {
            *v /= 60;
        }
    }
    let (_, body, _) = check(&app, jpeg(&black)).await;
    assert_eq!(problems(&body), vec!["no_face", "too_dark"], "{body}");
    assert_eq!(body["headline"], "No face found: the picture is too dark.");
}

#[tokio::test]
async fn a_face_off_to_one_side_is_told_which_way_to_move() {
    let app = spawn_app().await;
    // The face placed at the right of a wide grey frame (the camera's picture, unmirrored):
    // the person sits off to their own left, so they should move to their right.
    let face = decoded(WELL_FRAMED);
    let (w, h) = face.dimensions();
    let mut wide = RgbImage::from_pixel(w * 3, h, Rgb([120, 120, 120]));
    image::imageops::replace(&mut wide, &face, i64::from(w * 2), 0);
    let (status, body, _) = check(&app, jpeg(&wide)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["face_found"], true, "{body}");
    assert_eq!(body["centred"], false, "{body}");
    assert!(problems(&body).contains(&"off_centre"), "{body}");
    assert!(body["face"]["offset"][0].as_f64().unwrap() > 0.2, "{body}");
    let advice: Vec<&str> = body["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        advice
            .iter()
            .any(|a| a.starts_with("Move a little to your right")),
        "{advice:?}"
    );
}

#[tokio::test]
async fn bodies_that_are_not_frames_get_a_clear_error() {
    let app = spawn_app().await;
    let (status, body, _) = check(&app, b"not an image".to_vec()).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "unusable frame");
    assert!(body["detail"].as_str().unwrap().contains("JPEG"), "{body}");

    let (status, body, _) = check(&app, Vec::new()).await;
    assert_eq!(status, 422);
    assert!(body["detail"].as_str().unwrap().contains("empty"), "{body}");

    // Truncated: half of a real JPEG.
    let mut cut = fixture(WELL_FRAMED);
    cut.truncate(cut.len() / 2);
    let (status, body, _) = check(&app, cut).await;
    assert_eq!(status, 422, "{body}");

    // Over the live socket's frame limit (2 MiB by default).
    let (status, body, _) = check(&app, vec![0xFF; 3 * 1024 * 1024]).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "frame too large");

    // The server is fine afterwards.
    let (status, _, _) = check(&app, fixture(WELL_FRAMED)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn one_check_at_a_time_the_others_are_told_to_retry() {
    let app = spawn_app().await;
    // Six at once: one is analysed, the rest arrive while it runs and are refused at once
    // (never queued) with Retry-After.
    let frame = fixture(WELL_FRAMED);
    let requests = (0..6).map(|_| check(&app, frame.clone()));
    let answers = futures_util::future::join_all(requests).await;
    let ok = answers.iter().filter(|(s, _, _)| *s == 200).count();
    let busy: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert!(ok >= 1, "at least one check ran");
    assert!(!busy.is_empty(), "a check while another runs is refused");
    assert_eq!(ok + busy.len(), 6, "only 200 or 429");
    for (_, body, headers) in busy {
        assert_eq!(body["error"], "busy");
        assert_eq!(headers["retry-after"], "1");
    }
}
