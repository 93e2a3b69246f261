use std::mem::MaybeUninit;
use std::ops::Range;

use rten_base::byte_cast::{AsBytes, cast_uninit_mut_slice};
use rten_simd::ops::{BitOps, MaskOps, NumOps};
use rten_simd::{Isa, Mask, Simd};
use rten_tensor::{NdTensorView, Storage};

use super::packing::int8::{PackedBMeta, shift_cast_i8_u8};

/// Maps rows of an [`Im2Col`] matrix to locations in the source image.
///
/// For efficiency when packing the image, the locations are premultiplied by
/// the corresponding stride.
pub struct RowOffsets {
    /// Map of row index to `channel * channel_stride`.
    pub chan: Vec<i32>,

    /// Map of row index to `kernel_y * dilation_y * row_stride`.
    pub y: Vec<i32>,

    /// Map of row index to `kernel_x * dilation_x * col_stride`.
    pub x: Vec<i32>,
}

/// Maps columns of an [`Im2Col`] matrix to locations in the source image.
///
/// For efficiency when packing the image, the locations are premultiplied by
/// the corresponding stride.
pub struct ColOffsets {
    /// Map of column index to `row * row_stride` where `row` is the top Y
    /// coordinate of the patch in the source image.
    pub y: Vec<i32>,

    /// Map of column index to `col * col_stride` where `col` is the left X
    /// coordinate of the patch in the source image.
    pub x: Vec<i32>,
}

/// A matrix formed by unrolling patches of an image into columns.
///
/// Each column of the matrix corresponds to a different spatial patch of the
/// image, and each row is a different location within the patch. The matrix
/// can be used as the right-hand input of a matrix multiplication in order
/// to perform a convolution.
///
/// The input image has shape [C, H, W] and is transformed into a matrix with
/// shape [C * Kh * kW, Oh * Ow] where Kh/Kw are convolution kernel sizes and
/// Oh/Ow are the number of patches in the Y and X directions. Given a weight
/// matrix W of shape `[M, C * Kh * kW]` the matrix multiplication `W @
/// im2col(image)` produces an output of shape `[M, Oh * Ow]` which can be
/// reshaped into the convolution output `[M, Oh, Ow]`.
///
/// The matrix is _virtual_ as it is not materialized fully in memory. Instead
/// blocks of the matrix are materialized during computation.
pub struct Im2Col<'a, T> {
    pub image: NdTensorView<'a, T, 3>,

    /// Map of im2col row index to position within image patch (channel,
    /// kernel_y, kernel_x) pre-multiplied by corresponding stride.
    ///
    /// The arrays may be padded to a multiple of a step size specified by the
    /// GEMM kernel. `n_rows` contains the actual number of rows in the virtual
    /// matrix.
    pub row_offsets: RowOffsets,

    /// Map of im2col column index to (y, x) coordinate of top-level corner of
    /// patch in image, pre-multiplied by corresponding stride.
    ///
    /// The arrays may be padded to a multiple of a step size specified by the
    /// GEMM kernel. `n_cols` contains the actual number of columns in the
    /// virtual matrix.
    pub col_offsets: ColOffsets,

    /// Number of columns in the im2col matrix.
    pub n_cols: usize,

    /// Number of rows in the im2col matrix.
    pub n_rows: usize,

    /// Maximum valid sum of `row_offsets.y + col_offsets.y`. Values above this
    /// correspond to the padding region.
    pub max_y_offset: i32,

    /// Maximum valid sum of `row_offsets.x + col_offsets.x`. Values above this
    /// correspond to the padding region.
    pub max_x_offset: i32,
}

