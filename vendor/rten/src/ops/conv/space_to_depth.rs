//! Change 42: a convolution whose kernel is its stride (`k_h == stride_y`, `k_w == stride_x`,
//! no padding, no dilation, one group: the 2x2 stride-2 downsampling convolutions of
//! MobileNet-style networks such as the face mesh) computed as a 1x1 convolution of the
//! input rearranged by a space-to-depth copy.
//!
//! The windows of such a convolution do not overlap, so its im2col matrix holds each input
//! element once, and `build_im2col`'s panels copy it with stride `k_w` from the image, with
//! the per-panel bookkeeping of a general im2col. Here the matrix (`[C * k_h * k_w, out_h *
//! out_w]`, row `(c, ky, kx)`, column `(oy, ox)`, the im2col matrix's order) is written once
//! by a plain copy and handed to the GEMM as an ordinary matrix, which packs it as it packs a
//! 1x1 convolution's input (for one row block, in the kernel's first row tile: change 32).
//! The values and their order along the depth are those of the im2col matrix, and the depth
//! is blocked alike, so the results are bit-identical.

use std::mem::MaybeUninit;

use rten_gemm::{GemmExecutor, GemmInT, GemmInputA, GemmInputB, GemmOutT};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView, Tensor};

use super::{RowAct, gemm_with_row_bias};
use crate::buffer_pool::{AutoReturn, BufferPool};

