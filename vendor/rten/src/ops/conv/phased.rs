//! Change 40: a 3-channel NHWC image copied into NCHW planes written with the
//! convolution's zero padding and split into column phases by the stride, so that every
//! im2col row of every panel is one contiguous run of the planes.
//!
//! Change 39 copies such an image (the face mesh's and BlazeFace's first convolutions, over
//! their RGB inputs, with stride 2) into plain NCHW planes: an im2col row then takes every
//! other element of an image row (rten-gemm's stride-2 copy, about 21 instructions a row of
//! 16), and the panels whose kernel columns reach into the padding (TensorFlow's "same"
//! padding puts the mesh's last output column of each row over it) are packed row by row
//! after a test or gathered element by element (about 50-100 instructions a row). Here the
//! copy writes, for each channel `c` and each column phase `p < stride_x`, the plane of the
//! padded image's columns `p, p + stride_x, p + 2 * stride_x, ...` (zeros over the
//! padding). Tap `(ky, kx)` of output `(oy, ox)` reads the padded image at
//! `(oy * stride_y + ky, ox * stride_x + kx)`, which is element `ox + kx / stride_x` of row
//! `oy * stride_y + ky` of phase `kx % stride_x`: the taps of consecutive outputs are
//! consecutive elements, and none lies outside the planes. So the [`Im2Col`] over the planes
//! ([`phased_im2col`]) has step 1 and no padding, and rten-gemm packs each of its panels
//! as whole-panel copies of 16 consecutive elements. The im2col matrix holds the same values
//! (the padding's zeros included) in the same order, so the GEMM computes the same sums in
//! the same order: results are bit-identical.

use std::mem::MaybeUninit;

use rten_gemm::{ColOffsets, Im2Col, RowOffsets};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView};

use crate::buffer_pool::BufferPool;

#[cfg(feature = "kernel-stats")]
static IMAGES_PHASED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many images [`phased_planes_of_interleaved`] has copied since the process started
/// (with the `kernel-stats` feature), for tests to check that a convolution took this path.
#[cfg(feature = "kernel-stats")]
pub fn phased_images_copied() -> usize {
    IMAGES_PHASED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The padded, phased planes of an image batch (`[N, C * stride_x, H_pad, W_phase]`, plane
/// `c * stride_x + p` holding phase `p` of channel `c`), and how they were cut.
pub(super) struct PhasedPlanes<X> {
    pub planes: NdTensor<X, 4>,
    pub chans: usize,
    pub stride_x: usize,
}

/// `input` (`[N, 3, H, W]`) copied into padded, phased planes (see the module's doc) if
/// change 39's `interleaved_rgb` takes it (a view of a contiguous NHWC buffer of a 4-byte
/// element type: f32, i32); `padding` is `[top, left, bottom, right]`. `None` otherwise.
pub(super) fn phased_planes_of_interleaved<X: Copy + Default>(
    pool: &BufferPool,
    input: &NdTensorView<X, 4>,
    padding: [usize; 4],
    stride_x: usize,
) -> Option<PhasedPlanes<X>> {
    if stride_x == 0 {
        return None;
    }
    let (src, [batch, chans, h, w]) = super::planar::interleaved_rgb(input)?;
    let [pad_top, pad_left, pad_bottom, pad_right] = padding;
    let geom = Geometry {
        h,
        w,
        pad_top,
        pad_left,
        plane_h: pad_top + h + pad_bottom,
        plane_w: (pad_left + w + pad_right).div_ceil(stride_x),
        stride_x,
        rows_avx2: stride_x == 2 && avx2_available(),
    };
    let mut out =
        NdTensor::<X, 4>::uninit_in(pool, [batch, chans * stride_x, geom.plane_h, geom.plane_w]);
    let image_len = chans * stride_x * geom.plane_h * geom.plane_w;
    // The values are copied as `u32` bit patterns; zero is `X::default()`'s bits for f32
    // and i32.
    let dst = super::planar::u32_slots(out.data_mut().expect("new tensor is contiguous"));
    for (src, dst) in src
        .chunks_exact(chans * h * w)
        .zip(dst.chunks_exact_mut(image_len))
    {
        geom.copy_image(src, dst);
    }
    #[cfg(feature = "kernel-stats")]
    IMAGES_PHASED.fetch_add(batch, std::sync::atomic::Ordering::Relaxed);
    // Safety: `copy_image` wrote every element of every image.
    let planes = unsafe { out.assume_init() };
    Some(PhasedPlanes {
        planes,
        chans,
        stride_x,
    })
}

/// The shapes of one image and of its padded, phased planes.
struct Geometry {
    h: usize,
    w: usize,
    pad_top: usize,
    pad_left: usize,
    plane_h: usize,
    plane_w: usize,
    stride_x: usize,
    /// Whether [`Geometry::row_stride2_avx2`] copies the pixels (stride 2, AVX2 available):
    /// decided once per call.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    rows_avx2: bool,
}

/// Whether the CPU has AVX2 (false on other architectures).
fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return true;
    }
    false
}

