//! Bad input never panics and never allocates without bound: each kind gets its typed error.
//! A property test feeds random and mutated bytes to the decoder and the whole pipeline.
//! Also: the stateful tracker skips the detector on a steady stream and recovers when the
//! face goes away.

use std::{io::Cursor, path::PathBuf, sync::Arc, sync::OnceLock};

use focus_vision::decode::decode_image;
use focus_vision::{DecodeLimits, Error, FaceAnalyzer, FaceTracker, Reason};
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

/// A real 64x48 baseline JPEG whose frame header (SOF0) is patched to declare `w` x `h`.
fn jpeg_declaring(w: u16, h: u16) -> Vec<u8> {
    let mut jpeg = jpeg_of(64, 48);
    let sof = jpeg
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("baseline JPEG has SOF0");
    // SOF0: FF C0, length (2), precision (1), height (2), width (2).
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    jpeg
}

/// A real 40x50 PNG whose IHDR is patched to declare `w` x `h` (its CRC no longer matches).
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut png = Vec::new();
    image::RgbImage::new(40, 50)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode png");
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    png
}

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

    /// Whatever size a JPEG or PNG header declares, a refusal for its size names that size
    /// (a 60000x60000 JPEG used to be reported as "0x0 pixels").
    #[test]
    fn a_refused_size_is_the_declared_size(
        png in any::<bool>(),
        width in 1u16..=u16::MAX,
        height in 1u16..=u16::MAX,
    ) {
        let limits = DecodeLimits::default();
        let bytes = if png {
            png_declaring(u32::from(width), u32::from(height))
        } else {
            jpeg_declaring(width, height)
        };
        let (width, height) = (u32::from(width), u32::from(height));
        match decode_image(&bytes, &limits) {
            Err(Error::TooLarge { width: w, height: h, .. }) | Err(Error::TooSmall { width: w, height: h, .. }) => {
                prop_assert_eq!((w, h), (width, height));
            }
            Err(Error::Decode(_)) | Ok(_) => {
                let pixels = u64::from(width) * u64::from(height);
                prop_assert!(
                    width <= limits.max_side && height <= limits.max_side && pixels <= limits.max_pixels
                        && width >= limits.min_side && height >= limits.min_side,
                    "{}x{} passed the size checks", width, height
                );
            }
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
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
