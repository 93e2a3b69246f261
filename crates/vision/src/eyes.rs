//! Eye measurements from the mesh: eye aspect ratio (lid gap over eye width) and whether the
//! eyes can be seen at all (not behind dark glasses).
//!
//! Landmark indices are MediaPipe face-mesh indices. "Right" and "left" are the subject's.

use image::RgbImage;

use crate::EyePair;

/// Corners (outer, inner) and three upper/lower lid pairs of one eye.
struct EyeIndices {
    outer: usize,
    inner: usize,
    lids: [(usize, usize); 3],
}

const RIGHT_EYE: EyeIndices = EyeIndices {
    outer: 33,
    inner: 133,
    lids: [(160, 144), (159, 145), (158, 153)],
};
const LEFT_EYE: EyeIndices = EyeIndices {
    outer: 263,
    inner: 362,
    lids: [(387, 373), (386, 374), (385, 380)],
};

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn aspect_ratio(points: &[[f32; 3]], eye: &EyeIndices) -> f32 {
    let width = dist(points[eye.outer], points[eye.inner]);
    if width <= f32::EPSILON {
        return 0.0;
    }
    let gap: f32 = eye
        .lids
        .iter()
        .map(|&(u, l)| dist(points[u], points[l]))
        .sum();
    gap / (3.0 * width)
}

/// Eye aspect ratio per eye, in 3D so that a turned head does not shrink it: about
/// 0.25-0.35 for an open eye, under 0.1 for a closed one.
pub fn eye_aspect_ratios(points: &[[f32; 3]]) -> EyePair {
    EyePair {
        left: aspect_ratio(points, &LEFT_EYE),
        right: aspect_ratio(points, &RIGHT_EYE),
    }
}

/// Mean luma (0-255) of the image over small discs around the given landmarks.
fn mean_luma(image: &RgbImage, points: &[[f32; 3]], indices: &[usize], radius: f32) -> f32 {
    let (w, h) = image.dimensions();
    let r = radius.max(1.0);
    let (mut sum, mut n) = (0.0f64, 0u32);
    for &i in indices {
        let [cx, cy, _] = points[i];
        let steps = 3i32;
        for dy in -steps..=steps {
            for dx in -steps..=steps {
                let x = cx + dx as f32 * r / steps as f32;
                let y = cy + dy as f32 * r / steps as f32;
                if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                    continue;
                }
                let p = image.get_pixel(x as u32, y as u32).0;
                sum += 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
                n += 1;
            }
        }
    }
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

/// How bright the eye openings are relative to the cheeks and nose bridge: about 0.6-1.0 for
/// bare eyes (open or closed; sclera and lids are near skin brightness), far lower behind
/// dark lenses.
pub fn eye_brightness_ratio(image: &RgbImage, points: &[[f32; 3]]) -> f32 {
    let eye_width = dist(points[33], points[133]).max(dist(points[263], points[362]));
    let radius = eye_width * 0.15;
    // Lid centres and mid-lid points of both eyes.
    let eyes = mean_luma(image, points, &[159, 145, 468, 386, 374, 473], radius);
    // Upper cheeks and the nose bridge: skin that dark glasses leave uncovered.
    let skin = mean_luma(image, points, &[50, 280, 4, 1], radius * 1.5);
    if skin <= 1.0 { 1.0 } else { eyes / skin }
}