impl Geometry {
    /// Copy the 3-channel interleaved pixels of one image (`src`, `h * w * 3`) into its
    /// `3 * stride_x` planes (`dst`), writing every element: zeros over the padding.
    fn copy_image(&self, src: &[u32], dst: &mut [MaybeUninit<u32>]) {
        let (s, plane_w) = (self.stride_x, self.plane_w);
        let plane_len = self.plane_h * plane_w;
        assert!(src.len() == 3 * self.h * self.w && dst.len() == 3 * s * plane_len);
        // The padded image's columns: `pad_left` zeros, the pixels, then zeros up to
        // `s * plane_w` (the phases' last elements past the padded width included).
        // Column `col` of channel `c`, row `py`, is element `at(c, py, col)` of `dst`.
        let (pixels_start, pixels_end) = (self.pad_left, self.pad_left + self.w);
        let at = |c: usize, py: usize, col: usize| {
            (c * s + col % s) * plane_len + py * plane_w + col / s
        };
        for py in 0..self.plane_h {
            let Some(y) = py.checked_sub(self.pad_top).filter(|&y| y < self.h) else {
                for plane in dst.chunks_exact_mut(plane_len) {
                    for el in &mut plane[py * plane_w..][..plane_w] {
                        el.write(0);
                    }
                }
                continue;
            };
            for c in 0..3 {
                for col in (0..pixels_start).chain(pixels_end..s * plane_w) {
                    dst[at(c, py, col)].write(0);
                }
            }
            let src_row = &src[3 * y * self.w..][..3 * self.w];
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if self.rows_avx2 {
                // Safety: `rows_avx2` says AVX2 is available.
                done = unsafe { self.row_stride2_avx2(src_row, dst, py) };
            }
            for x in done..self.w {
                for c in 0..3 {
                    dst[at(c, py, pixels_start + x)].write(src_row[3 * x + c]);
                }
            }
        }
    }

    /// The pixels of one image row (`src_row`, `3 * w` interleaved values) in whole groups
    /// of 8 written to row `py` of their planes in `dst` (one image's); returns how many
    /// pixels it wrote. Stride 2 only.
    ///
    /// # Safety
    ///
    /// AVX2 must be available.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn row_stride2_avx2(
        &self,
        src_row: &[u32],
        dst: &mut [MaybeUninit<u32>],
        py: usize,
    ) -> usize {
        use std::arch::x86_64::*;

        assert_eq!(self.stride_x, 2);
        let groups = self.w / 8;
        let plane_len = self.plane_h * self.plane_w;
        // Pixel `x` is at padded column `pad_left + x`: the even pixels of group `g` (of 8)
        // are in phase `pad_left % 2` from element `pad_left / 2 + 4 * g`, the odd ones in
        // the other phase from element `pad_left.div_ceil(2) + 4 * g`; channel `c`'s phases
        // are planes `2 * c` and `2 * c + 1`.
        let row = py * self.plane_w;
        let even = (self.pad_left % 2) * plane_len + row + self.pad_left / 2;
        let odd = ((self.pad_left + 1) % 2) * plane_len + row + self.pad_left.div_ceil(2);
        assert!(src_row.len() >= 24 * groups);
        assert!(4 * plane_len + even.max(odd) + 4 * groups <= dst.len());
        // Each channel's 8 values gathered by change 39's `channels_of_8_pixels`, then one
        // permute puts the even pixels in the low half, in order, and the odd ones in the
        // high half.
        let order0 = _mm256_setr_epi32(0, 6, 4, 2, 3, 1, 7, 5);
        let order1 = _mm256_setr_epi32(1, 7, 5, 3, 4, 2, 0, 6);
        let order2 = _mm256_setr_epi32(2, 0, 6, 4, 5, 3, 1, 7);
        let src = src_row.as_ptr();
        let out = dst.as_mut_ptr() as *mut u32;
        for g in 0..groups {
            // Safety: pixels `8 * g..8 * g + 8` are in `src_row`, and elements
            // `4 * g..4 * g + 4` from `even` and `odd` in each channel's planes are in
            // `dst` (asserted above).
            unsafe {
                let [c0, c1, c2] = super::planar::channels_of_8_pixels(src.add(24 * g));
                for (c, sorted) in [
                    _mm256_permutevar8x32_epi32(c0, order0),
                    _mm256_permutevar8x32_epi32(c1, order1),
                    _mm256_permutevar8x32_epi32(c2, order2),
                ]
                .into_iter()
                .enumerate()
                {
                    let q = out.add(2 * c * plane_len + 4 * g);
                    _mm_storeu_si128(q.add(even) as *mut __m128i, _mm256_castsi256_si128(sorted));
                    _mm_storeu_si128(
                        q.add(odd) as *mut __m128i,
                        _mm256_extracti128_si256::<1>(sorted),
                    );
                }
            }
        }
        groups * 8
    }
}