#[cfg(feature = "kernel-stats")]
static IMAGES_REARRANGED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many images [`conv_2d_space_to_depth`] has rearranged since the process started (with
/// the `kernel-stats` feature), for tests to check that a convolution took this path.
#[cfg(feature = "kernel-stats")]
pub fn space_to_depth_images() -> usize {
    IMAGES_REARRANGED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether a 2D convolution with these parameters is one that [`conv_2d_space_to_depth`]
/// computes: a kernel larger than 1x1 (1x1 is `conv_2d_pointwise`'s) that equals its
/// stride, with no padding, dilation or groups, and no quantization.
pub(super) fn applies(
    kernel_hw: [usize; 2],
    strides: [usize; 2],
    padding: [usize; 4],
    dilations: [usize; 2],
    groups: usize,
    quantized: bool,
) -> bool {
    kernel_hw == strides
        && kernel_hw != [1, 1]
        && padding == [0; 4]
        && dilations == [1, 1]
        && groups == 1
        && !quantized
}

/// Compute `prelu(conv(input, kernel) + bias + residual)` for a convolution that
/// [`applies`], with `out_hw` its output size (`in_h / k_h`, `in_w / k_w`, rounded down:
/// the input's last rows or columns that a window does not cover are not read).
/// `residual`, if any, is contiguous with the output's shape, and `act`, if any, is a PRelu with one slope
/// per output channel (as for [`gemm_with_row_bias`]). `gemm` is the caller's executor
/// (one a convolution call).
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_2d_space_to_depth<X: GemmInT, W: GemmInT, Y: GemmOutT>(
    pool: &BufferPool,
    gemm: &GemmExecutor<W, X, Y>,
    input: &NdTensorView<X, 4>,
    kernel: &NdTensorView<W, 4>,
    bias: Option<NdTensorView<Y, 1>>,
    out_hw: [usize; 2],
    residual: Option<&[Y]>,
    act: Option<RowAct<'_, Y>>,
) -> Tensor<Y> {
    let [batch, in_c, in_h, in_w] = input.shape();
    let [out_c, _, k_h, k_w] = kernel.shape();
    let [out_h, out_w] = out_hw;
    let depth = in_c * k_h * k_w;
    let n_cols = out_h * out_w;

    let kernel_mat = kernel.reshaped_in(pool, [out_c, depth]).auto_return(pool);
    let bias = bias.as_ref().map(|b| b.to_contiguous());

    let mut output = NdTensor::uninit_in(pool, [batch, out_c, n_cols]);
    let mut rearranged = NdTensor::<X, 2>::uninit_in(pool, [depth, n_cols]).auto_return(pool);
    // An input with another layout (such as a permuted view, see `TransposeFusion`) is
    // copied first.
    let input = input.to_contiguous_in(pool).auto_return(pool);
    let item_len = out_c * n_cols;
    for n in 0..batch {
        let image = input.slice(n);
        space_to_depth(
            image.data().expect("contiguous"),
            [in_h, in_w],
            [k_h, k_w],
            out_hw,
            rearranged.data_mut().expect("new tensor is contiguous"),
        );
        // Safety: `space_to_depth` wrote every element.
        let matrix = unsafe { rearranged.view().assume_init() };
        let mut out_item = output.slice_mut([n]);
        gemm_with_row_bias(
            gemm,
            out_item.data_mut().expect("new tensor is contiguous"),
            n_cols,
            GemmInputA::Unpacked(kernel_mat.view()),
            GemmInputB::Unpacked(matrix),
            bias.as_ref().map(|b| b.data()),
            residual.map(|r| &r[n * item_len..][..item_len]),
            act,
            None,
            None,
        );
    }
    #[cfg(feature = "kernel-stats")]
    IMAGES_REARRANGED.fetch_add(batch, std::sync::atomic::Ordering::Relaxed);

    // Safety: `gemm_with_row_bias` wrote every element of every image.
    let output = unsafe { output.assume_init() };
    output.into_shape([batch, out_c, out_h, out_w]).into_dyn()
}

/// Write the im2col matrix of a convolution with non-overlapping `k_h x k_w` windows and no
/// padding over `image` (`[C, H, W]`, contiguous) into `out` (`[C * k_h * k_w, out_h *
/// out_w]`): `out[(c * k_h + ky) * k_w + kx][oy * out_w + ox] = image[c][oy * k_h + ky][ox *
/// k_w + kx]`. Each input row is read once, into `k_w` output rows.
fn space_to_depth<X: Copy>(
    image: &[X],
    [in_h, in_w]: [usize; 2],
    [k_h, k_w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
    out: &mut [MaybeUninit<X>],
) {
    let n_cols = out_h * out_w;
    assert_eq!(image.len() % (in_h * in_w), 0);
    let chans = image.len() / (in_h * in_w);
    assert_eq!(out.len(), chans * k_h * k_w * n_cols);
    assert!(out_h * k_h <= in_h && out_w * k_w <= in_w);
    #[cfg(target_arch = "x86_64")]
    let avx2 = k_w == 2
        && size_of::<X>() == 4
        && align_of::<X>() == 4
        && std::arch::is_x86_feature_detected!("avx2");
    // Rows of `out` by (c, ky): `k_w` rows each, one per kernel column, read from the image
    // rows `ky, ky + k_h, ...` of channel `c`.
    for (c_ky, rows) in out.chunks_exact_mut(k_w * n_cols).enumerate() {
        let (c, ky) = (c_ky / k_h, c_ky % k_h);
        let src = &image[(c * in_h + ky) * in_w..];
        // The last image row read ends at `(out_h - 1) * k_h * in_w + out_w * k_w`.
        let src = &src[..(out_h - 1) * k_h * in_w + out_w * k_w];
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            let (even, odd) = rows.split_at_mut(n_cols);
            // Safety: AVX2 is available; `X` is 4 bytes in size and alignment, so its values
            // are copied as `f32` bit patterns (moves and shuffles, no arithmetic); `src`
            // holds the image rows read (checked above), `even` and `odd` `out_h * out_w`
            // elements each.
            unsafe {
                deinterleave2_rows_avx2(
                    src.as_ptr() as *const f32,
                    k_h * in_w,
                    [out_h, out_w],
                    even.as_mut_ptr() as *mut f32,
                    odd.as_mut_ptr() as *mut f32,
                );
            }
            continue;
        }
        for oy in 0..out_h {
            let src = &src[oy * k_h * in_w..][..out_w * k_w];
            for kx in 0..k_w {
                let row = &mut rows[kx * n_cols + oy * out_w..][..out_w];
                for (x, window) in row.iter_mut().zip(src.chunks_exact(k_w)) {
                    x.write(window[kx]);
                }
            }
        }
    }
}

/// The even and odd elements of `rows` rows of `2 * width` 4-byte elements, `row_stride`
/// apart from `src`, copied into `even` and `odd` (`rows * width` elements each, row after
/// row): 16 elements a step with AVX2, then 8 with SSE, then one pair at a time.
///
/// # Safety
///
/// AVX2 must be available; `src` holds `(rows - 1) * row_stride + 2 * width` elements,
/// `even` and `odd` `rows * width` each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn deinterleave2_rows_avx2(
    src: *const f32,
    row_stride: usize,
    [rows, width]: [usize; 2],
    even: *mut f32,
    odd: *mut f32,
) {
    use std::arch::x86_64::*;

    for r in 0..rows {
        // Safety: the row's `2 * width` elements are in `src`, its `width` in `even` and
        // `odd`; each access below stays within them.
        unsafe {
            let (s, e, o) = (
                src.add(r * row_stride),
                even.add(r * width),
                odd.add(r * width),
            );
            let mut j = 0;
            while j + 8 <= width {
                let (v0, v1) = (
                    _mm256_loadu_ps(s.add(2 * j)),
                    _mm256_loadu_ps(s.add(2 * j + 8)),
                );
                // Per 128-bit lane: [v0 0 2, v1 0 2] | [v0 4 6, v1 4 6]; then the 64-bit
                // pairs in the order 0, 2, 1, 3.
                let ev = _mm256_shuffle_ps::<0b10_00_10_00>(v0, v1);
                let od = _mm256_shuffle_ps::<0b11_01_11_01>(v0, v1);
                let ev = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(ev));
                let od = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(od));
                _mm256_storeu_ps(e.add(j), _mm256_castpd_ps(ev));
                _mm256_storeu_ps(o.add(j), _mm256_castpd_ps(od));
                j += 8;
            }
            if j + 4 <= width {
                let (v0, v1) = (_mm_loadu_ps(s.add(2 * j)), _mm_loadu_ps(s.add(2 * j + 4)));
                _mm_storeu_ps(e.add(j), _mm_shuffle_ps::<0b10_00_10_00>(v0, v1));
                _mm_storeu_ps(o.add(j), _mm_shuffle_ps::<0b11_01_11_01>(v0, v1));
                j += 4;
            }
            while j < width {
                *e.add(j) = *s.add(2 * j);
                *o.add(j) = *s.add(2 * j + 1);
                j += 1;
            }
        }
    }
}
