//! Rotated square crops: the region of interest around a face, turned so the eyes are level,
//! resampled to the landmark model's input.
//!
//! A [`Roi`] lives in image pixels. Crop coordinates `(u, v)` in `[0, size)` map to
//! `centre + side * R(angle) * (u/size - 1/2, v/size - 1/2)`, where `angle` is the direction
//! of the crop's x axis in the image (y down, radians).

use image::RgbImage;
use rten_simd::{
    Isa, SimdOp,
    ops::{BitOps, FloatOps, IntOps, MaskOps, NumOps, ToFloat},
};

use crate::{Error, decode::Region, detect::resize_rgb};

/// A rotated square region of an image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub center: [f32; 2],
    /// Side length in image pixels.
    pub side: f32,
    /// Direction of the crop's x axis in the image (radians, y down: positive turns clockwise
    /// on screen).
    pub angle: f32,
}

impl Roi {
    /// A square of `scale` times the longer side of `bbox`, centred on it, with its x axis
    /// along the line from `from` to `to` (the subject's right eye to left eye).
    pub fn around(bbox: [f32; 4], from: [f32; 2], to: [f32; 2], scale: f32) -> Self {
        let center = [(bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0];
        let side = (bbox[2] - bbox[0]).max(bbox[3] - bbox[1]) * scale;
        let angle = (to[1] - from[1]).atan2(to[0] - from[0]);
        Self {
            center,
            side,
            angle,
        }
    }

    /// Maps a point of a `size`-pixel crop back to image pixels.
    pub fn to_image(&self, u: f32, v: f32, size: f32) -> [f32; 2] {
        let a = (u / size - 0.5) * self.side;
        let b = (v / size - 0.5) * self.side;
        let (s, c) = self.angle.sin_cos();
        [
            self.center[0] + a * c - b * s,
            self.center[1] + a * s + b * c,
        ]
    }

    /// Whether the ROI is usable on an image of this size: positive, finite, and overlapping it.
    pub fn is_valid_for(&self, width: u32, height: u32) -> bool {
        let finite = self.center.iter().all(|v| v.is_finite())
            && self.side.is_finite()
            && self.angle.is_finite();
        finite
            && self.side >= 8.0
            && self.center[0] > -self.side / 2.0
            && self.center[1] > -self.side / 2.0
            && self.center[0] < width as f32 + self.side / 2.0
            && self.center[1] < height as f32 + self.side / 2.0
    }
}

/// The region of an image `width` x `height` that [`crop_rotated`] reads to sample `roi` at
/// `size` x `size`: the rotated square's bounding box, with the bilinear taps' row below and
/// columns to the right (and the byte of the next pixel a four-lane read takes), and slack
/// either side for rounding. `None` when it reads the whole image (a large downscale shrinks
/// the whole image first).
pub fn region_read(roi: &Roi, size: usize, width: u32, height: u32) -> Option<Region> {
    if needs_shrinking(roi, size) {
        return None;
    }
    let size = size as f32;
    let corners =
        [(0.0, 0.0), (size, 0.0), (0.0, size), (size, size)].map(|(u, v)| roi.to_image(u, v, size));
    Some(
        Region::around_points(corners, 2.0, 4.0, width, height)
            .unwrap_or(Region::whole(width, height)),
    )
}

/// Whether [`crop_rotated_into`] shrinks the whole image before sampling `roi` at `size`.
fn needs_shrinking(roi: &Roi, size: usize) -> bool {
    roi.side / size as f32 > 2.0
}

/// Samples `roi` from `image` into a `size` x `size` NHWC RGB tensor in [0, 1]; outside the
/// image is black. Large downscales first shrink the image with an area-aware filter so the
/// bilinear sampling does not alias.
pub fn crop_rotated(image: &RgbImage, roi: &Roi, size: usize) -> Result<Vec<f32>, Error> {
    let mut out = Vec::new();
    crop_rotated_into(image, roi, size, &mut out)?;
    Ok(out)
}

/// [`crop_rotated`] into `out`, reusing its buffer: every element is written, so a buffer
/// kept from the last frame needs no clearing.
pub fn crop_rotated_into(
    image: &RgbImage,
    roi: &Roi,
    size: usize,
    out: &mut Vec<f32>,
) -> Result<(), Error> {
    let ratio = roi.side / size as f32;
    if needs_shrinking(roi, size) {
        let f = ratio / 1.25;
        let (w, h) = image.dimensions();
        let nw = ((w as f32 / f).round() as u32).max(1);
        let nh = ((h as f32 / f).round() as u32).max(1);
        let data = resize_rgb(image, nw, nh)?;
        let small = RgbImage::from_raw(nw, nh, data)
            .ok_or_else(|| Error::Decode("resize produced a wrong buffer".into()))?;
        let (fx, fy) = (nw as f32 / w as f32, nh as f32 / h as f32);
        let scaled = Roi {
            center: [roi.center[0] * fx, roi.center[1] * fy],
            side: roi.side * (fx + fy) / 2.0,
            angle: roi.angle,
        };
        sample(&small, &scaled, size, out);
    } else {
        sample(image, roi, size, out);
    }
    Ok(())
}

fn sample(image: &RgbImage, roi: &Roi, size: usize, out: &mut Vec<f32>) {
    let (w, h) = image.dimensions();
    // Only growth is zeroed: the loop writes every element.
    out.resize(size * size * 3, 0.0);
    let step = roi.side / size as f32;
    let (s, c) = roi.angle.sin_cos();
    // Image position of crop pixel centre (u + 0.5, v + 0.5), advanced incrementally.
    let origin = roi.to_image(0.5, 0.5, size as f32);
    Sampler {
        raw: image.as_raw(),
        w: i64::from(w),
        h: i64::from(h),
        origin,
        du: [c * step, s * step],
        dv: [-s * step, c * step],
        size,
        out,
    }
    .dispatch();
}

/// The sampling loop as a [`SimdOp`]: rten-simd compiles it once per instruction set and
/// runs the best the CPU has (AVX2 on x86-64 machines of the last decade).
///
/// Each row goes in chunks of [`CHUNK`] crop pixels, in four passes:
/// 1. the image positions, advanced one pixel at a time as ever (sequential float sums: the
///    same values to the bit as one loop over the row);
/// 2. SIMD over the chunk: which pixels have all four taps inside the image, their top-left
///    tap's byte offset and their four bilinear weights;
/// 3. SIMD over the chunk's pixels, with one bounds check for the chunk and none per pixel:
///    each tap's R, G, B (and a byte to spare) read as a word per pixel with scalar loads
///    (rten-simd has no gather), then a vector of pixels at a time split into channels,
///    converted and summed, one plane per channel, interleaved back to RGB at the end; the
///    edge pixels' lanes read somewhere inside and are rewritten in pass 4;
/// 4. the pixels near or beyond the edge, if any, one at a time: black when all four taps
///    are outside the image, else through [`edge_tap`].
///
/// No fused multiply-adds anywhere (neither Rust nor rten-simd's `mul`/`add` contract), and
/// each lane is summed in `edge_tap`'s order, so every instruction set computes the same
/// values to the bit, and the same as the scalar definition (tests below).
struct Sampler<'a> {
    raw: &'a [u8],
    w: i64,
    h: i64,
    origin: [f32; 2],
    du: [f32; 2],
    dv: [f32; 2],
    size: usize,
    out: &'a mut [f32],
}

