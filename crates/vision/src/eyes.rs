//! Eye measurements from the mesh: eye aspect ratio (lid gap over eye width), whether the
//! eyes can be seen at all (not behind dark glasses), and how closed they are relative to an
//! open-eye baseline ([`eye_closure`]).
//!
//! Landmark indices are MediaPipe face-mesh indices. "Right" and "left" are the subject's.

use image::RgbImage;

use crate::{EyePair, decode::Region};

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

/// How bright the eyes are relative to the cheeks and nose tip: the brighter of the eye
/// openings and the upper lids, over the skin. About 0.4-1.0 for bare eyes, open or closed
/// (sclera and lids are near skin brightness; with the eyes shut the dark lash line sits on
/// the openings but the lids above them stay bright), far lower behind dark lenses, which
/// cover both.
pub fn eye_brightness_ratio(image: &RgbImage, points: &[[f32; 3]]) -> f32 {
    let [openings, lids, skin] =
        brightness_discs(points).map(|(indices, radius)| mean_luma(image, points, indices, radius));
    if skin <= 1.0 {
        1.0
    } else {
        openings.max(lids) / skin
    }
}

/// The discs [`eye_brightness_ratio`] averages, as landmark indices and a radius in pixels:
/// the openings, the upper lids, the skin.
fn brightness_discs(points: &[[f32; 3]]) -> [(&'static [usize], f32); 3] {
    let eye_width = dist(points[33], points[133]).max(dist(points[263], points[362]));
    let radius = eye_width * 0.15;
    [
        // Lid centres and irises of both eyes.
        (&[159, 145, 468, 386, 374, 473], radius),
        // The upper lids, between the lash line and the brow.
        (&[27, 28, 29, 257, 258, 259], radius),
        // Upper cheeks and the nose: skin that dark glasses leave uncovered.
        (&[50, 280, 4, 1], radius * 1.5),
    ]
}

/// The region of an image `width` x `height` that [`eye_brightness_ratio`] reads, with a
/// pixel of slack either side.
pub fn eye_brightness_region(points: &[[f32; 3]], width: u32, height: u32) -> Region {
    let corners = brightness_discs(points)
        .into_iter()
        .flat_map(|(indices, radius)| {
            let r = radius.max(1.0);
            indices.iter().flat_map(move |&i| {
                let [x, y, _] = points[i];
                [[x - r, y - r], [x + r, y + r]]
            })
        });
    // A NaN or infinite coordinate: `mean_luma` may read row or column 0 (a NaN casts to
    // 0), so claim the whole image.
    Region::around_points(corners, 1.0, 2.0, width, height).unwrap_or(Region::whole(width, height))
}

/// A person's eyes at rest, open: the level [`eye_closure`] measures from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EyeBaseline {
    /// Mean eye aspect ratio of the two eyes, open.
    pub openness: f32,
    /// Mean `eyeBlink` score of the two eyes, open.
    pub blink: f32,
}

impl EyeBaseline {
    /// Without a profile: the medians over the open eyes of the choosing half of the
    /// evaluation photos (EAR 0.325, blink 0.058; `docs/vision.md`).
    pub const DEFAULT: EyeBaseline = EyeBaseline {
        openness: 0.32,
        blink: 0.06,
    };
    /// Shut eyes, the other end of the scale: the medians over the closed eyes of the same
    /// photos (EAR 0.084, blink 0.675). The mesh never quite closes the lids.
    pub const SHUT: EyeBaseline = EyeBaseline {
        openness: 0.08,
        blink: 0.68,
    };
}

