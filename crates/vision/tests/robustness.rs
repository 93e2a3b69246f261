//! Bad input never panics and never allocates without bound: each kind gets its typed error.
//! A property test feeds random and mutated bytes to the decoder and the whole pipeline.
//! Also: the stateful tracker skips the detector on a steady stream and recovers when the
//! face goes away.

use std::{io::Cursor, path::PathBuf, sync::Arc, sync::OnceLock};

use focus_vision::{Error, FaceAnalyzer, FaceTracker, Reason};
use proptest::prelude::*;

fn analyzer() -> &'static Arc<FaceAnalyzer> {
    static ANALYZER: OnceLock<Arc<FaceAnalyzer>> = OnceLock::new();
    ANALYZER.get_or_init(|| Arc::new(FaceAnalyzer::embedded().expect("embedded models load")))
}

fn fixture(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/faces")
        .join(rel);
    std::fs::read(path).expect("fixture exists")
}

const FACE: &str = "attentive/att10_pexels_woman_f330.jpg";

fn jpeg_of(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 100, 50]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .expect("encode");
    out
}

#[test]
fn each_kind_of_bad_input_gets_a_typed_error() {
    let a = analyzer();
    assert!(matches!(a.analyze_bytes(&[]), Err(Error::Empty)));

    let face = fixture(FACE);
    let truncated = &face[..face.len() / 2];
    assert!(
        matches!(a.analyze_bytes(truncated), Err(Error::Decode(_))),
        "truncated JPEG"
    );

    let random: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(matches!(
        a.analyze_bytes(&random),
        Err(Error::UnsupportedFormat)
    ));

    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    assert!(matches!(
        a.analyze_bytes(gif),
        Err(Error::UnsupportedFormat)
    ));

    assert!(matches!(
        a.analyze_bytes(&jpeg_of(1, 1)),
        Err(Error::TooSmall { .. })
    ));

    let mut huge = jpeg_of(64, 48);
    let sof = huge
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    huge[sof + 5..sof + 7].copy_from_slice(&60000u16.to_be_bytes());
    huge[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
    assert!(matches!(
        a.analyze_bytes(&huge),
        Err(Error::TooLarge { .. })
    ));

    let mut forty_mb = face.clone();
    forty_mb.resize(40 << 20, 0xAB);
    assert!(matches!(
        a.analyze_bytes(&forty_mb),
        Err(Error::TooManyBytes { .. })
    ));

    // The analyzer is still fine afterwards.
    assert!(a.analyze_bytes(&face).expect("face analyses").focused);
}

#[test]
fn error_messages_are_fit_to_show_a_user() {
    let err = analyzer()
        .analyze_bytes(b"not an image")
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "unsupported image format (expected JPEG or PNG)"
    );
}

#[test]
fn tracker_skips_the_detector_on_a_steady_stream_and_recovers() {
    let face = fixture(FACE);
    let empty = fixture("no_face/nof09_opencv_desk.jpg");
    let mut tracker = FaceTracker::new(analyzer().clone());
    let stateless = analyzer().analyze_bytes(&face).expect("analyse");

    let mut last = None;
    for _ in 0..4 {
        last = Some(tracker.analyze_bytes(&face).expect("analyse"));
    }
    let tracked = last.expect("frames");
    assert!(tracked.focused);
    assert_eq!(
        tracker.counts(),
        (4, 3),
        "frames 2-4 reuse the previous crop"
    );
    // Tracking converges on the same face as a fresh detection.
    let (a, b) = (
        tracked.face.expect("face").bbox,
        stateless.face.expect("face").bbox,
    );
    let size = (b[2] - b[0]).max(b[3] - b[1]);
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() < 0.05 * size,
            "tracked {a:?} vs detected {b:?}"
        );
    }

    // The face leaves: no face, and tracking stops.
    let gone = tracker.analyze_bytes(&empty).expect("analyse");
    assert_eq!(gone.reason, Some(Reason::NoFace));
    assert!(!tracker.is_tracking());
    // It comes back: found again by the detector.
    assert!(tracker.analyze_bytes(&face).expect("analyse").focused);
    assert!(tracker.is_tracking());

    // A bad frame in the middle of a stream is an error for that frame only.
    assert!(tracker.analyze_bytes(b"garbage").is_err());
    assert!(tracker.analyze_bytes(&face).expect("analyse").focused);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = analyzer().analyze_bytes(&bytes);
    }

    #[test]
    fn random_bytes_behind_a_jpeg_or_png_header_never_panic(
        png in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut bytes = if png { b"\x89PNG\r\n\x1a\n".to_vec() } else { vec![0xFF, 0xD8, 0xFF, 0xE0] };
        bytes.extend(tail);
        prop_assert!(analyzer().analyze_bytes(&bytes).is_err());
    }

    #[test]
    fn corrupted_photos_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..20),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = fixture(FACE);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let keep = cut.index(bytes.len()).max(1);
        bytes.truncate(keep);
        // Either a verdict or a typed error; never a panic.
        let _ = analyzer().analyze_bytes(&bytes);
    }
}