/// Crop pixels per chunk of a row: a multiple of every instruction set's lane count.
const CHUNK: usize = 64;

impl SimdOp for Sampler<'_> {
    type Output = ();

    #[inline(always)]
    fn eval<I: Isa>(self, isa: I) {
        let Sampler {
            raw,
            w,
            h,
            origin,
            du,
            dv,
            size,
            out,
        } = self;
        const K: f32 = 1.0 / 255.0;
        let (fops, iops, mops) = (isa.f32(), isa.i32(), isa.m32());
        let lanes = fops.len();
        debug_assert_eq!(CHUNK % lanes, 0);
        // A `u32` widened, so that the compiler knows `offset + stride + 7` cannot wrap.
        let stride = u32::try_from(w * 3).unwrap_or(u32::MAX) as usize;
        // A pixel is inside when its top-left tap is at 0 <= x < w - 2 (a column to spare on
        // the right for the fourth lane's bytes) and 0 <= y < h - 1: for these whole limits
        // the same as `0 <= x < w - 2` on the unfloored position. Byte offsets are `i32`
        // lanes: an image too large for them (2 GB) takes the edge path everywhere.
        let fits = raw.len() < i32::MAX as usize;
        let (x_end, y_end) = if fits {
            ((w - 2).max(0) as f32, (h - 1).max(0) as f32)
        } else {
            (0.0, 0.0)
        };
        // The image's sides as floats, for the test of pixels wholly outside it: exact below
        // 2^24 (any image a frame can be).
        let exact_sides = w < 1 << 24 && h < 1 << 24;
        let (wf, hf) = (w as f32, h as f32);
        let [zero, one] = [fops.zero(), fops.one()];
        let [x_end, y_end] = [fops.splat(x_end), fops.splat(y_end)];
        let [stride_v, three, outside] = [stride as i32, 3, -1].map(|n| iops.splat(n));
        let mut xs = [0.0f32; CHUNK];
        let mut ys = [0.0f32; CHUNK];
        let mut offsets = [0i32; CHUNK];
        let mut weights = [[0.0f32; CHUNK]; 4];
        let mut taps = [[0i32; CHUNK]; 4];
        let mut planes = [[0.0f32; CHUNK]; 3];
        let (to_unit, byte) = (fops.splat(K), iops.splat(0xff));
        for v in 0..size {
            let mut x = origin[0] + dv[0] * v as f32 - 0.5;
            let mut y = origin[1] + dv[1] * v as f32 - 0.5;
            for u0 in (0..size).step_by(CHUNK) {
                let n = CHUNK.min(size - u0);
                for (px, py) in xs[..n].iter_mut().zip(&mut ys[..n]) {
                    (*px, *py) = (x, y);
                    x += du[0];
                    y += du[1];
                }
                for c in (0..CHUNK).step_by(lanes) {
                    let (xv, yv) = (fops.load(&xs[c..]), fops.load(&ys[c..]));
                    let inside = mops.and(
                        mops.and(fops.ge(xv, zero), fops.lt(xv, x_end)),
                        mops.and(fops.ge(yv, zero), fops.lt(yv, y_end)),
                    );
                    // Truncation is the floor for the inside pixels (x, y >= 0).
                    let (xi, yi) = (fops.to_int_trunc(xv), fops.to_int_trunc(yv));
                    let fx = fops.sub(xv, iops.to_float(xi));
                    let fy = fops.sub(yv, iops.to_float(yi));
                    // Wrapping arithmetic (outside pixels' lanes may hold anything): replaced
                    // by -1 below.
                    let at = iops.add(iops.mul(yi, stride_v), iops.mul(xi, three));
                    iops.store(iops.select(at, outside, inside), &mut offsets[c..]);
                    let (gx, gy) = (fops.sub(one, fx), fops.sub(one, fy));
                    fops.store(fops.mul(gx, gy), &mut weights[0][c..]);
                    fops.store(fops.mul(fx, gy), &mut weights[1][c..]);
                    fops.store(fops.mul(gx, fy), &mut weights[2][c..]);
                    fops.store(fops.mul(fx, fy), &mut weights[3][c..]);
                }
                let row = (v * size + u0) * 3;
                let (lowest, highest) = offsets[..n]
                    .iter()
                    .fold((0, -1), |(lo, hi), &at| (lo.min(at), hi.max(at)));
                // One bounds check for the chunk's inside pixels: each reads bytes up to its
                // offset + stride + 7, at most the highest offset's, which the inside test
                // keeps within the image (checked here all the same). With the offsets
                // clamped to it, the compiler drops every per-pixel check.
                let mut in_fast = false;
                if let Ok(top) = usize::try_from(highest)
                    && top + stride + 7 <= raw.len()
                    && let Some(dst) = out.get_mut(row..row + 3 * n)
                {
                    in_fast = true;
                    // Each tap's bytes as a little-endian word: R, G, B and the next pixel's
                    // R (the top-right and bottom-right taps reach the 7th byte of the run,
                    // which the inside test keeps within the image). Scalar loads, as
                    // rten-simd has no gather; an edge pixel (-1) reads somewhere inside and
                    // is rewritten below; so do the lanes past `n`, never stored.
                    for j in 0..CHUNK {
                        let at = (offsets[j] as u32 as usize).min(top);
                        let word = |at: usize| {
                            let b: [u8; 4] = raw[at..at + 4].try_into().unwrap_or_default();
                            i32::from_le_bytes(b)
                        };
                        taps[0][j] = word(at);
                        taps[1][j] = word(at + 3);
                        taps[2][j] = word(at + stride);
                        taps[3][j] = word(at + stride + 3);
                    }
                    for c in (0..CHUNK).step_by(lanes) {
                        // No closures here: they would not inherit the instruction set.
                        let mut t0 = iops.load(&taps[0][c..]);
                        let mut t1 = iops.load(&taps[1][c..]);
                        let mut b0 = iops.load(&taps[2][c..]);
                        let mut b1 = iops.load(&taps[3][c..]);
                        let w00 = fops.load(&weights[0][c..]);
                        let w01 = fops.load(&weights[1][c..]);
                        let w10 = fops.load(&weights[2][c..]);
                        let w11 = fops.load(&weights[3][c..]);
                        for plane in &mut planes {
                            // The low byte of each word is this channel; in `edge_tap`'s
                            // order, mul and add apart: the same to the bit.
                            let [f0, f1, f2, f3] = [
                                iops.to_float(iops.and(t0, byte)),
                                iops.to_float(iops.and(t1, byte)),
                                iops.to_float(iops.and(b0, byte)),
                                iops.to_float(iops.and(b1, byte)),
                            ];
                            let acc = fops.add(
                                fops.add(
                                    fops.add(fops.mul(w00, f0), fops.mul(w01, f1)),
                                    fops.mul(w10, f2),
                                ),
                                fops.mul(w11, f3),
                            );
                            fops.store(fops.mul(acc, to_unit), &mut plane[c..]);
                            t0 = iops.shift_right::<8>(t0);
                            t1 = iops.shift_right::<8>(t1);
                            b0 = iops.shift_right::<8>(b0);
                            b1 = iops.shift_right::<8>(b1);
                        }
                    }
                    for (j, px) in dst.chunks_exact_mut(3).enumerate() {
                        px.copy_from_slice(&[planes[0][j], planes[1][j], planes[2][j]]);
                    }
                }
                if lowest < 0 || !in_fast {
                    for j in 0..n {
                        if in_fast && offsets[j] >= 0 {
                            continue;
                        }
                        let (x, y) = (xs[j], ys[j]);
                        let k = row + j * 3;
                        // All four taps outside (floor(x) + 1 < 0 or floor(x) >= w, or the
                        // same for y): black, as `edge_tap` would sum it. NaN goes on.
                        if exact_sides && (x < -1.0 || x >= wf || y < -1.0 || y >= hf) {
                            out[k..k + 3].fill(0.0);
                            continue;
                        }
                        // floor() without SSE4.1 is a libm call; truncation fixed up for
                        // negatives is the same here and several times faster.
                        let xi = x as i64 - i64::from(x < 0.0);
                        let yi = y as i64 - i64::from(y < 0.0);
                        let (fx, fy) = (x - xi as f32, y - yi as f32);
                        let acc = edge_tap(raw, w, h, xi, yi, fx, fy);
                        for (o, a) in out[k..k + 3].iter_mut().zip(acc) {
                            *o = a * K;
                        }
                    }
                }
            }
        }
    }
}