/// The im2col matrix of a convolution (kernel `[k_h, k_w]`, strides `stride_y` and the
/// planes' `stride_x`, no dilation, `out_hw` outputs) over one image's padded, phased planes
/// (`[C * stride_x, H_pad, W_phase]`, contiguous): row `(c, ky, kx)` reads plane
/// `c * stride_x + kx % stride_x` from row `ky` and element `kx / stride_x`, column
/// `(oy, ox)` from row `oy * stride_y` and element `ox`. Every element of the used rows and
/// columns lies in the planes (the padding is in them), as [`Im2Col`]'s offsets and bounds
/// say; the columns and rows added up to `col_count_step` and `row_count_step` are as
/// `build_im2col` makes them.
#[allow(clippy::too_many_arguments)]
pub(super) fn phased_im2col<'a, X>(
    planes: NdTensorView<'a, X, 3>,
    chans: usize,
    stride_x: usize,
    kernel: [usize; 2],
    stride_y: usize,
    out_hw: [usize; 2],
    col_count_step: usize,
    row_count_step: usize,
) -> Im2Col<'a, X> {
    let [n_planes, plane_h, plane_w] = planes.shape();
    let [k_h, k_w] = kernel;
    let [out_h, out_w] = out_hw;
    assert!(planes.is_contiguous() && n_planes == chans * stride_x);
    assert!((out_h - 1) * stride_y + k_h <= plane_h);
    assert!(out_w - 1 + (k_w - 1) / stride_x < plane_w);
    let to_i32 = |x: usize| i32::try_from(x).expect("invalid im2col params");
    let plane_len = plane_h * plane_w;
    let max_y_offset = to_i32((plane_h - 1) * plane_w);
    let max_x_offset = to_i32(plane_w - 1);

    let n_rows = chans * k_h * k_w;
    let n_rows_padded = n_rows.next_multiple_of(row_count_step);
    let mut chan = Vec::with_capacity(n_rows_padded);
    let mut y = Vec::with_capacity(n_rows_padded);
    let mut x = Vec::with_capacity(n_rows_padded);
    for c in 0..chans {
        for ky in 0..k_h {
            for kx in 0..k_w {
                chan.push(to_i32((c * stride_x + kx % stride_x) * plane_len));
                y.push(to_i32(ky * plane_w));
                x.push(to_i32(kx / stride_x));
            }
        }
    }
    for _ in n_rows..n_rows_padded {
        chan.push(0);
        x.push(max_x_offset + 1);
        y.push(max_y_offset + 1);
    }

    let n_cols = out_h * out_w;
    let n_cols_padded = n_cols.next_multiple_of(col_count_step);
    let mut col_y = Vec::with_capacity(n_cols_padded);
    let mut col_x = Vec::with_capacity(n_cols_padded);
    for oy in 0..n_cols_padded.div_ceil(out_w) {
        let n = out_w.min(n_cols_padded - oy * out_w);
        col_y.extend(std::iter::repeat_n(to_i32(oy * stride_y * plane_w), n));
        col_x.extend((0..n).map(|ox| ox as i32));
    }

    Im2Col {
        image: planes,
        n_rows,
        n_cols,
        row_offsets: RowOffsets { chan, y, x },
        col_offsets: ColOffsets { y: col_y, x: col_x },
        max_y_offset,
        max_x_offset,
    }
}