impl<T: Copy + Default> Im2Col<'_, T> {
    /// Return the number of rows in the im2col matrix.
    pub fn rows(&self) -> usize {
        self.n_rows
    }

    /// Return the number of columns in the im2col matrix.
    pub fn cols(&self) -> usize {
        self.n_cols
    }

    /// Pack part of an image into a packing buffer.
    ///
    /// This method is for use by kernels using the "standard" packing buffer
    /// layout for the B / RHS input.
    ///
    /// `NR_REGS` specifies the width of each column panel as a multiple of
    /// `S::LEN` elements. In other words, `panel_width` must exactly equal
    /// `NR_REGS * S::LEN`.
    ///
    /// A panel's columns split into runs along one image row, evenly spaced
    /// (one run if the panel lies along one image row: all but the smallest
    /// images' panels). A panel whose runs each lie in the image for every
    /// row of the block (strided copies), or in the padding for every row
    /// (zeros), is packed run after run with no test per row. Of other
    /// panels, a row along one image row that lies in the image is copied
    /// after a test; the rest are gathered element by element.
    #[inline(always)]
    pub(super) fn pack_block<I: Isa, const NR_REGS: usize>(
        &self,
        isa: I,
        out: &mut [MaybeUninit<T>],
        panel_width: usize,
        rows: Range<usize>,
        cols: Range<usize>,
    ) {
        let ops = isa.i32();
        let mask_ops = isa.m32();

        assert_eq!(panel_width, ops.len() * NR_REGS);

        let col_range = cols.start..cols.end.next_multiple_of(panel_width);
        let used_size = rows.len() * col_range.len();
        assert_eq!(out.len(), used_size);

        let col_y_offsets = &self.col_offsets.y[col_range.clone()];
        let col_x_offsets = &self.col_offsets.x[col_range.clone()];
        let row_chan_offsets = &self.row_offsets.chan[rows.clone()];
        let row_y_offsets = &self.row_offsets.y[rows.clone()];
        let row_x_offsets = &self.row_offsets.x[rows.clone()];
        let n_rows = rows.len();

        let img_data = self.image.storage();

        // Compute max valid image buffer offset. Used to clamp generated offsets
        // as a form of bounds check.
        let img_len = self.image.storage().len();
        assert!(img_len > 0 && img_len <= i32::MAX as usize);
        let max_img_offset = ops.splat(img_len as i32 - 1);
        let max_x_offset = ops.splat(self.max_x_offset);
        let max_y_offset = ops.splat(self.max_y_offset);
        let limits = Limits {
            max_y: self.max_y_offset as i64,
            max_x: self.max_x_offset as i64,
            img_len: img_len as i64,
        };
        // Safety (for every read through `img`): the image is borrowed
        // immutably.
        let img = (img_data.as_ptr(), img_len);

        // The extent of the block's row offsets, to test once per panel
        // whether all of its rows lie in the image.
        let Some(row_bounds) = RowBounds::new(row_chan_offsets, row_y_offsets, row_x_offsets)
        else {
            // No rows: nothing to pack.
            return;
        };
        let mut stats = PackStats::default();
        let mut runs = [Run::default(); MAX_RUNS];

        // Loop over column panels, then rows, then SIMD-wide column groups
        // within each panel.
        let mut out_offset = 0;

        for start_col in (0..col_y_offsets.len()).step_by(ops.len() * NR_REGS) {
            let col_y_offset: [I::I32; NR_REGS] =
                std::array::from_fn(|i| ops.load(&col_y_offsets[start_col + ops.len() * i..]));
            let col_x_offset: [I::I32; NR_REGS] =
                std::array::from_fn(|i| ops.load(&col_x_offsets[start_col + ops.len() * i..]));
            let panel_y_offsets = &col_y_offsets[start_col..start_col + panel_width];
            let panel_x_offsets = &col_x_offsets[start_col..start_col + panel_width];
            let out_panel = &mut out[out_offset..out_offset + n_rows * panel_width];
            out_offset += n_rows * panel_width;

            // The panel's runs: one if it lies along one image row (tested
            // in vector registers), else found column by column (0 if more
            // than `MAX_RUNS`: gathered).
            let n_runs = if let Some(step) =
                in_line_step(isa, &col_y_offset, &col_x_offset, panel_x_offsets[0])
            {
                runs[0] = Run {
                    col: 0,
                    len: panel_width,
                    y: panel_y_offsets[0],
                    x: panel_x_offsets[0],
                    step,
                    whole: Whole::No,
                };
                1
            } else {
                find_runs(panel_y_offsets, panel_x_offsets, &mut runs)
            };
            let panel_runs = &mut runs[..n_runs];

            // If every run lies in the image for every row of the block, or
            // in the padding for every row (the common case: all panels but
            // those at the image's edges), the rows are copied one after
            // the other with no test per row, by a loop specialized for the
            // step.
            if n_runs > 0 && row_bounds.classify(panel_runs, &limits) {
                // Safety: `classify` checked that every row's elements of
                // each `Whole::Copy` run (and for `read_past` the one after
                // the run's last) are in bounds of the image.
                unsafe { pack_whole_panel(img.0, &row_bounds, panel_runs, out_panel, panel_width) };
                if n_runs == 1 {
                    stats.whole_panel_rows += n_rows;
                } else {
                    stats.run_panel_rows += n_rows;
                }
                continue;
            }

            for (r, ((&row_chan_offset, &row_y_offset), &row_x_offset)) in row_chan_offsets
                .iter()
                .zip(row_y_offsets.iter())
                .zip(row_x_offsets.iter())
                .enumerate()
            {
                let out_row = &mut out_panel[r * panel_width..(r + 1) * panel_width];
                if n_runs == 1 {
                    // Along one image row: copied if it lies in the image.
                    let run = &panel_runs[0];
                    let span = run.x_span();
                    let y = run.y as i64 + row_y_offset as i64;
                    let x = run.x as i64 + row_x_offset as i64;
                    let start = row_chan_offset as i64 + y + x;
                    if limits.contains((y, y), (x, x + span), (start, start + span)) {
                        let read_past = start + span + 1 < limits.img_len;
                        // Safety: the row's elements `start + i * step`, `i <
                        // panel_width`, are in the buffer (and for `read_past`
                        // the one after the last); the image is borrowed
                        // immutably.
                        unsafe {
                            copy_rows(
                                img.0.add(start as usize),
                                run.step as usize,
                                read_past,
                                &[0],
                                out_row,
                                panel_width,
                                0..panel_width,
                            )
                        };
                        stats.row_copies += 1;
                        continue;
                    }
                }
                stats.gathered_rows += 1;

                let row_chan_offset = ops.splat(row_chan_offset);
                let row_y_offset = ops.splat(row_y_offset);
                let row_x_offset = ops.splat(row_x_offset);

                for i in 0..NR_REGS {
                    let y_offset = ops.add(col_y_offset[i], row_y_offset);
                    let x_offset = ops.add(col_x_offset[i], row_x_offset);

                    let offsets = ops.add(ops.add(row_chan_offset, y_offset), x_offset);

                    // Ensure offsets cannot be out of bounds even if row /
                    // column offsets were calculated incorrectly.
                    let offsets = ops.min(ops.max(offsets, ops.zero()), max_img_offset);

                    // Create mask to specify offsets which are valid. Others
                    // correspond to the padding region.
                    let zero = ops.zero();

                    let y_valid =
                        mask_ops.and(ops.ge(y_offset, zero), ops.le(y_offset, max_y_offset));
                    let x_valid =
                        mask_ops.and(ops.ge(x_offset, zero), ops.le(x_offset, max_x_offset));
                    let pad_mask = mask_ops.and(y_valid, x_valid);

                    // Set offsets to zero for padding elements. We require
                    // this offset is always valid.
                    let offsets_array = ops.select(offsets, zero, pad_mask).to_array();
                    let pad_mask_array = pad_mask.to_array();

                    // Gather elements and store in packing buffer.
                    for idx in 0..ops.len() {
                        // Safety: offsets_array[idx] is a valid offset.
                        let src_elem =
                            unsafe { *img_data.get_unchecked(offsets_array[idx] as usize) };

                        // This should be compiled to a conditional move.
                        let elem = if pad_mask_array[idx] {
                            src_elem
                        } else {
                            T::default()
                        };

                        // Safety: `i * ops.len() + idx < panel_width`.
                        let out_el = unsafe { out_row.get_unchecked_mut(i * ops.len() + idx) };
                        out_el.write(elem);
                    }
                }
            }
        }

        // Check we initialized as many elements as used.
        assert_eq!(out_offset, used_size);
        stats.record();
    }
}

