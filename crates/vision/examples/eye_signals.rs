//! Measures, per frame, signals of eye state beyond the eye closure: the blendshape model's
//! other eye scores (`eyeSquint*`, `eyeWide*`, `cheekSquint*`) and pixel readings of the lid
//! gap, on frames read as a live session reads them (one [`FaceTracker`] per stream).
//!
//! `cargo run -p focus-vision --example eye_signals -- [--repeat N] STREAM...` where each
//! STREAM is a file, or several files joined by `,` (consecutive frames). With `--repeat N` each
//! stream is read N times in a row (a photo as a person holding still). One tab-separated
//! line per frame. Frames are read in place and never written. docs/vision.md ("Eye state on
//! tracked frames") quotes its figures.

use std::sync::Arc;

use focus_vision::{
    FaceAnalyzer, FaceTracker,
    decode::decode_image,
    engine::{InferenceEngine, RtenEngine},
    models::{BlendshapeSpec, ModelBytes},
};
use image::RgbImage;

fn luma(image: &RgbImage, x: f32, y: f32) -> Option<f32> {
    let (w, h) = image.dimensions();
    if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
        return None;
    }
    let p = image.get_pixel(x as u32, y as u32).0;
    Some(0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
}

/// Luma samples on a grid over a parallelogram: along the eye's corner line and across it.
fn band(image: &RgbImage, a: [f32; 3], b: [f32; 3], centre_off: f32, half: f32) -> Vec<f32> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = (dx * dx + dy * dy).sqrt().max(1e-3);
    let (nx, ny) = (-dy / len, dx / len);
    let mut out = Vec::new();
    for i in 0..=20 {
        let t = 0.15 + 0.7 * i as f32 / 20.0;
        for j in -4..=4 {
            let s = centre_off + half * j as f32 / 4.0;
            let x = a[0] + dx * t + nx * s;
            let y = a[1] + dy * t + ny * s;
            if let Some(v) = luma(image, x, y) {
                out.push(v);
            }
        }
    }
    out
}

fn pct(v: &mut [f32], q: f32) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f32 * q).round() as usize]
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut repeat = 1;
    if args.first().map(String::as_str) == Some("--repeat") {
        repeat = args[1].parse()?;
        args.drain(..2);
    }
    let analyzer = Arc::new(FaceAnalyzer::embedded()?);
    let models = ModelBytes::embedded();
    let spec = BlendshapeSpec::from_json(models.blendshapes_subset_json)?;
    let net = RtenEngine::default().load("face_blendshapes", models.face_blendshapes)?;
    let cat = |n: &str| spec.category(n).expect("category");
    let names = [
        "eyeSquintLeft",
        "eyeSquintRight",
        "eyeWideLeft",
        "eyeWideRight",
        "cheekSquintLeft",
        "cheekSquintRight",
    ];
    let idx: Vec<usize> = names.iter().map(|n| cat(n)).collect();
    println!(
        "stream\tframe\ttracked\tclosure\tear\tblink\tsquint\twide\tcheek\tgap_dark\tgap_contrast\tiris_gap"
    );
    for stream in &args {
        let files: Vec<&str> = stream.split(',').collect();
        let mut tracker = FaceTracker::new(analyzer.clone());
        let mut k = 0;
        for _ in 0..repeat {
            for f in &files {
                let bytes = std::fs::read(f)?;
                let image = decode_image(&bytes, &Default::default())?;
                let before = tracker.counts().1;
                let a = tracker.analyze_image(&image)?;
                let tracked = tracker.counts().1 > before;
                let name = std::path::Path::new(f)
                    .file_name()
                    .map_or_else(|| f.to_string(), |n| n.to_string_lossy().into_owned());
                let Some(face) = a.face.as_ref().filter(|f| f.eyes_visible) else {
                    println!("{name}\t{k}\t-");
                    k += 1;
                    continue;
                };
                let p = &face.landmarks;
                // The blendshape network runs a second time here: the analysis keeps only the
                // eye scores (`EyeScores`: blink, look), not the squint, wide and cheek scores
                // read below, and widening the library's types for this example would not pay.
                let mut input = Vec::new();
                for &i in &spec.landmark_indices {
                    input.extend_from_slice(&[p[i][0], p[i][1]]);
                }
                let out = net.run(
                    &input,
                    &[1, spec.landmark_indices.len(), 2],
                    &["StatefulPartitionedCall:0"],
                )?;
                let s: Vec<f32> = idx.iter().map(|&i| out[0].data[i]).collect();
                // Pixel readings of the lid gap, per eye, then averaged: the band between the
                // corners, as tall as the larger of the lid gap and 0.12 eye widths.
                let skin = {
                    let mut v = Vec::new();
                    for i in [50usize, 280, 4, 1] {
                        v.extend(luma(&image, p[i][0], p[i][1]));
                    }
                    v.iter().sum::<f32>() / v.len().max(1) as f32
                };
                let mut dark = 0.0;
                let mut contrast = 0.0;
                let mut iris_gap = 0.0;
                for (outer, inner, up, lo, ring) in [
                    (
                        33usize,
                        133usize,
                        159usize,
                        145usize,
                        [469usize, 470, 471, 472],
                    ),
                    (263, 362, 386, 374, [474, 475, 476, 477]),
                ] {
                    let w = dist(p[outer], p[inner]);
                    let gap = dist(p[up], p[lo]);
                    // Signed offset of the lid centre from the corner line.
                    let mid = [
                        (p[up][0] + p[lo][0]) / 2.0,
                        (p[up][1] + p[lo][1]) / 2.0,
                        0.0,
                    ];
                    let (dx, dy) = (p[inner][0] - p[outer][0], p[inner][1] - p[outer][1]);
                    let len = (dx * dx + dy * dy).sqrt().max(1e-3);
                    let off = ((mid[0] - p[outer][0]) * -dy + (mid[1] - p[outer][1]) * dx) / len;
                    let half = (gap / 2.0).max(0.06 * w);
                    let mut v = band(&image, p[outer], p[inner], off, half);
                    let p10 = pct(&mut v, 0.1);
                    let p90 = pct(&mut v, 0.9);
                    dark += p10 / skin.max(1.0) / 2.0;
                    contrast += (p90 - p10) / skin.max(1.0) / 2.0;
                    let iris_d =
                        (dist(p[ring[0]], p[ring[2]]) + dist(p[ring[1]], p[ring[3]])) / 2.0;
                    iris_gap += gap / iris_d.max(1e-3) / 2.0;
                }
                let m = |l: f32, r: f32| (l + r) / 2.0;
                println!(
                    "{name}\t{k}\t{}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}",
                    tracked,
                    a.eye_closure.unwrap_or(f32::NAN),
                    m(face.eye_openness.left, face.eye_openness.right),
                    m(face.blink.left, face.blink.right),
                    m(s[0], s[1]),
                    m(s[2], s[3]),
                    m(s[4], s[5]),
                    dark,
                    contrast,
                    iris_gap,
                );
                k += 1;
            }
        }
    }
    Ok(())
}
