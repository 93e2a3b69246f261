//! Tests of the changes this copy of rten carries (see README.md), against plain reference
//! implementations. They use only the public API, so they run without rten's unpublished
//! test helpers:
//!
//! ```text
//! cargo test --manifest-path vendor/rten/Cargo.toml --features kernel-stats --test patched_kernels
//! ```

use rten::BufferPool;
use rten::ops::{Padding, conv};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, Tensor};

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
    // bottom/right padding), and the unusual: 5x5, 1x3, dilation, asymmetric padding.
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
    cases.push(Case {
        channels: 1,
        in_hw: [3, 3],
        kernel: [3, 3],
        pads: [0, 0, 0, 0],
        strides: [1, 1],
        dilations: [1, 1],
    });
    cases
}

#[test]
fn depthwise_conv_matches_the_reference() {
    let pool = BufferPool::new();
    for (n, case) in cases().iter().enumerate() {
        let c = case.channels;
        let input = tensor(n as u64, &[1, c, case.in_hw[0], case.in_hw[1]]);
        let kernel = tensor(1000 + n as u64, &[c, 1, case.kernel[0], case.kernel[1]]);
        let bias: Vec<f32> = (0..c).map(|i| value(2000 + n as u64, i)).collect();
        let bias_view = NdTensor::from_data([c], bias.clone());
        let what = format!(
            "case {n}: {}x{} input, {:?} kernel, pads {:?}, strides {:?}, dilations {:?}",
            case.in_hw[0], case.in_hw[1], case.kernel, case.pads, case.strides, case.dilations
        );

        let actual = conv(
            &pool,
            input.view(),
            kernel.view(),
            Some(bias_view.view()),
            Padding::Fixed(case.pads.into()),
            c,
            &case.strides,
            &case.dilations,
        )
        .expect("conv");
        let expected = reference_depthwise(case, &input, &kernel, &bias);
        assert_close(&actual, &expected, &what);
    }

    // With the `kernel-stats` feature, also check that every case ran in the SIMD kernel
    // (the results alone cannot tell: the generic kernel computes the same values). This is
    // the only test in this binary, so no other convolution runs while it counts.
    #[cfg(feature = "kernel-stats")]
    {
        let stats = rten::ops::depthwise_kernel_stats();
        let channels: usize = cases().iter().map(|c| c.channels).sum();
        assert_eq!(stats.whole_channel, channels, "{stats:?}");
        assert_eq!(stats.row_by_row, 0, "{stats:?}");
    }
}
