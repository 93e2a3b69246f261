//! The pipeline's logic with a fake inference engine, as ocrs tests its pipeline with a fake
//! model: networks that answer with outputs chosen by the test and count their runs. This
//! checks what real photos cannot pin down exactly: when the tracker runs the detector, and
//! that malformed network outputs are model errors rather than panics.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use focus_vision::{
    Error, FaceAnalyzer, FaceTracker, ModelBytes, Params, Reason,
    detect::small_face_tiles,
    engine::{InferenceEngine, Network, TensorF32},
    models::CanonicalFace,
    pipeline::SMALL_FACE_EVERY,
};
use image::RgbImage;

/// How a fake network answers: its outputs for one run, in the order asked for.
type Respond = dyn Fn() -> Vec<TensorF32> + Send + Sync;

#[derive(Clone)]
struct FakeNetwork {
    name: String,
    runs: Arc<AtomicUsize>,
    respond: Arc<Respond>,
}

impl std::fmt::Debug for FakeNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNetwork")
            .field("name", &self.name)
            .finish()
    }
}

impl Network for FakeNetwork {
    fn run(
        &self,
        _input: &[f32],
        _shape: &[usize],
        outputs: &[&str],
    ) -> Result<Vec<TensorF32>, Error> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let answer = (self.respond)();
        assert_eq!(answer.len(), outputs.len(), "{}: outputs asked", self.name);
        Ok(answer)
    }
}

/// The three networks the pipeline loads, each with its run counter.
#[derive(Default)]
struct FakeEngine {
    networks: Mutex<Vec<FakeNetwork>>,
}

impl std::fmt::Debug for FakeEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeEngine")
    }
}

impl FakeEngine {
    /// Registers the network called `name` and returns its run counter.
    fn network(
        &self,
        name: &str,
        respond: impl Fn() -> Vec<TensorF32> + Send + Sync + 'static,
    ) -> Arc<AtomicUsize> {
        let runs = Arc::new(AtomicUsize::new(0));
        self.networks.lock().expect("lock").push(FakeNetwork {
            name: name.to_owned(),
            runs: runs.clone(),
            respond: Arc::new(respond),
        });
        runs
    }
}

impl InferenceEngine for FakeEngine {
    fn load(&self, name: &str, _onnx: &'static [u8]) -> Result<Box<dyn Network>, Error> {
        let networks = self.networks.lock().expect("lock");
        let network = networks
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| Error::Model(format!("no fake network {name}")))?;
        Ok(Box::new(network.clone()))
    }
}

fn tensor(shape: &[usize], data: Vec<f32>) -> TensorF32 {
    TensorF32 {
        shape: shape.to_vec(),
        data,
    }
}

/// BlazeFace outputs with one face: anchor 560 (the 16-px grid's cell (4, 4), centred at
/// (72, 72) in the 128-px input), a 60-px box and level eyes.
fn one_face() -> Vec<TensorF32> {
    let mut regressors = vec![0.0; 896 * 16];
    let mut scores = vec![-100.0; 896];
    let anchor = 2 * 16 * 16 + (4 * 8 + 4) * 6;
    let r = &mut regressors[anchor * 16..(anchor + 1) * 16];
    r[2] = 60.0;
    r[3] = 60.0;
    // Right eye, left eye (the subject's), nose, mouth, ears: offsets from the centre.
    let keypoints = [
        [-12.0, -10.0],
        [12.0, -10.0],
        [0.0, 2.0],
        [0.0, 14.0],
        [-26.0, -4.0],
        [26.0, -4.0],
    ];
    for (k, [x, y]) in keypoints.into_iter().enumerate() {
        r[4 + 2 * k] = x;
        r[5 + 2 * k] = y;
    }
    scores[anchor] = 10.0;
    vec![
        tensor(&[1, 896, 16], regressors),
        tensor(&[1, 896, 1], scores),
    ]
}