/// How closed the eyes are relative to `open`: 0 at the open baseline (or wider), 1 at
/// [`EyeBaseline::SHUT`] (or more), linear in between. The mean of two readings: the eye
/// aspect ratio's fall from open to shut, and the blink score's rise; each alone misreads
/// some faces (a smile lifts the blink score, a squint lowers the aspect ratio).
pub fn eye_closure(openness: &EyePair, blink: &EyePair, open: &EyeBaseline) -> f32 {
    let shut = EyeBaseline::SHUT;
    let fraction = |value: f32, from: f32, to: f32| {
        if (to - from).abs() <= f32::EPSILON {
            return if value >= to { 1.0 } else { 0.0 };
        }
        ((value - from) / (to - from)).clamp(0.0, 1.0)
    };
    let mean = |p: &EyePair| (p.left + p.right) / 2.0;
    // A baseline at or past the shut level would make every frame "open"; keep some range.
    let open_ear = open.openness.max(shut.openness + 0.02);
    let open_blink = open.blink.min(shut.blink - 0.02);
    let by_ear = fraction(mean(openness), open_ear, shut.openness);
    let by_blink = fraction(mean(blink), open_blink, shut.blink);
    (by_ear + by_blink) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brightness_check_reads_only_its_region() {
        // A face mesh's points scattered over a noisy image, some near or beyond its edges:
        // the ratio is the same to the bit with every pixel outside the region replaced.
        let img = crate::crop::tests::noise_image(160, 120, 0x9e37_79b9);
        let mut rng = 0x51ed_270b_u32;
        let mut coord = move |scale: f32, offset: f32| {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            (rng % 10_000) as f32 / 10_000.0 * scale + offset
        };
        for (x0, y0, spread) in [(40.0, 30.0, 60.0), (-10.0, 90.0, 50.0), (120.0, -5.0, 45.0)] {
            let points: Vec<[f32; 3]> = (0..478)
                .map(|_| [coord(spread, x0), coord(spread, y0), 0.0])
                .collect();
            let region = eye_brightness_region(&points, 160, 120);
            assert!(region.rows.len() < 120, "{region:?}");
            let want = eye_brightness_ratio(&img, &points);
            for poison in [[0, 0, 0], [255, 255, 255]] {
                let got = eye_brightness_ratio(
                    &crate::crop::tests::poisoned(&img, &region, poison),
                    &points,
                );
                assert_eq!(want.to_bits(), got.to_bits(), "reads outside {region:?}");
            }
        }
        // A NaN landmark may read row 0: the whole image.
        let mut points = vec![[50.0, 50.0, 0.0]; 478];
        points[159][1] = f32::NAN;
        assert_eq!(
            eye_brightness_region(&points, 160, 120),
            Region::whole(160, 120)
        );
    }

    fn pair(v: f32) -> EyePair {
        EyePair { left: v, right: v }
    }

    #[test]
    fn closure_runs_from_the_open_baseline_to_shut() {
        let open = EyeBaseline::DEFAULT;
        assert_eq!(eye_closure(&pair(0.32), &pair(0.06), &open), 0.0);
        assert_eq!(eye_closure(&pair(0.40), &pair(0.01), &open), 0.0);
        assert_eq!(eye_closure(&pair(0.08), &pair(0.68), &open), 1.0);
        assert_eq!(eye_closure(&pair(0.02), &pair(0.95), &open), 1.0);
        // Half way on both readings.
        let half = eye_closure(&pair(0.20), &pair(0.37), &open);
        assert!((half - 0.5).abs() < 1e-6, "{half}");
    }

    #[test]
    fn narrow_eyes_measured_against_their_own_baseline_read_open() {
        // Someone whose open eyes measure EAR 0.20, blink 0.25: by the default scale that is
        // half shut, by their own it is open.
        let narrow = (pair(0.20), pair(0.25));
        let own = EyeBaseline {
            openness: 0.20,
            blink: 0.25,
        };
        assert!(eye_closure(&narrow.0, &narrow.1, &EyeBaseline::DEFAULT) > 0.4);
        assert_eq!(eye_closure(&narrow.0, &narrow.1, &own), 0.0);
        // And half-way to shut from their own level is half closed.
        let drowsy = eye_closure(&pair(0.14), &pair(0.465), &own);
        assert!((drowsy - 0.5).abs() < 1e-6, "{drowsy}");
    }

    #[test]
    fn a_baseline_at_the_shut_level_still_measures() {
        let odd = EyeBaseline {
            openness: 0.05,
            blink: 0.9,
        };
        assert_eq!(eye_closure(&pair(0.3), &pair(0.0), &odd), 0.0);
        assert_eq!(eye_closure(&pair(0.0), &pair(1.0), &odd), 1.0);
    }
}
