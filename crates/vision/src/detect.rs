//! Face detection with BlazeFace short-range (MediaPipe's `face_detector.tflite`).
//!
//! Input: the frame letterboxed into 128x128 (aspect kept, zero padding), NHWC, RGB in
//! [-1, 1]. Output: 896 anchors x 16 regressors (box centre offset, size, 6 keypoints, in
//! input pixels relative to the anchor centre) and 896 score logits. Anchors follow
//! MediaPipe's SSD anchor options for this model: strides 8, 16, 16, 16, two anchors per
//! cell on the first layer and six on the merged 16-stride layers, fixed unit size.
//!
//! **Small faces.** MediaPipe made this detector for faces from its smallest anchor scale up,
//! [`MIN_FACE_FRACTION`] (0.1484375, 19 of the 128 input pixels: the SSD anchor option
//! `min_scale` of `face_detection_short_range`): letterboxed whole, a frame shows it faces down
//! to about 0.15 of its longer side. [`FaceDetector::detect_small_faces`] looks again in
//! overlapping square tiles ([`small_face_tiles`]) sized so that a face of
//! [`SMALL_FACE_FRACTION`] (1/20) of the frame's longer side fills the smallest anchor, with the
//! same score threshold and NMS, boxes mapped back to the frame.

use fast_image_resize as fr;
use image::RgbImage;

use crate::{Error, engine::Network, recycle::Recycler};

/// Side of the detector's square input, in pixels.
pub const INPUT_SIZE: usize = 128;
/// The smallest face the detector is built for, as a fraction of its input's side: the
/// smallest anchor scale of MediaPipe's SSD anchor options for this model (`min_scale`,
/// 19 px of 128).
pub const MIN_FACE_FRACTION: f32 = 0.1484375;
/// The smallest face [`FaceDetector::detect_small_faces`] is sized for, as a fraction of the
/// frame's longer side: 1/20 (a 96 px face in a 1920 px frame).
pub const SMALL_FACE_FRACTION: f32 = 1.0 / 20.0;
const NUM_ANCHORS: usize = 896;
const NUM_COORDS: usize = 16;

/// One detected face, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Sigmoid score in [0, 1].
    pub score: f32,
    /// `[x0, y0, x1, y1]`.
    pub bbox: [f32; 4],
    /// Right eye, left eye (the subject's), nose tip, mouth, right ear, left ear: `(x, y)`.
    pub keypoints: [[f32; 2]; 6],
}

impl Detection {
    pub fn right_eye(&self) -> [f32; 2] {
        self.keypoints[0]
    }
    pub fn left_eye(&self) -> [f32; 2] {
        self.keypoints[1]
    }
}