/// The most runs a panel is split into before it is gathered instead.
const MAX_RUNS: usize = 32;

/// Lane numbers, for [`in_line_step`].
const LANES: [i32; 64] = {
    let mut lanes = [0; 64];
    let mut i = 0;
    while i < 64 {
        lanes[i] = i as i32;
        i += 1;
    }
    lanes
};

/// `Some(step)` if the panel whose columns' offsets are `ys`, `xs` (loaded
/// as vectors) lies along one image row, evenly spaced: `ys` all the same
/// and `xs[i] == x0 + i * step` exactly, `step >= 0`.
#[inline(always)]
fn in_line_step<I: Isa, const NR_REGS: usize>(
    isa: I,
    ys: &[I::I32; NR_REGS],
    xs: &[I::I32; NR_REGS],
    x0: i32,
) -> Option<i32> {
    let ops = isa.i32();
    let mask_ops = isa.m32();
    let width = ops.len() * NR_REGS;
    let lanes = ops.load(&LANES[..ops.len()]);
    let x1 = if width > 1 { xs[0].to_array()[1] } else { x0 };
    let step = x1 as i64 - x0 as i64;
    // With every `x0 + i * step` in i32's range, the vectors' wrapping
    // arithmetic below computes each exactly.
    if step < 0 || x0 as i64 + (width as i64 - 1) * step > i32::MAX as i64 {
        return None;
    }
    let step = step as i32;
    let (y0, x0, step_v) = (
        ops.splat(ys[0].to_array()[0]),
        ops.splat(x0),
        ops.splat(step),
    );
    let mut in_line = ops.eq(ys[0], y0);
    for i in 0..NR_REGS {
        let index = ops.add(lanes, ops.splat((i * ops.len()) as i32));
        let x = ops.add(x0, ops.mul(index, step_v));
        let col_in_line = mask_ops.and(ops.eq(ys[i], y0), ops.eq(xs[i], x));
        in_line = mask_ops.and(in_line, col_in_line);
    }
    mask_ops.all(in_line).then_some(step)
}