/// A bilinear tap near or beyond the image edge: taps outside count as black.
fn edge_tap(raw: &[u8], w: i64, h: i64, xi: i64, yi: i64, fx: f32, fy: f32) -> [f32; 3] {
    let mut acc = [0.0f32; 3];
    for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
        let yy = yi + dy;
        if yy < 0 || yy >= h {
            continue;
        }
        for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
            let xx = xi + dx;
            if xx < 0 || xx >= w {
                continue;
            }
            let i = ((yy * w + xx) * 3) as usize;
            let wgt = wx * wy;
            for (a, &v) in acc.iter_mut().zip(&raw[i..i + 3]) {
                *a += wgt * v as f32;
            }
        }
    }
    acc
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn unrotated_crop_copies_pixels() {
        let img = RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 7]));
        let roi = Roi {
            center: [32.0, 32.0],
            side: 64.0,
            angle: 0.0,
        };
        let t = crop_rotated(&img, &roi, 64).expect("crop");
        let at = |u: usize, v: usize, ch: usize| t[(v * 64 + u) * 3 + ch] * 255.0;
        assert!((at(10, 20, 0) - 40.0).abs() < 1e-3);
        assert!((at(10, 20, 1) - 80.0).abs() < 1e-3);
        assert!((at(10, 20, 2) - 7.0).abs() < 1e-3);
    }

    #[test]
    fn rotated_crop_turns_the_image() {
        // With the crop's x axis pointing down the image (90 degrees), crop (u, v) reads
        // image (W - 1 - v, u) for a full-image square.
        let img = RgbImage::from_fn(32, 32, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let roi = Roi {
            center: [16.0, 16.0],
            side: 32.0,
            angle: std::f32::consts::FRAC_PI_2,
        };
        let t = crop_rotated(&img, &roi, 32).expect("crop");
        let (u, v) = (5usize, 9usize);
        let r = t[(v * 32 + u) * 3] * 255.0;
        let g = t[(v * 32 + u) * 3 + 1] * 255.0;
        assert!((r - (31 - v) as f32).abs() < 0.01, "r={r}");
        assert!((g - u as f32).abs() < 0.01, "g={g}");
        let p = roi.to_image(u as f32 + 0.5, v as f32 + 0.5, 32.0);
        assert!((p[0] - (31.5 - v as f32)).abs() < 1e-4 && (p[1] - (u as f32 + 0.5)).abs() < 1e-4);
    }

    /// `sample` with every tap read from the image through `edge_tap`: the definition
    /// that the box of converted pixels must reproduce to the bit.
    fn sample_by_edge_taps(image: &RgbImage, roi: &Roi, size: usize) -> Vec<f32> {
        let (w, h) = image.dimensions();
        let step = roi.side / size as f32;
        let (s, c) = roi.angle.sin_cos();
        let origin = roi.to_image(0.5, 0.5, size as f32);
        let (du, dv) = ([c * step, s * step], [-s * step, c * step]);
        let mut out = Vec::with_capacity(size * size * 3);
        for v in 0..size {
            let mut x = origin[0] + dv[0] * v as f32 - 0.5;
            let mut y = origin[1] + dv[1] * v as f32 - 0.5;
            for _ in 0..size {
                let (xi, yi) = (x.floor() as i64, y.floor() as i64);
                let (fx, fy) = (x - xi as f32, y - yi as f32);
                let acc = edge_tap(image.as_raw(), w.into(), h.into(), xi, yi, fx, fy);
                out.extend(acc.map(|a| a * (1.0 / 255.0)));
                x += du[0];
                y += du[1];
            }
        }
        out
    }

    /// An image of noise (xorshift32 from `seed`, three bytes of each value a pixel).
    pub(crate) fn noise_image(width: u32, height: u32, seed: u32) -> RgbImage {
        let mut state = seed;
        RgbImage::from_fn(width, height, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        })
    }

    /// `image` with every pixel outside `region` replaced by `poison`.
    pub(crate) fn poisoned(image: &RgbImage, region: &Region, poison: [u8; 3]) -> RgbImage {
        RgbImage::from_fn(image.width(), image.height(), |x, y| {
            if region.columns.contains(&x) && region.rows.contains(&y) {
                *image.get_pixel(x, y)
            } else {
                image::Rgb(poison)
            }
        })
    }

    #[test]
    fn a_crop_reads_only_its_region() {
        // Crops inside the image, across its edges, turned, enlarged and shrunk (up to the
        // downscale that shrinks the whole image): the same to the bit with every pixel
        // outside `region_read` replaced.
        let img = noise_image(120, 90, 0x1234_5678);
        let mut checked = 0;
        for (cx, cy) in [(60.0, 45.0), (10.3, 80.7), (115.0, 3.0), (-5.0, 40.0)] {
            for side in [9.0, 30.5, 64.0, 127.9] {
                for angle in [0.0, 0.3, -1.2, 2.9] {
                    let roi = Roi {
                        center: [cx, cy],
                        side,
                        angle,
                    };
                    let region = region_read(&roi, 64, 120, 90).expect("at most 2x down");
                    assert!(region.rows.len() < 90 || side > 60.0, "{roi:?}: {region:?}");
                    let want = crop_rotated(&img, &roi, 64).expect("crop");
                    for poison in [[0, 0, 0], [255, 255, 255]] {
                        let got =
                            crop_rotated(&poisoned(&img, &region, poison), &roi, 64).expect("crop");
                        let same = want
                            .iter()
                            .zip(&got)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(same, "{roi:?} reads outside {region:?}");
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 64);
        // More than 2x down: the whole image is shrunk first.
        let big = Roi {
            center: [60.0, 45.0],
            side: 129.0,
            angle: 0.0,
        };
        assert_eq!(region_read(&big, 64, 120, 90), None);
    }

    #[test]
    fn sampling_matches_edge_taps_to_the_bit() {
        // A noisy image, and crops inside it, across its edges and corners, beyond it,
        // turned at several angles, enlarged and shrunk.
        let img = noise_image(97, 61, 0x2545_f491);
        let mut cases = 0;
        // One buffer through all the cases, as frames reuse it: every element must be written.
        let mut got = vec![f32::NAN; 5];
        for center in [
            [48.0, 30.0],
            [3.0, 58.5],
            [96.7, 0.2],
            [-20.0, 30.0],
            [150.0, 90.0],
        ] {
            for side in [9.0, 40.0, 130.0] {
                for angle in [0.0, 0.3, -1.2, std::f32::consts::PI] {
                    let roi = Roi {
                        center,
                        side,
                        angle,
                    };
                    sample(&img, &roi, 23, &mut got);
                    let want = sample_by_edge_taps(&img, &roi, 23);
                    assert_eq!(got.len(), want.len());
                    let same = got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{roi:?}");
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 60);
    }

    #[test]
    fn vectors_of_inside_and_edge_pixels_and_a_tail_match_edge_taps_to_the_bit() {
        // 87 pixels a row: a full chunk and a tail of 23 (no multiple of any lane count),
        // turned across the image's left and bottom edges so that chunks and vectors mix inside
        // pixels (pass 3) with edge ones (pass 4).
        let img = noise_image(140, 100, 0x9e37_79b9);
        let (w, h) = (140.0, 100.0);
        let size = 87;
        let roi = Roi {
            center: [41.5, 50.0],
            side: 87.0,
            angle: 0.3,
        };
        // Which pixels take pass 3, by the test's own positions.
        let inside = |u: usize, v: usize| {
            let [x, y] = roi.to_image(u as f32 + 0.5, v as f32 + 0.5, size as f32);
            let (x, y) = (x - 0.5, y - 0.5);
            (0.0..w - 2.0).contains(&x) && (0.0..h - 1.0).contains(&y)
        };
        let mixed = |us: std::ops::Range<usize>| {
            (0..size).any(|v| {
                let n = us.clone().filter(|&u| inside(u, v)).count();
                n > 0 && n < us.len()
            })
        };
        assert!(
            mixed(0..8) && mixed(CHUNK..size),
            "the crop does not mix the paths"
        );
        let mut got = vec![f32::NAN; 3 * size * size + 7];
        sample(&img, &roi, size, &mut got);
        let want = sample_by_edge_taps(&img, &roi, size);
        assert_eq!(got.len(), want.len());
        let differing = got
            .iter()
            .zip(&want)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(differing, 0);
        // Not all black: the inside pixels are sampled.
        assert!(got.iter().filter(|&&a| a > 0.0).count() > size * size);
    }

    #[test]
    fn roi_around_eyes_is_level_for_level_eyes() {
        let roi = Roi::around([10.0, 20.0, 110.0, 100.0], [40.0, 50.0], [80.0, 50.0], 1.5);
        assert_eq!(roi.center, [60.0, 60.0]);
        assert_eq!(roi.side, 150.0);
        assert_eq!(roi.angle, 0.0);
        assert!(roi.is_valid_for(200, 200));
        assert!(!roi.is_valid_for(0, 0) || roi.center[0] < 75.0);
    }
}
