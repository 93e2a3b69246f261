//! Change 44: the weights of a convolution over its whole input (change 10's vector-matrix
//! product) kept as IEEE half-precision values when every weight is one exactly, and widened
//! to f32 as the kernel reads them.
//!
//! Such a layer, a fully-connected head like the face mesh's (1434 outputs of a 128x2x2
//! kernel: 2.9 MB of f32 weights), reads every weight once per run and does one multiply-add
//! with it, so its time is the time to bring the weights in from L3 or memory. Models
//! converted from half-precision TensorFlow Lite files (MediaPipe's) hold f32 weights that
//! are all exactly representable in f16; stored as f16 they are half the bytes, and widening
//! (`vcvtph2ps`, F16C) gives back the same f32 values, so the products and sums are the same
//! to the bit. The copy is also laid out in the order the kernel reads it (eight output
//! columns interleaved, a depth tile at a time), one sequential stream instead of eight.
//!
//! The arithmetic is rten-gemm's `gemv` with its AVX2 FMA kernel (`simd_gemv_transposed`),
//! step for step: the same column blocks and 8-column tiles, 8-lane accumulators over the
//! depth, the same horizontal sum, the scalar remainders and the bias added last. So the
//! outputs equal the f32 path's bit for bit, and the copy is made only where that f32 path
//! would run that kernel: an x86-64 CPU with AVX2, FMA and F16C whose rten-gemm f32 kernel
//! is the FMA one (on AVX-512 machines rten-gemm uses 16-lane vectors, whose sums round
//! differently; those keep the f32 weights).

use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;
use rten_base::iter::{range_chunks, range_chunks_exact};
use rten_gemm::GemmExecutor;

/// Output columns per tile, and lanes per depth tile (rten-gemm's AVX2 gemv kernel).
const LANES: usize = 8;

/// Depth per call of rten-gemm's gemv kernel when the matrix has unit row stride.
const K_BLOCK: usize = 512;

/// Smallest kernel (in weights) worth a half-precision copy: 1 MB of f32 weights, the size
/// of a core's L2 cache on current x86-64 CPUs, beyond which a run reads them from L3 or
/// memory. Smaller kernels stay in cache from one run to the next.
pub const MIN_WEIGHTS: usize = 1 << 18;

