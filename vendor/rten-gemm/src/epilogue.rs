//! Operations applied to the output of a GEMM while it is still in cache.
//!
//! The kernel stores each output tile; [`gemm_block`](crate) then applies the
//! bias (after the first depth block) and the [`Epilogue`] (after the last
//! one) to each column panel of the block it has just computed (at most
//! `row_block_size x nr` elements, in L1), instead of a separate pass over the
//! whole output after the GEMM. For `f32` the panel is processed with SIMD
//! instructions of the ISA `rten-simd` selects, in a loop specialized for the
//! operations present.

use rten_simd::Simd;
use rten_simd::ops::{BitOps, NumOps};
use rten_simd::{Isa, SimdOp};

use crate::{BiasVector, GemmOutT};

/// Operations that a GEMM applies to its output after the product and the
/// bias, in this order: `y = relu(prelu(a * b + bias + residual))`.
///
/// All are optional; with none, the output is `a * b + bias`. They are
/// applied to each block of the output while it is in cache, which saves the
/// separate passes over memory of an elementwise `Add` and `PRelu` after the
/// GEMM.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Epilogue<'a, T> {
    /// A matrix added to the output, with its shape and a row stride equal to
    /// its number of columns (the input of a residual connection). Length
    /// `a.rows() * b.cols()`.
    pub residual: Option<&'a [T]>,

    /// One PRelu slope per output row (per output channel of a convolution):
    /// an output `x < 0` becomes `x * slope[row]`. Length `a.rows()`.
    pub row_prelu: Option<&'a [T]>,

    /// Apply a Relu last: an output `x` becomes `x` if `x > 0`, else `+0`
    /// (x86's `maxps(x, 0)`: `-0` and NaN become `+0`).
    pub relu: bool,
}

impl<T> Default for Epilogue<'_, T> {
    fn default() -> Self {
        Epilogue {
            residual: None,
            row_prelu: None,
            relu: false,
        }
    }
}

impl<T> Epilogue<'_, T> {
    /// True if there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.residual.is_none() && self.row_prelu.is_none() && !self.relu
    }
}

/// A rectangle of a GEMM's output to which a bias and an epilogue are
/// applied, and what to apply.
pub struct Panel<'a, T> {
    /// First element of the rectangle.
    pub(crate) ptr: *mut T,
    /// Row stride of the output.
    pub(crate) row_stride: usize,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// Position of the rectangle in the output matrix.
    pub(crate) row_start: usize,
    pub(crate) col_start: usize,
    /// Bias to add (already omitted by the caller if this is not the first
    /// depth block).
    pub(crate) bias: Option<BiasVector<'a, T>>,
    /// Residual to add and its row stride (omitted if this is not the last
    /// depth block).
    pub(crate) residual: Option<(&'a [T], usize)>,
    /// Per-row PRelu slopes (omitted if this is not the last depth block).
    pub(crate) row_prelu: Option<&'a [T]>,
    /// Apply a Relu last (omitted if this is not the last depth block).
    pub(crate) relu: bool,
}

impl<T> Panel<'_, T> {
    fn is_empty(&self) -> bool {
        self.bias.is_none() && self.residual.is_none() && self.row_prelu.is_none() && !self.relu
    }
}

/// Apply a panel's operations one element at a time.
///
/// # Safety
///
/// `panel.ptr.add(r * panel.row_stride + c)` must be valid for reads and
/// writes of initialized values for `r < rows`, `c < cols`, and the bias,
/// residual and slopes must cover the rectangle's rows and columns.
pub(crate) unsafe fn apply_scalar<T: GemmOutT>(panel: Panel<T>) {
    for r in 0..panel.rows {
        let row = panel.row_start + r;
        for c in 0..panel.cols {
            let col = panel.col_start + c;
            // Safety: See function docs.
            let out = unsafe { &mut *panel.ptr.add(r * panel.row_stride + c) };
            let mut x = *out;
            match panel.bias {
                Some(BiasVector::Column(bias)) => x = x + bias[row],
                Some(BiasVector::Row(bias)) => x = x + bias[col],
                None => {}
            }
            if let Some((residual, stride)) = panel.residual {
                x = x + residual[row * stride + col];
            }
            if let Some(slope) = panel.row_prelu
                && x < T::zero()
            {
                x = x * slope[row];
            }
            if panel.relu && !(x > T::zero()) {
                x = T::zero();
            }
            *out = x;
        }
    }
}

/// Apply a panel's operations to an `f32` output with SIMD instructions.
///
/// # Safety
///
/// As for [`apply_scalar`].
pub(crate) unsafe fn apply_f32(panel: Panel<f32>) {
    if panel.is_empty() || panel.rows == 0 || panel.cols == 0 {
        return;
    }
    let residual = panel.residual.is_some();
    let prelu = panel.row_prelu.is_some();
    if panel.relu && prelu {
        // Not made by rten (it fuses a PRelu or a Relu, not both): one
        // element at a time.
        return unsafe { apply_scalar(panel) };
    }
    if panel.relu {
        match (panel.bias, residual) {
            (None, false) => F32Panel::<0, false, false, true>(panel).dispatch(),
            (None, true) => F32Panel::<0, true, false, true>(panel).dispatch(),
            (Some(BiasVector::Column(_)), false) => {
                F32Panel::<1, false, false, true>(panel).dispatch()
            }
            (Some(BiasVector::Column(_)), true) => {
                F32Panel::<1, true, false, true>(panel).dispatch()
            }
            (Some(BiasVector::Row(_)), false) => {
                F32Panel::<2, false, false, true>(panel).dispatch()
            }
            (Some(BiasVector::Row(_)), true) => F32Panel::<2, true, false, true>(panel).dispatch(),
        }
        return;
    }
    match panel.bias {
        None => match (residual, prelu) {
            (false, false) => {}
            (true, false) => F32Panel::<0, true, false, false>(panel).dispatch(),
            (false, true) => F32Panel::<0, false, true, false>(panel).dispatch(),
            (true, true) => F32Panel::<0, true, true, false>(panel).dispatch(),
        },
        Some(BiasVector::Column(_)) => match (residual, prelu) {
            (false, false) => F32Panel::<1, false, false, false>(panel).dispatch(),
            (true, false) => F32Panel::<1, true, false, false>(panel).dispatch(),
            (false, true) => F32Panel::<1, false, true, false>(panel).dispatch(),
            (true, true) => F32Panel::<1, true, true, false>(panel).dispatch(),
        },
        Some(BiasVector::Row(_)) => match (residual, prelu) {
            (false, false) => F32Panel::<2, false, false, false>(panel).dispatch(),
            (true, false) => F32Panel::<2, true, false, false>(panel).dispatch(),
            (false, true) => F32Panel::<2, false, true, false>(panel).dispatch(),
            (true, true) => F32Panel::<2, true, true, false>(panel).dispatch(),
        },
    }
}