/// How every row of a panel packs one of its [`Run`]s, or [`Whole::No`]
/// if the rows differ.
#[derive(Clone, Copy, Default, PartialEq)]
enum Whole {
    #[default]
    No,
    /// Copied from the image; `read_past`: the element after each row's
    /// last is in the buffer too (for the stride-2 copy).
    Copy { read_past: bool },
    /// In the padding: zero.
    Zero,
}

/// Columns `col..col + len` of a panel, along one image row: column
/// `col + i` at `(y, x + i * step)` (offsets premultiplied by the image's
/// strides, as [`ColOffsets`]), `step >= 0`.
#[derive(Clone, Copy, Default)]
struct Run {
    col: usize,
    len: usize,
    y: i32,
    x: i32,
    step: i32,
    whole: Whole,
}

impl Run {
    /// `x` offset of the last column from the first.
    fn x_span(&self) -> i64 {
        (self.len as i64 - 1) * self.step as i64
    }
}

/// Split a panel with column offsets `ys`, `xs` into runs along image rows:
/// their number, or 0 if there are more than `MAX_RUNS`.
fn find_runs(ys: &[i32], xs: &[i32], runs: &mut [Run; MAX_RUNS]) -> usize {
    let mut n = 0;
    let mut col = 0;
    while col < ys.len().min(xs.len()) {
        let (y, x) = (ys[col], xs[col]);
        let mut len = 1;
        let mut step = 0;
        if let (Some(&y1), Some(&x1)) = (ys.get(col + 1), xs.get(col + 1))
            && y1 == y
            && x1 >= x
            && x1 as i64 - x as i64 <= i32::MAX as i64
        {
            step = x1 - x;
            len = 2;
            while let (Some(&yi), Some(&xi)) = (ys.get(col + len), xs.get(col + len))
                && yi == y
                && xi as i64 == x as i64 + len as i64 * step as i64
            {
                len += 1;
            }
        }
        if n == MAX_RUNS {
            return 0;
        }
        runs[n] = Run {
            col,
            len,
            y,
            x,
            step,
            whole: Whole::No,
        };
        n += 1;
        col += len;
    }
    n
}

/// The bounds an im2col element must lie within: `y` offset in
/// `0..=max_y`, `x` offset in `0..=max_x` (else it is in the padding), and
/// the buffer offset in `0..img_len`.
struct Limits {
    max_y: i64,
    max_x: i64,
    img_len: i64,
}

impl Limits {
    /// True if elements whose `y` offsets lie in `min_y..=max_y`, `x`
    /// offsets in `min_x..=max_x` and buffer offsets in `first..=last` all
    /// lie in the image: the one test of the per-row copy in
    /// [`Im2Col::pack_block`] (one row: `y` alone, its first and last `x`
    /// and offset) and of [`RowBounds`]' tests for all of a block's rows at
    /// once (their least and greatest), so that the two cannot differ.
    #[inline(always)]
    fn contains(
        &self,
        (min_y, max_y): (i64, i64),
        (min_x, max_x): (i64, i64),
        (first, last): (i64, i64),
    ) -> bool {
        min_y >= 0
            && max_y <= self.max_y
            && min_x >= 0
            && max_x <= self.max_x
            && first >= 0
            && last < self.img_len
    }
}

/// Pack every row of a panel whose runs `runs` are each wholly
/// [`Copy`](Whole::Copy) or [`Zero`](Whole::Zero) for every row:
/// run after run, row `r` of the panel is `out[r * panel_width..][..panel_width]`
/// and its run starts in the image at `img + run.y + run.x + bounds.starts[r]`.
///
/// # Safety
///
/// As [`copy_rows`] for each `Copy` run (as [`RowBounds::classify`] checks).
#[inline(always)]
unsafe fn pack_whole_panel<T: Copy + Default>(
    img: *const T,
    bounds: &RowBounds,
    runs: &[Run],
    out: &mut [MaybeUninit<T>],
    panel_width: usize,
) {
    for run in runs {
        let cols = run.col..run.col + run.len;
        match run.whole {
            Whole::Copy { read_past } => unsafe {
                let src = img.offset(run.y as isize + run.x as isize);
                let step = run.step as usize;
                if run.len == panel_width {
                    // The panel's width is a constant for the compiler's
                    // loops.
                    let cols = 0..panel_width;
                    copy_rows(src, step, read_past, &bounds.starts, out, panel_width, cols)
                } else {
                    copy_rows(src, step, read_past, &bounds.starts, out, panel_width, cols)
                }
            },
            Whole::Zero => {
                for out_row in out.chunks_exact_mut(panel_width) {
                    zero(&mut out_row[cols.clone()]);
                }
            }
            Whole::No => unreachable!("pack_whole_panel: run not classified"),
        }
    }
}