#[cfg(feature = "kernel-stats")]
static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many images [`HalfWeights::gemv`] has computed since the process started (with the
/// `kernel-stats` feature), for tests to check that a convolution took this path.
#[cfg(feature = "kernel-stats")]
pub fn half_weight_images() -> usize {
    RUNS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A convolution kernel `[out_c, C, H, W]` as f16 bit patterns, for [`HalfWeights::gemv`].
pub struct HalfWeights {
    out_c: usize,
    depth: usize,
    /// `[out_c.div_ceil(8)][depth / 8][8 columns][8 lanes]`: the full depth tiles of each
    /// tile of eight output columns, a tile's eight columns side by side for each depth
    /// tile; the last column tile is padded with zeros. The depth's remainder (`depth % 8`)
    /// is read from the f32 kernel.
    data: Vec<u16>,
}

impl std::fmt::Debug for HalfWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HalfWeights")
            .field("out_c", &self.out_c)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl HalfWeights {
    /// The half-precision copy of `kernel` (`[out_c, C * H * W]` in row-major order), or
    /// `None` if a value is not exactly an f16, the kernel is smaller than [`MIN_WEIGHTS`]
    /// or shallower than one depth tile, or this CPU would not compute it with
    /// [`HalfWeights::gemv`]'s arithmetic.
    pub fn new(out_c: usize, depth: usize, kernel: &[f32]) -> Option<HalfWeights> {
        if kernel.len() != out_c * depth
            || kernel.len() < MIN_WEIGHTS
            || depth < LANES
            || !available()
        {
            return None;
        }
        let tiles = out_c.div_ceil(LANES);
        let depth_tiles = depth / LANES;
        let mut data = vec![0u16; tiles * depth_tiles * LANES * LANES];
        for (col, weights) in kernel.chunks_exact(depth).enumerate() {
            for (k, &w) in weights[..depth_tiles * LANES].iter().enumerate() {
                data[Self::index(depth_tiles, col, k / LANES) + k % LANES] = f16_bits(w)?;
            }
            // The remainder is read from the f32 kernel, but must be exact too, or the copy
            // would describe a kernel that is not this one.
            for &w in &weights[depth_tiles * LANES..] {
                f16_bits(w)?;
            }
        }
        Some(HalfWeights { out_c, depth, data })
    }

    /// Output columns (the kernel's `out_c`).
    pub fn out_c(&self) -> usize {
        self.out_c
    }

    /// Weights per output column (the kernel's `C * H * W`).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Where column `col`'s depth tile `d` starts in `data`.
    fn index(depth_tiles: usize, col: usize, d: usize) -> usize {
        ((col / LANES * depth_tiles + d) * LANES + col % LANES) * LANES
    }

    /// `out = image · kernelᵀ (+ bias)` for one image of `depth` values, as rten-gemm's
    /// `gemv` computes it with the AVX2 FMA kernel (see the module docs). `kernel` is the f32
    /// kernel this copy was made of (its depth remainder and a column block's last columns
    /// are read from it, as the f32 path reads them).
    pub fn gemv(
        &self,
        image: &[f32],
        kernel: &[f32],
        bias: Option<&[f32]>,
        out: &mut [MaybeUninit<f32>],
    ) {
        assert_eq!(image.len(), self.depth);
        assert_eq!(kernel.len(), self.out_c * self.depth);
        assert_eq!(out.len(), self.out_c);
        assert!(bias.is_none_or(|b| b.len() == self.out_c));
        #[cfg(feature = "kernel-stats")]
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);

        // rten-gemm's `gemv`: column blocks in parallel, each in depth blocks of 512.
        let block = self.out_c.div_ceil(rayon::current_num_threads()).max(128);
        out.par_chunks_mut(block)
            .enumerate()
            .for_each(|(i, out_block)| {
                let cols = i * block..i * block + out_block.len();
                for (j, k_block) in range_chunks(0..self.depth, K_BLOCK).enumerate() {
                    self.block(image, kernel, cols.clone(), k_block, j == 0, out_block);
                }
                // Safety: the first depth block wrote every element.
                let out_block =
                    unsafe { &mut *(out_block as *mut [MaybeUninit<f32>] as *mut [f32]) };
                if let Some(bias) = bias {
                    for (x, b) in out_block.iter_mut().zip(&bias[cols]) {
                        *x += *b;
                    }
                }
            });
    }

    /// One column block and depth block: `simd_gemv_transposed` (its full column tiles, then
    /// `simd_gemv_fallback` for the rest), with `alpha` 1 and `beta` 0 for the first depth
    /// block, 1 after it.
    fn block(
        &self,
        image: &[f32],
        kernel: &[f32],
        cols: Range<usize>,
        k_block: Range<usize>,
        first: bool,
        out: &mut [MaybeUninit<f32>],
    ) {
        let mut tiles = range_chunks_exact(0..cols.len(), LANES);
        for tile in tiles.by_ref() {
            let mut sums = [0f32; LANES];
            #[cfg(target_arch = "x86_64")]
            // Safety: `new` made this copy only where `available()` (AVX2, FMA, F16C).
            unsafe {
                avx2::tile(
                    self,
                    image,
                    kernel,
                    cols.start + tile.start,
                    k_block.clone(),
                    &mut sums,
                )
            };
            for (i, sum) in sums.into_iter().enumerate() {
                write(&mut out[tile.start + i], sum, first);
            }
        }
        for c in tiles.remainder() {
            let col = cols.start + c;
            let weights = &kernel[col * self.depth..][k_block.clone()];
            let mut acc = 0.;
            for (&x, &w) in image[k_block.clone()].iter().zip(weights) {
                acc = x.mul_add(w, acc);
            }
            write(&mut out[c], acc, first);
        }
    }
}

/// rten-gemm's output update: `alpha * acc` (`alpha` is 1) for the first depth block, and
/// `alpha * acc + beta * out` (`beta` is 1) after it.
fn write(out: &mut MaybeUninit<f32>, acc: f32, first: bool) {
    let alpha = 1.0f32;
    if first {
        out.write(alpha * acc);
    } else {
        // Safety: the first depth block initialized it.
        let prev = unsafe { out.assume_init() };
        out.write(alpha * acc + 1.0 * prev);
    }
}

/// Whether this CPU computes [`HalfWeights::gemv`]: x86-64 with AVX2, FMA and F16C, where
/// rten-gemm's default f32 kernel is the AVX2 FMA one.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c")
                && GemmExecutor::<f32>::default().kernel_name() == "x86_64-f32-fma"
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x` as f16 bits, if it is exactly an f16 (finite; -0 stays -0).
pub fn f16_bits(x: f32) -> Option<u16> {
    if !x.is_finite() {
        return None;
    }
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0 && mant == 0 {
        return Some(sign);
    }
    // f32 subnormals are far below f16's range.
    if exp == 0 {
        return None;
    }
    let e = exp - 127; // unbiased
    let half = if e > 15 {
        return None;
    } else if e >= -14 {
        // Normal f16: 10 mantissa bits.
        if mant & 0x1fff != 0 {
            return None;
        }
        sign | (((e + 15) as u16) << 10) | (mant >> 13) as u16
    } else {
        // Subnormal f16: value = m * 2^-24 with m < 1024.
        let shift = -14 - e; // 1..
        if shift > 10 {
            return None;
        }
        let full = mant | 0x80_0000; // 24 significant bits
        let drop = 13 + shift as u32;
        if full & ((1 << drop) - 1) != 0 {
            return None;
        }
        sign | (full >> drop) as u16
    };
    debug_assert_eq!(f16_to_f32(half).to_bits(), bits);
    Some(half)
}

/// The f32 value of f16 bits (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if mant == 0 => sign,
        0 => {
            // Subnormal: mant * 2^-24, exact in f32.
            let v = mant as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        31 => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m128i, __m256, _mm_add_ps, _mm_cvtss_f32, _mm_loadu_si128, _mm_movehl_ps, _mm_shuffle_ps,
        _mm256_castps256_ps128, _mm256_cvtph_ps, _mm256_extractf128_ps, _mm256_fmadd_ps,
        _mm256_loadu_ps, _mm256_setzero_ps,
    };
    use std::ops::Range;

    use super::{HalfWeights, LANES};

    /// rten-simd's AVX2 horizontal sum (`Avx2Isa::sum`), in the same order.
    #[target_feature(enable = "avx2")]
    fn sum(x: __m256) -> f32 {
        let hi_4 = _mm256_extractf128_ps(x, 1);
        let lo_4 = _mm256_castps256_ps128(x);
        let sum_4 = _mm_add_ps(lo_4, hi_4);
        let hi_2 = _mm_movehl_ps(sum_4, sum_4);
        let sum_2 = _mm_add_ps(sum_4, hi_2);
        let hi = _mm_shuffle_ps(sum_2, sum_2, 0x1);
        _mm_cvtss_f32(_mm_add_ps(sum_2, hi))
    }

    /// The sums of the eight columns from `col` over `k_block`: `simd_gemv_transposed`'s
    /// tile loop with its B loads widened from f16.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn tile(
        w: &HalfWeights,
        image: &[f32],
        kernel: &[f32],
        col: usize,
        k_block: Range<usize>,
        sums: &mut [f32; LANES],
    ) {
        let depth_tiles = w.depth / LANES;
        let a = &image[k_block.clone()];
        let full = a.len() / LANES;
        // Each column's first depth tile of this block in `w.data`; a column's next depth
        // tile is `LANES * LANES` further on.
        let d0 = k_block.start / LANES;
        let starts: [usize; LANES] =
            std::array::from_fn(|i| HalfWeights::index(depth_tiles, col + i, d0));
        assert!(
            starts
                .iter()
                .all(|&s| full == 0 || s + (full - 1) * LANES * LANES + LANES <= w.data.len())
        );
        let b = w.data.as_ptr();
        let mut acc = [_mm256_setzero_ps(); LANES];
        for d in 0..full {
            // Safety: `d * LANES + LANES <= a.len()`, and the assertion above bounds the
            // weights' reads.
            let x = unsafe { _mm256_loadu_ps(a.as_ptr().add(d * LANES)) };
            for i in 0..LANES {
                let at = starts[i] + d * LANES * LANES;
                let h = unsafe { _mm_loadu_si128(b.add(at) as *const __m128i) };
                acc[i] = _mm256_fmadd_ps(x, _mm256_cvtph_ps(h), acc[i]);
            }
        }
        for i in 0..LANES {
            sums[i] = sum(acc[i]);
        }
        for k in full * LANES..a.len() {
            let x = a[k];
            for (i, s) in sums.iter_mut().enumerate() {
                *s = x.mul_add(kernel[(col + i) * w.depth + k_block.start + k], *s);
            }
        }
    }
}