/// MediaPipe's canonical face drawn frontal into the 256-px landmark crop, so the head-pose
/// fit sees a real face shape.
fn frontal_mesh() -> Vec<f32> {
    let canonical = CanonicalFace::from_json(ModelBytes::embedded().canonical_face_json)
        .expect("canonical face");
    let mut points = Vec::with_capacity(478 * 3);
    for i in 0..478 {
        // The mesh has 468 vertices; the 10 iris points sit on the eye centres (468 and 473)
        // or near enough for this test.
        let v = canonical.vertices[i.min(467)];
        points.extend_from_slice(&[128.0 + v[0] * 10.0, 128.0 - v[1] * 10.0, -v[2] * 10.0]);
    }
    points
}

/// The fake networks: one face in every frame, and a landmark model whose presence logit
/// the test sets.
struct Fixture {
    analyzer: Arc<FaceAnalyzer>,
    detector_runs: Arc<AtomicUsize>,
    mesh_runs: Arc<AtomicUsize>,
    presence_logit: Arc<Mutex<f32>>,
}

/// BlazeFace outputs with no face: every score far below the threshold.
fn no_detection() -> Vec<TensorF32> {
    vec![
        tensor(&[1, 896, 16], vec![0.0; 896 * 16]),
        tensor(&[1, 896, 1], vec![-100.0; 896]),
    ]
}

fn fixture(mesh_len: usize) -> Fixture {
    fixture_with(mesh_len, Arc::new(Mutex::new(true)))
}

/// [`fixture`] with a detector that sees the face only while `face_there` holds.
fn fixture_with(mesh_len: usize, face_there: Arc<Mutex<bool>>) -> Fixture {
    let engine = FakeEngine::default();
    let detector_runs = engine.network("face_detector", move || {
        if *face_there.lock().expect("lock") {
            one_face()
        } else {
            no_detection()
        }
    });
    let presence_logit = Arc::new(Mutex::new(5.0f32));
    let logit = presence_logit.clone();
    let mesh = frontal_mesh();
    let mesh_runs = engine.network("face_landmarks_detector", move || {
        let logit = *logit.lock().expect("lock");
        vec![
            tensor(&[1, 1, 1, mesh_len], mesh[..mesh_len].to_vec()),
            tensor(&[1, 1, 1, 1], vec![logit]),
        ]
    });
    engine.network("face_blendshapes", || vec![tensor(&[52], vec![0.0; 52])]);
    let analyzer = FaceAnalyzer::new(&ModelBytes::embedded(), &engine, Params::default())
        .expect("the fake engine loads");
    Fixture {
        analyzer: Arc::new(analyzer),
        detector_runs,
        mesh_runs,
        presence_logit,
    }
}

fn frame() -> RgbImage {
    RgbImage::from_pixel(320, 240, image::Rgb([120, 110, 100]))
}