/// Write zeros to `out`.
#[inline(always)]
fn zero<T: Copy + Default>(out: &mut [MaybeUninit<T>]) {
    for out_el in out {
        out_el.write(T::default());
    }
}

/// Copy, for each row `r` (of `starts.len()`), `cols.len()` elements `step`
/// apart from `src + starts[r]` to `out[r * row_width..][cols]`. The loop is
/// chosen once for the step: steps 1, 2, 3 and 6 have their own (1 and 2
/// vectorized, 3 and 6 without multiplications), and with `read_past` step 2
/// reads `2 * cols.len()` consecutive elements, one past the last it copies,
/// in runs of 16 that the compiler turns into vector loads and shuffles
/// ([`copy_step2_whole`]).
///
/// Dense rows (step 1), the columns of a stride-2 convolution over NCHW
/// input (2), and those of a stride-1 or stride-2 convolution over
/// 3-channel NHWC input read through a permuted view (3, 6).
///
/// # Safety
///
/// `src.offset(starts[r] + i * step)` must be valid for reads for every row
/// `r` and `i < cols.len()`, and with `read_past` (used for step 2 only)
/// for `i < 2 * cols.len()`; `cols.end <= row_width` and `out` must hold
/// `starts.len()` rows.
#[inline(always)]
unsafe fn copy_rows<T: Copy>(
    src: *const T,
    step: usize,
    read_past: bool,
    starts: &[isize],
    out: &mut [MaybeUninit<T>],
    row_width: usize,
    cols: Range<usize>,
) {
    assert!(
        cols.start <= cols.end && cols.end <= row_width && out.len() >= starts.len() * row_width
    );
    unsafe {
        match step {
            1 => copy_rows_step::<_, 1, false>(src, 1, starts, out, row_width, cols),
            2 if read_past => copy_rows_step::<_, 2, true>(src, 2, starts, out, row_width, cols),
            2 => copy_rows_step::<_, 2, false>(src, 2, starts, out, row_width, cols),
            3 => copy_rows_step::<_, 3, false>(src, 3, starts, out, row_width, cols),
            6 => copy_rows_step::<_, 6, false>(src, 6, starts, out, row_width, cols),
            _ => copy_rows_step::<_, 0, false>(src, step, starts, out, row_width, cols),
        }
    }
}

/// [`copy_rows`] for one step: `STEP` is `step` as a constant, or 0 to use
/// `step`; `READ_PAST` as `read_past` there (for `STEP = 2`).
///
/// # Safety
///
/// As [`copy_rows`].
#[inline(always)]
unsafe fn copy_rows_step<T: Copy, const STEP: usize, const READ_PAST: bool>(
    src: *const T,
    step: usize,
    starts: &[isize],
    out: &mut [MaybeUninit<T>],
    row_width: usize,
    cols: Range<usize>,
) {
    for (out_row, &start) in out.chunks_exact_mut(row_width).zip(starts) {
        // Safety: the caller checked `cols.end <= row_width`.
        let out_run = unsafe { out_row.get_unchecked_mut(cols.clone()) };
        let src = unsafe { src.offset(start) };
        if STEP == 2 && READ_PAST {
            unsafe { copy_step2_whole(src, out_run) };
        } else if STEP == 1 {
            // Consecutive elements: one copy, which for a whole panel (a width
            // the compiler knows) is a few vector loads and stores, where the
            // element loop stayed scalar (rten change 40).
            // Safety: `src.add(i)` is valid for reads for `i < out_run.len()`
            // (the caller's contract), and the image does not overlap the
            // packing buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(src, out_run.as_mut_ptr() as *mut T, out_run.len())
            };
        } else {
            unsafe { copy_step::<T, STEP>(src, step, out_run) };
        }
    }
}

/// Copy `out.len()` elements `step` apart from `src` to `out`; `STEP` is
/// `step` as a constant, or 0 to use `step`.
///
/// # Safety
///
/// `src.add(i * step)` must be valid for reads for every `i < out.len()`.
#[inline(always)]
unsafe fn copy_step<T: Copy, const STEP: usize>(
    src: *const T,
    step: usize,
    out: &mut [MaybeUninit<T>],
) {
    let step = if STEP == 0 { step } else { STEP };
    for (i, out_el) in out.iter_mut().enumerate() {
        out_el.write(unsafe { *src.add(i * step) });
    }
}