/// [`apply_f32`]'s loop, specialized for the operations present: `BIAS` is 0
/// (none), 1 (one per row) or 2 (one per column).
struct F32Panel<'a, const BIAS: u8, const RESIDUAL: bool, const PRELU: bool, const RELU: bool>(
    Panel<'a, f32>,
);

impl<const BIAS: u8, const RESIDUAL: bool, const PRELU: bool, const RELU: bool> SimdOp
    for F32Panel<'_, BIAS, RESIDUAL, PRELU, RELU>
{
    type Output = ();

    #[inline(always)]
    fn eval<I: Isa>(self, isa: I) {
        let p = self.0;
        let ops = isa.f32();
        let n = ops.len();
        let (col_bias, row_bias) = match p.bias {
            Some(BiasVector::Column(b)) => (b, &[][..]),
            Some(BiasVector::Row(b)) => (&[][..], b),
            None => (&[][..], &[][..]),
        };
        let (residual, res_stride) = p.residual.unwrap_or((&[], 0));
        let slopes = p.row_prelu.unwrap_or(&[]);
        if BIAS == 2 {
            assert!(row_bias.len() >= p.col_start + p.cols);
        }
        let tail = p.cols % n;
        let tail_mask = ops.first_n_mask(tail);

        for r in 0..p.rows {
            let row = p.row_start + r;
            let bias = if BIAS == 1 {
                ops.splat(col_bias[row])
            } else {
                ops.zero()
            };
            let slope = if PRELU {
                ops.splat(slopes[row])
            } else {
                ops.zero()
            };
            let res_row = if RESIDUAL {
                &residual[row * res_stride + p.col_start..][..p.cols]
            } else {
                &[][..]
            };
            // Safety: the caller guarantees the rectangle is valid.
            let out_row = unsafe { p.ptr.add(r * p.row_stride) };

            // One vector of the row. Safety: `c + n <= p.cols`, or `mask`
            // selects the lanes below `p.cols - c`; the slices' lengths were
            // checked above.
            let apply = |x: I::F32, c: usize, mask: Option<<I::F32 as Simd>::Mask>| {
                let mut x = x;
                if BIAS == 1 {
                    x = ops.add(x, bias);
                } else if BIAS == 2 {
                    let b = unsafe { row_bias.as_ptr().add(p.col_start + c) };
                    let b = match mask {
                        Some(m) => unsafe { ops.load_ptr_mask(b, m) },
                        None => unsafe { ops.load_ptr(b) },
                    };
                    x = ops.add(x, b);
                }
                if RESIDUAL {
                    let rp = unsafe { res_row.as_ptr().add(c) };
                    let rv = match mask {
                        Some(m) => unsafe { ops.load_ptr_mask(rp, m) },
                        None => unsafe { ops.load_ptr(rp) },
                    };
                    x = ops.add(x, rv);
                }
                if PRELU {
                    // As rten-vecmath's `LeakyRelu`.
                    let neg = ops.lt(x, ops.zero());
                    x = ops.select(ops.mul(x, slope), x, neg);
                }
                if RELU {
                    // `x > 0 ? x : +0`, as the kernel's epilogue.
                    x = ops.select(x, ops.zero(), ops.gt(x, ops.zero()));
                }
                x
            };

            let mut c = 0;
            while c + n <= p.cols {
                unsafe {
                    let ptr = out_row.add(c);
                    let x = apply(ops.load_ptr(ptr), c, None);
                    ops.store_ptr(x, ptr);
                }
                c += n;
            }
            if tail > 0 {
                unsafe {
                    let ptr = out_row.add(c);
                    let x = apply(ops.load_ptr_mask(ptr, tail_mask), c, Some(tail_mask));
                    ops.store_ptr_mask(x, ptr, tail_mask);
                }
            }
        }
    }
}

/// Dispatch a panel to the implementation for its element type.
pub trait ApplyEpilogue: Sized {
    /// Apply `panel`'s bias and epilogue.
    ///
    /// # Safety
    ///
    /// As for [`apply_scalar`].
    #[doc(hidden)]
    unsafe fn apply_epilogue(panel: Panel<Self>);
}

impl ApplyEpilogue for f32 {
    unsafe fn apply_epilogue(panel: Panel<f32>) {
        unsafe { apply_f32(panel) }
    }
}

impl ApplyEpilogue for i32 {
    unsafe fn apply_epilogue(panel: Panel<i32>) {
        unsafe { apply_scalar(panel) }
    }
}