fn runs(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

#[test]
fn the_tracker_runs_the_detector_only_when_the_tracked_face_fades() {
    let f = fixture(478 * 3);
    let mut tracker = FaceTracker::new(f.analyzer.clone());

    let first = tracker.analyze_image(&frame()).expect("frame 1");
    assert!(first.face.is_some(), "the fake face is found");
    assert_eq!((runs(&f.detector_runs), runs(&f.mesh_runs)), (1, 1));

    for n in 2..=4 {
        tracker.analyze_image(&frame()).expect("tracked frame");
        assert_eq!(
            (runs(&f.detector_runs), runs(&f.mesh_runs)),
            (1, n),
            "frame {n}: the mesh runs on the previous crop, the detector does not"
        );
    }
    assert_eq!(tracker.counts(), (4, 3));

    // The face fades (presence 0.27: below the tracking threshold, and below the
    // detection threshold too): the tracked crop fails, the detector runs, its crop and the
    // upright retry fail as well. No face, and the next frame starts from the detector.
    *f.presence_logit.lock().expect("lock") = -1.0;
    let gone = tracker.analyze_image(&frame()).expect("frame 5");
    assert_eq!(gone.reason, Some(Reason::NoFace));
    assert_eq!((runs(&f.detector_runs), runs(&f.mesh_runs)), (2, 7));
    assert!(!tracker.is_tracking());
    assert_eq!(tracker.counts(), (5, 3));

    *f.presence_logit.lock().expect("lock") = 5.0;
    tracker.analyze_image(&frame()).expect("frame 6");
    assert_eq!((runs(&f.detector_runs), runs(&f.mesh_runs)), (3, 8));
    assert!(tracker.is_tracking());
}

#[test]
fn the_stateless_analyzer_runs_the_detector_on_every_frame() {
    let f = fixture(478 * 3);
    for _ in 0..3 {
        f.analyzer.analyze_image(&frame()).expect("frame");
    }
    assert_eq!((runs(&f.detector_runs), runs(&f.mesh_runs)), (3, 3));
}

#[test]
fn a_landmark_output_of_the_wrong_size_is_a_model_error() {
    let f = fixture(100);
    let err = f.analyzer.analyze_image(&frame()).expect_err("refused");
    assert!(
        matches!(&err, Error::Model(m) if m.contains("landmark output shapes")),
        "{err}"
    );
}

/// An HD frame (the small-face retry's size, `SMALL_FACE_MIN_SIDE`).
fn hd_frame() -> RgbImage {
    RgbImage::from_pixel(1280, 720, image::Rgb([120, 110, 100]))
}

#[test]
fn a_stream_without_a_face_runs_the_small_face_retry_on_every_tenth_frame_only() {
    let face_there = Arc::new(Mutex::new(false));
    let f = fixture_with(478 * 3, face_there.clone());
    *f.presence_logit.lock().expect("lock") = -1.0;
    let tiles = small_face_tiles(1280, 720).len();
    assert_eq!(tiles, 15);
    let mut tracker = FaceTracker::new(f.analyzer.clone());
    // An empty room: each frame runs the detector on the frame and on the padded frame; the
    // first frame without a face and every tenth after it also run it on each tile.
    let mut expected = 0;
    for n in 0..25 {
        let a = tracker.analyze_image(&hd_frame()).expect("frame");
        assert_eq!(a.reason, Some(Reason::NoFace));
        expected += 2 + if n % SMALL_FACE_EVERY as usize == 0 {
            tiles
        } else {
            0
        };
        assert_eq!(runs(&f.detector_runs), expected, "frame {}", n + 1);
    }
    assert_eq!(runs(&f.mesh_runs), 0);
    // 25 frames: 3 retries (frames 1, 11, 21), not 25.
    assert_eq!(expected, 25 * 2 + 3 * tiles);

    // The user comes back: found in the whole frame, then tracked without the detector.
    *face_there.lock().expect("lock") = true;
    *f.presence_logit.lock().expect("lock") = 5.0;
    tracker.analyze_image(&hd_frame()).expect("back");
    tracker.analyze_image(&hd_frame()).expect("tracked");
    assert_eq!(runs(&f.detector_runs), expected + 1);
    assert!(tracker.is_tracking());

    // And leaves: the first frame without a face runs the retry again.
    *face_there.lock().expect("lock") = false;
    *f.presence_logit.lock().expect("lock") = -1.0;
    let gone = tracker.analyze_image(&hd_frame()).expect("gone");
    assert_eq!(gone.reason, Some(Reason::NoFace));
    assert_eq!(runs(&f.detector_runs), expected + 1 + 2 + tiles);
}

#[test]
fn the_small_face_retry_runs_on_hd_frames_only() {
    let f = fixture_with(478 * 3, Arc::new(Mutex::new(false)));
    // The page's frames (at most 640 px wide): the frame and the padded frame, no tiles.
    for _ in 0..3 {
        f.analyzer.analyze_image(&frame()).expect("frame");
    }
    assert_eq!(runs(&f.detector_runs), 3 * 2);
    // An HD frame analysed on its own (no stream to pace it): the tiles every time.
    let tiles = small_face_tiles(1280, 720).len();
    for _ in 0..2 {
        f.analyzer.analyze_image(&hd_frame()).expect("frame");
    }
    assert_eq!(runs(&f.detector_runs), 3 * 2 + 2 * (2 + tiles));
}