/// Copy `out.len()` elements 2 apart from `src` to `out`, reading
/// `2 * out.len()` consecutive elements (one past the last one copied) in
/// runs of 16, from which the compiler takes every other one by vector
/// shuffles.
///
/// # Safety
///
/// `src.add(i)` must be valid for reads for every `i < 2 * out.len()`.
#[inline(always)]
unsafe fn copy_step2_whole<T: Copy>(src: *const T, out: &mut [MaybeUninit<T>]) {
    let mut chunks = out.chunks_exact_mut(8);
    for (n, out_chunk) in chunks.by_ref().enumerate() {
        let run: [T; 16] = unsafe { std::ptr::read_unaligned(src.add(n * 16) as *const [T; 16]) };
        for (i, out_el) in out_chunk.iter_mut().enumerate() {
            out_el.write(run[2 * i]);
        }
    }
    let done = out.len() / 8 * 8;
    let rest = &mut out[done..];
    unsafe { copy_step::<T, 2>(src.add(2 * done), 2, rest) };
}

/// The least and greatest offsets of a block of im2col rows
/// ([`RowOffsets`]), for [`classify`](RowBounds::classify).
struct RowBounds {
    min_y: i64,
    max_y: i64,
    min_x: i64,
    max_x: i64,
    /// Least and greatest `chan + y + x`.
    min_start: i64,
    max_start: i64,
    /// `chan + y + x` of each row.
    starts: Vec<isize>,
}

impl RowBounds {
    /// The bounds of rows `chan[r], y[r], x[r]`, or `None` for no rows.
    ///
    /// Inlined into the packing's code for the ISA, each bound is found in
    /// its own pass over one table, which the compiler vectorizes (where
    /// one loop out of line, updating all six, took about 40 instructions
    /// a row).
    #[inline(always)]
    fn new(chan: &[i32], y: &[i32], x: &[i32]) -> Option<Self> {
        if chan.is_empty() || y.is_empty() || x.is_empty() {
            return None;
        }
        let starts: Vec<isize> = chan
            .iter()
            .zip(y)
            .zip(x)
            .map(|((&c, &y), &x)| c as isize + y as isize + x as isize)
            .collect();
        let min = |xs: &[i32]| xs.iter().fold(i32::MAX, |m, &x| m.min(x)) as i64;
        let max = |xs: &[i32]| xs.iter().fold(i32::MIN, |m, &x| m.max(x)) as i64;
        Some(RowBounds {
            min_y: min(y),
            max_y: max(y),
            min_x: min(x),
            max_x: max(x),
            min_start: starts.iter().fold(isize::MAX, |m, &s| m.min(s)) as i64,
            max_start: starts.iter().fold(isize::MIN, |m, &s| m.max(s)) as i64,
            starts,
        })
    }

    /// True if every row of a panel whose patches start at `(panel_y,
    /// panel_x)` and span `x_span` along one image row lies in the image
    /// (not in the padding: `y` in `0..=max_y`, `x..=x + x_span` in
    /// `0..=max_x`), as the per-row test in `pack_block` would find for each
    /// row, and each row's `read_span + 1` elements from its first are in
    /// the buffer (`0..img_len`): `read_span` is `x_span`, or one more for
    /// the stride-2 copy, which reads one past its last element (see
    /// [`copy_step2_whole`]).
    fn panel_inside(
        &self,
        (panel_y, panel_x): (i64, i64),
        x_span: i64,
        read_span: i64,
        limits: &Limits,
    ) -> bool {
        let base = panel_y + panel_x;
        limits.contains(
            (panel_y + self.min_y, panel_y + self.max_y),
            (panel_x + self.min_x, panel_x + self.max_x + x_span),
            (base + self.min_start, base + self.max_start + read_span),
        )
    }

    /// True if every element of every row of such a panel lies in the
    /// padding.
    fn panel_outside(&self, (panel_y, panel_x): (i64, i64), x_span: i64, limits: &Limits) -> bool {
        panel_y + self.min_y > limits.max_y
            || panel_y + self.max_y < 0
            || panel_x + self.min_x > limits.max_x
            || panel_x + self.max_x + x_span < 0
    }

    /// Set each run's [`Whole`] for the block's rows; true if none is
    /// [`Whole::No`].
    #[inline(always)]
    fn classify(&self, runs: &mut [Run], limits: &Limits) -> bool {
        for run in runs {
            let at = (run.y as i64, run.x as i64);
            let span = run.x_span();
            run.whole = if run.step == 2 && self.panel_inside(at, span, span + 1, limits) {
                Whole::Copy { read_past: true }
            } else if self.panel_inside(at, span, span, limits) {
                Whole::Copy { read_past: false }
            } else if self.panel_outside(at, span, limits) {
                Whole::Zero
            } else {
                return false;
            };
        }
        true
    }
}

/// How [`Im2Col::pack_block`] packed its rows, counted per call.
#[derive(Default)]
struct PackStats {
    /// Rows of panels along one image row, packed with no test per row.
    whole_panel_rows: usize,
    /// Rows of panels across image rows, packed run by run with no test per
    /// row.
    run_panel_rows: usize,
    /// Rows of other panels along one image row that lay in the image, copied
    /// after a test.
    row_copies: usize,
    /// Rows gathered element by element (over the padding, or of panels
    /// across image rows whose runs are neither wholly in the image nor in
    /// the padding).
    gathered_rows: usize,
}

