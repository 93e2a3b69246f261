//! Tests of the changes this copy of rten carries (see README.md), against plain reference
//! implementations. They use only the public API, so they run without rten's unpublished
//! test helpers:
//!
//! ```text
//! cargo test --manifest-path vendor/rten/Cargo.toml --features kernel-stats --test patched_kernels
//! ```

use std::sync::Mutex;

use rten::BufferPool;
use rten::ops::{
    ChannelPads, PadMode, Padding, conv, conv_add, conv_prelu, conv_relu, max_pool, max_pool_pad,
    pad, prelu, prelu_in_place,
};
use rten::{Model, ModelOptions, NodeId, ValueOrView};
use rten_gemm::EpilogueKernelStats;
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView, Tensor, TensorView};

/// Held by the tests that run depthwise convolutions, so that the one that counts them
/// (`depthwise_conv_matches_the_reference`, with `kernel-stats`) counts only its own: the
/// counters are global and the tests of this binary run in parallel threads.
static DEPTHWISE_COUNTS: Mutex<()> = Mutex::new(());

/// Held by the tests that run max pools (change 8's counts the 2x2 kernel's planes
/// exactly; change 48's pools into padded outputs with the same kernel).
static MAX_POOL_COUNTS: Mutex<()> = Mutex::new(());

/// A deterministic pseudo-random value in [-1, 1) for element `i` of tensor `seed`.
fn value(seed: u64, i: usize) -> f32 {
    let mut x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i as u64 + 1);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    (x % 20_000) as f32 / 10_000.0 - 1.0
}

fn tensor(seed: u64, shape: &[usize]) -> Tensor<f32> {
    let len = shape.iter().product();
    Tensor::from_data(shape, (0..len).map(|i| value(seed, i)).collect::<Vec<_>>())
}

struct Case {
    channels: usize,
    in_hw: [usize; 2],
    kernel: [usize; 2],
    /// top, left, bottom, right
    pads: [usize; 4],
    strides: [usize; 2],
    dilations: [usize; 2],
}

impl Case {
    /// Output rows (over all channels) whose whole kernel lies over the image, which the
    /// SIMD kernel computes with its code unrolled for 3x3 and 5x5 kernels.
    fn unrolled_rows(&self) -> usize {
        self.rows_inside_and_at_the_edges().0
    }

    /// Output rows (over all channels) with part of the kernel over the padding above or
    /// below the image, which the SIMD kernel computes with its code unrolled for the width
    /// of 3x3 and 5x5 kernels (change 29).
    fn unrolled_edge_rows(&self) -> usize {
        self.rows_inside_and_at_the_edges().1
    }

    /// Output rows (over all channels) of a 3x3 or 5x5 kernel with the whole kernel over the
    /// image, and the others; (0, 0) for other kernel sizes.
    fn rows_inside_and_at_the_edges(&self) -> (usize, usize) {
        let [in_h, _] = self.in_hw;
        let [k_h, k_w] = self.kernel;
        let [pad_top, _, pad_bottom, _] = self.pads;
        let [stride_y, _] = self.strides;
        let [dil_y, _] = self.dilations;
        if !matches!((k_h, k_w), (3, 3) | (5, 5)) {
            return (0, 0);
        }
        let out_h = (in_h + pad_top + pad_bottom - dil_y * (k_h - 1) - 1) / stride_y + 1;
        let inside = (0..out_h)
            .filter(|y| {
                let top = y * stride_y;
                top >= pad_top && top + dil_y * (k_h - 1) < pad_top + in_h
            })
            .count();
        (inside * self.channels, (out_h - inside) * self.channels)
    }

    /// Input rows that the SIMD kernel copies into its padded rows one element at a time:
    /// those of strides other than 1 (vector copies) and 2 (the two phases copied in pairs).
    fn elementwise_copied_rows(&self) -> usize {
        if matches!(self.strides[1], 1 | 2) {
            0
        } else {
            self.in_hw[0] * self.channels
        }
    }
}

/// Depthwise convolution as the SIMD kernel sums it: `bias`, then for each kernel row over
/// the image and each kernel column, one fused multiply-add, with zero for a column in the
/// padding. The kernel's results must match it to the bit, whatever path (unrolled or not,
/// vector, paired or element-wise copies of the input) computed them.
fn kernel_order_depthwise(
    case: &Case,
    input: &Tensor<f32>,
    kernel: &Tensor<f32>,
    bias: &[f32],
) -> Tensor<f32> {
    let [in_h, in_w] = case.in_hw;
    let [k_h, k_w] = case.kernel;
    let [pad_top, pad_left, pad_bottom, pad_right] = case.pads;
    let [stride_y, stride_x] = case.strides;
    let [dil_y, dil_x] = case.dilations;
    let out_h = (in_h + pad_top + pad_bottom - dil_y * (k_h - 1) - 1) / stride_y + 1;
    let out_w = (in_w + pad_left + pad_right - dil_x * (k_w - 1) - 1) / stride_x + 1;
    let mut out = NdTensor::zeros([1, case.channels, out_h, out_w]);
    let input = input.nd_view::<4>();
    let kernel = kernel.nd_view::<4>();
    for c in 0..case.channels {
        for y in 0..out_h {
            for x in 0..out_w {
                let mut sum = bias[c];
                for ky in 0..k_h {
                    let iy = (y * stride_y + ky * dil_y) as isize - pad_top as isize;
                    if iy < 0 || iy >= in_h as isize {
                        continue;
                    }
                    for kx in 0..k_w {
                        let ix = (x * stride_x + kx * dil_x) as isize - pad_left as isize;
                        let v = if ix < 0 || ix >= in_w as isize {
                            0.
                        } else {
                            input[[0, c, iy as usize, ix as usize]]
                        };
                        sum = v.mul_add(kernel[[c, 0, ky, kx]], sum);
                    }
                }
                out[[0, c, y, x]] = sum;
            }
        }
    }
    out.into_dyn()
}

/// Whether rten's SIMD code on this machine multiplies and adds in one rounding, as
/// [`kernel_order_depthwise`] does (AVX2 + FMA, AVX-512 or Neon; not the generic fallback).
fn simd_has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Depthwise convolution (one kernel per channel) by the definition.
fn reference_depthwise(
    case: &Case,
    input: &Tensor<f32>,
    kernel: &Tensor<f32>,
    bias: &[f32],
) -> Tensor<f32> {
    let [in_h, in_w] = case.in_hw;
    let [k_h, k_w] = case.kernel;
    let [pad_top, pad_left, pad_bottom, pad_right] = case.pads;
    let [stride_y, stride_x] = case.strides;
    let [dil_y, dil_x] = case.dilations;
    let out_h = (in_h + pad_top + pad_bottom - dil_y * (k_h - 1) - 1) / stride_y + 1;
    let out_w = (in_w + pad_left + pad_right - dil_x * (k_w - 1) - 1) / stride_x + 1;
    let mut out = NdTensor::zeros([1, case.channels, out_h, out_w]);
    let input = input.nd_view::<4>();
    let kernel = kernel.nd_view::<4>();
    for c in 0..case.channels {
        for y in 0..out_h {
            for x in 0..out_w {
                let mut sum = bias[c];
                for ky in 0..k_h {
                    for kx in 0..k_w {
                        let iy = (y * stride_y + ky * dil_y) as isize - pad_top as isize;
                        let ix = (x * stride_x + kx * dil_x) as isize - pad_left as isize;
                        if iy < 0 || ix < 0 || iy >= in_h as isize || ix >= in_w as isize {
                            continue;
                        }
                        sum += input[[0, c, iy as usize, ix as usize]] * kernel[[c, 0, ky, kx]];
                    }
                }
                out[[0, c, y, x]] = sum;
            }
        }
    }
    out.into_dyn()
}

fn assert_close(actual: &Tensor<f32>, expected: &Tensor<f32>, what: &str) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape");
    for (i, (a, e)) in actual.iter().zip(expected.iter()).enumerate() {
        assert!(
            (a - e).abs() <= 1e-4 * (1.0 + e.abs()),
            "{what}: element {i} is {a}, expected {e}"
        );
    }
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // Widths around the vector sizes (4, 8, 16 lanes, blocks of 4 vectors), the shapes of
    // MobileNet-style networks (3x3, "same" padding, strides 1 and 2 with TensorFlow's
    // bottom/right padding), and the unusual: 5x5 (strides 1 and 2), 1x3, dilation,
    // asymmetric padding.
    for in_w in [1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 65, 80] {
        cases.push(Case {
            channels: 3,
            in_hw: [5, in_w],
            kernel: [3, 3],
            pads: [1, 1, 1, 1],
            strides: [1, 1],
            dilations: [1, 1],
        });
        cases.push(Case {
            channels: 2,
            in_hw: [6, in_w + 1],
            kernel: [3, 3],
            pads: [0, 0, 1, 1],
            strides: [2, 2],
            dilations: [1, 1],
        });
    }
    cases.push(Case {
        channels: 4,
        in_hw: [9, 20],
        kernel: [5, 5],
        pads: [2, 2, 2, 2],
        strides: [1, 1],
        dilations: [1, 1],
    });
    cases.push(Case {
        channels: 3,
        in_hw: [12, 33],
        kernel: [5, 5],
        pads: [1, 1, 2, 2],
        strides: [2, 2],
        dilations: [1, 1],
    });
    cases.push(Case {
        channels: 2,
        in_hw: [4, 37],
        kernel: [1, 3],
        pads: [0, 2, 0, 0],
        strides: [1, 3],
        dilations: [1, 1],
    });
    cases.push(Case {
        channels: 2,
        in_hw: [11, 23],
        kernel: [3, 3],
        pads: [2, 2, 2, 2],
        strides: [1, 1],
        dilations: [2, 2],
    });
    // Change 28: many inner rows computed a column of blocks at a time, with blocks of 4
    // vectors, single vectors and a masked last one in each row (75 = 2 x 32 + 8 + 3 with 8
    // lanes, 64 + 11 with 16), rows 2 apart in the input (stride 2 down, 1 across).
    cases.push(Case {
        channels: 2,
        in_hw: [19, 75],
        kernel: [3, 3],
        pads: [1, 1, 1, 1],
        strides: [2, 1],
        dilations: [1, 1],
    });
    // A kernel over the whole unpadded input (one output per channel). Two channels: with
    // one, `groups` = 1 and the convolution is a vector-matrix product (change 10).
    cases.push(Case {
        channels: 2,
        in_hw: [3, 3],
        kernel: [3, 3],
        pads: [0, 0, 0, 0],
        strides: [1, 1],
        dilations: [1, 1],
    });
    cases
}

/// Run `case` as a depthwise convolution through rten's public `conv`.
fn run_depthwise(
    pool: &BufferPool,
    case: &Case,
    input: &Tensor<f32>,
    kernel: &Tensor<f32>,
    bias: Option<&[f32]>,
) -> Tensor<f32> {
    let bias = bias.map(|b| NdTensor::from_data([b.len()], b.to_vec()));
    conv(
        pool,
        input.view(),
        kernel.view(),
        bias.as_ref().map(|b| b.view()),
        Padding::Fixed(case.pads.into()),
        case.channels,
        &case.strides,
        &case.dilations,
    )
    .expect("conv")
}

/// Change 11's cases: many channels of small planes, which the SIMD kernel takes in blocks
/// of about 4 K outputs (the deep layers of MobileNet-style networks: 64 to 256 channels of
/// 1x1 to 8x8), the blocks' geometry changing from case to case so that each finds the
/// scratch rows (reused on each thread) laid out for another.
fn block_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (channels, in_hw, kernel, pads, strides) in [
        (64, [2, 2], [3, 3], [1, 1, 1, 1], [1, 1]),
        (1, [40, 70], [3, 3], [1, 1, 1, 1], [1, 1]),
        (64, [4, 4], [3, 3], [1, 1, 1, 1], [1, 1]),
        (256, [1, 1], [3, 3], [1, 1, 1, 1], [1, 1]),
        (2, [33, 66], [5, 5], [2, 2, 2, 2], [1, 1]),
        (64, [8, 8], [3, 3], [0, 0, 1, 1], [2, 2]),
        (96, [8, 8], [5, 5], [2, 2, 2, 2], [1, 1]),
        (72, [5, 9], [3, 3], [2, 1, 0, 3], [1, 2]),
        (80, [6, 6], [1, 3], [0, 1, 0, 1], [1, 1]),
    ] {
        cases.push(Case {
            channels,
            in_hw,
            kernel,
            pads,
            strides,
            dilations: [1, 1],
        });
    }
    cases
}

#[test]
fn depthwise_conv_matches_the_reference() {
    let _counting = DEPTHWISE_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    #[cfg(feature = "kernel-stats")]
    let before = rten::ops::depthwise_kernel_stats();
    let pool = BufferPool::new();
    // Channels and unrolled rows that the depthwise kernels should count.
    let (mut channels, mut unrolled, mut unrolled_edge, mut elementwise) = (0, 0, 0, 0);
    for (n, case) in cases().iter().enumerate() {
        let c = case.channels;
        let input = tensor(n as u64, &[1, c, case.in_hw[0], case.in_hw[1]]);
        let kernel = tensor(1000 + n as u64, &[c, 1, case.kernel[0], case.kernel[1]]);
        let bias: Vec<f32> = (0..c).map(|i| value(2000 + n as u64, i)).collect();
        let what = format!(
            "case {n}: {}x{} input, {:?} kernel, pads {:?}, strides {:?}, dilations {:?}",
            case.in_hw[0], case.in_hw[1], case.kernel, case.pads, case.strides, case.dilations
        );

        let actual = run_depthwise(&pool, case, &input, &kernel, Some(&bias));
        let expected = reference_depthwise(case, &input, &kernel, &bias);
        assert_close(&actual, &expected, &what);
        if simd_has_fma() {
            let exact = kernel_order_depthwise(case, &input, &kernel, &bias);
            assert_same_bits(&actual, &exact, &what);
        }
        channels += c;
        unrolled += case.unrolled_rows();
        unrolled_edge += case.unrolled_edge_rows();
        elementwise += case.elementwise_copied_rows();
    }

    // Change 11: channels in blocks, with and without bias, match the reference, and each
    // block's results are the same to the bit as those of the same channels computed two at
    // a time (each pair a block of its own, so every channel's scratch rows laid out anew).
    for (n, case) in block_cases().iter().enumerate() {
        let c = case.channels;
        let [in_h, in_w] = case.in_hw;
        let [k_h, k_w] = case.kernel;
        let input = tensor(6000 + n as u64, &[1, c, in_h, in_w]);
        let kernel = tensor(7000 + n as u64, &[c, 1, k_h, k_w]);
        let bias: Vec<f32> = (0..c).map(|i| value(8000 + n as u64, i)).collect();
        for with_bias in [true, false] {
            let what = format!(
                "block case {n}: {c} channels of {in_h}x{in_w}, {:?} kernel, pads {:?}, \
                 strides {:?}, bias {with_bias}",
                case.kernel, case.pads, case.strides
            );
            let bias = with_bias.then_some(&bias[..]);
            let actual = run_depthwise(&pool, case, &input, &kernel, bias);
            let zeros = vec![0.; c];
            let expected = reference_depthwise(case, &input, &kernel, bias.unwrap_or(&zeros));
            assert_close(&actual, &expected, &what);
            if simd_has_fma() {
                let exact = kernel_order_depthwise(case, &input, &kernel, bias.unwrap_or(&zeros));
                assert_same_bits(&actual, &exact, &what);
            }
            channels += c;
            unrolled += case.unrolled_rows();
            unrolled_edge += case.unrolled_edge_rows();
            elementwise += case.elementwise_copied_rows();

            for first in (0..c).step_by(2) {
                let pair = first..(first + 2).min(c);
                let pair_case = Case {
                    channels: pair.len(),
                    ..*case
                };
                let pair_input = input.slice((.., pair.clone())).to_tensor();
                let pair_kernel = kernel.slice(pair.clone()).to_tensor();
                let pair_bias = bias.map(|b| &b[pair.clone()]);
                let pair_actual =
                    run_depthwise(&pool, &pair_case, &pair_input, &pair_kernel, pair_bias);
                let block = actual.slice((.., pair.clone()));
                assert_eq!(block.shape(), pair_actual.shape(), "{what}");
                for (i, (a, p)) in block.iter().zip(pair_actual.iter()).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        p.to_bits(),
                        "{what}: channels {pair:?}, element {i}: {a} in blocks, {p} by pairs"
                    );
                }
                channels += pair_case.channels;
                unrolled += pair_case.unrolled_rows();
                unrolled_edge += pair_case.unrolled_edge_rows();
                elementwise += pair_case.elementwise_copied_rows();
            }
        }
    }

    // With the `kernel-stats` feature, also check that every case ran in the SIMD kernel
    // (the results alone cannot tell: the generic kernel computes the same values). The
    // other tests that run depthwise convolutions wait for `DEPTHWISE_COUNTS`.
    #[cfg(feature = "kernel-stats")]
    {
        let after = rten::ops::depthwise_kernel_stats();
        let stats = rten::ops::DepthwiseKernelStats {
            whole_channel: after.whole_channel - before.whole_channel,
            row_by_row: after.row_by_row - before.row_by_row,
            unrolled_rows: after.unrolled_rows - before.unrolled_rows,
            unrolled_edge_rows: after.unrolled_edge_rows - before.unrolled_edge_rows,
            elementwise_copied_rows: after.elementwise_copied_rows - before.elementwise_copied_rows,
        };
        assert_eq!(stats.whole_channel, channels, "{stats:?}");
        assert_eq!(stats.row_by_row, 0, "{stats:?}");
        // The rows with the whole kernel over the image, and only those, ran the code
        // unrolled for 3x3 and 5x5 kernels (the same sums in the same order).
        assert!(unrolled > 100, "{unrolled}");
        assert_eq!(stats.unrolled_rows, unrolled, "{stats:?}");
        // Change 29: and the other rows of those kernels (at the top and bottom edges) ran
        // the code unrolled for their width, over the kernel rows on the image.
        assert!(unrolled_edge > 100, "{unrolled_edge}");
        assert_eq!(stats.unrolled_edge_rows, unrolled_edge, "{stats:?}");
        // Change 21: the input rows of strides 1 and 2 were copied by the vector and paired
        // copies, and only those of other strides one element at a time.
        assert!(elementwise > 0, "{elementwise}");
        assert_eq!(stats.elementwise_copied_rows, elementwise, "{stats:?}");
    }
    #[cfg(not(feature = "kernel-stats"))]
    let _ = (channels, unrolled, unrolled_edge, elementwise);
}

/// A dense convolution (`groups` = 1) by the definition, `bias` (if any) added to each
/// output channel.
fn reference_conv(
    case: &Case,
    out_channels: usize,
    input: &Tensor<f32>,
    kernel: &Tensor<f32>,
    bias: Option<&[f32]>,
) -> Tensor<f32> {
    let [in_h, in_w] = case.in_hw;
    let [k_h, k_w] = case.kernel;
    let [pad_top, pad_left, pad_bottom, pad_right] = case.pads;
    let [stride_y, stride_x] = case.strides;
    let [dil_y, dil_x] = case.dilations;
    let out_h = (in_h + pad_top + pad_bottom - dil_y * (k_h - 1) - 1) / stride_y + 1;
    let out_w = (in_w + pad_left + pad_right - dil_x * (k_w - 1) - 1) / stride_x + 1;
    let mut out = NdTensor::zeros([1, out_channels, out_h, out_w]);
    let input = input.nd_view::<4>();
    let kernel = kernel.nd_view::<4>();
    for o in 0..out_channels {
        for y in 0..out_h {
            for x in 0..out_w {
                let mut sum = bias.map_or(0.0, |b| b[o]);
                for c in 0..case.channels {
                    for ky in 0..k_h {
                        for kx in 0..k_w {
                            let iy = (y * stride_y + ky * dil_y) as isize - pad_top as isize;
                            let ix = (x * stride_x + kx * dil_x) as isize - pad_left as isize;
                            if iy < 0 || ix < 0 || iy >= in_h as isize || ix >= in_w as isize {
                                continue;
                            }
                            sum += input[[0, c, iy as usize, ix as usize]] * kernel[[o, c, ky, kx]];
                        }
                    }
                }
                out[[0, o, y, x]] = sum;
            }
        }
    }
    out.into_dyn()
}

