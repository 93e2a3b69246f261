//! Change 39: a 3-channel image in NHWC layout, which an im2col convolution reads through a
//! permuted view (change 15), copied into NCHW planes first.
//!
//! Read through the view, an im2col row of a convolution with stride `s` takes every
//! `3 * s`-th element of the NHWC buffer (step 6 for the stride-2 first convolutions of the
//! face mesh and BlazeFace), which rten-gemm copies one element at a time: about 37
//! instructions a row of 16. Over NCHW planes the same rows have step `s` (2: vector loads
//! and shuffles, about 21 instructions a row), and each input element is read by
//! `k_h * k_w / s^2` rows (2.25 for a 3x3 kernel with stride 2, 6.25 for 5x5), so one pass
//! that deinterleaves the channels (with AVX2: three loads, six blends, three permutes and
//! three stores per 8 pixels) costs less than it saves. The values and their order in the
//! im2col matrix are the same, so results are bit-identical.

use std::mem::MaybeUninit;

use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView};

use crate::buffer_pool::BufferPool;

#[cfg(feature = "kernel-stats")]
static IMAGES_COPIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many images [`planes_of_interleaved`] has copied since the process started (with the
/// `kernel-stats` feature), for tests to check that a convolution took this path.
#[cfg(feature = "kernel-stats")]
pub fn interleaved_images_copied() -> usize {
    IMAGES_COPIED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The pixels of `input` (`[N, 3, H, W]`) as the `u32` bit patterns of its NHWC buffer
/// (`N * H * W * 3` values, channels interleaved), and its shape, if it is a view of a
/// contiguous NHWC buffer (channel stride 1) of a 4-byte element type (f32, i32); `None`
/// otherwise (any other layout, channel count or element size). The input that this
/// module's and change 40's (`phased`) copies take.
pub(super) fn interleaved_rgb<'a, X>(
    input: &NdTensorView<'a, X, 4>,
) -> Option<(&'a [u32], [usize; 4])> {
    let shape = input.shape();
    if shape[1] != 3
        || size_of::<X>() != 4
        || align_of::<X>() != 4
        || input.is_contiguous()
        || input.stride(1) != 1
    {
        return None;
    }
    let src = input.permuted([0, 2, 3, 1]).data()?;
    // Safety: `X` is 4 bytes in size and alignment (checked above), so its values are read
    // as `u32` bit patterns (for copies, no arithmetic).
    let src = unsafe { std::slice::from_raw_parts(src.as_ptr() as *const u32, src.len()) };
    Some((src, shape))
}

/// The elements of a new tensor of a 4-byte element type `X` as `u32` slots, for the
/// copies of [`interleaved_rgb`]'s values to write. Panics if `X` is not 4 bytes in size
/// and alignment.
pub(super) fn u32_slots<X>(dst: &mut [MaybeUninit<X>]) -> &mut [MaybeUninit<u32>] {
    assert!(size_of::<X>() == 4 && align_of::<X>() == 4);
    // Safety: `MaybeUninit<X>` has `X`'s layout, which is `u32`'s in size and alignment
    // (asserted above), and any bits written are a value that `interleaved_rgb` read as
    // `u32` from an `X`.
    unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut MaybeUninit<u32>, dst.len()) }
}

/// `input` (`[N, 3, H, W]`) copied into contiguous NCHW planes if [`interleaved_rgb`] takes
/// it; `None` otherwise (im2col reads it as it is).
pub(super) fn planes_of_interleaved<X: Copy>(
    pool: &BufferPool,
    input: &NdTensorView<X, 4>,
) -> Option<NdTensor<X, 4>> {
    let (src, [batch, chans, h, w]) = interleaved_rgb(input)?;
    let pixels = h * w;
    let mut out = NdTensor::<X, 4>::uninit_in(pool, [batch, chans, h, w]);
    let dst = u32_slots(out.data_mut().expect("new tensor is contiguous"));
    for (src, dst) in src
        .chunks_exact(3 * pixels)
        .zip(dst.chunks_exact_mut(3 * pixels))
    {
        deinterleave3(src, dst);
    }
    #[cfg(feature = "kernel-stats")]
    IMAGES_COPIED.fetch_add(batch, std::sync::atomic::Ordering::Relaxed);
    // Safety: `deinterleave3` wrote every element of every image.
    Some(unsafe { out.assume_init() })
}