impl PackStats {
    #[inline(always)]
    fn record(&self) {
        #[cfg(feature = "kernel-stats")]
        {
            use std::sync::atomic::Ordering::Relaxed;
            stats::WHOLE_PANEL_ROWS.fetch_add(self.whole_panel_rows, Relaxed);
            stats::RUN_PANEL_ROWS.fetch_add(self.run_panel_rows, Relaxed);
            stats::ROW_COPIES.fetch_add(self.row_copies, Relaxed);
            stats::GATHERED_ROWS.fetch_add(self.gathered_rows, Relaxed);
        }
    }
}

/// Counts of how the f32 im2col packing packed its panel rows since the
/// process started, over all threads (feature `kernel-stats`), for tests that
/// must know which path ran: every path packs the same values.
#[cfg(feature = "kernel-stats")]
pub mod stats {
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(super) static WHOLE_PANEL_ROWS: AtomicUsize = AtomicUsize::new(0);
    pub(super) static RUN_PANEL_ROWS: AtomicUsize = AtomicUsize::new(0);
    pub(super) static ROW_COPIES: AtomicUsize = AtomicUsize::new(0);
    pub(super) static GATHERED_ROWS: AtomicUsize = AtomicUsize::new(0);

    /// Panel rows packed by each path of the f32 im2col packing.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Im2ColStats {
        /// Rows of panels along one image row that lay wholly in the image
        /// (or in the padding), packed with no test per row.
        pub whole_panel_rows: usize,
        /// Rows of panels across image rows, each of whose runs along one
        /// image row lay wholly in the image or in the padding, packed run
        /// by run with no test per row.
        pub run_panel_rows: usize,
        /// Rows of other panels along one image row that lay in the image,
        /// each copied after its own test.
        pub row_copies: usize,
        /// Rows gathered element by element (over the padding, or of panels
        /// across image rows whose runs are neither wholly in the image nor
        /// in the padding).
        pub gathered_rows: usize,
    }

    /// The counts so far.
    pub fn im2col_stats() -> Im2ColStats {
        Im2ColStats {
            whole_panel_rows: WHOLE_PANEL_ROWS.load(Ordering::Relaxed),
            run_panel_rows: RUN_PANEL_ROWS.load(Ordering::Relaxed),
            row_copies: ROW_COPIES.load(Ordering::Relaxed),
            gathered_rows: GATHERED_ROWS.load(Ordering::Relaxed),
        }
    }
}

