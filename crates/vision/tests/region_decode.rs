//! A tracked frame is decoded only in the region its crop reads (`src/frame.rs`, the
//! vendored zune-jpeg's `decode_region_into`): inside the region the pixels are a full
//! decode's to the bit, and a tracked stream's analyses are those of the same frames decoded
//! whole.

use std::{path::PathBuf, sync::Arc};

use focus_vision::{
    DecodeLimits, FaceAnalyzer, FaceTracker,
    decode::{Region, decode_image, decode_region_into},
};
use image::RgbImage;

/// The stream fixture's frames (640x360 webcam JPEGs) and the face photos, by path.
fn jpegs() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut files = Vec::new();
    for dir in [
        "stream/pexels_woman_attentive",
        "faces/attentive",
        "faces/away",
        "faces/no_face",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "jpg") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn stream_frames() -> Vec<Vec<u8>> {
    jpegs()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("pexels_woman_attentive"))
        .map(|p| std::fs::read(p).expect("read frame"))
        .collect()
}

#[test]
fn a_region_decode_is_the_full_decode_inside_the_region() {
    let limits = DecodeLimits::default();
    let files = jpegs();
    assert!(files.len() >= 80, "fixtures found: {}", files.len());
    // One buffer through every file and region, as a stream reuses it: what a region decode
    // leaves outside the region is another frame's.
    let mut reused = RgbImage::new(0, 0);
    let mut partial = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("read fixture");
        let full = decode_image(&bytes, &limits).expect("decodes");
        let (w, h) = full.dimensions();
        // Fractions of the width and height: a face-sized box, the corners, a sliver, a
        // pixel, and more than the whole image.
        let boxes = [
            (0.35, 0.15, 0.75, 0.95),
            (0.0, 0.0, 0.3, 0.2),
            (0.8, 0.7, 1.0, 1.0),
            (0.5, 0.0, 0.52, 1.0),
            (0.4, 0.4, 0.401, 0.401),
            (-1.0, -1.0, 2.0, 2.0),
        ];
        for (x0, y0, x1, y1) in boxes {
            let at = |f: f32, n: u32| (f.max(0.0) * n as f32) as u32;
            let wanted = Region {
                columns: at(x0, w)..at(x1, w).max(at(x0, w) + 1),
                rows: at(y0, h)..at(y1, h).max(at(y0, h) + 1),
            };
            let decoded =
                decode_region_into(&bytes, &limits, &mut reused, wanted.clone()).expect("decodes");
            let name = path.display();
            assert_eq!(reused.dimensions(), (w, h), "{name}");
            assert!(
                decoded.contains(&wanted.clipped(w, h)),
                "{name}: {decoded:?} misses {wanted:?}"
            );
            for y in decoded.rows.clone() {
                for x in decoded.columns.clone() {
                    assert_eq!(
                        reused.get_pixel(x, y),
                        full.get_pixel(x, y),
                        "{name}: pixel ({x}, {y}) of {decoded:?}"
                    );
                }
            }
            if decoded != Region::whole(w, h) {
                partial += 1;
            }
        }
    }
    // All but the whole-image boxes (and a few that cover it after rounding) are partial.
    assert!(partial >= files.len() * 4, "{partial} partial decodes");
}

#[test]
fn a_tracked_stream_analyses_as_if_decoded_whole() {
    let analyzer = Arc::new(FaceAnalyzer::embedded().expect("embedded models load"));
    // Decoded in part (the tracked region) by `analyze_bytes`, and whole by the test.
    let mut in_part = FaceTracker::new(Arc::clone(&analyzer));
    let mut whole = FaceTracker::new(analyzer);
    let limits = DecodeLimits::default();
    let frames = stream_frames();
    assert_eq!(frames.len(), 60);
    for (i, bytes) in frames.iter().enumerate() {
        let got = in_part.analyze_bytes(bytes).expect("analyses");
        let image = decode_image(bytes, &limits).expect("decodes");
        let want = whole.analyze_image(&image).expect("analyses");
        // `Debug` prints every float so that it reads back to the same bits.
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "frame {i}");
    }
    let (analysed, tracked) = in_part.counts();
    assert_eq!(in_part.counts(), whole.counts());
    assert!(tracked >= analysed - 3, "{tracked} of {analysed} tracked");
}