/// Change 3: the bias of 1x1 (GEMM on the input) and other dense (im2col + GEMM)
/// convolutions, now written into the output before the GEMM accumulates into it.
#[test]
fn dense_conv_with_and_without_bias_matches_the_reference() {
    let pool = BufferPool::new();
    // (in channels, out channels, input size, kernel, pads, strides): output channel counts
    // around the GEMM kernel's 6-row tiles and widths around its 16-column tiles.
    let shapes = [
        (3, 5, [4, 4], [1, 1], [0; 4], [1, 1]),
        (8, 6, [7, 9], [1, 1], [0; 4], [1, 1]),
        (16, 13, [5, 17], [1, 1], [0; 4], [1, 1]),
        (24, 7, [1, 33], [1, 1], [0; 4], [1, 1]),
        (3, 16, [9, 11], [3, 3], [1, 1, 1, 1], [1, 1]),
        (3, 24, [16, 16], [3, 3], [0, 0, 1, 1], [2, 2]),
        (5, 7, [6, 13], [2, 2], [0; 4], [2, 2]),
    ];
    for (n, &(in_c, out_c, in_hw, kernel_hw, pads, strides)) in shapes.iter().enumerate() {
        let case = Case {
            channels: in_c,
            in_hw,
            kernel: kernel_hw,
            pads,
            strides,
            dilations: [1, 1],
        };
        let input = tensor(3000 + n as u64, &[1, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(4000 + n as u64, &[out_c, in_c, kernel_hw[0], kernel_hw[1]]);
        let bias: Vec<f32> = (0..out_c).map(|i| value(5000 + n as u64, i)).collect();
        let bias_view = NdTensor::from_data([out_c], bias.clone());
        for with_bias in [true, false] {
            let actual = conv(
                &pool,
                input.view(),
                kernel.view(),
                with_bias.then(|| bias_view.view()),
                Padding::Fixed(pads.into()),
                1,
                &strides,
                &[1, 1],
            )
            .expect("conv");
            let expected = reference_conv(
                &case,
                out_c,
                &input,
                &kernel,
                with_bias.then_some(&bias[..]),
            );
            let what = format!(
                "shape {n}: {in_c}->{out_c} channels, {in_hw:?} input, {kernel_hw:?} kernel, \
                 bias {with_bias}"
            );
            assert_close(&actual, &expected, &what);
        }
    }
}

/// Change 20: rten-gemm packs a panel of im2col columns (16 with AVX2) that lie along one
/// row of the image, evenly spaced, as strided copies of the image's rows (stride 1, 2 or
/// any), and other panels, and the rows of a panel that reach into the padding, by the
/// general gather. Cases: panels in one row and across rows, padding on every side, strides
/// 1-3, dilation 2, NCHW input and an NHWC one read through a permuted view (the face
/// mesh's and BlazeFace's first convolutions), the mesh's 2x2 stride-2 convolutions.
#[test]
fn im2col_conv_matches_the_reference() {
    let pool = BufferPool::new();
    // (in channels, out channels, input size, kernel, pads, strides, dilations)
    let shapes = [
        (3, 16, [33, 64], [3, 3], [0, 0, 1, 1], [2, 2], [1, 1]),
        (3, 8, [20, 40], [5, 5], [1, 1, 2, 2], [2, 2], [1, 1]),
        (4, 7, [9, 70], [3, 3], [1, 1, 1, 1], [1, 1], [1, 1]),
        (5, 6, [10, 37], [3, 3], [2, 2, 2, 2], [1, 1], [2, 2]),
        (3, 5, [12, 100], [3, 3], [0; 4], [3, 3], [1, 1]),
        (16, 16, [8, 64], [2, 2], [0; 4], [2, 2], [1, 1]),
        (32, 12, [16, 32], [2, 2], [0; 4], [2, 2], [1, 1]),
        (64, 6, [8, 16], [2, 2], [0; 4], [2, 2], [1, 1]),
        (8, 9, [8, 8], [2, 2], [0; 4], [2, 2], [1, 1]),
        (2, 3, [17, 17], [3, 1], [0, 1, 0, 0], [1, 1], [1, 1]),
    ];
    for (n, &(in_c, out_c, in_hw, kernel_hw, pads, strides, dilations)) in shapes.iter().enumerate()
    {
        let case = Case {
            channels: in_c,
            in_hw,
            kernel: kernel_hw,
            pads,
            strides,
            dilations,
        };
        let input = tensor(6000 + n as u64, &[1, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(7000 + n as u64, &[out_c, in_c, kernel_hw[0], kernel_hw[1]]);
        let expected = reference_conv(&case, out_c, &input, &kernel, None);
        // The same image stored NHWC, read through a permuted view.
        let nhwc = input.permuted(&[0, 2, 3, 1]).to_tensor();
        let nhwc_view = nhwc.permuted(&[0, 3, 1, 2]);
        for (layout, input) in [("NCHW", input.view()), ("NHWC", nhwc_view)] {
            let actual = conv(
                &pool,
                input,
                kernel.view(),
                None,
                Padding::Fixed(pads.into()),
                1,
                &strides,
                &dilations,
            )
            .expect("conv");
            let what = format!(
                "shape {n}: {in_c}->{out_c} channels, {in_hw:?} {layout} input, \
                 {kernel_hw:?} kernel, pads {pads:?}, strides {strides:?}, \
                 dilations {dilations:?}"
            );
            assert_close(&actual, &expected, &what);
        }
    }
}

/// Change 22: a panel of im2col columns along one image row whose rows all lie in the image
/// (the block's least and greatest row offsets checked once) is packed row after row with no
/// test per row, by a copy loop specialized for the step (1, 2, 3, 6 or any). Cases: the face
/// mesh's first convolution (3x3, stride 2, NHWC: step 6) and BlazeFace's (5x5, stride 2,
/// padding on every side), a stride-1 3x3 one over NHWC input (step 3), the mesh's 2x2
/// stride-2 shape (step 2), one deep enough to take several depth blocks, stride 3 (step 3 in
/// NCHW, 9 in NHWC). Each against the reference, and the NHWC view bit for bit against the
/// NCHW input (the same values are packed in the same order). With `kernel-stats`, that the
/// whole-panel path packed at least the rows of every panel wholly in the image.
#[test]
fn im2col_whole_panels_match_the_reference() {
    let pool = BufferPool::new();
    // (in channels, out channels, input size, kernel, pads, strides)
    let shapes = [
        (3, 16, [40, 64], [3, 3], [0, 0, 1, 1], [2, 2]),
        (3, 24, [32, 64], [5, 5], [1, 1, 2, 2], [2, 2]),
        (3, 8, [9, 50], [3, 3], [1, 1, 1, 1], [1, 1]),
        // A padding below and right that no window reaches: the same output, on the im2col
        // path (without padding, change 42's space-to-depth copy computes these).
        (16, 16, [8, 64], [2, 2], [0, 0, 1, 1], [2, 2]),
        (40, 6, [6, 40], [3, 3], [1, 1, 1, 1], [1, 1]),
        (3, 5, [12, 100], [3, 3], [0, 0, 1, 1], [3, 3]),
    ];
    #[cfg(feature = "kernel-stats")]
    let before = rten_gemm::im2col_stats();
    let mut whole_panel_rows = 0;
    for (n, &(in_c, out_c, in_hw, kernel_hw, pads, strides)) in shapes.iter().enumerate() {
        let case = Case {
            channels: in_c,
            in_hw,
            kernel: kernel_hw,
            pads,
            strides,
            dilations: [1, 1],
        };
        let input = tensor(8000 + n as u64, &[1, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(9000 + n as u64, &[out_c, in_c, kernel_hw[0], kernel_hw[1]]);
        let expected = reference_conv(&case, out_c, &input, &kernel, None);
        let nhwc = input.permuted(&[0, 2, 3, 1]).to_tensor();
        let nhwc_view = nhwc.permuted(&[0, 3, 1, 2]);
        let run = |input| {
            conv(
                &pool,
                input,
                kernel.view(),
                None,
                Padding::Fixed(pads.into()),
                1,
                &strides,
                &[1, 1],
            )
            .expect("conv")
        };
        let nchw_out = run(input.view());
        let nhwc_out = run(nhwc_view);
        let what = format!(
            "shape {n}: {in_c}->{out_c} channels, {in_hw:?} input, {kernel_hw:?} kernel, \
             pads {pads:?}, strides {strides:?}"
        );
        assert_close(&nchw_out, &expected, &what);
        assert_eq!(nhwc_out.shape(), nchw_out.shape(), "{what}");
        for (i, (a, b)) in nhwc_out.iter().zip(nchw_out.iter()).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{what}: element {i}: NHWC {a}, NCHW {b}"
            );
        }
        // The rows of the panels of 16 columns that lie along one image row with every kernel
        // tap in the image, for NCHW and NHWC (3-channel NHWC is copied to NCHW first:
        // change 39).
        whole_panel_rows += in_c
            * kernel_hw[0]
            * kernel_hw[1]
            * (whole_panels(&case, 16, true) + whole_panels(&case, 16, in_c == 3));
    }
    assert!(whole_panel_rows > 1000, "{whole_panel_rows}");
    #[cfg(feature = "kernel-stats")]
    {
        // Other tests may pack im2col panels at the same time: they only add. The panels of
        // AVX2's FMA kernel are 16 columns wide; AVX-512's, wider, may lie whole less often.
        let after = rten_gemm::im2col_stats();
        let packed = after.whole_panel_rows - before.whole_panel_rows;
        #[cfg(target_arch = "x86_64")]
        let fma = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && !std::arch::is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        let fma = false;
        if fma {
            assert!(
                packed >= whole_panel_rows,
                "{packed} < {whole_panel_rows}, {after:?}"
            );
        } else {
            assert!(packed > 0, "{after:?}");
        }
    }
}

/// The im2col matrix of `case` over `input` (`[1, C, H, W]`, any layout) by the definition:
/// row `(c, ky, kx)`, column `(oy, ox)`, zero in the padding; as a `[1, C * kH * kW, 1,
/// oH * oW]` image, whose 1x1 convolution is the GEMM the im2col convolution computes.
fn im2col_by_definition(case: &Case, input: TensorView<f32>) -> (Tensor<f32>, [usize; 2]) {
    let [in_h, in_w] = case.in_hw;
    let [k_h, k_w] = case.kernel;
    let [pad_top, pad_left, pad_bottom, pad_right] = case.pads;
    let [stride_y, stride_x] = case.strides;
    let [dil_y, dil_x] = case.dilations;
    let out_h = (in_h + pad_top + pad_bottom - dil_y * (k_h - 1) - 1) / stride_y + 1;
    let out_w = (in_w + pad_left + pad_right - dil_x * (k_w - 1) - 1) / stride_x + 1;
    let input = input.nd_view::<4>();
    let mut data = Vec::with_capacity(case.channels * k_h * k_w * out_h * out_w);
    for c in 0..case.channels {
        for ky in 0..k_h {
            for kx in 0..k_w {
                for y in 0..out_h {
                    for x in 0..out_w {
                        let iy = (y * stride_y + ky * dil_y) as isize - pad_top as isize;
                        let ix = (x * stride_x + kx * dil_x) as isize - pad_left as isize;
                        let inside =
                            (0..in_h as isize).contains(&iy) && (0..in_w as isize).contains(&ix);
                        data.push(if inside {
                            input[[0, c, iy as usize, ix as usize]]
                        } else {
                            0.0
                        });
                    }
                }
            }
        }
    }
    let rows = case.channels * k_h * k_w;
    (
        Tensor::from_data(&[1, rows, 1, out_h * out_w], data),
        [out_h, out_w],
    )
}

/// Changes 24 and 25: every way rten-gemm packs an im2col panel (panels along one image row
/// wholly in the image; panels across image rows whose runs along one row each lie wholly in
/// the image or in the padding; the rows of other panels copied after a test, or gathered
/// element by element) packs the im2col matrix's values: the
/// convolution is bit for bit the 1x1 convolution of its im2col matrix built by the
/// definition (the same GEMM over the same values in the same order; the 1x1 one packs its
/// input with rten-gemm's plain packing). Cases: the face mesh's first convolution (3x3,
/// stride 2, padding right and bottom) and BlazeFace's (5x5, stride 2, padding on every
/// side), over NCHW and over NHWC read through a permuted view (copied to NCHW first since
/// change 39; a 6-channel NHWC input keeps step 6); the mesh's 2x2
/// stride-2 convolutions down to 8x8, 4x4 and 2x2 outputs (panels across image rows, and
/// columns past the last output position, in the padding below the image); a 12-wide output
/// (runs that do not start at a panel's first column); 3x3 over small images with padding
/// (panels across rows reaching into the padding); dilation 2; stride 3; a 3x1 kernel with
/// padding on the left only; several depth blocks. With `kernel-stats`: that each path ran.
#[test]
fn im2col_packing_matches_the_definition_bit_for_bit() {
    let pool = BufferPool::new();
    // (in channels, out channels, input size, kernel, pads, strides, dilations)
    let shapes = [
        (3, 16, [40, 64], [3, 3], [0, 0, 1, 1], [2, 2], [1, 1]),
        (3, 24, [32, 64], [5, 5], [1, 1, 2, 2], [2, 2], [1, 1]),
        // A padding below and right that no window reaches: the same output, on the im2col
        // path (without padding, change 42's space-to-depth copy computes these).
        (16, 16, [16, 16], [2, 2], [0, 0, 1, 1], [2, 2], [1, 1]),
        (128, 8, [8, 8], [2, 2], [0, 0, 1, 1], [2, 2], [1, 1]),
        (128, 8, [4, 4], [2, 2], [0, 0, 1, 1], [2, 2], [1, 1]),
        (8, 5, [24, 24], [2, 2], [0, 0, 1, 1], [2, 2], [1, 1]),
        (4, 7, [6, 6], [3, 3], [1, 1, 1, 1], [1, 1], [1, 1]),
        (3, 6, [7, 5], [3, 3], [2, 1, 0, 2], [1, 1], [1, 1]),
        (5, 6, [10, 37], [3, 3], [2, 2, 2, 2], [1, 1], [2, 2]),
        (3, 5, [12, 100], [3, 3], [1, 1, 1, 1], [3, 3], [1, 1]),
        (2, 3, [17, 17], [3, 1], [0, 1, 0, 0], [1, 1], [1, 1]),
        (40, 6, [6, 40], [3, 3], [1, 1, 1, 1], [1, 1], [1, 1]),
        // Step 6 over NHWC (3-channel NHWC input is copied to NCHW first: change 39).
        (6, 5, [9, 40], [3, 3], [1, 1, 1, 1], [1, 1], [1, 1]),
    ];
    #[cfg(feature = "kernel-stats")]
    let before = rten_gemm::im2col_stats();
    for (n, &(in_c, out_c, in_hw, kernel_hw, pads, strides, dilations)) in shapes.iter().enumerate()
    {
        let case = Case {
            channels: in_c,
            in_hw,
            kernel: kernel_hw,
            pads,
            strides,
            dilations,
        };
        let input = tensor(11000 + n as u64, &[1, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(12000 + n as u64, &[out_c, in_c, kernel_hw[0], kernel_hw[1]]);
        let rows = in_c * kernel_hw[0] * kernel_hw[1];
        let kernel_1x1 = kernel.to_shape([out_c, rows, 1, 1].as_slice());
        let nhwc = input.permuted(&[0, 2, 3, 1]).to_tensor();
        let nhwc_view = nhwc.permuted(&[0, 3, 1, 2]);
        for (layout, input) in [("NCHW", input.view()), ("NHWC", nhwc_view)] {
            let actual = conv(
                &pool,
                input.view(),
                kernel.view(),
                None,
                Padding::Fixed(pads.into()),
                1,
                &strides,
                &dilations,
            )
            .expect("conv");
            let (matrix, [out_h, out_w]) = im2col_by_definition(&case, input.view());
            let expected = conv(
                &pool,
                matrix.view(),
                kernel_1x1.view(),
                None,
                Padding::Fixed([0; 4].into()),
                1,
                &[1, 1],
                &[1, 1],
            )
            .expect("1x1 conv");
            let expected = expected.to_shape([1, out_c, out_h, out_w].as_slice());
            let what = format!(
                "shape {n}: {in_c}->{out_c} channels, {in_hw:?} {layout} input, \
                 {kernel_hw:?} kernel, pads {pads:?}, strides {strides:?}, \
                 dilations {dilations:?}"
            );
            assert_same_bits(&actual, &expected, &what);
        }
    }
    #[cfg(feature = "kernel-stats")]
    {
        // Other tests may pack im2col panels at the same time: they only add.
        let after = rten_gemm::im2col_stats();
        assert!(
            after.whole_panel_rows > before.whole_panel_rows,
            "{after:?}"
        );
        assert!(after.run_panel_rows > before.run_panel_rows, "{after:?}");
        assert!(after.row_copies > before.row_copies, "{after:?}");
        assert!(after.gathered_rows > before.gathered_rows, "{after:?}");
    }
}

/// The panels of `panel_width` output positions of `case` that lie along one output row
/// (and so one image row) with the whole kernel over the image, not its padding. Over NCHW
/// input (`nchw`) with stride 2, not the panel whose last tap is the image's last element: the
/// stride-2 copy reads one element past its last.
fn whole_panels(case: &Case, panel_width: usize, nchw: bool) -> usize {
    let [in_h, in_w] = case.in_hw;
    let [k_h, k_w] = case.kernel;
    let [pad_top, pad_left, pad_bottom, pad_right] = case.pads;
    let [stride_y, stride_x] = case.strides;
    let out_h = (in_h + pad_top + pad_bottom - (k_h - 1) - 1) / stride_y + 1;
    let out_w = (in_w + pad_left + pad_right - (k_w - 1) - 1) / stride_x + 1;
    let inside = |pos: usize, stride: usize, pad: usize, k: usize, len: usize| {
        let first = (pos * stride) as isize - pad as isize;
        first >= 0 && first as usize + k <= len
    };
    (0..(out_h * out_w).div_ceil(panel_width))
        .filter(|p| {
            let (first, last) = (p * panel_width, (p + 1) * panel_width - 1);
            let (y, x0, x1) = (first / out_w, first % out_w, last % out_w);
            last / out_w == y
                && y < out_h
                && inside(y, stride_y, pad_top, k_h, in_h)
                && inside(x0, stride_x, pad_left, k_w, in_w)
                && inside(x1, stride_x, pad_left, k_w, in_w)
                && !(nchw
                    && stride_x == 2
                    && y * stride_y + k_h == in_h + pad_top
                    && x1 * stride_x + k_w == in_w + pad_left)
        })
        .count()
}

/// Change 39: an im2col convolution over a 3-channel NHWC image read through a permuted view
/// (change 15) copies the image into NCHW planes first (AVX2 for whole groups of 8 pixels, a
/// scalar loop for the rest), and computes bit for bit what it computes over the NCHW
/// tensor: the face mesh's first convolution (3x3, stride 2, padding right and bottom) and
/// BlazeFace's (5x5, stride 2), stride 1, widths that leave 0 to 7 pixels past the last group
/// of 8, two images in a batch, with and without the fused PRelu. With `kernel-stats`: that
/// each NHWC run copied, and that other layouts (4 channels; NCHW) do not.
#[test]
fn nhwc_rgb_input_is_copied_to_planes_bit_for_bit() {
    let pool = BufferPool::new();
    // (batch, out channels, input size, kernel, pads, strides)
    let shapes = [
        (1, 16, [64, 64], [3, 3], [0, 0, 1, 1], [2, 2]),
        (1, 24, [32, 64], [5, 5], [1, 1, 2, 2], [2, 2]),
        (2, 8, [9, 50], [3, 3], [1, 1, 1, 1], [1, 1]),
        (1, 5, [7, 13], [3, 3], [0, 0, 1, 1], [2, 2]),
        (2, 6, [5, 11], [3, 3], [1, 1, 1, 1], [2, 2]),
        (1, 4, [1, 7], [1, 3], [0, 1, 0, 1], [1, 1]),
    ];
    // The images copied (each batch's).
    let mut nhwc_runs = 0;
    #[cfg(feature = "kernel-stats")]
    let before = rten::ops::interleaved_images_copied();
    for (n, &(batch, out_c, in_hw, kernel_hw, pads, strides)) in shapes.iter().enumerate() {
        for in_c in [3, 4] {
            let seed = 40000 + 10 * n as u64 + in_c as u64;
            let input = tensor(seed, &[batch, in_c, in_hw[0], in_hw[1]]);
            let kernel = tensor(seed + 5000, &[out_c, in_c, kernel_hw[0], kernel_hw[1]]);
            let slope = tensor(seed + 7000, &[out_c, 1, 1]);
            let nhwc = input.permuted(&[0, 2, 3, 1]).to_tensor();
            let nhwc_view = nhwc.permuted(&[0, 3, 1, 2]);
            let what = format!(
                "shape {n}: batch {batch}, {in_c}->{out_c} channels, {in_hw:?} input, \
                 {kernel_hw:?} kernel, pads {pads:?}, strides {strides:?}"
            );
            let padding = || Padding::Fixed(pads.into());
            let run = |input: TensorView<f32>| {
                conv(
                    &pool,
                    input,
                    kernel.view(),
                    None,
                    padding(),
                    1,
                    &strides,
                    &[1, 1],
                )
                .expect("conv")
            };
            let run_prelu = |input: TensorView<f32>| {
                conv_prelu(
                    &pool,
                    input,
                    kernel.view(),
                    None,
                    None,
                    slope.view(),
                    padding(),
                    1,
                    &strides,
                    &[1, 1],
                )
                .expect("conv_prelu")
            };
            assert_same_bits(&run(nhwc_view.view()), &run(input.view()), &what);
            assert_same_bits(
                &run_prelu(nhwc_view.view()),
                &run_prelu(input.view()),
                &format!("{what}, PRelu"),
            );
            if in_c == 3 {
                // Two runs of `batch` images.
                nhwc_runs += 2 * batch;
            }
        }
    }
    #[cfg(feature = "kernel-stats")]
    {
        // Other tests may run such convolutions at the same time: they only add. Since
        // change 40 these ungrouped, undilated runs copy into phased planes instead.
        let copied =
            rten::ops::interleaved_images_copied() + rten::ops::phased_images_copied() - before;
        assert!(copied >= nhwc_runs, "{copied} < {nhwc_runs}");
    }
    #[cfg(not(feature = "kernel-stats"))]
    let _ = nhwc_runs;
}

/// Change 40: an im2col convolution over a 3-channel NHWC image read through a permuted view,
/// with one group and no dilation, copies the image into planes written with the padding and
/// split into column phases by the stride, and computes bit for bit what it computes over
/// the NCHW tensor (change 39's plain planes would too): the face mesh's first convolution
/// (3x3, stride 2, padding right and bottom only) and BlazeFace's (5x5, stride 2, padding on
/// every side), odd sizes (widths leaving 0 to 7 pixels past the last group of 8 of the
/// AVX2 copy, outputs whose rows are not a multiple of the 16-column panel), even and odd
/// left padding, strides 1 and 3 (the scalar copy), a batch of two, with bias and PRelu,
/// with a residual (`conv_add`), and each against the reference convolution. With
/// `kernel-stats`: that the runs copied into phased planes, and that a dilated and a grouped
/// 3-channel convolution still copy into change 39's plain planes.
#[test]
fn nhwc_rgb_input_is_copied_to_phased_planes_bit_for_bit() {
    let pool = BufferPool::new();
    // (batch, out channels, input size, kernel, pads, strides)
    let shapes = [
        (1, 16, [256, 256], [3, 3], [0, 0, 1, 1], [2, 2]),
        (1, 24, [128, 128], [5, 5], [1, 1, 2, 2], [2, 2]),
        (2, 16, [21, 37], [3, 3], [0, 0, 1, 1], [2, 2]),
        (1, 5, [7, 13], [3, 3], [1, 3, 2, 0], [2, 2]),
        (1, 7, [15, 50], [5, 5], [2, 2, 2, 2], [2, 1]),
        (2, 6, [5, 11], [3, 3], [1, 1, 1, 1], [1, 1]),
        (1, 9, [17, 31], [4, 5], [0, 1, 3, 2], [3, 3]),
        (1, 4, [1, 7], [1, 3], [0, 1, 0, 1], [1, 2]),
    ];
    // The images copied (each batch's).
    let mut phased_runs = 0;
    #[cfg(feature = "kernel-stats")]
    let before = rten::ops::phased_images_copied();
    for (n, &(batch, out_c, in_hw, kernel_hw, pads, strides)) in shapes.iter().enumerate() {
        let seed = 41000 + 10 * n as u64;
        let input = tensor(seed, &[batch, 3, in_hw[0], in_hw[1]]);
        let kernel = tensor(seed + 1, &[out_c, 3, kernel_hw[0], kernel_hw[1]]);
        let bias = tensor(seed + 2, &[out_c]).into_shape([out_c]);
        let slope = tensor(seed + 3, &[out_c, 1, 1]);
        let nhwc = input.permuted(&[0, 2, 3, 1]).to_tensor();
        let nhwc_view = nhwc.permuted(&[0, 3, 1, 2]);
        let what = format!(
            "shape {n}: batch {batch}, 3->{out_c} channels, {in_hw:?} input, \
             {kernel_hw:?} kernel, pads {pads:?}, strides {strides:?}"
        );
        let padding = || Padding::Fixed(pads.into());
        let run = |input: TensorView<f32>| {
            conv(
                &pool,
                input,
                kernel.view(),
                Some(bias.view()),
                padding(),
                1,
                &strides,
                &[1, 1],
            )
            .expect("conv")
        };
        let run_prelu = |input: TensorView<f32>| {
            conv_prelu(
                &pool,
                input,
                kernel.view(),
                Some(bias.view()),
                None,
                slope.view(),
                padding(),
                1,
                &strides,
                &[1, 1],
            )
            .expect("conv_prelu")
        };
        let expected = run(input.view());
        assert_same_bits(&run(nhwc_view.view()), &expected, &what);
        assert_same_bits(
            &run_prelu(nhwc_view.view()),
            &run_prelu(input.view()),
            &format!("{what}, PRelu"),
        );
        let residual = tensor(seed + 4, expected.shape());
        let run_add = |input: TensorView<f32>| {
            conv_add(
                &pool,
                input,
                kernel.view(),
                None,
                residual.view(),
                padding(),
                1,
                &strides,
                &[1, 1],
            )
            .expect("conv_add")
        };
        assert_same_bits(
            &run_add(nhwc_view.view()),
            &run_add(input.view()),
            &format!("{what}, residual"),
        );
        // The reference: the 1x1 convolution of the im2col matrix built by the definition
        // (the same GEMM over the same values in the same order), for the first image.
        let case = Case {
            channels: 3,
            in_hw,
            kernel: kernel_hw,
            pads,
            strides,
            dilations: [1, 1],
        };
        let (matrix, [out_h, out_w]) = im2col_by_definition(&case, nhwc_view.view());
        let kernel_1x1 = kernel.to_shape([out_c, 3 * kernel_hw[0] * kernel_hw[1], 1, 1].as_slice());
        let by_definition = conv(
            &pool,
            matrix.view(),
            kernel_1x1.view(),
            Some(bias.view()),
            Padding::Fixed([0; 4].into()),
            1,
            &[1, 1],
            &[1, 1],
        )
        .expect("1x1 conv");
        assert_same_bits(
            &run(nhwc_view.slice(0..1)),
            &by_definition.to_shape([1, out_c, out_h, out_w].as_slice()),
            &format!("{what}, by definition"),
        );
        // Three runs of `batch` images, and one of the first image.
        phased_runs += 3 * batch + 1;
    }
    #[cfg(feature = "kernel-stats")]
    {
        // Other tests may run such convolutions at the same time: they only add.
        let copied = rten::ops::phased_images_copied() - before;
        assert!(copied >= phased_runs, "{copied} < {phased_runs}");
    }
    #[cfg(not(feature = "kernel-stats"))]
    let _ = phased_runs;

    // Dilated, and grouped (3 groups of 1 channel, 2 outputs each): plain planes.
    for (groups, dilations) in [(1, [2, 2]), (3, [1, 1])] {
        let input = tensor(41900, &[1, 3, 12, 19]);
        let kernel = tensor(41901, &[6, 3 / groups, 3, 3]);
        let nhwc = input.permuted(&[0, 2, 3, 1]).to_tensor();
        let nhwc_view = nhwc.permuted(&[0, 3, 1, 2]);
        #[cfg(feature = "kernel-stats")]
        let planar_before = rten::ops::interleaved_images_copied();
        let run = |input: TensorView<f32>| {
            conv(
                &pool,
                input,
                kernel.view(),
                None,
                Padding::Fixed([1, 1, 1, 1].into()),
                groups,
                &[2, 2],
                &dilations,
            )
            .expect("conv")
        };
        assert_same_bits(
            &run(nhwc_view.view()),
            &run(input.view()),
            &format!("groups {groups}, dilations {dilations:?}"),
        );
        #[cfg(feature = "kernel-stats")]
        assert!(rten::ops::interleaved_images_copied() > planar_before);
    }
}

/// Change 13: `conv_add` (the `ConvAdd` operator) starts the GEMM of a 1x1 or im2col
/// convolution from `residual + bias`; the same shapes as above, with and without bias,
/// against the reference convolution plus the residual.
#[test]
fn conv_add_matches_the_reference_conv_plus_residual() {
    let pool = BufferPool::new();
    let shapes = [
        (3, 5, [4, 4], [1, 1], [0; 4], [1, 1]),
        (8, 6, [7, 9], [1, 1], [0; 4], [1, 1]),
        (16, 13, [5, 17], [1, 1], [0; 4], [1, 1]),
        (24, 7, [1, 33], [1, 1], [0; 4], [1, 1]),
        (64, 128, [4, 4], [1, 1], [0; 4], [1, 1]),
        (3, 16, [9, 11], [3, 3], [1, 1, 1, 1], [1, 1]),
        (3, 24, [16, 16], [3, 3], [0, 0, 1, 1], [2, 2]),
        (5, 7, [6, 13], [2, 2], [0; 4], [2, 2]),
    ];
    for (n, &(in_c, out_c, in_hw, kernel_hw, pads, strides)) in shapes.iter().enumerate() {
        let case = Case {
            channels: in_c,
            in_hw,
            kernel: kernel_hw,
            pads,
            strides,
            dilations: [1, 1],
        };
        let input = tensor(3000 + n as u64, &[1, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(4000 + n as u64, &[out_c, in_c, kernel_hw[0], kernel_hw[1]]);
        let bias: Vec<f32> = (0..out_c).map(|i| value(5000 + n as u64, i)).collect();
        let bias_view = NdTensor::from_data([out_c], bias.clone());
        for with_bias in [true, false] {
            let conv_only = reference_conv(
                &case,
                out_c,
                &input,
                &kernel,
                with_bias.then_some(&bias[..]),
            );
            let residual = tensor(6000 + n as u64, conv_only.shape());
            let expected = Tensor::from_data(
                conv_only.shape(),
                conv_only
                    .iter()
                    .zip(residual.iter())
                    .map(|(c, r)| c + r)
                    .collect::<Vec<_>>(),
            );
            let actual = conv_add(
                &pool,
                input.view(),
                kernel.view(),
                with_bias.then(|| bias_view.view()),
                residual.view(),
                Padding::Fixed(pads.into()),
                1,
                &strides,
                &[1, 1],
            )
            .expect("conv_add");
            let what = format!(
                "shape {n}: {in_c}->{out_c} channels, {in_hw:?} input, {kernel_hw:?} kernel, \
                 bias {with_bias}"
            );
            assert_close(&actual, &expected, &what);
        }
    }
}

/// Changes 13 and 14: the `ConvAddResidualFusion`, and the `TransposeFusion` into `Conv`, on
/// `tests/fixtures/conv_add.onnx` (written by `conv_add.py` there, which lists its cases): the
/// optimized model (`ConvAdd` where the fusion applies, convolutions reading their input
/// through a permuted view) gives the unoptimized one's outputs (`Conv`, then `Add`;
/// `Transpose`, then `Conv`), and exactly the values that may be fused away were.
#[test]
fn conv_add_fusion_matches_conv_then_add() {
    let load = |optimize: bool| -> Model {
        let mut opts = ModelOptions::with_all_ops();
        opts.enable_optimization(optimize);
        opts.load_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/conv_add.onnx"
        ))
        .expect("load conv_add.onnx")
    };
    let (fused, plain) = (load(true), load(false));
    let inputs: [(&str, &[usize]); 9] = [
        ("x", &[1, 8, 5, 7]),
        ("r", &[1, 8, 5, 7]),
        ("rb", &[1, 8, 1, 1]),
        ("x2", &[2, 4, 6, 6]),
        ("r2", &[2, 6, 6, 6]),
        ("x1", &[1, 4, 9]),
        ("r1", &[1, 5, 9]),
        ("r12", &[1, 8, 3, 4]),
        ("xn", &[1, 5, 7, 3]),
    ];
    let outputs: Vec<String> = (1..=15)
        .map(|i| format!("out{i}"))
        .chain(["out3b".to_string(), "c9".to_string()])
        .collect();
    let feed = |model: &Model| -> Vec<(NodeId, ValueOrView)> {
        inputs
            .iter()
            .enumerate()
            .map(|(k, (name, shape))| {
                let id = model.node_id(name).expect("input");
                (id, tensor(7000 + k as u64, shape).into())
            })
            .collect()
    };
    let run = |model: &Model| -> Vec<Tensor<f32>> {
        let outs: Vec<NodeId> = outputs
            .iter()
            .map(|name| model.node_id(name).expect("output"))
            .collect();
        model
            .run(feed(model), &outs, None)
            .expect("run")
            .into_iter()
            .map(|value| value.try_into().expect("f32 output"))
            .collect()
    };
    for ((name, actual), expected) in outputs.iter().zip(run(&fused)).zip(run(&plain)) {
        assert_close(&actual, &expected, name);
    }
    // A fused convolution's output is no longer computed: asking for it fails.
    let computed = |model: &Model, name: &str| {
        let id = model.node_id(name).expect("value");
        model.run(feed(model), &[id], None).is_ok()
    };
    for name in [
        "c1", "c2", "c4", "c5", "c6", "c7", "c10", "c11a", "c12", "c15", "t13", "t14", "t15",
    ] {
        assert!(computed(&plain, name), "{name} in the plain model");
        assert!(!computed(&fused, name), "{name} was not fused");
    }
    for name in ["c3", "c8", "c9", "c11b"] {
        assert!(computed(&fused, name), "{name} was fused");
    }
}

/// Change 10: a convolution whose kernel covers its whole unpadded input (one output
/// position: a fully-connected layer, like the face mesh's 1434-output head), computed as a
/// vector-matrix product. Output channel counts around the gemv kernel's 8-column tiles,
/// depths around the vector width, with and without bias, any stride.
#[test]
fn whole_input_conv_matches_the_reference() {
    let pool = BufferPool::new();
    // (in channels, out channels, input size = kernel size, strides)
    let shapes = [
        (128, 1434, [2, 2], [1, 1]),
        (16, 37, [2, 2], [2, 2]),
        (7, 9, [3, 5], [1, 1]),
        (3, 8, [1, 1], [1, 1]),
        (1, 1, [1, 3], [2, 2]),
        (33, 17, [1, 1], [1, 1]),
    ];
    for (n, &(in_c, out_c, in_hw, strides)) in shapes.iter().enumerate() {
        let case = Case {
            channels: in_c,
            in_hw,
            kernel: in_hw,
            pads: [0; 4],
            strides,
            dilations: [1, 1],
        };
        let input = tensor(6000 + n as u64, &[1, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(7000 + n as u64, &[out_c, in_c, in_hw[0], in_hw[1]]);
        let bias: Vec<f32> = (0..out_c).map(|i| value(8000 + n as u64, i)).collect();
        let bias_view = NdTensor::from_data([out_c], bias.clone());
        for with_bias in [true, false] {
            let actual = conv(
                &pool,
                input.view(),
                kernel.view(),
                with_bias.then(|| bias_view.view()),
                Padding::Fixed([0; 4].into()),
                1,
                &strides,
                &[1, 1],
            )
            .expect("conv");
            assert_eq!(actual.shape(), &[1, out_c, 1, 1]);
            let expected = reference_conv(
                &case,
                out_c,
                &input,
                &kernel,
                with_bias.then_some(&bias[..]),
            );
            let what = format!(
                "shape {n}: {in_c}->{out_c} channels, {in_hw:?} input and kernel, bias {with_bias}"
            );
            assert_close(&actual, &expected, &what);
        }
    }
}

/// Change 4: PRelu by the definition, bit for bit (both compute `slope * x` for negative
/// `x` and keep the rest, NaN included).
#[test]
fn prelu_matches_the_definition() {
    let pool = BufferPool::new();
    let reference = |x: f32, slope: f32| if x < 0.0 { slope * x } else { x };
    // (input shape, slope shape): per channel (a run per channel plane, with and without
    // the batch axis), scalar, and slopes that vary too often for runs (the generic path).
    let cases: [(&[usize], &[usize]); 7] = [
        (&[1, 4, 5, 7], &[4, 1, 1]),
        (&[1, 3, 8, 8], &[1, 3, 1, 1]),
        (&[2, 3, 4, 5], &[3, 1, 1]),
        (&[1, 2, 3, 3], &[1]),
        (&[1, 2, 3, 3], &[2, 1, 1]),
        (&[1, 2, 4, 6], &[6]),
        (&[2, 5, 3], &[5, 3]),
    ];
    for (n, (x_shape, slope_shape)) in cases.into_iter().enumerate() {
        let mut x = tensor(6000 + n as u64, x_shape);
        // Exact zeros, negative zero and NaN besides the random values.
        let data = x.data_mut().expect("contiguous");
        data[0] = 0.0;
        data[1] = -0.0;
        data[2] = f32::NAN;
        let slope = tensor(7000 + n as u64, slope_shape);
        let expected: Vec<f32> = {
            let slope_b = slope.broadcast(x_shape);
            x.iter()
                .zip(slope_b.iter())
                .map(|(&x, &s)| reference(x, s))
                .collect()
        };
        let same = |actual: &Tensor<f32>, how: &str| {
            assert_eq!(actual.shape(), x_shape, "case {n} {how}: shape");
            for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    e.to_bits(),
                    "case {n} {how}: element {i} is {a}, expected {e}"
                );
            }
        };
        same(
            &prelu(&pool, x.view(), slope.view()).expect("prelu"),
            "new output",
        );
        same(
            &prelu_in_place(&pool, x.clone(), slope.view()).expect("prelu"),
            "in place",
        );
    }

    // An input that is not contiguous (the last two axes swapped) gives the same values
    // (the runs need contiguous data: a new output, or a contiguous copy first).
    let x = tensor(8000, &[1, 3, 4, 6]);
    let slope = tensor(8001, &[3, 1, 1]);
    let mut swapped = x.clone();
    swapped.permute(&[0, 1, 3, 2]);
    let expected: Vec<f32> = swapped
        .iter()
        .zip(slope.broadcast(swapped.shape()).iter())
        .map(|(&x, &s)| reference(x, s))
        .collect();
    let results = [
        prelu(&pool, swapped.view(), slope.view()).expect("prelu"),
        prelu_in_place(&pool, swapped.clone(), slope.view()).expect("prelu"),
    ];
    for actual in results {
        assert_eq!(actual.shape(), swapped.shape());
        let actual: Vec<f32> = actual.iter().copied().collect();
        assert_eq!(actual, expected, "not contiguous");
    }

    let x = tensor(1, &[1, 2, 3, 3]);
    let slope = tensor(2, &[3, 1, 1]);
    assert!(prelu(&pool, x.view(), slope.view()).is_err());
    assert!(prelu_in_place(&pool, x, slope.view()).is_err());
}

/// MaxPool by the definition: each output is `-inf` folded with `f32::max` over its window
/// in row-major order, as rten's generic pooling folds it.
fn reference_max_pool_2x2(input: &Tensor<f32>) -> Tensor<f32> {
    let [n, c, h, w]: [usize; 4] = input.shape().try_into().expect("NCHW");
    let (out_h, out_w) = (h / 2, w / 2);
    let input = input.nd_view::<4>();
    let mut out = NdTensor::zeros([n, c, out_h, out_w]);
    for b in 0..n {
        for ch in 0..c {
            for y in 0..out_h {
                for x in 0..out_w {
                    let mut max = f32::NEG_INFINITY;
                    for ky in 0..2 {
                        for kx in 0..2 {
                            max = max.max(input[[b, ch, 2 * y + ky, 2 * x + kx]]);
                        }
                    }
                    out[[b, ch, y, x]] = max;
                }
            }
        }
    }
    out.into_dyn()
}

/// `actual` equals `expected` to the bit, element by element: `expected` computed in the
/// kernel's own order of sums, or by another path that must agree exactly.
fn assert_same_bits(actual: &Tensor<f32>, expected: &Tensor<f32>, what: &str) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape");
    for (i, (a, e)) in actual.iter().zip(expected.iter()).enumerate() {
        assert_eq!(
            a.to_bits(),
            e.to_bits(),
            "{what}: element {i} is {a}, expected {e}"
        );
    }
}

/// Change 8: MaxPool 2x2 stride 2 over contiguous input, bit for bit against the definition
/// and against rten's generic pooling (which a non-contiguous view of the same values
/// takes), NaN, infinities and signed zeros included; other windows, paddings and layouts
/// take the generic pooling, which `kernel-stats` tells apart.
#[test]
fn max_pool_2x2_stride_2_matches_the_reference() {
    let _counts = MAX_POOL_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let pool = BufferPool::new();
    #[cfg(feature = "kernel-stats")]
    let before = rten::ops::max_pool_kernel_stats();
    let mut fast_planes = 0;
    let mut generic_planes = 0;
    // Widths around every vector size (4, 8, 16 lanes: 2x as many input columns), odd
    // sizes (the last row and column are dropped), a batch, planes too small for a
    // vector, and enough channels for several parallel tasks.
    let shapes: [[usize; 4]; 12] = [
        [1, 1, 2, 2],
        [1, 3, 3, 3],
        [1, 2, 4, 7],
        [1, 2, 6, 16],
        [1, 2, 5, 17],
        [1, 3, 8, 33],
        [1, 2, 4, 64],
        [1, 2, 3, 70],
        [2, 5, 10, 10],
        [1, 16, 128, 128],
        [1, 288, 4, 4],
        [1, 4, 2, 40],
    ];
    for (n, shape) in shapes.into_iter().enumerate() {
        let mut x = tensor(9000 + n as u64, &shape);
        let data = x.data_mut().expect("contiguous");
        // Special values where windows meet them in every position.
        let special = [
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
        ];
        for (i, v) in special.iter().cycle().take(data.len() / 3).enumerate() {
            data[(i * 3 + n) % data.len()] = *v;
        }
        let expected = reference_max_pool_2x2(&x);
        for padding in [Padding::Fixed([0, 0, 0, 0].into()), Padding::Same] {
            let same_is_unpadded = shape[2] % 2 == 0 && shape[3] % 2 == 0;
            if matches!(padding, Padding::Same) && !same_is_unpadded {
                continue;
            }
            let actual = max_pool(
                &pool,
                x.view(),
                &[2, 2],
                &[2, 2],
                padding,
                Default::default(),
            )
            .expect("max_pool");
            assert_same_bits(&actual, &expected, &format!("shape {shape:?}"));
            fast_planes += shape[0] * shape[1];
        }

        // The same values, not contiguous (the last two axes swapped twice: a copy is
        // contiguous, a permuted view is not): rten's generic pooling.
        let mut swapped = x.clone();
        swapped.permute(&[0, 1, 3, 2]);
        let swapped = swapped.to_tensor();
        let mut view = swapped.view();
        view.permute(&[0, 1, 3, 2]);
        assert!(!view.is_contiguous());
        let generic = max_pool(
            &pool,
            view,
            &[2, 2],
            &[2, 2],
            Padding::Fixed([0, 0, 0, 0].into()),
            Default::default(),
        )
        .expect("max_pool");
        assert_same_bits(&generic, &expected, &format!("shape {shape:?}, generic"));
        generic_planes += shape[0] * shape[1];
    }

    // Not this kernel's: padding, other windows and strides (compared with the generic
    // pooling through a non-contiguous view, so these only check the routing).
    let x = tensor(9500, &[1, 3, 9, 9]);
    let others: [(&[usize], &[usize], [usize; 4]); 4] = [
        (&[2, 2], &[2, 2], [0, 0, 1, 1]),
        (&[3, 3], &[2, 2], [0, 0, 0, 0]),
        (&[2, 2], &[1, 1], [0, 0, 0, 0]),
        (&[2, 2], &[2, 2], [1, 1, 1, 1]),
    ];
    for (kernel, strides, pads) in others {
        let out = max_pool(
            &pool,
            x.view(),
            kernel,
            strides,
            Padding::Fixed(pads.into()),
            Default::default(),
        )
        .expect("max_pool");
        let mut swapped = x.clone();
        swapped.permute(&[0, 1, 3, 2]);
        let swapped = swapped.to_tensor();
        let mut view = swapped.view();
        view.permute(&[0, 1, 3, 2]);
        let generic = max_pool(
            &pool,
            view,
            kernel,
            strides,
            Padding::Fixed(pads.into()),
            Default::default(),
        )
        .expect("max_pool");
        assert_same_bits(
            &out,
            &generic,
            &format!("{kernel:?} / {strides:?} / {pads:?}"),
        );
        generic_planes += 2 * 3;
    }

    #[cfg(feature = "kernel-stats")]
    {
        let after = rten::ops::max_pool_kernel_stats();
        assert_eq!(
            after.two_by_two - before.two_by_two,
            fast_planes,
            "every contiguous 2x2 stride-2 case, and nothing else, ran in the 2x2 kernel"
        );
        assert_eq!(
            after.generic - before.generic,
            generic_planes,
            "the other cases ran in the generic pooling"
        );
    }
    #[cfg(not(feature = "kernel-stats"))]
    let _ = (fast_planes, generic_planes);
}

/// Every axis subset of a 4-D tensor, as reduce's `axes`.
fn axis_sets() -> Vec<Vec<i32>> {
    (1..16u32)
        .map(|mask| (0..4).filter(|a| mask & (1 << a) != 0).collect())
        .collect()
}

#[test]
fn reduce_over_any_axes_matches_each_slice_reduced_on_its_own() {
    // Change 12: a reduction whose reduced dims are not the innermost (ReduceMean over the
    // channels of [1, 64, 1, 97] in MediaPipe's blendshape network) copies the permuted
    // input once instead of gathering each slice. Reference: each output's slice gathered
    // on its own (in the input's order) and reduced as a 1-D tensor by the same operator,
    // so the results must be the same bits. Also checked against an f64 mean.
    let pool = BufferPool::new();
    let shapes: [[usize; 4]; 4] = [[1, 64, 1, 97], [2, 3, 5, 7], [1, 1, 97, 64], [3, 1, 4, 1]];
    for (seed, shape) in shapes.into_iter().enumerate() {
        let input = tensor(100 + seed as u64, &shape);
        // Also a non-contiguous view of the same values.
        let transposed = input.transposed().to_tensor();
        for view in [input.view(), transposed.transposed()] {
            assert_eq!(view.to_vec(), input.to_vec());
            for axes in axis_sets() {
                let what = format!(
                    "shape {shape:?} axes {axes:?} contiguous {}",
                    view.is_contiguous()
                );
                let mean = rten::ops::reduce_mean(&pool, view.as_dyn(), Some(&axes), true).unwrap();
                let sum = rten::ops::reduce_sum(&pool, view.as_dyn(), Some(&axes), false).unwrap();
                let max = rten::ops::reduce_max(&pool, view.as_dyn(), Some(&axes), true).unwrap();

                // The kept dims in order, then the reduced ones: one output per slice.
                let mut perm: Vec<usize> = (0..4).collect();
                perm.sort_by_key(|d| (axes.contains(&(*d as i32)), *d));
                let permuted = view.permuted(&perm).to_tensor();
                let slice_len: usize = axes.iter().map(|&a| shape[a as usize]).product();
                let slices: Vec<Tensor<f32>> = permuted
                    .data()
                    .unwrap()
                    .chunks(slice_len)
                    .map(|s| Tensor::from_data(&[s.len()], s.to_vec()))
                    .collect();
                assert_eq!(mean.len(), slices.len(), "{what}");
                assert_eq!(sum.len(), slices.len(), "{what}");
                let kept: Vec<usize> = (0..4)
                    .map(|d| {
                        if axes.contains(&(d as i32)) {
                            1
                        } else {
                            shape[d]
                        }
                    })
                    .collect();
                assert_eq!(mean.shape(), kept.as_slice(), "{what}");
                for (i, slice) in slices.iter().enumerate() {
                    let one = |t: Tensor<f32>| t.item().copied().unwrap();
                    let want_mean =
                        one(rten::ops::reduce_mean(&pool, slice.view(), None, false).unwrap());
                    let want_sum =
                        one(rten::ops::reduce_sum(&pool, slice.view(), None, false).unwrap());
                    let want_max =
                        one(rten::ops::reduce_max(&pool, slice.view(), None, false).unwrap());
                    let got = |t: &Tensor<f32>| t.data().unwrap()[i];
                    assert_eq!(got(&mean).to_bits(), want_mean.to_bits(), "{what} mean {i}");
                    assert_eq!(got(&sum).to_bits(), want_sum.to_bits(), "{what} sum {i}");
                    assert_eq!(got(&max).to_bits(), want_max.to_bits(), "{what} max {i}");
                    let exact = slice.iter().map(|&x| x as f64).sum::<f64>() / slice_len as f64;
                    assert!((got(&mean) as f64 - exact).abs() < 1e-5, "{what} mean {i}");
                }
            }
        }
    }
}

/// A minimal protobuf writer for the parts of ONNX's `ModelProto` that the graph tests
/// below need (field numbers from `onnx.proto`).
#[derive(Default)]
struct Proto(Vec<u8>);

impl Proto {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn int(mut self, field: u64, v: i64) -> Self {
        self.varint(field << 3);
        self.varint(v as u64);
        self
    }

    fn bytes(mut self, field: u64, data: &[u8]) -> Self {
        self.varint(field << 3 | 2);
        self.varint(data.len() as u64);
        self.0.extend_from_slice(data);
        self
    }

    fn string(self, field: u64, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }

    fn message(self, field: u64, m: Proto) -> Self {
        self.bytes(field, &m.0)
    }
}

/// `NodeProto`: `op` from `inputs` to `output`, with integer-list attributes.
fn onnx_node(op: &str, inputs: &[&str], output: &str, ints: &[(&str, &[i64])]) -> Proto {
    let mut node = Proto::default();
    for input in inputs {
        node = node.string(1, input);
    }
    node = node.string(2, output).string(3, output).string(4, op);
    for (name, values) in ints {
        let mut attr = Proto::default().string(1, name).int(20, 7); // INTS
        for &v in *values {
            attr = attr.int(8, v);
        }
        node = node.message(5, attr);
    }
    node
}

/// `TensorProto` initializers: f32 and i64 constants.
fn onnx_f32(name: &str, shape: &[usize], data: &[f32]) -> Proto {
    let mut t = Proto::default();
    for &d in shape {
        t = t.int(1, d as i64);
    }
    let raw: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    t.int(2, 1).string(8, name).bytes(9, &raw)
}

fn onnx_i64(name: &str, data: &[i64]) -> Proto {
    let raw: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    Proto::default()
        .int(1, data.len() as i64)
        .int(2, 7)
        .string(8, name)
        .bytes(9, &raw)
}

/// A `ModelProto` (opset 13) with one f32 input `x` of `shape` and one output `y`.
fn onnx_model(shape: &[usize], nodes: Vec<Proto>, initializers: Vec<Proto>) -> Vec<u8> {
    let value_info = |name: &str, shape: Option<&[usize]>| {
        let mut tensor_type = Proto::default().int(1, 1);
        if let Some(shape) = shape {
            let mut dims = Proto::default();
            for &d in shape {
                dims = dims.message(1, Proto::default().int(1, d as i64));
            }
            tensor_type = tensor_type.message(2, dims);
        }
        Proto::default()
            .string(1, name)
            .message(2, Proto::default().message(1, tensor_type))
    };
    let mut graph = Proto::default().string(2, "test");
    for node in nodes {
        graph = graph.message(1, node);
    }
    for init in initializers {
        graph = graph.message(5, init);
    }
    graph = graph
        .message(11, value_info("x", Some(shape)))
        .message(12, value_info("y", None));
    Proto::default()
        .int(1, 7)
        .message(8, Proto::default().int(2, 13))
        .message(7, graph)
        .0
}

/// Runs `model` on `x`, optimized (as loaded by default) and not, and returns both outputs
/// and whether the optimized graph still computes the value `var` (the unfused variance).
fn run_optimized_and_not(model: &[u8], x: &Tensor<f32>) -> (Tensor<f32>, Tensor<f32>, bool) {
    let run = |optimize: bool| {
        let mut opts = rten::ModelOptions::with_all_ops();
        opts.enable_optimization(optimize);
        let model = opts.load(model.to_vec()).unwrap();
        let out: Tensor<f32> = model
            .run_one(x.view().into(), None)
            .unwrap()
            .try_into()
            .unwrap();
        let input = model.input_ids()[0];
        let computes_var = model.find_node("var").is_some_and(|var| {
            model
                .run(vec![(input, x.view().into())], &[var], None)
                .is_ok()
        });
        assert!(optimize || computes_var);
        (out, computes_var)
    };
    let (fused, has_var) = run(true);
    let (unfused, _) = run(false);
    (fused, unfused, has_var)
}

/// Layer normalization of `x` over `axis` in f64, then `y = norm * scale + bias`,
/// returned in `x`'s layout permuted by `perm` (whose last entry is `axis`).
fn reference_layer_norm(
    x: &Tensor<f32>,
    axis: usize,
    perm: &[usize],
    scale: &[f32],
    bias: &[f32],
    epsilon: f64,
) -> Tensor<f32> {
    let xt = x.view().permuted(perm).to_tensor();
    let n = x.size(axis);
    let data: Vec<f32> = xt
        .data()
        .unwrap()
        .chunks(n)
        .flat_map(|row| {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            let inv = 1.0 / (var + epsilon).sqrt();
            row.iter()
                .enumerate()
                .map(|(i, &v)| ((v as f64 - mean) * inv * scale[i] as f64 + bias[i] as f64) as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    Tensor::from_data(xt.shape(), data)
}

fn max_abs_diff(a: &Tensor<f32>, b: &Tensor<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0., f32::max)
}

/// The layer norm of MediaPipe's blendshape network as tf2onnx converts it from TFLite
/// (over the channels of `[1, C, 1, T]`, the scaled term a transpose of the input to
/// `[1, 1, T, C]`, no bias). `wrong_layout` reshapes the statistics to `[1, T, 1, 1]`,
/// which broadcasts to another shape: that graph must not be fused.
fn transposed_layer_norm_model(c: usize, t: usize, gamma: &[f32], wrong_layout: bool) -> Vec<u8> {
    let stats_shape: [i64; 4] = if wrong_layout {
        [1, t as i64, 1, 1]
    } else {
        [1, 1, t as i64, 1]
    };
    let nodes = vec![
        onnx_node("ReduceMean", &["x"], "mean", &[("axes", &[1])]),
        onnx_node("Neg", &["mean"], "neg_mean", &[]),
        onnx_node("Sub", &["x", "mean"], "centered", &[]),
        onnx_node("Mul", &["centered", "centered"], "squared", &[]),
        onnx_node("ReduceMean", &["squared"], "var", &[("axes", &[1])]),
        onnx_node("Add", &["var", "epsilon"], "var_eps", &[]),
        onnx_node("Sqrt", &["var_eps"], "std_dev", &[]),
        onnx_node("Reciprocal", &["std_dev"], "inv_std_dev", &[]),
        onnx_node("Reshape", &["inv_std_dev", "stats_shape"], "inv_t", &[]),
        onnx_node("Mul", &["inv_t", "gamma"], "scale", &[]),
        onnx_node("Reshape", &["neg_mean", "stats_shape"], "neg_mean_t", &[]),
        onnx_node("Mul", &["neg_mean_t", "scale"], "shift", &[]),
        onnx_node("Transpose", &["x"], "xt", &[("perm", &[0, 2, 3, 1])]),
        onnx_node("Mul", &["xt", "scale"], "scaled", &[]),
        onnx_node("Add", &["scaled", "shift"], "y", &[]),
    ];
    let inits = vec![
        onnx_f32("epsilon", &[1, 1, 1, 1], &[1e-6]),
        onnx_f32("gamma", &[c], gamma),
        onnx_i64("stats_shape", &stats_shape),
    ];
    onnx_model(&[1, c, 1, t], nodes, inits)
}

#[test]
fn keras_layer_norms_fuse_to_layer_normalization() {
    // Change 13: `MomentsLayerNormalizationFusion`.
    let (c, t) = (64, 97);
    let gamma: Vec<f32> = (0..c).map(|i| 0.5 + value(7, i)).collect();
    // Offset so that the mean is far from zero, as after a residual add.
    let x = tensor(8, &[1, c, 1, t]).map(|v| 3.0 + v);

    let model = transposed_layer_norm_model(c, t, &gamma, false);
    let (fused, unfused, has_var) = run_optimized_and_not(&model, &x);
    assert!(!has_var, "the transposed layer norm was not fused");
    let want = reference_layer_norm(&x, 1, &[0, 2, 3, 1], &gamma, &vec![0.; c], 1e-6);
    assert_eq!(fused.shape(), [1, 1, t, c]);
    assert!(max_abs_diff(&fused, &want) < 1e-5);
    assert!(max_abs_diff(&unfused, &want) < 1e-5);

    // Statistics reshaped to a layout that does not line up with the transposed input.
    let model = transposed_layer_norm_model(c, t, &gamma, true);
    let (fused, unfused, has_var) = run_optimized_and_not(&model, &x);
    assert!(has_var, "a layer norm with misaligned statistics was fused");
    assert_eq!(fused.shape(), unfused.shape());
    assert_eq!(fused.shape(), [1, t, t, c]);
    assert_eq!(max_abs_diff(&fused, &unfused), 0.);

    // The last axis, with a bias (`bias - mean * s`), and `Pow(X - mean, 2)`.
    let c = 24;
    let gamma: Vec<f32> = (0..c).map(|i| 0.5 + value(9, i)).collect();
    let beta: Vec<f32> = (0..c).map(|i| value(10, i)).collect();
    let nodes = vec![
        onnx_node("ReduceMean", &["x"], "mean", &[("axes", &[-1])]),
        onnx_node("Sub", &["x", "mean"], "centered", &[]),
        onnx_node("Pow", &["centered", "two"], "squared", &[]),
        onnx_node("ReduceMean", &["squared"], "var", &[("axes", &[-1])]),
        onnx_node("Add", &["epsilon", "var"], "var_eps", &[]),
        onnx_node("Sqrt", &["var_eps"], "std_dev", &[]),
        onnx_node("Reciprocal", &["std_dev"], "inv_std_dev", &[]),
        onnx_node("Mul", &["gamma", "inv_std_dev"], "scale", &[]),
        onnx_node("Mul", &["mean", "scale"], "scaled_mean", &[]),
        onnx_node("Sub", &["beta", "scaled_mean"], "shift", &[]),
        onnx_node("Mul", &["x", "scale"], "scaled", &[]),
        onnx_node("Add", &["shift", "scaled"], "y", &[]),
    ];
    let inits = vec![
        onnx_f32("epsilon", &[], &[1e-3]),
        onnx_f32("two", &[], &[2.]),
        onnx_f32("gamma", &[c], &gamma),
        onnx_f32("beta", &[c], &beta),
    ];
    let model = onnx_model(&[2, 3, c], nodes, inits);
    let x = tensor(11, &[2, 3, c]).map(|v| 2.0 * v - 1.0);
    let (fused, unfused, has_var) = run_optimized_and_not(&model, &x);
    assert!(!has_var, "the last-axis layer norm was not fused");
    let want = reference_layer_norm(&x, 2, &[0, 1, 2], &gamma, &beta, 1e-3);
    assert!(max_abs_diff(&fused, &want) < 1e-5);
    assert!(max_abs_diff(&unfused, &want) < 1e-5);
}

/// Attributes of a 1x1 convolution with stride 1.
const CONV_1X1: &[(&str, &[i64])] = &[
    ("strides", &[1, 1]),
    ("dilations", &[1, 1]),
    ("pads", &[0, 0, 0, 0]),
];

/// The last block of an MLP-Mixer whose output reads only token 0, in the form tf2onnx
/// gives MediaPipe's blendshape network: `x` is `[1, C, 1, T]` (channels, tokens); a
/// token-mixing MLP (1x1 convolutions over the tokens, as channels of the transposed input)
/// and a residual add, a Keras layer norm over the channels (moments form, statistics
/// reshaped to the transposed layout), a channel-mixing MLP and a residual add, then two
/// `Slice`s of the token axis (`0..2`, then `0..1`). With `other_reader`, the output also
/// adds the sum over the tokens of the token-mixing block's output `r`, which then cannot be
/// sliced.
fn mixer_tail_model(c: usize, t: usize, other_reader: bool) -> Vec<u8> {
    let (h, g) = (12, 16);
    let last = if other_reader { "tail" } else { "y" };
    let mut nodes = vec![
        onnx_node("Transpose", &["x"], "tokens", &[("perm", &[0, 3, 2, 1])]),
        onnx_node("Conv", &["tokens", "wt1", "bt1"], "ht", CONV_1X1),
        onnx_node("Relu", &["ht"], "ht_relu", &[]),
        onnx_node("Conv", &["ht_relu", "wt2", "bt2"], "m", CONV_1X1),
        onnx_node("Transpose", &["m"], "mt", &[("perm", &[0, 3, 2, 1])]),
        onnx_node("Add", &["mt", "x"], "r", &[]),
        onnx_node("ReduceMean", &["r"], "mean", &[("axes", &[1])]),
        onnx_node("Neg", &["mean"], "neg_mean", &[]),
        onnx_node("Sub", &["r", "mean"], "centered", &[]),
        onnx_node("Mul", &["centered", "centered"], "squared", &[]),
        onnx_node("ReduceMean", &["squared"], "var", &[("axes", &[1])]),
        onnx_node("Add", &["var", "epsilon"], "var_eps", &[]),
        onnx_node("Sqrt", &["var_eps"], "std_dev", &[]),
        onnx_node("Reciprocal", &["std_dev"], "inv_std_dev", &[]),
        onnx_node("Reshape", &["inv_std_dev", "stats_shape"], "inv_t", &[]),
        onnx_node("Mul", &["inv_t", "gamma"], "scale", &[]),
        onnx_node("Reshape", &["neg_mean", "stats_shape"], "neg_mean_t", &[]),
        onnx_node("Mul", &["neg_mean_t", "scale"], "shift", &[]),
        onnx_node("Transpose", &["r"], "rt", &[("perm", &[0, 2, 3, 1])]),
        onnx_node("Mul", &["rt", "scale"], "scaled", &[]),
        onnx_node("Add", &["scaled", "shift"], "norm", &[]),
        onnx_node("Transpose", &["norm"], "norm_t", &[("perm", &[0, 3, 1, 2])]),
        onnx_node("Conv", &["norm_t", "wc1", "bc1"], "hc", CONV_1X1),
        onnx_node("Relu", &["hc"], "hc_relu", &[]),
        onnx_node("Conv", &["hc_relu", "wc2", "bc2"], "cm", CONV_1X1),
        onnx_node("Add", &["cm", "r"], "block", &[]),
        onnx_node(
            "Slice",
            &["block", "starts", "ends2", "axes"],
            "first2",
            &[],
        ),
        onnx_node("Slice", &["first2", "starts", "ends1", "axes"], last, &[]),
    ];
    if other_reader {
        nodes.push(onnx_node("ReduceSum", &["r", "sum_axes"], "r_sum", &[]));
        nodes.push(onnx_node("Add", &["tail", "r_sum"], "y", &[]));
    }
    let weights = |name: &str, seed: u64, shape: &[usize], scale: f32| {
        let w = tensor(seed, shape).map(|v| v * scale);
        onnx_f32(name, shape, w.data().unwrap())
    };
    let max = i32::MAX as i64;
    let inits = vec![
        weights("wt1", 20, &[h, t, 1, 1], 0.5),
        weights("bt1", 21, &[h], 0.1),
        weights("wt2", 22, &[t, h, 1, 1], 0.5),
        weights("bt2", 23, &[t], 0.1),
        weights("wc1", 24, &[g, c, 1, 1], 0.5),
        weights("bc1", 25, &[g], 0.1),
        weights("wc2", 26, &[c, g, 1, 1], 0.5),
        weights("bc2", 27, &[c], 0.1),
        weights("gamma", 28, &[c], 1.0),
        onnx_f32("epsilon", &[1, 1, 1, 1], &[1e-6]),
        onnx_i64("stats_shape", &[1, 1, t as i64, 1]),
        onnx_i64("starts", &[0, 0, 0, 0]),
        onnx_i64("ends2", &[max, max, 2, max]),
        onnx_i64("ends1", &[max, max, 1, max]),
        onnx_i64("axes", &[0, 2, 3, 1]),
        onnx_i64("sum_axes", &[3]),
    ];
    onnx_model(&[1, c, 1, t], nodes, inits)
}

#[test]
fn slices_of_the_token_axis_move_up_through_per_token_operators() {
    // Change 16: `optimize::slices`.
    let (c, t) = (8, 7);
    let x = tensor(30, &[1, c, 1, t]).map(|v| 2.0 + v);
    let load = |model: &[u8], optimize: bool| {
        let mut opts = ModelOptions::with_all_ops();
        opts.enable_optimization(optimize);
        opts.load(model.to_vec()).unwrap()
    };
    let run = |model: &Model| -> Tensor<f32> {
        model
            .run_one(x.view().into(), None)
            .unwrap()
            .try_into()
            .unwrap()
    };

    for other_reader in [false, true] {
        let bytes = mixer_tail_model(c, t, other_reader);
        let (optimized, plain) = (load(&bytes, true), load(&bytes, false));
        let (got, want) = (run(&optimized), run(&plain));
        assert_eq!(want.shape(), [1, c, 1, 1]);
        assert_eq!(got.shape(), [1, c, 1, 1]);
        assert!(
            max_abs_diff(&got, &want) < 1e-5,
            "other_reader {other_reader}: {got:?} != {want:?}"
        );

        // The values that only the slice read are gone: their operators compute the
        // sliced values instead. The token-mixing MLP's hidden layer mixes all tokens
        // and stays.
        let has = |name: &str| optimized.find_node(name).is_some();
        assert!(has("ht_relu"));
        for name in ["hc", "hc_relu", "cm", "block", "norm_t", "first2"] {
            assert!(
                !has(name),
                "other_reader {other_reader}: {name} still computed"
            );
        }
        // The token-mixing output is sliced (its convolution computes one output
        // channel) only if nothing else reads the residual sum.
        assert_eq!(has("m"), other_reader, "m");
        assert_eq!(has("r"), other_reader, "r");
    }
}

/// Change 17: rten-gemm's epilogue (`rten_gemm::Epilogue`). Every combination of a per-row
/// bias, a residual and per-row PRelu slopes or (change 47) a Relu, on shapes around the kernels' tiles (6 or 14
/// rows, 16 or 32 columns, partial tiles at the bottom and right edges), the row blocks (64
/// rows) and the depth blocks (256): with one depth block bit for bit against the same GEMM
/// without epilogue followed by `((p + bias) + residual)` and the PRelu's definition, with
/// several against an f64 reference. One row takes the vector-matrix path.
#[test]
fn gemm_epilogue_matches_the_definition() {
    use rten_gemm::{BiasVector, Epilogue, GemmExecutor, GemmInputA, GemmInputB};
    use rten_gemm::{GemmResult, GemmUninitOptions};
    use rten_tensor::{Matrix, NdTensor as Nd};

    let gemm = GemmExecutor::<f32, f32, f32>::default();
    let run_a = |a: Matrix, b: &Nd<f32, 2>, opts: GemmUninitOptions<f32, f32, f32>| {
        let mut out = Vec::with_capacity(a.size(0) * b.size(1));
        let res: GemmResult<&mut [f32]> = gemm.gemm_uninit(
            &mut out.spare_capacity_mut()[..a.size(0) * b.size(1)],
            GemmInputA::Unpacked(a),
            GemmInputB::Unpacked(Matrix::from(b.view())),
            opts,
        );
        res.expect("gemm");
        // Safety: the GEMM initialized every element.
        unsafe { out.set_len(a.size(0) * b.size(1)) };
        out
    };
    let run = |a: &Nd<f32, 2>, b: &Nd<f32, 2>, opts: GemmUninitOptions<f32, f32, f32>| {
        run_a(Matrix::from(a.view()), b, opts)
    };
    let mut seed = 9000;
    for m in [1, 2, 5, 6, 7, 13, 64, 70] {
        for n in [1, 7, 16, 17, 33, 40] {
            for k in [1, 3, 31, 256, 300] {
                seed += 10;
                let a = Nd::from_data(
                    [m, k],
                    (0..m * k).map(|i| value(seed, i)).collect::<Vec<_>>(),
                );
                let b = Nd::from_data(
                    [k, n],
                    (0..k * n).map(|i| value(seed + 1, i)).collect::<Vec<_>>(),
                );
                let bias: Vec<f32> = (0..m).map(|i| value(seed + 2, i)).collect();
                let residual: Vec<f32> = (0..m * n).map(|i| value(seed + 3, i)).collect();
                // Some slopes negative, some zero.
                let slopes: Vec<f32> = (0..m)
                    .map(|i| if i % 5 == 4 { 0.0 } else { value(seed + 4, i) })
                    .collect();
                let product = run(&a, &b, GemmUninitOptions::default());
                // The activation: none, PRelu or (change 47) Relu.
                for (with_bias, with_res, with_prelu, with_relu) in
                    (0..12).map(|f| (f & 1 != 0, f & 2 != 0, f / 4 == 1, f / 4 == 2))
                {
                    let got = run(
                        &a,
                        &b,
                        GemmUninitOptions {
                            bias: with_bias.then_some(BiasVector::Column(&bias[..])),
                            epilogue: Epilogue {
                                residual: with_res.then_some(&residual[..]),
                                row_prelu: with_prelu.then_some(&slopes[..]),
                                relu: with_relu,
                            },
                            ..Default::default()
                        },
                    );
                    let what = format!(
                        "{m}x{k} * {k}x{n}, bias {with_bias}, residual {with_res}, \
                         prelu {with_prelu}, relu {with_relu}"
                    );
                    // The same with A in columns (so the kernel reads it packed, change 23's
                    // other case): the same bits.
                    let a_cols = a.transposed().to_tensor();
                    let got_packed = run_a(
                        Matrix::from(a_cols.transposed()),
                        &b,
                        GemmUninitOptions {
                            bias: with_bias.then_some(BiasVector::Column(&bias[..])),
                            epilogue: Epilogue {
                                residual: with_res.then_some(&residual[..]),
                                row_prelu: with_prelu.then_some(&slopes[..]),
                                relu: with_relu,
                            },
                            ..Default::default()
                        },
                    );
                    for (i, (p, u)) in got_packed.iter().zip(&got).enumerate() {
                        assert_eq!(p.to_bits(), u.to_bits(), "{what}: A packed, element {i}");
                    }
                    for r in 0..m {
                        for c in 0..n {
                            let i = r * n + c;
                            let prelu = |x: f32| if x < 0.0 { x * slopes[r] } else { x };
                            if k <= 256 {
                                let mut x = product[i];
                                if with_bias {
                                    x += bias[r];
                                }
                                if with_res {
                                    x += residual[i];
                                }
                                if with_prelu {
                                    x = prelu(x);
                                }
                                if with_relu {
                                    x = relu_definition(x);
                                }
                                assert_eq!(got[i].to_bits(), x.to_bits(), "{what}: [{r}, {c}]");
                            } else {
                                let mut x: f64 =
                                    (0..k).map(|d| a[[r, d]] as f64 * b[[d, c]] as f64).sum();
                                if with_bias {
                                    x += bias[r] as f64;
                                }
                                if with_res {
                                    x += residual[i] as f64;
                                }
                                if with_prelu && x < 0.0 {
                                    x *= slopes[r] as f64;
                                }
                                if with_relu && x < 0.0 {
                                    x = 0.0;
                                }
                                assert!(
                                    (got[i] as f64 - x).abs() <= 1e-4 * (1.0 + x.abs()),
                                    "{what}: [{r}, {c}] is {}, expected {x}",
                                    got[i]
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    // Wrong lengths are refused.
    let a = Nd::from_data([2, 3], vec![1.0; 6]);
    let b = Nd::from_data([3, 4], vec![1.0; 12]);
    let mut out = vec![0.0f32; 8];
    // Safety: f32 has no invalid bit patterns.
    let out =
        unsafe { std::mem::transmute::<&mut [f32], &mut [std::mem::MaybeUninit<f32>]>(&mut out) };
    for epilogue in [
        Epilogue {
            residual: Some(&[1.0; 7][..]),
            row_prelu: None,
            relu: false,
        },
        Epilogue {
            residual: None,
            row_prelu: Some(&[1.0; 3][..]),
            relu: false,
        },
    ] {
        let res = gemm.gemm_uninit(
            out,
            GemmInputA::Unpacked(Matrix::from(a.view())),
            GemmInputB::Unpacked(Matrix::from(b.view())),
            GemmUninitOptions {
                epilogue,
                ..Default::default()
            },
        );
        assert!(res.is_err());
    }
}

/// Change 17: `conv_prelu` (the `ConvPRelu` operator) applies the PRelu, after the residual
/// if there is one, in the GEMM's epilogue for 1x1 and im2col convolutions, and after the
/// convolution otherwise (depthwise, whole-input, broadcasting residuals, slopes that are not
/// per channel). Bit for bit against `conv` / `conv_add` followed by `prelu`.
#[test]
fn conv_prelu_matches_conv_then_prelu() {
    // Its grouped cases include a depthwise convolution.
    let _counting = DEPTHWISE_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let pool = BufferPool::new();
    // (in_c, out_c, in_hw, kernel, pads, strides, groups)
    let shapes = [
        (3, 5, [4, 4], [1, 1], [0; 4], [1, 1], 1),
        (16, 13, [5, 17], [1, 1], [0; 4], [1, 1], 1),
        (64, 128, [4, 4], [1, 1], [0; 4], [1, 1], 1),
        (3, 16, [9, 11], [3, 3], [1, 1, 1, 1], [1, 1], 1),
        (3, 24, [16, 16], [3, 3], [0, 0, 1, 1], [2, 2], 1),
        (8, 8, [6, 13], [3, 3], [1, 1, 1, 1], [1, 1], 8),
        (8, 12, [6, 7], [3, 3], [1, 1, 1, 1], [1, 1], 2),
        (6, 9, [2, 2], [2, 2], [0; 4], [1, 1], 1),
    ];
    for (n, &(in_c, out_c, in_hw, kernel_hw, pads, strides, groups)) in shapes.iter().enumerate() {
        let input = tensor(11000 + n as u64, &[2, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(
            12000 + n as u64,
            &[out_c, in_c / groups, kernel_hw[0], kernel_hw[1]],
        );
        let bias = NdTensor::from_data(
            [out_c],
            (0..out_c)
                .map(|i| value(13000 + n as u64, i))
                .collect::<Vec<_>>(),
        );
        let conv_of = |with_bias: bool| {
            conv(
                &pool,
                input.view(),
                kernel.view(),
                with_bias.then(|| bias.view()),
                Padding::Fixed(pads.into()),
                groups,
                &strides,
                &[1, 1],
            )
            .expect("conv")
        };
        let out_shape = conv_of(false).shape().to_vec();
        let slope_values: Vec<f32> = (0..out_c).map(|i| value(14000 + n as u64, i)).collect();
        let slopes = [
            Tensor::from_data(&[out_c, 1, 1], slope_values.clone()),
            Tensor::from_data(&[1, out_c, 1, 1], slope_values.clone()),
            Tensor::from_data(&[1], vec![0.25]),
            tensor(15000 + n as u64, &[out_shape[2], out_shape[3]]),
        ];
        let residuals = [
            None,
            Some(tensor(16000 + n as u64, &out_shape)),
            Some(tensor(17000 + n as u64, &[1, out_c, 1, 1])),
        ];
        for with_bias in [true, false] {
            for slope in &slopes {
                for residual in &residuals {
                    let before = match residual {
                        None => conv_of(with_bias),
                        Some(residual) => conv_add(
                            &pool,
                            input.view(),
                            kernel.view(),
                            with_bias.then(|| bias.view()),
                            residual.view(),
                            Padding::Fixed(pads.into()),
                            groups,
                            &strides,
                            &[1, 1],
                        )
                        .expect("conv_add"),
                    };
                    let expected = prelu(&pool, before.view(), slope.view()).expect("prelu");
                    let actual = conv_prelu(
                        &pool,
                        input.view(),
                        kernel.view(),
                        with_bias.then(|| bias.view()),
                        residual.as_ref().map(|r| r.view()),
                        slope.view(),
                        Padding::Fixed(pads.into()),
                        groups,
                        &strides,
                        &[1, 1],
                    )
                    .expect("conv_prelu");
                    let what = format!(
                        "shape {n}: bias {with_bias}, slope {:?}, residual {:?}",
                        slope.shape(),
                        residual.as_ref().map(|r| r.shape().to_vec())
                    );
                    assert_same_bits(&actual, &expected, &what);
                }
            }
        }
    }
}

/// A model of three convolutions, each followed by a `PRelu`: `Conv` (1x1), `Conv` + `Add`
/// of its input (3x3, a residual), and a `Conv` over its whole input (not a GEMM); then a
/// `PRelu` whose slope is not per channel and one after a `Conv` whose output another
/// operator reads too.
fn conv_prelu_model(c: usize, hw: usize) -> Vec<u8> {
    let w = |name: &str, shape: &[usize], seed: u64| {
        let len = shape.iter().product();
        onnx_f32(
            name,
            shape,
            &(0..len).map(|i| value(seed, i)).collect::<Vec<_>>(),
        )
    };
    const PAD1: &[(&str, &[i64])] = &[
        ("strides", &[1, 1]),
        ("dilations", &[1, 1]),
        ("pads", &[1, 1, 1, 1]),
    ];
    let nodes = vec![
        onnx_node("Conv", &["x", "w1", "b1"], "c1", CONV_1X1),
        onnx_node("PRelu", &["c1", "s1"], "p1", &[]),
        onnx_node("Conv", &["p1", "w2", "b2"], "c2", PAD1),
        onnx_node("Add", &["c2", "p1"], "a2", &[]),
        onnx_node("PRelu", &["a2", "s2"], "p2", &[]),
        onnx_node("Conv", &["p2", "w3", "b3"], "c3", CONV_1X1),
        onnx_node("PRelu", &["c3", "s3"], "p3", &[]),
        onnx_node("Conv", &["p3", "w4"], "c4", CONV_1X1),
        onnx_node("PRelu", &["c4", "s4"], "p4", &[]),
        onnx_node("Conv", &["p4", "w5"], "c5", CONV_1X1),
        onnx_node("PRelu", &["c5", "s1"], "p5", &[]),
        onnx_node("Add", &["p5", "c5"], "y", &[]),
    ];
    let inits = vec![
        w("w1", &[c, c, 1, 1], 1),
        w("b1", &[c], 2),
        w("s1", &[c, 1, 1], 3),
        w("w2", &[c, c, 3, 3], 4),
        w("b2", &[c], 5),
        w("s2", &[1, c, 1, 1], 6),
        w("w3", &[c, c, hw, hw], 7),
        w("b3", &[c], 8),
        w("s3", &[c, 1, 1], 9),
        w("w4", &[c, c, 1, 1], 10),
        w("s4", &[2, 1, 1, 1], 11),
        w("w5", &[c, c, 1, 1], 12),
    ];
    onnx_model(&[2, c, hw, hw], nodes, inits)
}

/// Change 17: `ConvPReluFusion` fuses a `PRelu` with per-channel slopes into the `Conv` or
/// `ConvAdd` before it when nothing else reads the convolution's output; the optimized model
/// gives the unoptimized one's outputs.
#[test]
fn conv_prelu_fusion_matches_conv_then_prelu() {
    let (c, hw) = (8, 6);
    let bytes = conv_prelu_model(c, hw);
    let load = |optimize: bool| {
        let mut opts = ModelOptions::with_all_ops();
        opts.enable_optimization(optimize);
        opts.load(bytes.clone()).unwrap()
    };
    let (optimized, plain) = (load(true), load(false));
    let x = tensor(18000, &[2, c, hw, hw]);
    let run = |model: &Model| -> Tensor<f32> {
        model
            .run_one(x.view().into(), None)
            .unwrap()
            .try_into()
            .unwrap()
    };
    assert_same_bits(&run(&optimized), &run(&plain), "conv_prelu model");
    // A fused value is no longer computed: asking for it fails.
    let computed = |model: &Model, name: &str| {
        let (input, id) = (model.input_ids()[0], model.node_id(name).expect("value"));
        model
            .run(vec![(input, x.view().into())], &[id], None)
            .is_ok()
    };
    let has = |name: &str| computed(&optimized, name);
    // Fused: the convolutions' (and the residual sum's) outputs are gone.
    for name in ["c1", "c2", "a2", "c3"] {
        assert!(!has(name), "{name} still computed");
        assert!(computed(&plain, name), "{name} in the plain model");
    }
    // Not fused: a slope that is not per channel, a conv output read twice.
    for name in ["c4", "c5"] {
        assert!(has(name), "{name} was fused");
    }
}

/// Change 47: rten's `Relu` as the fused convolutions compute it: `x > 0 ? x : +0`, so
/// `-0` (and NaN) become `+0`, negatives `+0` (not `-0`, which a multiply by a zero slope
/// would give), positives and infinities themselves.
fn relu_definition(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// A model of one `Relu` of its input.
fn relu_model(shape: &[usize]) -> Vec<u8> {
    onnx_model(shape, vec![onnx_node("Relu", &["x"], "y", &[])], Vec::new())
}

/// Change 47: the `Relu` operator gives `+0` for `-0`, NaN and negatives, as its definition.
#[test]
fn relu_op_gives_positive_zero() {
    let values = [
        -0.0,
        0.0,
        -1.0,
        1.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -1e-40,
        1e-40,
    ];
    let data: Vec<f32> = (0..2000).map(|i| values[i % values.len()]).collect();
    let x = Tensor::from_data(&[2, 1000], data.clone());
    let model = ModelOptions::with_all_ops()
        .load(relu_model(&[2, 1000]))
        .unwrap();
    let y: Tensor<f32> = model
        .run_one(x.view().into(), None)
        .unwrap()
        .try_into()
        .unwrap();
    let want = Tensor::from_data(
        &[2, 1000],
        data.iter().map(|&v| relu_definition(v)).collect::<Vec<_>>(),
    );
    assert_same_bits(&y, &want, "Relu");
    assert_eq!(y.data().unwrap()[0].to_bits(), 0, "Relu(-0) is +0");
}

/// Change 47: `conv_relu` (the `ConvRelu` operator) applies the Relu, after the residual if
/// there is one, in the GEMM's epilogue for 1x1 and im2col convolutions (in registers, or in
/// the epilogue's loop for edge tiles and the vector-matrix path), and after the convolution
/// otherwise (depthwise, whole-input, broadcasting residuals). On shapes like BlazeFace's
/// (the 5x5 stride-2 stem, 1x1 convolutions with a residual after a depthwise one) and the
/// blendshape network's (1x1 convolutions over `[1, C, 1, T]`, depths beyond one depth
/// block), inputs with negative zeros, bit for bit against `conv` / `conv_add` followed by
/// the Relu's definition, and no `-0` in any output.
#[test]
fn conv_relu_matches_conv_then_relu() {
    // Its grouped cases include a depthwise convolution.
    let _counting = DEPTHWISE_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let pool = BufferPool::new();
    // (in_c, out_c, in_hw, kernel, pads, strides, groups)
    let shapes = [
        (3, 24, [128, 128], [5, 5], [1, 1, 2, 2], [2, 2], 1),
        (24, 24, [64, 64], [1, 1], [0; 4], [1, 1], 1),
        (24, 24, [64, 64], [3, 3], [1, 1, 1, 1], [1, 1], 24),
        (28, 32, [32, 32], [1, 1], [0; 4], [1, 1], 1),
        (96, 96, [8, 8], [1, 1], [0; 4], [1, 1], 1),
        (64, 256, [1, 50], [1, 1], [0; 4], [1, 1], 1),
        (512, 64, [1, 50], [1, 1], [0; 4], [1, 1], 1),
        (16, 13, [5, 17], [1, 1], [0; 4], [1, 1], 1),
        (8, 12, [6, 7], [3, 3], [1, 1, 1, 1], [1, 1], 2),
        (6, 9, [2, 2], [2, 2], [0; 4], [1, 1], 1),
        (40, 7, [1, 1], [1, 1], [0; 4], [1, 1], 1),
    ];
    for (n, &(in_c, out_c, in_hw, kernel_hw, pads, strides, groups)) in shapes.iter().enumerate() {
        let mut input = tensor(21000 + n as u64, &[1, in_c, in_hw[0], in_hw[1]]);
        // Negative zeros in the input (and zeros that stay `-0` through a depthwise sum).
        for (i, v) in input.data_mut().unwrap().iter_mut().enumerate() {
            if i % 7 == 3 {
                *v = -0.0;
            }
        }
        let kernel = tensor(
            22000 + n as u64,
            &[out_c, in_c / groups, kernel_hw[0], kernel_hw[1]],
        );
        let bias = NdTensor::from_data(
            [out_c],
            (0..out_c)
                .map(|i| value(23000 + n as u64, i))
                .collect::<Vec<_>>(),
        );
        let conv_of = |with_bias: bool| {
            conv(
                &pool,
                input.view(),
                kernel.view(),
                with_bias.then(|| bias.view()),
                Padding::Fixed(pads.into()),
                groups,
                &strides,
                &[1, 1],
            )
            .expect("conv")
        };
        let out_shape = conv_of(false).shape().to_vec();
        let mut neg_zero_residual = tensor(24000 + n as u64, &out_shape);
        for (i, v) in neg_zero_residual.data_mut().unwrap().iter_mut().enumerate() {
            if i % 3 == 0 {
                *v = -0.0;
            }
        }
        let residuals = [
            None,
            Some(tensor(25000 + n as u64, &out_shape)),
            Some(neg_zero_residual),
            Some(tensor(26000 + n as u64, &[1, out_c, 1, 1])),
        ];
        for with_bias in [true, false] {
            for residual in &residuals {
                let before = match residual {
                    None => conv_of(with_bias),
                    Some(residual) => conv_add(
                        &pool,
                        input.view(),
                        kernel.view(),
                        with_bias.then(|| bias.view()),
                        residual.view(),
                        Padding::Fixed(pads.into()),
                        groups,
                        &strides,
                        &[1, 1],
                    )
                    .expect("conv_add"),
                };
                let expected = before.map(|&v| relu_definition(v));
                let actual = conv_relu(
                    &pool,
                    input.view(),
                    kernel.view(),
                    with_bias.then(|| bias.view()),
                    residual.as_ref().map(|r| r.view()),
                    Padding::Fixed(pads.into()),
                    groups,
                    &strides,
                    &[1, 1],
                )
                .expect("conv_relu");
                let what = format!(
                    "shape {n}: bias {with_bias}, residual {:?}",
                    residual.as_ref().map(|r| r.shape().to_vec())
                );
                assert_same_bits(&actual, &expected, &what);
                assert!(
                    actual.iter().all(|v| v.to_bits() != (-0.0f32).to_bits()),
                    "{what}: a -0 in the output"
                );
                // The Relu did something: about half the outputs are zeros.
                let zeros = actual.iter().filter(|&&v| v == 0.0).count();
                assert!(zeros > 0 && zeros < actual.len(), "{what}: {zeros} zeros");
            }
        }
    }
}

/// A model of convolutions each followed by a `Relu`: `Conv` (1x1), `Conv` + `Add` of its
/// input (3x3, a residual), a depthwise `Conv` (not a GEMM) and a `Conv` over its whole input
/// (not a GEMM); then a `Relu` after a `Conv` whose output another operator reads too.
fn conv_relu_model(c: usize, hw: usize) -> Vec<u8> {
    let w = |name: &str, shape: &[usize], seed: u64| {
        let len = shape.iter().product();
        onnx_f32(
            name,
            shape,
            &(0..len).map(|i| value(seed, i)).collect::<Vec<_>>(),
        )
    };
    const PAD1: &[(&str, &[i64])] = &[
        ("strides", &[1, 1]),
        ("dilations", &[1, 1]),
        ("pads", &[1, 1, 1, 1]),
    ];
    // A depthwise convolution: `group` is an INT attribute (type 2, value in field 3).
    let depthwise = onnx_node("Conv", &["r2", "w3", "b3"], "c3", PAD1).message(
        5,
        Proto::default()
            .string(1, "group")
            .int(20, 2)
            .int(3, c as i64),
    );
    let nodes = vec![
        onnx_node("Conv", &["x", "w1", "b1"], "c1", CONV_1X1),
        onnx_node("Relu", &["c1"], "r1", &[]),
        onnx_node("Conv", &["r1", "w2", "b2"], "c2", PAD1),
        onnx_node("Add", &["c2", "r1"], "a2", &[]),
        onnx_node("Relu", &["a2"], "r2", &[]),
        depthwise,
        onnx_node("Relu", &["c3"], "r3", &[]),
        onnx_node("Conv", &["r3", "w4", "b4"], "c4", CONV_1X1),
        onnx_node("Add", &["r3", "c4"], "a4", &[]),
        onnx_node("Relu", &["a4"], "r4", &[]),
        onnx_node("Conv", &["r4", "w5", "b5"], "c5", CONV_1X1),
        onnx_node("Relu", &["c5"], "r5", &[]),
        onnx_node("Add", &["r5", "c5"], "y", &[]),
    ];
    let inits = vec![
        w("w1", &[c, c, 1, 1], 31),
        w("b1", &[c], 32),
        w("w2", &[c, c, 3, 3], 33),
        w("b2", &[c], 34),
        w("w3", &[c, 1, 3, 3], 35),
        w("b3", &[c], 36),
        w("w4", &[c, c, 1, 1], 37),
        w("b4", &[c], 38),
        w("w5", &[c, c, 1, 1], 39),
        w("b5", &[c], 40),
    ];
    onnx_model(&[1, c, hw, hw], nodes, inits)
}

/// Change 47: `ConvReluFusion` fuses a `Relu` into the `Conv` or `ConvAdd` before it (GEMM or
/// not) when nothing else reads the convolution's output; the optimized model gives the
/// unoptimized one's outputs bit for bit, negative zeros in the input included.
#[test]
fn conv_relu_fusion_matches_conv_then_relu() {
    let (c, hw) = (24, 16);
    let bytes = conv_relu_model(c, hw);
    let load = |optimize: bool| {
        let mut opts = ModelOptions::with_all_ops();
        opts.enable_optimization(optimize);
        opts.load(bytes.clone()).unwrap()
    };
    let (optimized, plain) = (load(true), load(false));
    let mut x = tensor(28000, &[1, c, hw, hw]);
    for (i, v) in x.data_mut().unwrap().iter_mut().enumerate() {
        if i % 5 == 0 {
            *v = -0.0;
        }
    }
    let run = |model: &Model| -> Tensor<f32> {
        model
            .run_one(x.view().into(), None)
            .unwrap()
            .try_into()
            .unwrap()
    };
    assert_same_bits(&run(&optimized), &run(&plain), "conv_relu model");
    let computed = |model: &Model, name: &str| {
        let (input, id) = (model.input_ids()[0], model.node_id(name).expect("value"));
        model
            .run(vec![(input, x.view().into())], &[id], None)
            .is_ok()
    };
    // Fused: the convolutions' (and the residual sums') outputs are gone.
    for name in ["c1", "c2", "a2", "c3", "c4", "a4"] {
        assert!(!computed(&optimized, name), "{name} still computed");
        assert!(computed(&plain, name), "{name} in the plain model");
    }
    // Not fused: a conv output read twice.
    assert!(computed(&optimized, "c5"), "c5 was fused");
}

/// Change 26: rten-gemm's kernel computes all the full-width column tiles of a block in one
/// call of its epilogue path (16 columns each with AVX2), not one call per column of tiles:
/// wide outputs (up to 2048 columns: two column blocks; a narrower last tile; 70 rows: two
/// row blocks), small depths as in the 1x1 convolutions of MobileNet-style networks, A read
/// in place and packed, bit for bit against the same GEMM without epilogue followed by
/// `((p + bias) + residual)` and the PRelu's definition. Run on a one-thread pool, whose
/// thread's kernel-stats counters show one call per block and every full-width tile computed
/// (the counters are the AVX2 kernel's; a host whose executor picks AVX-512 checks the bits).
#[test]
fn gemm_epilogue_one_kernel_call_per_block() {
    use rten_gemm::{BiasVector, Epilogue, GemmExecutor, GemmInputA, GemmInputB};
    use rten_gemm::{GemmUninitOptions, epilogue_kernel_stats};
    use rten_tensor::{Matrix, NdTensor as Nd};

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let gemm = GemmExecutor::<f32, f32, f32>::default();
        let counted = gemm.kernel_name() == "x86_64-f32-fma";
        if !counted {
            eprintln!(
                "kernel {}: the FMA kernel's call counters are not checked",
                gemm.kernel_name()
            );
        }
        let run = |a: Matrix, b: &Nd<f32, 2>, opts: GemmUninitOptions<f32, f32, f32>| {
            let (m, n) = (a.size(0), b.size(1));
            let mut out = Vec::with_capacity(m * n);
            gemm.gemm_uninit(
                &mut out.spare_capacity_mut()[..m * n],
                GemmInputA::Unpacked(a),
                GemmInputB::Unpacked(Matrix::from(b.view())),
                opts,
            )
            .expect("gemm");
            // Safety: the GEMM initialized every element.
            unsafe { out.set_len(m * n) };
            out
        };
        let mut seed = 30000;
        for m in [8, 16, 70] {
            for n in [160, 1000, 1030, 2048] {
                for k in [8, 16] {
                    seed += 10;
                    let a = Nd::from_data(
                        [m, k],
                        (0..m * k).map(|i| value(seed, i)).collect::<Vec<_>>(),
                    );
                    let b = Nd::from_data(
                        [k, n],
                        (0..k * n).map(|i| value(seed + 1, i)).collect::<Vec<_>>(),
                    );
                    let bias: Vec<f32> = (0..m).map(|i| value(seed + 2, i)).collect();
                    let residual: Vec<f32> = (0..m * n).map(|i| value(seed + 3, i)).collect();
                    let slopes: Vec<f32> = (0..m).map(|i| value(seed + 4, i)).collect();
                    let opts = || GemmUninitOptions {
                        bias: Some(BiasVector::Column(&bias[..])),
                        epilogue: Epilogue {
                            residual: Some(&residual[..]),
                            row_prelu: Some(&slopes[..]),
                            relu: false,
                        },
                        ..Default::default()
                    };
                    let product = run(Matrix::from(a.view()), &b, GemmUninitOptions::default());
                    let before = epilogue_kernel_stats();
                    let got = run(Matrix::from(a.view()), &b, opts());
                    let after = epilogue_kernel_stats();
                    // A in columns: the kernel reads it packed.
                    let a_cols = a.transposed().to_tensor();
                    let got_packed = run(Matrix::from(a_cols.transposed()), &b, opts());
                    let what = format!("{m}x{k} * {k}x{n}");
                    // The counters are the AVX2 (FMA) kernel's: on a host where the
                    // executor picks another kernel (AVX-512), only the bits are checked.
                    if counted {
                        let row_blocks = m.div_ceil(66);
                        let full_tiles = n / 16;
                        assert_eq!(
                            after.col_tiles - before.col_tiles,
                            row_blocks * full_tiles,
                            "{what}: column tiles"
                        );
                        assert_eq!(
                            after.calls - before.calls,
                            row_blocks * full_tiles.div_ceil(64),
                            "{what}: kernel calls, one per block"
                        );
                    }
                    for r in 0..m {
                        for c in 0..n {
                            let i = r * n + c;
                            let x = product[i] + bias[r] + residual[i];
                            let x = if x < 0.0 { x * slopes[r] } else { x };
                            assert_eq!(got[i].to_bits(), x.to_bits(), "{what}: [{r}, {c}]");
                            assert_eq!(
                                got_packed[i].to_bits(),
                                x.to_bits(),
                                "{what}: A packed, [{r}, {c}]"
                            );
                        }
                    }
                }
            }
        }
    });
}

/// One case of [`for_each_epilogue_gemm`].
struct EpilogueGemmCase {
    m: usize,
    k: usize,
    n: usize,
    /// Which of bias, residual and PRelu the epilogue has (bits 0, 1, 2).
    parts: usize,
    has_bias: bool,
    has_res: bool,
    has_prelu: bool,
    /// The case, for messages.
    what: String,
    /// Whether the GEMM's kernel is the AVX2 + FMA one, the only one that reads B in place
    /// (the values are checked on any).
    kernel_reads_in_place: bool,
}

/// The GEMMs of changes 32, 36 and 37's tests, on one thread: for each `(m, k, n)` of
/// `shapes`, A `[m, k]` times the first `n` columns of B (`[k, n]`, or `[k, n + 40]`: a view
/// with a row stride past its columns), with each combination of bias, residual and PRelu
/// in the epilogue, the seeds from `seed` on. Each case runs twice, with B transposed in
/// memory (a column stride other than 1: packed by `pack_b_block`) and with B as it is (the
/// kernel may read it in place); `check` gets the case and the kernel stats before and
/// after each run (`[before, after]`, B packed then B as it is) to check which path ran.
/// Then the second run's output must equal the first's bit for bit, and, in one depth
/// block, the GEMM without epilogue followed by `((p + bias) + residual)` and the PRelu.
fn for_each_epilogue_gemm(
    seed: u64,
    shapes: &[(usize, usize, usize)],
    mut check: impl FnMut(&EpilogueGemmCase, [EpilogueKernelStats; 2], [EpilogueKernelStats; 2]) + Send,
) {
    use rten_gemm::{BiasVector, Epilogue, GemmExecutor, GemmInputA, GemmInputB};
    use rten_gemm::{GemmUninitOptions, epilogue_kernel_stats};
    use rten_tensor::{Matrix, NdTensor as Nd};

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let gemm = GemmExecutor::<f32, f32, f32>::default();
        let kernel_reads_in_place = gemm.kernel_name() == "x86_64-f32-fma";
        let run = |a: Matrix, b: Matrix, opts: GemmUninitOptions<f32, f32, f32>| {
            let (m, n) = (a.size(0), b.size(1));
            let mut out = Vec::with_capacity(m * n);
            gemm.gemm_uninit(
                &mut out.spare_capacity_mut()[..m * n],
                GemmInputA::Unpacked(a),
                GemmInputB::Unpacked(b),
                opts,
            )
            .expect("gemm");
            // Safety: the GEMM initialized every element.
            unsafe { out.set_len(m * n) };
            out
        };
        let mut seed = seed;
        for &(m, k, n) in shapes {
            for b_wide in [false, true] {
                for parts in 0..8 {
                    seed += 10;
                    let a = Nd::from_data(
                        [m, k],
                        (0..m * k).map(|i| value(seed, i)).collect::<Vec<_>>(),
                    );
                    // B: the first n columns of [k, n] or [k, n + 40]; and the same
                    // values transposed in memory.
                    let w = if b_wide { n + 40 } else { n };
                    let b_store = Nd::from_data(
                        [k, w],
                        (0..k * w).map(|i| value(seed + 1, i)).collect::<Vec<_>>(),
                    );
                    let b_view = b_store.slice((.., ..n));
                    let b_t = b_view.transposed().to_tensor();
                    let bias: Vec<f32> = (0..m).map(|i| value(seed + 2, i)).collect();
                    let residual: Vec<f32> = (0..m * n).map(|i| value(seed + 3, i)).collect();
                    let slopes: Vec<f32> = (0..m).map(|i| value(seed + 4, i)).collect();
                    let (has_bias, has_res, has_prelu) =
                        (parts & 1 != 0, parts & 2 != 0, parts & 4 != 0);
                    let opts = || GemmUninitOptions {
                        bias: has_bias.then_some(BiasVector::Column(&bias[..])),
                        epilogue: Epilogue {
                            residual: has_res.then_some(&residual[..]),
                            row_prelu: has_prelu.then_some(&slopes[..]),
                            relu: false,
                        },
                        ..Default::default()
                    };
                    let case = EpilogueGemmCase {
                        m,
                        k,
                        n,
                        parts,
                        has_bias,
                        has_res,
                        has_prelu,
                        what: format!("{m}x{k} * {k}x{n}, B wide {b_wide}, parts {parts}"),
                        kernel_reads_in_place,
                    };
                    let what = &case.what;

                    let before_packed = epilogue_kernel_stats();
                    let packed = run(
                        Matrix::from(a.view()),
                        Matrix::from(b_t.transposed()),
                        opts(),
                    );
                    let after_packed = epilogue_kernel_stats();
                    let before = epilogue_kernel_stats();
                    let got = run(Matrix::from(a.view()), Matrix::from(b_view.view()), opts());
                    let after = epilogue_kernel_stats();
                    check(&case, [before_packed, after_packed], [before, after]);

                    let product = (k <= 256).then(|| {
                        run(
                            Matrix::from(a.view()),
                            Matrix::from(b_view.view()),
                            GemmUninitOptions::default(),
                        )
                    });
                    for r in 0..m {
                        for c in 0..n {
                            let i = r * n + c;
                            assert_eq!(
                                got[i].to_bits(),
                                packed[i].to_bits(),
                                "{what}: [{r}, {c}] against B packed"
                            );
                            let Some(product) = &product else { continue };
                            let mut x = product[i];
                            if has_bias {
                                x += bias[r];
                            }
                            if has_res {
                                x += residual[i];
                            }
                            if has_prelu && x < 0.0 {
                                x *= slopes[r];
                            }
                            assert_eq!(got[i].to_bits(), x.to_bits(), "{what}: [{r}, {c}]");
                        }
                    }
                }
            }
        }
    });
}

/// Change 32: where a GEMM has one row block (at most 66 rows: 64 rounded up to 6-row tiles) and the kernel takes the
/// block's epilogue, the kernel reads B in place for the full-width column tiles and packs
/// each tile's panel itself as it computes that column's first row tile; the other row tiles
/// read the panel. Bit for bit against the same GEMM with B transposed in memory (a column
/// stride other than 1: packed by `pack_b_block` as before) and, in one depth block, against
/// the GEMM without epilogue followed by `((p + bias) + residual)` and the PRelu: 1-70 rows
/// (one row: the vector-matrix path; one tile, full and partial ones, two row blocks), depths 1-300 (two depth blocks past
/// 256), widths around the 16-column tile (none full-width, a narrower last tile, two column
/// blocks), B contiguous and a view of a wider matrix (row stride past its columns), every
/// combination of bias, residual and PRelu. kernel-stats counts the column tiles that read B
/// in place. Change 36: with fewer rows than one row tile (2-5), each column's one tile reads
/// B in place without packing it, which kernel-stats counts too.
#[test]
fn gemm_rhs_read_in_place_by_the_kernel() {
    let mut in_place_cases = 0;
    let mut unpacked_cases = 0;
    let mut kernel_reads_in_place = false;
    let shapes = [
        (8, 16, 1024),
        (8, 16, 16),
        (8, 16, 15),
        (8, 16, 17),
        (16, 8, 1030),
        (32, 16, 2048),
        (16, 32, 200),
        (1, 1, 48),
        (3, 2, 33),
        (2, 16, 48),
        (5, 64, 40),
        (4, 300, 64),
        (6, 3, 64),
        (7, 5, 64),
        (12, 17, 64),
        (64, 33, 96),
        (65, 16, 64),
        (70, 8, 100),
        (24, 256, 64),
        (13, 300, 40),
    ];
    for_each_epilogue_gemm(
        40000,
        &shapes,
        |case, [before_packed, after_packed], [before, after]| {
            let EpilogueGemmCase {
                m,
                k,
                n,
                parts,
                has_bias,
                has_res,
                has_prelu,
                ref what,
                ..
            } = *case;
            kernel_reads_in_place = case.kernel_reads_in_place;
            assert_eq!(
                after_packed.in_place_col_tiles, before_packed.in_place_col_tiles,
                "{what}"
            );
            // Read in place: one row block, full-width tiles, and each depth block with an
            // epilogue the kernel applies (the bias after the first, the residual and PRelu
            // after the last).
            let epilogue_blocks = if k <= 256 {
                usize::from(parts != 0)
            } else {
                usize::from(has_bias) + usize::from(has_res || has_prelu)
            };
            // (One row is a vector-matrix product: no blocks, no tiles.)
            let expected = if kernel_reads_in_place && (2..=66).contains(&m) {
                epilogue_blocks * (n / 16)
            } else {
                0
            };
            let tiles = after.in_place_col_tiles - before.in_place_col_tiles;
            assert_eq!(tiles, expected, "{what}: column tiles read in place");
            // Of them, those of a single partial row tile: not packed.
            let unpacked = after.unpacked_col_tiles - before.unpacked_col_tiles;
            let expected_unpacked = if m < 6 { expected } else { 0 };
            assert_eq!(
                unpacked, expected_unpacked,
                "{what}: column tiles read in place, not packed"
            );
            if expected > 0 {
                in_place_cases += 1;
                if m < 6 {
                    unpacked_cases += 1;
                }
            }
        },
    );
    if kernel_reads_in_place {
        assert!(
            in_place_cases > 100,
            "{in_place_cases} cases read B in place"
        );
        assert!(
            unpacked_cases > 20,
            "{unpacked_cases} cases read B in place, not packed"
        );
    }
}

/// Change 37: where a block read in place (change 32) has full row tiles and
/// a remainder of 1 or 2 rows, the AVX2 + FMA kernel computes the remainder
/// rows 48 columns (three column tiles) at a time from a panel that wide,
/// packed by the three column tiles' first row tiles. Checked bit for bit
/// against the same GEMM with B packed by `pack_b_block` (B transposed in
/// memory) and against the definition, over 1- and 2-row remainders below
/// one to five full row tiles, widths that are and are not multiples of 48
/// (and of 16), depths up to and past what the panel holds (85), a second
/// depth block (the epilogue after `beta = 1`), and every combination of
/// bias, residual and PRelu; with `kernel-stats`, that exactly the expected
/// groups of three column tiles took the wide tile.
#[test]
fn gemm_wide_remainder_tiles() {
    let mut wide_cases = [0; 2];
    let mut kernel_reads_in_place = false;
    let shapes = [
        // The mesh's 1x1 convolutions with 8 output channels.
        (8, 16, 1024),
        (8, 32, 4096),
        (8, 16, 48),
        (8, 16, 47),
        (8, 16, 64),
        (8, 16, 80),
        (8, 16, 100),
        (8, 8, 1040),
        (8, 85, 144),
        (8, 86, 144),
        (8, 1, 96),
        (8, 300, 96),
        (7, 16, 96),
        (7, 3, 150),
        (7, 85, 48),
        (13, 16, 200),
        (14, 24, 96),
        (20, 16, 112),
        (31, 9, 160),
        (32, 16, 1000),
        (32, 300, 48),
        (9, 16, 96),
        (12, 16, 96),
    ];
    for_each_epilogue_gemm(
        50000,
        &shapes,
        |case, [before_packed, after_packed], [before, after]| {
            let EpilogueGemmCase {
                m,
                k,
                n,
                has_bias,
                has_res,
                has_prelu,
                ref what,
                ..
            } = *case;
            kernel_reads_in_place = case.kernel_reads_in_place;
            // (With a depth of 1, B transposed has a column stride of 1 too.)
            if k > 1 {
                assert_eq!(
                    after_packed.wide_remainder_tiles, before_packed.wide_remainder_tiles,
                    "{what}: B packed"
                );
            }
            // The depth blocks (256 deep) that the kernel reads in place with an epilogue (the
            // bias after the first, the residual and PRelu after the last) and whose 48-wide
            // panel fits in the kernel's (85 deep); in each, a group per three full-width
            // column tiles of each column block (1024 columns). Not the last block where it
            // adds a residual to rows a multiple of 4 KB apart: change 45 computes all its
            // rows in pairs.
            let wide_blocks = (0..k)
                .step_by(256)
                .filter(|&start| {
                    let end = (start + 256).min(k);
                    let epilogue = (start == 0 && has_bias) || (end == k && (has_res || has_prelu));
                    let row_pairs = end == k && has_res && n % 1024 == 0;
                    epilogue && end - start <= 85 && !row_pairs
                })
                .count();
            let groups: usize = (0..n / 16)
                .step_by(64)
                .map(|t| (n / 16 - t).min(64) / 3)
                .sum();
            let expected = if kernel_reads_in_place && m > 6 && matches!(m % 6, 1 | 2) {
                wide_blocks * groups
            } else {
                0
            };
            let tiles = after.wide_remainder_tiles - before.wide_remainder_tiles;
            assert_eq!(tiles, expected, "{what}: wide remainder tiles");
            if expected > 0 {
                wide_cases[m % 6 - 1] += 1;
            }
        },
    );
    if kernel_reads_in_place {
        assert!(
            wide_cases[0] > 30 && wide_cases[1] > 100,
            "{wide_cases:?} cases with a 1- and 2-row wide remainder tile"
        );
    }
}

/// Change 45: where a block read in place (change 32) adds a residual to output rows a
/// multiple of 4 KB apart (the mesh's 1x1 expansions with a residual at 128x128, 64x64 and
/// 32x32: planes of 64, 16 and 4 KB), the AVX2 + FMA kernel computes its rows two at a time
/// (and a last single row), 48 columns per tile, along the rows of up to 8 such column groups
/// whose B it has copied into a panel, instead of 6-row tiles down each column. Checked bit
/// for bit against the same GEMM with B packed by `pack_b_block` (B transposed in memory) and
/// against the definition, over even and odd row counts from one row tile to one row block
/// (66) and past it (two row blocks: B packed, not taken), widths that are multiples of 1024
/// (and one that is not), with 1-2 column tiles after the last group of three, depths up to
/// and past what one group's panel holds (85), a second depth block (the residual after
/// `beta = 1`), the mesh's 16 x 8 x 16384, and every combination of bias, residual and PRelu;
/// with `kernel-stats`, that exactly the expected groups took the row pairs.
#[test]
fn gemm_row_pair_strips() {
    let mut strip_cases = [0; 2];
    let mut kernel_reads_in_place = false;
    let shapes = [
        (16, 8, 16384),
        (16, 8, 1024),
        (16, 8, 1040),
        (32, 16, 4096),
        (64, 32, 1024),
        (6, 3, 1024),
        (7, 16, 1024),
        (13, 85, 1024),
        (9, 86, 1024),
        (12, 300, 1024),
        (11, 5, 2048),
        (66, 8, 1024),
        (67, 8, 1024),
    ];
    for_each_epilogue_gemm(
        60000,
        &shapes,
        |case, [before_packed, after_packed], [before, after]| {
            let EpilogueGemmCase {
                m,
                k,
                n,
                has_res,
                ref what,
                ..
            } = *case;
            kernel_reads_in_place = case.kernel_reads_in_place;
            assert_eq!(
                after_packed.row_pair_groups, before_packed.row_pair_groups,
                "{what}: B packed"
            );
            // The last depth block (256 deep) adds the residual; its 48-wide panel must
            // hold one group (85 deep); B is read in place in one row block (6-66 rows);
            // a group per three column tiles of each column block (1024 columns).
            let last_depth = k - (k - 1) / 256 * 256;
            let groups: usize = (0..n / 16)
                .step_by(64)
                .map(|t| (n / 16 - t).min(64) / 3)
                .sum();
            let expected = if kernel_reads_in_place
                && has_res
                && n % 1024 == 0
                && last_depth <= 85
                && (6..=66).contains(&m)
            {
                groups
            } else {
                0
            };
            let got = after.row_pair_groups - before.row_pair_groups;
            assert_eq!(got, expected, "{what}: groups computed in row pairs");
            if expected > 0 {
                strip_cases[m % 2] += 1;
            }
        },
    );
    if kernel_reads_in_place {
        assert!(
            strip_cases[0] > 20 && strip_cases[1] > 10,
            "{strip_cases:?} cases with an even and odd number of rows in row pairs"
        );
    }
}

/// Change 42: a convolution whose kernel is its stride, with no padding, over an output
/// narrower than the GEMM's panel (the face mesh's 2x2 stride-2 convolutions at 16x16 and
/// below), is computed as the 1x1 convolution of its im2col matrix written by a
/// space-to-depth copy; wider ones keep the im2col path. Either way: bit for bit the 1x1
/// convolution of the im2col matrix built by the
/// definition (as change 25's test checks the im2col packing, so the same bits as the im2col
/// path), with and without bias, and as `conv_prelu` with a residual and per-channel slopes.
/// Cases: the mesh's shapes at 128x128, 64x64 and 16x16 (a depth of 512, two depth blocks);
/// 2x2 and 4x4 images (one and four output positions); odd sizes whose last row or column
/// no window covers; 3x3 stride 3, 2x3 stride (2, 3) and 1x2 stride (1, 2); a batch of two;
/// NCHW and NHWC read through a permuted view. With `kernel-stats`: that the path ran.
#[test]
fn space_to_depth_conv_matches_the_definition_bit_for_bit() {
    let pool = BufferPool::new();
    // (batch, in channels, out channels, input size, kernel = strides)
    let shapes = [
        (1, 16, 16, [128, 128], [2, 2]),
        (1, 32, 32, [64, 64], [2, 2]),
        (1, 128, 64, [16, 16], [2, 2]),
        (1, 128, 64, [2, 2], [2, 2]),
        (1, 64, 128, [4, 4], [2, 2]),
        (1, 5, 7, [9, 11], [2, 2]),
        (1, 3, 4, [10, 9], [3, 3]),
        (1, 4, 6, [8, 11], [2, 3]),
        (1, 6, 5, [7, 9], [1, 2]),
        (2, 8, 13, [6, 10], [2, 2]),
    ];
    #[cfg(feature = "kernel-stats")]
    let before = rten::ops::space_to_depth_images();
    let mut images = 0;
    for (n, &(batch, in_c, out_c, in_hw, kernel_hw)) in shapes.iter().enumerate() {
        let case = Case {
            channels: in_c,
            in_hw,
            kernel: kernel_hw,
            pads: [0; 4],
            strides: kernel_hw,
            dilations: [1, 1],
        };
        let seed = 42_000 + 10 * n as u64;
        let input = tensor(seed, &[batch, in_c, in_hw[0], in_hw[1]]);
        let kernel = tensor(seed + 1, &[out_c, in_c, kernel_hw[0], kernel_hw[1]]);
        let bias = NdTensor::from_data([out_c], tensor(seed + 2, &[out_c]).to_vec());
        let slope = tensor(seed + 3, &[out_c, 1, 1]);
        let [out_h, out_w] = [in_hw[0] / kernel_hw[0], in_hw[1] / kernel_hw[1]];
        let residual = tensor(seed + 4, &[batch, out_c, out_h, out_w]);
        let rows = in_c * kernel_hw[0] * kernel_hw[1];
        let kernel_1x1 = kernel.to_shape([out_c, rows, 1, 1].as_slice());
        let nhwc = input.permuted(&[0, 2, 3, 1]).to_tensor();
        let nhwc_view = nhwc.permuted(&[0, 3, 1, 2]);
        for (layout, input) in [("NCHW", input.view()), ("NHWC", nhwc_view)] {
            let what = format!(
                "shape {n}: batch {batch}, {in_c}->{out_c} channels, {in_hw:?} {layout} \
                 input, {kernel_hw:?} kernel and strides"
            );
            let zero = Padding::Fixed([0; 4].into());
            let plain = conv(
                &pool,
                input.view(),
                kernel.view(),
                None,
                zero.clone(),
                1,
                &kernel_hw,
                &[1, 1],
            )
            .expect("conv");
            let with_bias = conv(
                &pool,
                input.view(),
                kernel.view(),
                Some(bias.view()),
                zero.clone(),
                1,
                &kernel_hw,
                &[1, 1],
            )
            .expect("conv with bias");
            let fused = conv_prelu(
                &pool,
                input.view(),
                kernel.view(),
                Some(bias.view()),
                Some(residual.view()),
                slope.view(),
                zero.clone(),
                1,
                &kernel_hw,
                &[1, 1],
            )
            .expect("conv_prelu");
            // The path is taken for outputs narrower than the GEMM's panel (16 columns with
            // AVX2, at least 8 with any kernel), except where the kernel is the size of the
            // image: a whole-input convolution (change 10).
            if out_w < 8 && in_hw != kernel_hw {
                images += 3 * batch;
            }
            for item in 0..batch {
                let image = input.slice(item..item + 1).to_tensor();
                let (matrix, out_hw) = im2col_by_definition(&case, image.view());
                assert_eq!(out_hw, [out_h, out_w], "{what}");
                let item_residual = residual
                    .slice(item..item + 1)
                    .to_tensor()
                    .into_shape([1, out_c, 1, out_h * out_w].as_slice());
                let run_1x1 = |bias: Option<NdTensorView<f32, 1>>, fused: bool| {
                    let output = if fused {
                        conv_prelu(
                            &pool,
                            matrix.view(),
                            kernel_1x1.view(),
                            bias,
                            Some(item_residual.view()),
                            slope.view(),
                            zero.clone(),
                            1,
                            &[1, 1],
                            &[1, 1],
                        )
                    } else {
                        conv(
                            &pool,
                            matrix.view(),
                            kernel_1x1.view(),
                            bias,
                            zero.clone(),
                            1,
                            &[1, 1],
                            &[1, 1],
                        )
                    };
                    output
                        .expect("1x1 conv")
                        .into_shape([1, out_c, out_h, out_w].as_slice())
                };
                let item_of = |t: &Tensor<f32>| t.slice(item..item + 1).to_tensor();
                let what = format!("{what}, image {item}");
                assert_same_bits(&item_of(&plain), &run_1x1(None, false), &what);
                assert_same_bits(
                    &item_of(&with_bias),
                    &run_1x1(Some(bias.view()), false),
                    &format!("{what}, with bias"),
                );
                assert_same_bits(
                    &item_of(&fused),
                    &run_1x1(Some(bias.view()), true),
                    &format!("{what}, conv_prelu with a residual"),
                );
            }
        }
    }
    #[cfg(feature = "kernel-stats")]
    {
        // Other tests may run such convolutions at the same time: they only add.
        let rearranged = rten::ops::space_to_depth_images() - before;
        assert!(rearranged >= images, "{rearranged} < {images}");
    }
    #[cfg(not(feature = "kernel-stats"))]
    let _ = images;
}

/// Change 44: a large kernel of a convolution over its whole input, all of whose values are
/// exactly f16, is prepacked as half-precision values (interleaved by tiles of eight output
/// columns) and widened as the vector-matrix kernel reads it; the outputs are the f32 path's
/// bit for bit. Shapes: the face mesh's head (depth 512, 1434 outputs: a last tile of 6 and
/// blocks of 717 columns on two threads), a depth that is not a multiple of 8 (remainder read
/// from the f32 kernel), a depth over 512 (rten-gemm's depth blocks, their sums added), two
/// images, without bias; values that include f16 subnormals, -0 and the largest f16. A
/// kernel with one value that is not an f16, or below the size threshold, keeps the f32 path.
#[test]
fn whole_input_conv_with_half_weights_matches_f32_bit_for_bit() {
    use rten::ops::{half_weight_images, half_weights_available};

    // Every f16 value: subnormals (k * 2^-24), normals up to 65504, and -0.
    let f16_exact = |seed: u64, i: usize| -> f32 {
        match i % 97 {
            0 => -0.0,
            1 => 65504.0 * 2f32.powi(-20),
            2 => 3.0 * 2f32.powi(-24),
            3 => -1023.0 * 2f32.powi(-24),
            _ => {
                let v = value(seed, i); // k / 10_000 in [-1, 1)
                if v == 0.0 {
                    return v;
                }
                // Round to 10 significant bits: exact in f16 for |v| >= 2^-14.
                let e = v.abs().log2().floor() as i32;
                let q = 2f32.powi(e - 10);
                (v / q).round() * q
            }
        }
    };
    // (in channels, kernel h, w, out channels, batch, bias, f16-exact, expect the half path)
    let cases = [
        (128, 2, 2, 1434, 1, true, true, true),
        (37, 3, 3, 790, 1, true, true, true),
        (100, 3, 3, 300, 2, false, true, true),
        (128, 2, 2, 1434, 1, true, false, false),
        (64, 2, 2, 200, 1, true, true, false), // 51200 weights: under the threshold
    ];
    // The counter is global, and only this test runs convolutions with prepacked weights.
    for (n, &(c, kh, kw, out_c, batch, with_bias, exact, half)) in cases.iter().enumerate() {
        let depth = c * kh * kw;
        let mut weights: Vec<f32> = (0..out_c * depth)
            .map(|i| f16_exact(9000 + n as u64, i))
            .collect();
        if !exact {
            weights[out_c * depth / 2] = 1.0 + 2f32.powi(-11); // 12 significant bits
        }
        let bias: Vec<f32> = (0..out_c).map(|i| value(9100 + n as u64, i)).collect();
        let mut inits = vec![onnx_f32("w", &[out_c, c, kh, kw], &weights)];
        let mut inputs = vec!["x", "w"];
        if with_bias {
            inits.push(onnx_f32("b", &[out_c], &bias));
            inputs.push("b");
        }
        let bytes = onnx_model(
            &[batch, c, kh, kw],
            vec![onnx_node("Conv", &inputs, "y", &[])],
            inits,
        );
        let x = tensor(9200 + n as u64, &[batch, c, kh, kw]);
        for threads in [1, 2] {
            let pool = std::sync::Arc::new(rten::ThreadPool::with_num_threads(threads));
            let run = |prepack: bool| -> (Tensor<f32>, usize) {
                let mut opts = ModelOptions::with_all_ops();
                opts.prepack_weights(prepack);
                let model = opts.load(bytes.clone()).unwrap();
                let options = rten::RunOptions::default().with_thread_pool(Some(pool.clone()));
                let before = half_weight_images();
                let y: Tensor<f32> = model
                    .run_one(x.view().into(), Some(options))
                    .unwrap()
                    .try_into()
                    .unwrap();
                (y, half_weight_images() - before)
            };
            let (plain, plain_runs) = run(false);
            let (packed, packed_runs) = run(true);
            let what = format!("case {n}: {c}x{kh}x{kw} -> {out_c}, {threads} threads");
            assert_eq!(plain.shape(), &[batch, out_c, 1, 1], "{what}");
            assert_same_bits(&packed, &plain, &what);
            assert_eq!(plain_runs, 0, "{what}: half path without prepacking");
            let expected = if half && half_weights_available() {
                batch
            } else {
                0
            };
            assert_eq!(packed_runs, expected, "{what}: images by the half path");
            let case = Case {
                channels: c,
                in_hw: [kh, kw],
                kernel: [kh, kw],
                pads: [0; 4],
                strides: [1, 1],
                dilations: [1, 1],
            };
            let kernel = Tensor::from_data(&[out_c, c, kh, kw], weights.clone());
            let expected: Vec<f32> = (0..batch)
                .flat_map(|b| {
                    let image = Tensor::from_data(&[1, c, kh, kw], x.slice(b).to_vec());
                    let bias = with_bias.then_some(&bias[..]);
                    reference_conv(&case, out_c, &image, &kernel, bias).to_vec()
                })
                .collect();
            let expected_f32 = Tensor::from_data(&[batch, out_c, 1, 1], expected);
            assert_close(&packed, &expected_f32, &what);
        }
    }
    // Where the CPU has what the half path needs and rten-gemm uses its AVX2 kernel (no
    // AVX-512), the path must be on: otherwise this test would check nothing.
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
        && !std::arch::is_x86_feature_detected!("avx512f")
    {
        assert!(half_weights_available());
    }
}

/// `x` (NCHW) with `before` and `after` channels of `value` added, by the definition.
fn reference_channel_pad(x: &Tensor<f32>, before: usize, after: usize, value: f32) -> Tensor<f32> {
    let [n, c, h, w]: [usize; 4] = x.shape().try_into().expect("NCHW");
    let plane = h * w;
    let data = x.to_vec();
    let mut out = Vec::with_capacity(n * (before + c + after) * plane);
    for b in 0..n {
        out.extend(std::iter::repeat_n(value, before * plane));
        out.extend_from_slice(&data[b * c * plane..(b + 1) * c * plane]);
        out.extend(std::iter::repeat_n(value, after * plane));
    }
    Tensor::from_data(&[n, before + c + after, h, w], out)
}

/// `x` with NaN, infinities and signed zeros written over a third of its elements.
fn with_special_values(mut x: Tensor<f32>, n: usize) -> Tensor<f32> {
    let data = x.data_mut().expect("contiguous");
    let special = [0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0];
    for (i, v) in special.iter().cycle().take(data.len() / 3).enumerate() {
        data[(i * 3 + n) % data.len()] = *v;
    }
    x
}

/// A view of `x`'s values that is not contiguous (its last two axes swapped twice), which
/// the operators' general paths take.
fn not_contiguous(x: &Tensor<f32>) -> Tensor<f32> {
    let mut swapped = x.clone();
    let last = x.ndim() - 1;
    let mut perm: Vec<usize> = (0..x.ndim()).collect();
    perm.swap(last - 1, last);
    swapped.permute(&perm);
    swapped.to_tensor()
}

/// Change 48: a constant `Pad` along one axis of a contiguous input writes the padding and
/// copies the input once, bit for bit against the definition and against the general path
/// (which a non-contiguous view of the same values takes), NaN and signed zeros included;
/// pads on two axes, crops, and non-contiguous inputs take the general path, which
/// `kernel-stats` tells apart.
#[test]
fn pad_along_one_axis_matches_the_general_path_bit_for_bit() {
    let pool = BufferPool::new();
    #[cfg(feature = "kernel-stats")]
    let before = rten::ops::one_axis_pads();
    let mut one_axis = 0;
    // (shape, pads, value, takes the one-axis path)
    let cases: [(&[usize], &[i32], f32, bool); 11] = [
        // The residual branches' channel pads: BlazeFace's 24 -> 28 at 64x64, the mesh's
        // 16 -> 32 at 64x64.
        (&[1, 24, 64, 64], &[0, 0, 0, 0, 0, 4, 0, 0], 0.0, true),
        (&[1, 16, 64, 64], &[0, 0, 0, 0, 0, 16, 0, 0], 0.0, true),
        // Both ends of the channel axis, a batch, another value.
        (&[2, 5, 3, 7], &[0, 2, 0, 0, 0, 3, 0, 0], -1.5, true),
        // The first, a middle and the last axis.
        (&[3, 4, 5], &[1, 0, 0, 2, 0, 0], 0.25, true),
        (&[2, 3, 4, 5], &[0, 0, 2, 0, 0, 0, 1, 0], 0.0, true),
        // -0.0 pads as +0.0 (the general path's zero fill), on both paths.
        (&[2, 3, 4, 5], &[0, 0, 0, 3, 0, 0, 0, 1], -0.0, true),
        // Crops of the first axis (contiguous views) with a pad of the same axis or of
        // another.
        (&[2, 6, 4], &[-1, 0, 0, 2, 0, 0], 0.0, true),
        (&[4, 3, 2], &[0, 0, 0, -1, 2, 0], 0.0, true),
        // A crop of the last axis (not contiguous), a crop alone (a copy), two axes padded.
        (&[2, 6, 4], &[0, 0, -1, 0, 2, 0], 0.0, false),
        (&[4, 6, 4], &[-1, 0, 0, 0, 0, 0], 0.0, false),
        (&[2, 3, 4, 5], &[0, 1, 0, 0, 0, 0, 1, 0], 0.0, false),
    ];
    for (n, (shape, pads, value, fast)) in cases.into_iter().enumerate() {
        let x = with_special_values(tensor(48_000 + n as u64, shape), n);
        let pads_t = NdTensor::from_data([pads.len()], pads.to_vec());
        let actual = pad(&pool, x.view(), &pads_t.view(), PadMode::Constant, value).expect("pad");
        let swapped = not_contiguous(&x);
        let mut view = swapped.view();
        let last = x.ndim() - 1;
        let mut perm: Vec<usize> = (0..x.ndim()).collect();
        perm.swap(last - 1, last);
        view.permute(&perm);
        assert!(!view.is_contiguous());
        let general = pad(&pool, view, &pads_t.view(), PadMode::Constant, value).expect("pad");
        let what = format!("shape {shape:?}, pads {pads:?}");
        assert_same_bits(&actual, &general, &what);
        if shape.len() == 4 && pads[0] == 0 && pads[2..5] == [0, 0, 0] && pads[6..] == [0, 0] {
            let expected = reference_channel_pad(&x, pads[1] as usize, pads[5] as usize, value);
            assert_same_bits(&actual, &expected, &format!("{what}, definition"));
        }
        one_axis += fast as usize;
    }
    #[cfg(feature = "kernel-stats")]
    {
        let after = rten::ops::one_axis_pads();
        // A lower bound: other tests may pad meanwhile (their pads only add).
        assert!(
            after - before >= one_axis,
            "{} one-axis pads, expected at least {one_axis}",
            after - before
        );
    }
    #[cfg(not(feature = "kernel-stats"))]
    let _ = one_axis;
}

/// Change 48: `max_pool_pad` (a 2x2 stride-2 pool written straight into an output with
/// padding channels) bit for bit against `max_pool` followed by `pad` and against the
/// definition, NaN, infinities and signed zeros included; other windows and layouts run the
/// two operators. With `kernel-stats`, exactly the 2x2 cases pooled into the padded output.
#[test]
fn max_pool_pad_matches_max_pool_then_pad_bit_for_bit() {
    let _counts = MAX_POOL_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let pool = BufferPool::new();
    #[cfg(feature = "kernel-stats")]
    let before = rten::ops::max_pool_kernel_stats();
    let mut padded_images = 0;
    // (shape, channels before, after, value)
    let cases: [(&[usize], usize, usize, f32); 9] = [
        // The face mesh's residual branches and BlazeFace's.
        (&[1, 16, 128, 128], 0, 16, 0.0),
        (&[1, 32, 64, 64], 0, 32, 0.0),
        (&[1, 64, 32, 32], 0, 64, 0.0),
        (&[1, 28, 64, 64], 0, 4, 0.0),
        (&[1, 88, 16, 16], 0, 8, 0.0),
        // A batch, channels before, another value, odd sizes, no padding at all.
        (&[2, 5, 10, 10], 2, 3, -1.5),
        (&[3, 3, 9, 7], 1, 0, 0.5),
        (&[1, 3, 4, 4], 2, 1, -0.0),
        (&[2, 4, 6, 6], 0, 0, 0.0),
    ];
    for (n, (shape, pad_before, pad_after, value)) in cases.into_iter().enumerate() {
        let x = with_special_values(tensor(48_100 + n as u64, shape), n);
        let chan_pads = ChannelPads {
            before: pad_before,
            after: pad_after,
            value,
        };
        let unpadded = Padding::Fixed([0, 0, 0, 0].into());
        let actual = max_pool_pad(
            &pool,
            x.view(),
            &[2, 2],
            &[2, 2],
            unpadded.clone(),
            Default::default(),
            chan_pads,
        )
        .expect("max_pool_pad");
        let pooled = max_pool(
            &pool,
            x.view(),
            &[2, 2],
            &[2, 2],
            unpadded,
            Default::default(),
        )
        .expect("max_pool");
        let pads = NdTensor::from([0, pad_before as i32, 0, 0, 0, pad_after as i32, 0, 0]);
        let separate =
            pad(&pool, pooled.view(), &pads.view(), PadMode::Constant, value).expect("pad");
        let what = format!("shape {shape:?}, pads {pad_before} / {pad_after}");
        assert_same_bits(&actual, &separate, &what);
        // -0.0 pads as +0.0, as `pad` fills it.
        let zero_or_value = if value == 0.0 { 0.0 } else { value };
        let expected = reference_channel_pad(
            &reference_max_pool_2x2(&x),
            pad_before,
            pad_after,
            zero_or_value,
        );
        assert_same_bits(&actual, &expected, &format!("{what}, definition"));
        if pad_before + pad_after > 0 {
            padded_images += shape[0];
        }
    }

    // Not the 2x2 kernel's: another window, padding, a non-contiguous input. The two
    // operators run, with the same result.
    let x = with_special_values(tensor(48_200, &[1, 6, 9, 9]), 1);
    let swapped = not_contiguous(&x);
    let mut view = swapped.view();
    view.permute(&[0, 1, 3, 2]);
    let chan_pads = ChannelPads {
        before: 1,
        after: 2,
        value: 0.0,
    };
    let others: [(usize, [usize; 4], TensorView<f32>); 3] = [
        (3, [0, 0, 0, 0], x.view()),
        (2, [1, 1, 1, 1], x.view()),
        (2, [0, 0, 0, 0], view),
    ];
    for (k, pads, input) in others {
        let (kernel, strides) = (&[k, k], &[2, 2]);
        let padding = Padding::Fixed(pads.into());
        let actual = max_pool_pad(
            &pool,
            input.view(),
            kernel,
            strides,
            padding.clone(),
            Default::default(),
            chan_pads,
        )
        .expect("max_pool_pad");
        let pooled =
            max_pool(&pool, input, kernel, strides, padding, Default::default()).expect("max_pool");
        let pad_t = NdTensor::from([0, 1, 0, 0, 0, 2, 0, 0]);
        let separate =
            pad(&pool, pooled.view(), &pad_t.view(), PadMode::Constant, 0.0).expect("pad");
        assert_same_bits(&actual, &separate, &format!("{kernel:?} / {pads:?}"));
    }

    #[cfg(feature = "kernel-stats")]
    {
        let after = rten::ops::max_pool_kernel_stats();
        assert_eq!(
            after.padded_images - before.padded_images,
            padded_images,
            "exactly the padded 2x2 cases pooled into the padded output"
        );
    }
    #[cfg(not(feature = "kernel-stats"))]
    let _ = padded_images;
}

/// A model `MaxPool(x) -> mp`, `Pad(mp, pads[, value]) -> y`; with `mp_read_twice`, `y` is
/// the sum of two such pads of `mp`, so `mp` has another reader and must not be fused.
fn max_pool_pad_model(
    shape: &[usize],
    kernel: i64,
    pads: &[i64],
    value: Option<f32>,
    mp_read_twice: bool,
) -> Vec<u8> {
    let kernel_shape = [kernel, kernel];
    let pool_attrs: [(&str, &[i64]); 2] = [("kernel_shape", &kernel_shape), ("strides", &[2, 2])];
    let mut pad_inputs = vec!["mp", "pads"];
    let mut inits = vec![onnx_i64("pads", pads)];
    if let Some(v) = value {
        pad_inputs.push("value");
        inits.push(onnx_f32("value", &[], &[v]));
    }
    let mut nodes = vec![onnx_node("MaxPool", &["x"], "mp", &pool_attrs)];
    if mp_read_twice {
        nodes.push(onnx_node("Pad", &pad_inputs, "p1", &[]));
        nodes.push(onnx_node("Pad", &pad_inputs, "p2", &[]));
        nodes.push(onnx_node("Add", &["p1", "p2"], "y", &[]));
    } else {
        nodes.push(onnx_node("Pad", &pad_inputs, "y", &[]));
    }
    onnx_model(shape, nodes, inits)
}

/// A model of [`max_pool_pad_model`] and what the optimizer must make of it.
struct FusionCase {
    shape: &'static [usize],
    window: i64,
    pads: &'static [i64],
    value: Option<f32>,
    read_twice: bool,
    /// The `MaxPool` and `Pad` became one `MaxPoolPad`.
    fused: bool,
    /// The 2x2 kernel pooled into the padded output.
    padded: bool,
}

/// Change 48: `MaxPoolPadFusion` fuses a `Pad` of the channel axis into the `MaxPool` before
/// it when nothing else reads the pooled output; the optimized model gives the unoptimized
/// one's outputs bit for bit, and the fused path ran.
#[test]
fn max_pool_pad_fusion_matches_max_pool_then_pad() {
    let _counts = MAX_POOL_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let cases = [
        FusionCase {
            shape: &[1, 16, 16, 16],
            window: 2,
            pads: &[0, 0, 0, 0, 0, 16, 0, 0],
            value: None,
            read_twice: false,
            fused: true,
            padded: true,
        },
        FusionCase {
            shape: &[2, 5, 8, 6],
            window: 2,
            pads: &[0, 2, 0, 0, 0, 3, 0, 0],
            value: Some(-0.5),
            read_twice: false,
            fused: true,
            padded: true,
        },
        // Another window: fused, the two operators run inside.
        FusionCase {
            shape: &[1, 4, 9, 9],
            window: 3,
            pads: &[0, 0, 0, 0, 0, 4, 0, 0],
            value: Some(0.0),
            read_twice: false,
            fused: true,
            padded: false,
        },
        // Not fused: the pooled output read twice, a pad of another axis, a crop.
        FusionCase {
            shape: &[1, 4, 8, 8],
            window: 2,
            pads: &[0, 0, 0, 0, 0, 4, 0, 0],
            value: None,
            read_twice: true,
            fused: false,
            padded: false,
        },
        FusionCase {
            shape: &[1, 4, 8, 8],
            window: 2,
            pads: &[0, 0, 1, 0, 0, 0, 0, 0],
            value: None,
            read_twice: false,
            fused: false,
            padded: false,
        },
        FusionCase {
            shape: &[1, 4, 8, 8],
            window: 2,
            pads: &[0, 0, 0, 0, 0, -1, 0, 0],
            value: None,
            read_twice: false,
            fused: false,
            padded: false,
        },
    ];
    for (n, case) in cases.into_iter().enumerate() {
        let FusionCase {
            shape,
            window,
            pads,
            value,
            read_twice,
            fused,
            padded,
        } = case;
        let bytes = max_pool_pad_model(shape, window, pads, value, read_twice);
        let load = |optimize: bool| {
            let mut opts = ModelOptions::with_all_ops();
            opts.enable_optimization(optimize);
            opts.load(bytes.clone()).unwrap()
        };
        let (optimized, plain) = (load(true), load(false));
        let x = with_special_values(tensor(48_300 + n as u64, shape), n);
        let run = |model: &Model| -> Tensor<f32> {
            model
                .run_one(x.view().into(), None)
                .unwrap()
                .try_into()
                .unwrap()
        };
        #[cfg(feature = "kernel-stats")]
        let before = rten::ops::max_pool_kernel_stats();
        let y = run(&optimized);
        #[cfg(feature = "kernel-stats")]
        {
            let after = rten::ops::max_pool_kernel_stats();
            let expected = if padded { shape[0] } else { 0 };
            assert_eq!(
                after.padded_images - before.padded_images,
                expected,
                "case {n}: images pooled into a padded output"
            );
        }
        #[cfg(not(feature = "kernel-stats"))]
        let _ = padded;
        assert_same_bits(&y, &run(&plain), &format!("case {n}"));
        // A fused value is no longer computed: asking for it fails.
        let computed = |model: &Model| {
            let (input, id) = (model.input_ids()[0], model.node_id("mp").expect("value"));
            model
                .run(vec![(input, x.view().into())], &[id], None)
                .is_ok()
        };
        assert!(computed(&plain), "case {n}: mp in the plain model");
        assert_eq!(!computed(&optimized), fused, "case {n}: fused");
    }
}