impl Im2Col<'_, i8> {
    /// Pack part of an image into a packing buffer.
    ///
    /// The packing buffer contains panels of size `KC * NR`, where `NR` is
    /// `NR_REGS` times the i32 SIMD width.
    ///
    /// This method is for use by kernels using int8 dot product instructions
    /// to compute `S::LEN x i32` dot products from two input vectors each
    /// containing `S::LEN x 4 x i8` (or u8) inputs.
    #[inline(always)]
    #[allow(unused)] // Some architectures only
    pub(super) fn pack_block_i8_dot<
        I: Isa,
        const NR: usize,
        const NR_REGS: usize,
        const K_TILE: usize,
    >(
        &self,
        isa: I,
        out: &mut [MaybeUninit<i8>],
        rows: Range<usize>,
        cols: Range<usize>,
        zero_point: i8,
    ) {
        self.pack_block_int8::<_, NR, NR_REGS, K_TILE, false>(isa, out, rows, cols, zero_point);
    }

    /// Variant of [`pack_block_i8_dot`](Self::pack_block_i8_dot) which shifts
    /// i8 values to u8 by adding 128.
    #[inline(always)]
    #[allow(unused)] // Some architectures only
    pub(super) fn pack_block_i8_dot_cast_u8<
        I: Isa,
        const NR: usize,
        const NR_REGS: usize,
        const K_TILE: usize,
    >(
        &self,
        isa: I,
        out: &mut [MaybeUninit<u8>],
        rows: Range<usize>,
        cols: Range<usize>,
        zero_point: i8,
    ) {
        let out = cast_uninit_mut_slice(out).unwrap();
        self.pack_block_int8::<_, NR, NR_REGS, K_TILE, true>(isa, out, rows, cols, zero_point);
    }

    #[inline(always)]
    fn pack_block_int8<
        I: Isa,
        const NR: usize,
        const NR_REGS: usize,
        const K_TILE: usize,
        const CAST_B_U8: bool,
    >(
        &self,
        isa: I,
        out: &mut [MaybeUninit<i8>],
        rows: Range<usize>,
        cols: Range<usize>,
        zero_point: i8,
    ) {
        let ops = isa.i32();
        assert_eq!(ops.len() * NR_REGS, NR);

        let mask_ops = isa.m32();

        debug_assert!(rows.end <= self.rows());
        debug_assert!(cols.end <= self.cols());

        let max_x_offset = ops.splat(self.max_x_offset);
        let max_y_offset = ops.splat(self.max_y_offset);

        let col_x_offsets = &self.col_offsets.x;
        debug_assert_eq!(col_x_offsets.len() % ops.len(), 0);

        let col_y_offsets = &self.col_offsets.y;
        debug_assert_eq!(col_y_offsets.len() % ops.len(), 0);

        let row_x_offsets = &self.row_offsets.x;
        debug_assert_eq!(row_x_offsets.len() % K_TILE, 0);

        let row_y_offsets = &self.row_offsets.y;
        debug_assert_eq!(row_y_offsets.len() % K_TILE, 0);

        let row_chan_offsets = &self.row_offsets.chan;
        debug_assert_eq!(row_chan_offsets.len() % K_TILE, 0);

        let img_data = self.image.storage();

        let mut out_offset = 0;

        for start_col in cols.step_by(ops.len() * NR_REGS) {
            let col_y_offset: [I::I32; NR_REGS] =
                std::array::from_fn(|i| ops.load(&col_y_offsets[start_col + i * ops.len()..]));
            let col_x_offset: [I::I32; NR_REGS] =
                std::array::from_fn(|i| ops.load(&col_x_offsets[start_col + i * ops.len()..]));
            let zero = ops.zero();

            let mut col_sums = [ops.zero().to_array(); NR_REGS];

            for start_row in rows.clone().step_by(K_TILE) {
                for i in 0..K_TILE {
                    let k = start_row + i;
                    let row_x_offset = ops.splat(unsafe { *row_x_offsets.get_unchecked(k) });
                    let row_y_offset = ops.splat(unsafe { *row_y_offsets.get_unchecked(k) });
                    let row_chan_offset = ops.splat(unsafe { *row_chan_offsets.get_unchecked(k) });

                    for c_block in 0..NR_REGS {
                        let x_offsets = ops.add(row_x_offset, col_x_offset[c_block]);
                        let y_offsets = ops.add(row_y_offset, col_y_offset[c_block]);
                        let offsets = ops.add(ops.add(x_offsets, y_offsets), row_chan_offset);

                        let y_valid =
                            mask_ops.and(ops.ge(y_offsets, zero), ops.le(y_offsets, max_y_offset));
                        let x_valid =
                            mask_ops.and(ops.ge(x_offsets, zero), ops.le(x_offsets, max_x_offset));
                        let pad_mask = mask_ops.and(y_valid, x_valid);
                        let pad_mask_array = pad_mask.to_array();

                        // Set offsets to zero for padding elements. We require
                        // this offset is always valid.
                        let offsets_array = ops.select(offsets, zero, pad_mask).to_array();

                        for idx in 0..ops.len() {
                            let out_elem = unsafe {
                                out.get_unchecked_mut(
                                    out_offset + (c_block * ops.len() + idx) * K_TILE + i,
                                )
                            };
                            let src_elem =
                                unsafe { *img_data.get_unchecked(offsets_array[idx] as usize) };

                            if CAST_B_U8 {
                                let src_elem = shift_cast_i8_u8(src_elem);
                                let elem = if pad_mask_array[idx] { src_elem } else { 0 };
                                col_sums[c_block][idx] += elem as i32;
                                out_elem.write(elem as i8);
                            } else {
                                let elem = if pad_mask_array[idx] { src_elem } else { 0 };
                                col_sums[c_block][idx] += elem as i32;
                                out_elem.write(elem);
                            }
                        }
                    }
                }
                out_offset += ops.len() * NR_REGS * K_TILE;
            }

            // Store column sums and zero points at end of each panel.
            let meta = PackedBMeta::<NR> {
                // Safety: col_sums is `[i32_vec_len; NR_REGS]` and we checked
                // `i32_vec_len * NR_REGS == NR`.
                col_sums: *unsafe {
                    std::mem::transmute::<&[<I::I32 as Simd>::Array; NR_REGS], &[i32; NR]>(
                        &col_sums,
                    )
                },
                zero_points: if CAST_B_U8 {
                    [shift_cast_i8_u8(zero_point) as i32; NR]
                } else {
                    [zero_point as i32; NR]
                },
            };
            let meta_bytes = meta.as_bytes();
            for (i, byte) in meta_bytes.iter().enumerate() {
                out[out_offset + i].write(*byte as i8);
            }
            out_offset += meta_bytes.len();
        }

        // Sanity check
        assert_eq!(out_offset, out.len());
    }
}
