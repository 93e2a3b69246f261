//! Criterion benchmarks of the vision pipeline's hot paths, one inference thread, on a
//! 640x480 JPEG webcam-like frame made from a fixture photo. Figures go in the README.
//!
//! Run: `cargo bench -p focus-vision --bench pipeline`.

use std::{hint::black_box, io::Cursor, sync::Arc};

use criterion::{Criterion, criterion_group, criterion_main};
use focus_vision::{
    FaceAnalyzer, FaceTracker, ModelBytes, Params,
    blendshapes::BlendshapeModel,
    classify::judge,
    crop::{Roi, region_read},
    decode::{DecodeLimits, decode_image, decode_image_into, decode_region_into},
    detect::FaceDetector,
    engine::{InferenceEngine, RtenEngine},
    landmarks::{INPUT_SIZE, LandmarkModel},
    models::{BlendshapeSpec, CanonicalFace},
    pose::fit_head_pose,
};
use image::RgbImage;

/// The allocator of the `focus-sentry` binary: the figures are what users get. (With glibc's
/// malloc, the same frames take ~1.5 ms longer: it hands rten's per-run buffers back to the
/// kernel and faults them in again on the next frame.)
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const PHOTO: &[u8] =
    include_bytes!("../../../tests/fixtures/faces/attentive/att10_pexels_woman_f330.jpg");

/// The 640x360 fixture centred on a 640x480 grey frame, encoded as a quality-85 JPEG like
/// the browser sends.
fn webcam_frame() -> Vec<u8> {
    let photo = decode_image(PHOTO, &DecodeLimits::default()).expect("fixture decodes");
    let mut frame = RgbImage::from_pixel(640, 480, image::Rgb([90, 90, 90]));
    image::imageops::overlay(&mut frame, &photo, 0, 60);
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 85);
    frame.write_with_encoder(encoder).expect("encode");
    out
}