/// Copy the pixels of `src` (`[p0c0, p0c1, p0c2, p1c0, ...]`) into the three planes of
/// `dst` (`[p0c0, p1c0, ..., p0c1, ...]`), `src.len() == dst.len()`, a multiple of 3.
fn deinterleave3(src: &[u32], dst: &mut [MaybeUninit<u32>]) {
    assert!(src.len() == dst.len() && src.len().is_multiple_of(3));
    let pixels = src.len() / 3;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // Safety: AVX2 is available; the lengths were checked above.
        done = unsafe { deinterleave3_avx2(src, dst) };
    }
    let (plane0, rest) = dst.split_at_mut(pixels);
    let (plane1, plane2) = rest.split_at_mut(pixels);
    for p in done..pixels {
        plane0[p].write(src[3 * p]);
        plane1[p].write(src[3 * p + 1]);
        plane2[p].write(src[3 * p + 2]);
    }
}

/// [`deinterleave3`] for the pixels in whole groups of 8; returns how many it copied.
///
/// # Safety
///
/// AVX2 must be available; `src.len() == dst.len()`, a multiple of 3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn deinterleave3_avx2(src: &[u32], dst: &mut [MaybeUninit<u32>]) -> usize {
    use std::arch::x86_64::*;

    let pixels = src.len() / 3;
    let groups = pixels / 8;
    // `channels_of_8_pixels` gathers each channel's 8 values in the order of the lanes,
    // which one permute sorts.
    let order0 = _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5);
    let order1 = _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6);
    let order2 = _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7);
    let src = src.as_ptr();
    let out = dst.as_mut_ptr() as *mut u32;
    for g in 0..groups {
        // Safety: pixels `8 * g..8 * g + 8` are in `src` and in each plane of `dst`.
        unsafe {
            let [c0, c1, c2] = channels_of_8_pixels(src.add(24 * g));
            let q = out.add(8 * g);
            let (q0, q1, q2) = (q, q.add(pixels), q.add(2 * pixels));
            _mm256_storeu_si256(q0 as *mut __m256i, _mm256_permutevar8x32_epi32(c0, order0));
            _mm256_storeu_si256(q1 as *mut __m256i, _mm256_permutevar8x32_epi32(c1, order1));
            _mm256_storeu_si256(q2 as *mut __m256i, _mm256_permutevar8x32_epi32(c2, order2));
        }
    }
    groups * 8
}

/// The three channels of 8 interleaved pixels (24 values from `p`), each channel's 8 values
/// in one vector in the order of the lanes they came from. Three vectors hold the pixels:
/// channel 0 is in lanes 0, 3, 6 of the first, 1, 4, 7 of the second and 2, 5 of the third;
/// two blends gather each channel, and the caller's permute sorts it (into pixel order here;
/// into even and odd pixels for change 40's phased planes).
///
/// # Safety
///
/// AVX2 must be available, and `p` must point to 24 readable `u32`s.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn channels_of_8_pixels(p: *const u32) -> [std::arch::x86_64::__m256i; 3] {
    use std::arch::x86_64::*;

    let p = p as *const __m256i;
    // Safety: the caller guarantees 24 `u32`s (three vectors) from `p`.
    let (v0, v1, v2) = unsafe {
        (
            _mm256_loadu_si256(p),
            _mm256_loadu_si256(p.add(1)),
            _mm256_loadu_si256(p.add(2)),
        )
    };
    [
        _mm256_blend_epi32::<0b0010_0100>(_mm256_blend_epi32::<0b1001_0010>(v0, v1), v2),
        _mm256_blend_epi32::<0b0100_1001>(_mm256_blend_epi32::<0b0010_0100>(v0, v1), v2),
        _mm256_blend_epi32::<0b1001_0010>(_mm256_blend_epi32::<0b0100_1001>(v0, v1), v2),
    ]
}