/// Anchor centres in normalised [0, 1] input coordinates.
fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    for (stride, per_cell) in [(8usize, 2usize), (16, 6)] {
        let grid = INPUT_SIZE / stride;
        for y in 0..grid {
            for x in 0..grid {
                let c = [
                    (x as f32 + 0.5) / grid as f32,
                    (y as f32 + 0.5) / grid as f32,
                ];
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    out
}

/// Letterboxing of a frame into the square detector input.
#[derive(Debug, Clone, Copy)]
struct Letterbox {
    /// Input pixels per image pixel.
    scale: f32,
    pad_x: f32,
    pad_y: f32,
}

impl Letterbox {
    fn to_image(self, x: f32, y: f32) -> [f32; 2] {
        [(x - self.pad_x) / self.scale, (y - self.pad_y) / self.scale]
    }
}

/// A rectangle of the frame in whole pixels: `[x, y, width, height]`.
pub type Region = [u32; 4];

/// The tiles [`FaceDetector::detect_small_faces`] searches in a `width` x `height` frame, from
/// the detector's geometry alone:
/// - side: a face of [`SMALL_FACE_FRACTION`] of the longer side fills the detector's smallest
///   anchor ([`MIN_FACE_FRACTION`] of the tile), so `L / 20 / 0.1484 = 0.337 L` (no larger than
///   the shorter side);
/// - overlap: at least the smallest face the whole frame shows (`0.1484 L`), so every face the
///   whole frame misses lies wholly inside some tile;
/// - as few tiles per axis as that allows, spread evenly from edge to edge.
///
/// A 1920x1080 frame: 647 px tiles, 5 x 3 of them; 1280x720: 432 px, 5 x 3.
pub fn small_face_tiles(width: u32, height: u32) -> Vec<Region> {
    let longer = width.max(height) as f32;
    let side = ((longer * SMALL_FACE_FRACTION / MIN_FACE_FRACTION).ceil() as u32)
        .min(width.min(height))
        .max(1);
    let overlap = ((longer * MIN_FACE_FRACTION).ceil() as u32).min(side / 2);
    let starts = |extent: u32| -> Vec<u32> {
        if extent <= side {
            return vec![0];
        }
        let step = side - overlap;
        let n = (extent - overlap).div_ceil(step).max(2);
        (0..n)
            .map(|i| ((extent - side) as f32 * i as f32 / (n - 1) as f32).round() as u32)
            .collect()
    };
    let (xs, ys) = (starts(width), starts(height));
    ys.iter()
        .flat_map(|&y| xs.iter().map(move |&x| [x, y, side, side]))
        .collect()
}

/// The detector and its anchors.
#[derive(Debug)]
pub struct FaceDetector {
    network: Box<dyn Network>,
    anchors: Vec<[f32; 2]>,
    output_names: [String; 2],
    /// The letterbox's buffers, kept for the next detector run (see `recycle`).
    scratch: Recycler<Scratch>,
}

/// What a detector run writes besides its outputs, kept from run to run: the resizer (with
/// its intermediate image, ~0.14 MB for a 640x360 frame, zeroed only when it grows), the
/// resized region and the network's input.
#[derive(Default)]
struct Scratch {
    resizer: fr::Resizer,
    resized: Vec<u8>,
    input: Vec<f32>,
}

impl FaceDetector {
    /// `regressors` and `scores` are the ONNX output names.
    pub fn new(network: Box<dyn Network>, regressors: &str, scores: &str) -> Self {
        Self {
            network,
            anchors: anchors(),
            output_names: [regressors.to_owned(), scores.to_owned()],
            scratch: Recycler::default(),
        }
    }

    /// Detects faces scoring at least `min_score`, strongest first, after non-maximum
    /// suppression at IoU `nms_iou`.
    pub fn detect_faces(
        &self,
        image: &RgbImage,
        min_score: f32,
        nms_iou: f32,
    ) -> Result<Vec<Detection>, Error> {
        let (w, h) = image.dimensions();
        let found = self.detect_in(image, [0, 0, w, h], min_score)?;
        Ok(weighted_nms(found, nms_iou))
    }

    /// Looks for faces too small for [`detect_faces`](Self::detect_faces) to see in the whole
    /// frame: the detector runs on each of [`small_face_tiles`] (one run per tile), and the
    /// detections of all tiles, in frame pixels, go through one non-maximum suppression, so a
    /// face seen in two overlapping tiles is one face. Same score threshold and NMS as
    /// `detect_faces`.
    pub fn detect_small_faces(
        &self,
        image: &RgbImage,
        min_score: f32,
        nms_iou: f32,
    ) -> Result<Vec<Detection>, Error> {
        let (w, h) = image.dimensions();
        let mut found = Vec::new();
        for tile in small_face_tiles(w, h) {
            found.extend(self.detect_in(image, tile, min_score)?);
        }
        Ok(weighted_nms(found, nms_iou))
    }

    /// The detections scoring at least `min_score` in `region` of `image` (letterboxed into
    /// the input), in frame pixels, before NMS.
    fn detect_in(
        &self,
        image: &RgbImage,
        region: Region,
        min_score: f32,
    ) -> Result<Vec<Detection>, Error> {
        let mut scratch = self.scratch.take();
        let letterbox = letterbox_input(image, region, &mut scratch);
        let names = [self.output_names[0].as_str(), self.output_names[1].as_str()];
        let outputs = letterbox.and_then(|letterbox| {
            let shape = [1, INPUT_SIZE, INPUT_SIZE, 3];
            Ok((self.network.run(&scratch.input, &shape, &names)?, letterbox))
        });
        self.scratch.give(scratch);
        let (outputs, letterbox) = outputs?;
        let [regressors, scores] = [&outputs[0], &outputs[1]];
        if regressors.data.len() != NUM_ANCHORS * NUM_COORDS || scores.data.len() != NUM_ANCHORS {
            return Err(Error::Model(format!(
                "face detector output shapes {:?} and {:?}",
                regressors.shape, scores.shape
            )));
        }
        let mut found = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = sigmoid(scores.data[i].clamp(-100.0, 100.0));
            if score < min_score {
                continue;
            }
            let r = &regressors.data[i * NUM_COORDS..(i + 1) * NUM_COORDS];
            let s = INPUT_SIZE as f32;
            let cx = r[0] + anchor[0] * s;
            let cy = r[1] + anchor[1] * s;
            let (w, h) = (r[2], r[3]);
            let p0 = letterbox.to_image(cx - w / 2.0, cy - h / 2.0);
            let p1 = letterbox.to_image(cx + w / 2.0, cy + h / 2.0);
            let mut keypoints = [[0.0; 2]; 6];
            for (k, kp) in keypoints.iter_mut().enumerate() {
                *kp =
                    letterbox.to_image(r[4 + 2 * k] + anchor[0] * s, r[5 + 2 * k] + anchor[1] * s);
            }
            found.push(Detection {
                score,
                bbox: [p0[0], p0[1], p1[0], p1[1]],
                keypoints,
            });
        }
        Ok(found)
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Resizes `region` of `image` to fit 128x128 with its aspect kept, centres it on a zero (-1
/// after normalisation) background, and writes NHWC RGB in [-1, 1] into `scratch.input`;
/// returns the mapping back to frame pixels.
fn letterbox_input(
    image: &RgbImage,
    region: Region,
    scratch: &mut Scratch,
) -> Result<Letterbox, Error> {
    let [x0, y0, w, h] = region;
    let scale = INPUT_SIZE as f32 / w.max(h) as f32;
    let rw = ((w as f32 * scale).round() as u32).clamp(1, INPUT_SIZE as u32);
    let rh = ((h as f32 * scale).round() as u32).clamp(1, INPUT_SIZE as u32);
    let Scratch {
        resizer,
        resized,
        input,
    } = scratch;
    resize_region_into(resizer, image, region, rw, rh, resized)?;
    let pad_x = (INPUT_SIZE as u32 - rw) / 2;
    let pad_y = (INPUT_SIZE as u32 - rh) / 2;
    input.clear();
    input.resize(INPUT_SIZE * INPUT_SIZE * 3, -1.0);
    for y in 0..rh as usize {
        let src = &resized[y * rw as usize * 3..(y + 1) * rw as usize * 3];
        let row = (y + pad_y as usize) * INPUT_SIZE + pad_x as usize;
        for (dst, &v) in input[row * 3..row * 3 + src.len()].iter_mut().zip(src) {
            *dst = v as f32 * (2.0 / 255.0) - 1.0;
        }
    }
    let scale = rw as f32 / w as f32;
    Ok(Letterbox {
        scale,
        // The region's origin, in input pixels, moves the padding.
        pad_x: pad_x as f32 - x0 as f32 * scale,
        pad_y: pad_y as f32 - y0 as f32 * scale,
    })
}

/// Area-aware resize with `fast_image_resize` (SIMD convolution), returning packed RGB8.
pub fn resize_rgb(image: &RgbImage, width: u32, height: u32) -> Result<Vec<u8>, Error> {
    let (w, h) = image.dimensions();
    let mut out = Vec::new();
    resize_region_into(
        &mut fr::Resizer::new(),
        image,
        [0, 0, w, h],
        width,
        height,
        &mut out,
    )?;
    Ok(out)
}

/// [`resize_rgb`] of `region` (`[x, y, width, height]`) of `image`, without copying it out,
/// into `out` (its buffer reused: every byte is written) with `resizer`.
fn resize_region_into(
    resizer: &mut fr::Resizer,
    image: &RgbImage,
    region: Region,
    width: u32,
    height: u32,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let (w, h) = image.dimensions();
    let src = fr::images::ImageRef::new(w, h, image.as_raw(), fr::PixelType::U8x3)
        .map_err(|e| Error::Decode(e.to_string()))?;
    out.resize(width as usize * height as usize * 3, 0);
    let mut dst = fr::images::Image::from_slice_u8(width, height, out, fr::PixelType::U8x3)
        .map_err(|e| Error::Decode(e.to_string()))?;
    let [x, y, rw, rh] = region.map(f64::from);
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear))
        .crop(x, y, rw, rh);
    resizer
        .resize(&src, &mut dst, &options)
        .map_err(|e| Error::Decode(e.to_string()))
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// MediaPipe's weighted NMS: overlapping detections are merged into a score-weighted
/// average (boxes and keypoints), which steadies the box from frame to frame.
fn weighted_nms(mut detections: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = detections.first().copied() {
        let (cluster, rest): (Vec<_>, Vec<_>) = detections
            .into_iter()
            .partition(|d| iou(&d.bbox, &best.bbox) >= iou_threshold);
        detections = rest;
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = best;
        merged.bbox = [0.0; 4];
        merged.keypoints = [[0.0; 2]; 6];
        for d in &cluster {
            let w = d.score / total;
            for (m, v) in merged.bbox.iter_mut().zip(d.bbox) {
                *m += w * v;
            }
            for (m, v) in merged.keypoints.iter_mut().zip(d.keypoints) {
                m[0] += w * v[0];
                m[1] += w * v[1];
            }
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_match_blazeface_short_range() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        assert_eq!(a[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[512], [0.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(a[895], [7.5 / 8.0, 7.5 / 8.0]);
    }

    #[test]
    fn nms_merges_overlaps_and_keeps_separate_faces() {
        let d = |score, x0: f32| Detection {
            score,
            bbox: [x0, 0.0, x0 + 10.0, 10.0],
            keypoints: [[x0, 0.0]; 6],
        };
        let out = weighted_nms(vec![d(0.9, 0.0), d(0.6, 1.0), d(0.8, 50.0)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // Weighted towards the stronger box: 0.9*0 + 0.6*1 over 1.5.
        assert!((out[0].bbox[0] - 0.4).abs() < 1e-5);
        assert_eq!(out[1].bbox[0], 50.0);
    }

    #[test]
    fn letterbox_maps_back_to_image_pixels() {
        let img = RgbImage::new(640, 480);
        let mut scratch = Scratch::default();
        let lb = letterbox_input(&img, [0, 0, 640, 480], &mut scratch).expect("letterbox");
        assert_eq!(scratch.input.len(), INPUT_SIZE * INPUT_SIZE * 3);
        assert_eq!(lb.pad_x, 0.0);
        assert_eq!(lb.pad_y, 16.0);
        let p = lb.to_image(64.0, 64.0);
        assert!((p[0] - 320.0).abs() < 1e-3 && (p[1] - 240.0).abs() < 1e-3);
    }

    #[test]
    fn a_tile_maps_back_to_frame_pixels() {
        let img = RgbImage::new(1920, 1080);
        let mut scratch = Scratch::default();
        let lb = letterbox_input(&img, [1000, 400, 640, 640], &mut scratch).expect("letterbox");
        // 640 px into 128: 5 frame pixels per input pixel, from the tile's corner.
        let p = lb.to_image(0.0, 0.0);
        assert!(
            (p[0] - 1000.0).abs() < 1e-3 && (p[1] - 400.0).abs() < 1e-3,
            "{p:?}"
        );
        let p = lb.to_image(64.0, 128.0);
        assert!(
            (p[0] - 1320.0).abs() < 1e-3 && (p[1] - 1040.0).abs() < 1e-3,
            "{p:?}"
        );
    }

    #[test]
    fn small_face_tiles_follow_the_detector_geometry() {
        let tiles = small_face_tiles(1920, 1080);
        assert_eq!(tiles.len(), 15, "{tiles:?}");
        let side = tiles[0][2];
        assert_eq!(side, 647);
        // A face of 1/20 of the frame's width fills the smallest anchor of a tile.
        let face = 1920.0 * SMALL_FACE_FRACTION;
        assert!((face / side as f32 - MIN_FACE_FRACTION).abs() < 0.001);
        // The tiles cover the frame, edge to edge.
        assert_eq!((tiles[0][0], tiles[0][1]), (0, 0));
        let last = tiles[tiles.len() - 1];
        assert_eq!((last[0] + side, last[1] + side), (1920, 1080));
        // Every face up to the whole frame's smallest (0.148 of 1920 = 285 px) lies wholly
        // inside a tile, wherever it is.
        let biggest = (1920.0 * MIN_FACE_FRACTION).ceil() as u32;
        for x in (0..=1920 - biggest).step_by(7) {
            for y in (0..=1080 - biggest).step_by(7) {
                assert!(
                    tiles.iter().any(|t| x >= t[0]
                        && y >= t[1]
                        && x + biggest <= t[0] + t[2]
                        && y + biggest <= t[1] + t[3]),
                    "a {biggest} px face at ({x}, {y}) is in no tile"
                );
            }
        }
        // A portrait frame tiles the same way; a panorama's tiles are no taller than it.
        assert_eq!(small_face_tiles(1080, 1920).len(), 15);
        let wide = small_face_tiles(3000, 600);
        assert!(wide.iter().all(|t| t[1] == 0 && t[2] == 600 && t[3] == 600));
        assert_eq!(wide.last().map(|t| t[0] + t[2]), Some(3000));
    }
}