fn benches(c: &mut Criterion) {
    let engine = RtenEngine::new(Some(1));
    let models = ModelBytes::embedded();
    let analyzer =
        Arc::new(FaceAnalyzer::new(&models, &engine, Params::default()).expect("models load"));
    let jpeg = webcam_frame();
    let image = decode_image(&jpeg, &DecodeLimits::default()).expect("frame decodes");

    c.bench_function("decode_jpeg_640x480", |b| {
        b.iter(|| decode_image(black_box(&jpeg), &DecodeLimits::default()).expect("decode"))
    });

    let detector = FaceDetector::new(
        engine
            .load("face_detector", models.face_detector)
            .expect("load"),
        "regressors",
        "classificators",
    );
    c.bench_function("detect_faces", |b| {
        b.iter(|| {
            detector
                .detect_faces(black_box(&image), 0.5, 0.3)
                .expect("detect")
        })
    });
    let face = detector.detect_faces(&image, 0.5, 0.3).expect("detect")[0];
    let roi = Roi::around(face.bbox, face.right_eye(), face.left_eye(), 1.5);

    // A stream's frame into the buffer kept from the last one: whole (a frame the detector
    // runs on), and only the face crop's region (a tracked frame, see `src/frame.rs`).
    let mut kept = RgbImage::default();
    c.bench_function("decode_jpeg_640x480_into", |b| {
        b.iter(|| {
            decode_image_into(black_box(&jpeg), &DecodeLimits::default(), &mut kept)
                .expect("decode")
        })
    });
    let region = region_read(&roi, INPUT_SIZE, 640, 480).expect("the crop is at most 2x down");
    c.bench_function("decode_jpeg_640x480_face_region", |b| {
        b.iter(|| {
            decode_region_into(
                black_box(&jpeg),
                &DecodeLimits::default(),
                &mut kept,
                region.clone(),
            )
            .expect("decode")
        })
    });

    let landmarks = LandmarkModel::new(
        engine
            .load("face_landmarks_detector", models.face_landmarks)
            .expect("load"),
        "Identity",
        "Identity_1",
    );
    c.bench_function("detect_landmarks", |b| {
        b.iter(|| {
            landmarks
                .detect_landmarks(black_box(&image), &roi)
                .expect("landmarks")
        })
    });
    let mesh = landmarks.detect_landmarks(&image, &roi).expect("landmarks");

    c.bench_function("crop_rotated_256", |b| {
        b.iter(|| focus_vision::crop::crop_rotated(black_box(&image), &roi, 256).expect("crop"))
    });

    let spec = BlendshapeSpec::from_json(models.blendshapes_subset_json).expect("spec");
    let blendshapes = BlendshapeModel::new(
        engine
            .load("face_blendshapes", models.face_blendshapes)
            .expect("load"),
        "StatefulPartitionedCall:0",
        &spec,
    )
    .expect("blendshapes");
    c.bench_function("estimate_eyes_blendshapes", |b| {
        b.iter(|| {
            blendshapes
                .estimate_eyes(black_box(&mesh))
                .expect("blendshapes")
        })
    });

    let canonical = CanonicalFace::from_json(models.canonical_face_json).expect("canonical");
    c.bench_function("fit_head_pose", |b| {
        b.iter(|| fit_head_pose(black_box(&mesh.points), &canonical).expect("fit"))
    });

    // The verdict from a face's measurements (eyes, head pose, gaze), uncalibrated: the
    // rules that follow the models.
    let observed = analyzer.analyze_bytes(&jpeg).expect("analyze");
    let face = observed.face.expect("the fixture has a face");
    let params = Params::default();
    c.bench_function("classify", |b| {
        b.iter(|| judge(Some(black_box(&face)), &params, None))
    });

    c.bench_function("frame_cold", |b| {
        b.iter(|| analyzer.analyze_bytes(black_box(&jpeg)).expect("analyze"))
    });

    let mut tracker = FaceTracker::new(analyzer.clone());
    tracker.analyze_bytes(&jpeg).expect("first frame");
    c.bench_function("frame_tracked", |b| {
        b.iter(|| tracker.analyze_bytes(black_box(&jpeg)).expect("analyze"))
    });
    let (frames, tracked) = tracker.counts();
    assert!(
        tracked + 1 >= frames,
        "tracking fell back to the detector: {tracked}/{frames}"
    );

    // An empty HD room (grey noise, 1920x1080, no face): the small-face retry alone (15
    // detector runs on tiles), and a whole no-face frame with and without it. The retry's
    // cost per frame in a stream is the first over `SMALL_FACE_EVERY`.
    let room = empty_room(1920, 1080);
    c.bench_function("small_face_retry_1920x1080", |b| {
        b.iter(|| {
            detector
                .detect_small_faces(black_box(&room), 0.5, 0.3)
                .expect("detect")
        })
    });
    c.bench_function("no_face_1920x1080_with_retry", |b| {
        b.iter(|| analyzer.analyze_image(black_box(&room)).expect("analyze"))
    });
    let no_retry = FaceAnalyzer::new(&models, &engine, Params::default())
        .expect("models load")
        .with_small_face_min_side(u32::MAX);
    c.bench_function("no_face_1920x1080_without_retry", |b| {
        b.iter(|| no_retry.analyze_image(black_box(&room)).expect("analyze"))
    });
    // The page's empty room (640x480): no retry runs there.
    let small_room = empty_room(640, 480);
    c.bench_function("no_face_640x480", |b| {
        b.iter(|| {
            analyzer
                .analyze_image(black_box(&small_room))
                .expect("analyze")
        })
    });
}

/// A frame of grey noise (a fixed pseudo-random sequence): an empty room.
fn empty_room(width: u32, height: u32) -> RgbImage {
    let mut state = 0x2545_f491_u32;
    RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let v = 100 + (state % 41) as u8;
        image::Rgb([v, v, v])
    })
}

criterion_group! {
    name = pipeline;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(pipeline);
