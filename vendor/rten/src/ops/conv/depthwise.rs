use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use rten_base::unroll::unroll_loop;
use rten_simd::ops::{BitOps, NumOps};
use rten_simd::{Isa, SimdOp};
use rten_tensor::prelude::*;
use rten_tensor::{AssumeInit, NdTensor, NdTensorView, NdTensorViewMut};
use smallvec::SmallVec;

use crate::buffer_pool::{AutoReturn, BufferPool};

/// Which depthwise kernel computed each channel, for tests that must know it:
/// the results cannot tell, since every kernel computes the same convolution.
/// Counting costs two relaxed atomic adds per block of channels, and is
/// compiled only with the `kernel-stats` feature.
pub(crate) mod kernel_stats {
    #[cfg(feature = "kernel-stats")]
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Channels computed whole by a specialized kernel
    /// ([`DepthwiseConvKernel::compute_channels`](super::DepthwiseConvKernel)).
    #[cfg(feature = "kernel-stats")]
    static WHOLE_CHANNEL: AtomicUsize = AtomicUsize::new(0);
    /// Channels computed one output row at a time by `compute_row`.
    #[cfg(feature = "kernel-stats")]
    static ROW_BY_ROW: AtomicUsize = AtomicUsize::new(0);
    /// Output rows computed by the whole-channel kernel's unrolled code.
    #[cfg(feature = "kernel-stats")]
    static UNROLLED_ROWS: AtomicUsize = AtomicUsize::new(0);
    /// Edge output rows computed by the whole-channel kernel's code unrolled
    /// for the kernel's width.
    #[cfg(feature = "kernel-stats")]
    static UNROLLED_EDGE_ROWS: AtomicUsize = AtomicUsize::new(0);
    /// Input rows that the whole-channel kernel copied into its padded rows
    /// one element at a time.
    #[cfg(feature = "kernel-stats")]
    static ELEMENTWISE_COPIED_ROWS: AtomicUsize = AtomicUsize::new(0);

    /// Add one block of channels' counts: one atomic add per block (not per
    /// channel), so that the feature costs nothing measurable when on.
    #[inline(always)]
    pub fn add(_whole_channel: usize, _row_by_row: usize, _rows: super::RowCounts) {
        #[cfg(feature = "kernel-stats")]
        {
            WHOLE_CHANNEL.fetch_add(_whole_channel, Ordering::Relaxed);
            ROW_BY_ROW.fetch_add(_row_by_row, Ordering::Relaxed);
            UNROLLED_ROWS.fetch_add(_rows.unrolled, Ordering::Relaxed);
            UNROLLED_EDGE_ROWS.fetch_add(_rows.unrolled_edge, Ordering::Relaxed);
            ELEMENTWISE_COPIED_ROWS.fetch_add(_rows.elementwise_copied, Ordering::Relaxed);
        }
    }

    /// Counts since the process started, over all threads.
    #[cfg(feature = "kernel-stats")]
    pub fn depthwise_kernel_stats() -> crate::ops::DepthwiseKernelStats {
        crate::ops::DepthwiseKernelStats {
            whole_channel: WHOLE_CHANNEL.load(Ordering::Relaxed),
            row_by_row: ROW_BY_ROW.load(Ordering::Relaxed),
            unrolled_rows: UNROLLED_ROWS.load(Ordering::Relaxed),
            unrolled_edge_rows: UNROLLED_EDGE_ROWS.load(Ordering::Relaxed),
            elementwise_copied_rows: ELEMENTWISE_COPIED_ROWS.load(Ordering::Relaxed),
        }
    }
}

/// Rows of a block of channels computed or copied by each path of the
/// whole-channel kernel, for `kernel-stats`.
#[derive(Clone, Copy, Default)]
pub(crate) struct RowCounts {
    /// Output rows computed by the code unrolled for the kernel's size.
    unrolled: usize,
    /// Edge output rows computed by the code unrolled for the kernel's width
    /// ([`EdgeTaps`]).
    unrolled_edge: usize,
    /// Input rows copied into the padded rows one element at a time (not by
    /// the vector copies of stride 1 or the paired copy of stride 2).
    elementwise_copied: usize,
}

impl std::ops::AddAssign for RowCounts {
    fn add_assign(&mut self, other: RowCounts) {
        self.unrolled += other.unrolled;
        self.unrolled_edge += other.unrolled_edge;
        self.elementwise_copied += other.elementwise_copied;
    }
}

/// Calculate the output coordinate range for which all input / output
/// coordinates are valid when updating a row of output using:
///
/// ```text
/// for out_x in min_out_x..max_out_x {
///   out_row[out_x] += in_row[out_x * stride + k_x * dilation - pad_left] * kernel_row[k_x]
/// }
/// ```
///
/// Where `in_row` is the un-padded input row of width `in_w` and `out_row` is
/// an output row of width `out_w`.
///
/// In other words, we want to find the minimum and maximum values of `out_x`
/// such that:
///
/// - out_x * stride + k_x * dilation - pad_left >= 0
/// - out_x * stride + k_x * dilation - pad_left <= in_w
/// - out_x >= 0
/// - out_x <= out_w
fn min_max_out_x_coords(
    k_x: usize,
    in_w: usize,
    pad_left: usize,
    stride: usize,
    dilation: usize,
    out_w: usize,
) -> (usize, usize) {
    let min_out_x = pad_left
        .saturating_sub(k_x * dilation)
        .div_ceil(stride)
        .min(out_w);
    let max_out_x = (in_w + pad_left)
        .saturating_sub(k_x * dilation)
        .div_ceil(stride)
        .min(out_w);
    (min_out_x, max_out_x)
}

/// Convolution parameters passed to the kernel which are constant across
/// all calls within a single depthwise conv operation.
struct ConvParams<'a> {
    kernel_h: usize,
    stride_h: usize,
    stride_w: usize,
    dilation_y: usize,
    pad_top: usize,
    in_h: usize,
    in_row_len: usize,
    in_row_stride: usize,

    /// Precomputed map of kernel X coordinate to input and output row
    /// range.
    col_range_for_kernel_x: &'a [(Range<usize>, Range<usize>)],
}

/// Trait for architecture and data-type specific kernels for depthwise
/// convolution.
trait DepthwiseConvKernel<X, W, Y> {
    /// Compute one output row of the depthwise convolution.
    ///
    /// `image_chan` and `kernel_chan` contain the input data and weights for
    /// the channel that corresponds to the output row.
    fn compute_row(
        &self,
        params: &ConvParams,
        out_row: &mut [MaybeUninit<Y>],
        out_y: usize,
        out_init: Y,
        image_chan: &[X],
        kernel_chan: NdTensorView<W, 2>,
        input_zero: X,
        kernel_zero: W,
    );

    /// Compute whole output channels, if this kernel has a specialized
    /// implementation for `params`, and return `Some` of the rows it computed
    /// or copied by each of its paths (for `kernel-stats`). Returning `None`
    /// makes the caller fall back to
    /// [`compute_row`](Self::compute_row).
    ///
    /// For `n` channels, `input` holds their contiguous `[n, in_h, in_w]`
    /// planes, `kernel` their contiguous `[n, k_h, k_w]` weights and `output`
    /// their `[n, out_h, out_w]` planes, which must be fully initialized when
    /// this returns `Some`. `init` holds each channel's initial value (`n`
    /// values), or is `None` for zeros. Each output is `init + sum(input *
    /// kernel)`.
    ///
    /// Taking channels in blocks lets a kernel do its setup (the padded
    /// layout, the tap offsets, the ISA dispatch) once for all of them: on
    /// the small planes of a network's deep layers it costs as much as the
    /// arithmetic of a channel.
    #[allow(unused_variables)]
    fn compute_channels(
        &self,
        params: &ChannelParams,
        output: &mut [MaybeUninit<Y>],
        init: Option<&[Y]>,
        input: &[X],
        kernel: &[W],
    ) -> Option<RowCounts> {
        None
    }
}

/// Geometry of a depthwise convolution of one channel, for
/// [`DepthwiseConvKernel::compute_channels`].
pub struct ChannelParams {
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    k_h: usize,
    k_w: usize,
    pad_top: usize,
    pad_left: usize,
    stride_h: usize,
    stride_w: usize,
    dilation_y: usize,
    dilation_x: usize,
}

struct GenericDepthwiseConvKernel {}

/// Depthwise convolution of f32 channels using SIMD FMAs, for any kernel size,
/// stride, dilation and padding.
///
/// The generic kernel makes one pass over each output row per kernel tap (9
/// read-modify-write passes for a 3x3 kernel) and reads strided inputs one
/// lane at a time. This kernel instead keeps a whole vector of outputs in a
/// register while it accumulates every tap, and writes it once.
///
/// To make every tap a contiguous, in-bounds vector load, the input channel
/// is first copied into a scratch buffer where each row is zero-padded on
/// both sides and split into `stride_w` phases (phase `p` holds padded
/// columns `p, p + stride_w, p + 2 * stride_w, ...`). Column `x * stride_w +
/// k_x * dilation_x` of the padded row is then element `x + shift` of phase
/// `(k_x * dilation_x) % stride_w`, where `shift = (k_x * dilation_x) /
/// stride_w`. The copy costs one pass over the input, which is small beside
/// the `k_h * k_w` multiply-adds per output.
struct SimdDepthwiseConvKernel {}

impl DepthwiseConvKernel<f32, f32, f32> for SimdDepthwiseConvKernel {
    fn compute_row(
        &self,
        params: &ConvParams,
        out_row: &mut [MaybeUninit<f32>],
        out_y: usize,
        out_init: f32,
        image_chan: &[f32],
        kernel_chan: NdTensorView<f32, 2>,
        input_zero: f32,
        kernel_zero: f32,
    ) {
        <GenericDepthwiseConvKernel as DepthwiseConvKernel<f32, f32, f32>>::compute_row(
            &GenericDepthwiseConvKernel {},
            params,
            out_row,
            out_y,
            out_init,
            image_chan,
            kernel_chan,
            input_zero,
            kernel_zero,
        )
    }

    fn compute_channels(
        &self,
        params: &ChannelParams,
        output: &mut [MaybeUninit<f32>],
        init: Option<&[f32]>,
        input: &[f32],
        kernel: &[f32],
    ) -> Option<RowCounts> {
        let rows = SCRATCH.with_borrow_mut(|scratch| {
            DepthwiseChannelsF32 {
                params,
                input,
                kernel,
                output,
                init,
                scratch,
            }
            .dispatch()
        });
        Some(rows)
    }
}

thread_local! {
    /// Scratch space for [`SimdDepthwiseConvKernel`]'s padded input rows,
    /// reused across channels and runs on each thread.
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Output elements computed per parallel task by
/// [`DepthwiseConvExecutor::depthwise_conv_2d`]: whole channels, as many as
/// make about this much work.
const DW_TASK_LEN: usize = 4 * 1024;

/// Number of output vectors computed side by side in the inner loop, so that
/// independent multiply-add chains hide the FMA latency.
const DW_BLOCK: usize = 4;

/// The work of [`SimdDepthwiseConvKernel::compute_channels`]: a block of
/// channels, as that method describes them.
struct DepthwiseChannelsF32<'a> {
    params: &'a ChannelParams,
    input: &'a [f32],
    kernel: &'a [f32],
    output: &'a mut [MaybeUninit<f32>],
    init: Option<&'a [f32]>,
    scratch: &'a mut Vec<f32>,
}

impl SimdOp for DepthwiseChannelsF32<'_> {
    /// Rows computed or copied by each path of [`conv_channels`].
    type Output = RowCounts;

    #[inline(always)]
    fn eval<I: Isa>(self, isa: I) -> RowCounts {
        let lanes = isa.f32().len();
        let DepthwiseChannelsF32 {
            params: p,
            input,
            kernel,
            output,
            init,
            scratch,
        } = self;
        let (in_len, k_len, out_len) = (p.in_h * p.in_w, p.k_h * p.k_w, p.out_h * p.out_w);
        assert!(k_len > 0, "empty kernel");
        let n_chans = kernel.len() / k_len;
        assert_eq!(kernel.len(), n_chans * k_len);
        assert_eq!(input.len(), n_chans * in_len);
        assert_eq!(output.len(), n_chans * out_len);
        if let Some(init) = init {
            assert_eq!(init.len(), n_chans);
        }
        if out_len == 0 {
            return RowCounts::default();
        }
        let stride = p.stride_w;

        // Everything below up to `conv_channels` depends only on the geometry,
        // so it is computed once for the block.
        //
        // Scratch layout: `[in_h][stride][phase_len]`. Each phase is long
        // enough for a full vector load at every output column block plus the
        // largest tap shift.
        let max_shift = (p.k_w - 1) * p.dilation_x / stride;
        let out_w_padded = p.out_w.next_multiple_of(lanes);
        let phase_len = out_w_padded + max_shift + 1;
        let row_len = stride * phase_len;
        // Every element of the used part is written (zeros in the padding)
        // before it is read, so the buffer is only grown, never cleared. One
        // vector of slack after the rows: `fill_scratch` zeroes the padding
        // with whole vectors, the last of which may reach past the last row.
        let scratch_len = p.in_h * row_len + lanes;
        if scratch.len() < scratch_len {
            scratch.resize(scratch_len, 0.);
        }
        let scratch = &mut scratch[..scratch_len];
        // Phase element `i` is padded column `phase + i * stride`, which is
        // input column `phase + i * stride - pad_left`. Elements `first..first
        // + n` hold input columns `first_col, first_col + stride, ...`; the
        // rest are padding. The same for every row and channel.
        let phases: SmallVec<[PhaseSpan; 4]> = (0..stride)
            .map(|phase| {
                let first = p.pad_left.saturating_sub(phase).div_ceil(stride);
                let first_col = (phase + first * stride).saturating_sub(p.pad_left);
                let n = if first >= phase_len || first_col >= p.in_w {
                    0
                } else {
                    (p.in_w - first_col).div_ceil(stride).min(phase_len - first)
                };
                PhaseSpan {
                    first: first.min(phase_len),
                    first_col,
                    n,
                }
            })
            .collect();
        // Offset of each horizontal tap within a scratch row.
        let tap_offsets: SmallVec<[usize; 7]> = (0..p.k_w)
            .map(|k_x| {
                let offset = k_x * p.dilation_x;
                (offset % stride) * phase_len + offset / stride
            })
            .collect();
        // The kernel rows over the image for each output row.
        // The output rows whose whole kernel lies over the image: `y *
        // stride_h >= pad_top` and `y * stride_h + dilation_y * (k_h - 1) <
        // pad_top + in_h`.
        let inner_rows = {
            let span = p.dilation_y * (p.k_h - 1);
            let end = if p.pad_top + p.in_h > span {
                ((p.pad_top + p.in_h - span - 1) / p.stride_h + 1).min(p.out_h)
            } else {
                0
            };
            p.pad_top.div_ceil(p.stride_h).min(end)..end
        };

        let layout = ScratchLayout {
            row_len,
            phase_len,
            out_w_padded,
            phases: &phases,
            tap_offsets: &tap_offsets,
            inner_rows,
        };
        let channels = Channels {
            input,
            kernel,
            init,
            output,
        };
        // The common kernel sizes get an unrolled kernel with their taps and
        // weights in registers, used for the rows where the whole kernel lies
        // over the image.
        match (p.k_h, p.k_w) {
            (3, 3) => conv_channels::<I, 3, 3>(isa, p, &layout, channels, scratch),
            (5, 5) => conv_channels::<I, 5, 5>(isa, p, &layout, channels, scratch),
            _ => conv_channels::<I, 0, 0>(isa, p, &layout, channels, scratch),
        }
    }
}

/// Where one stride phase of a padded input row holds image columns: elements
/// `first..first + n` hold input columns `first_col, first_col + stride, ...`;
/// the rest are zero padding.
#[derive(Clone, Copy)]
struct PhaseSpan {
    first: usize,
    first_col: usize,
    n: usize,
}

/// How a channel's padded input rows lie in the scratch buffer (see
/// [`SimdDepthwiseConvKernel`]), and what follows from it for every channel
/// of a block.
struct ScratchLayout<'a> {
    /// Elements of a padded row: `stride_w` phases of `phase_len`.
    row_len: usize,
    phase_len: usize,
    /// The output width rounded up to whole vectors; every tap of every
    /// column below it can be loaded from a row.
    out_w_padded: usize,
    phases: &'a [PhaseSpan],
    /// Offset of each horizontal tap within a row.
    tap_offsets: &'a [usize],
    /// The output rows whose whole kernel lies over the image.
    inner_rows: Range<usize>,
}

/// The channels of a block: their contiguous input planes, weights and output
/// planes, and their initial values (`None`: zeros).
struct Channels<'a> {
    input: &'a [f32],
    kernel: &'a [f32],
    init: Option<&'a [f32]>,
    output: &'a mut [MaybeUninit<f32>],
}

/// Copy a channel's input plane into the scratch rows of `layout`, split into
/// stride phases. The zero padding around the image columns is written only
/// when `with_padding`: it is the same for every channel of a block, so only
/// its first channel writes it.
///
/// At stride 1 (one phase) each row is copied in whole vectors and a masked
/// last one, and the padding zeroed in whole vectors, inline: a call to
/// `memcpy` and two to `memset` per row, with the per-phase bookkeeping, cost
/// more than the copy on the narrow rows of a network's deep layers. The
/// zeroing's whole vectors may reach past the padding, into the image columns
/// of the row (copied after them) or into the next row (written after this
/// one), or past the last row into the vector of slack after it.
#[inline(always)]
fn fill_scratch<I: Isa>(
    isa: I,
    p: &ChannelParams,
    layout: &ScratchLayout,
    input: &[f32],
    scratch: &mut [f32],
    with_padding: bool,
) -> usize {
    let ops = isa.f32();
    let lanes = ops.len();
    let row_len = layout.row_len;
    assert_eq!(input.len(), p.in_h * p.in_w);
    assert!(scratch.len() >= p.in_h * row_len + lanes);
    let stride = p.stride_w;
    if stride == 1 {
        let span = layout.phases[0];
        // Checked once, for the unchecked loads and stores below: the image
        // columns lie within the padded row and within the input row.
        assert!(span.first + span.n <= row_len && span.first_col + span.n <= p.in_w);
        let whole = span.n - span.n % lanes;
        let last = ops.first_n_mask(span.n % lanes);
        let zero = ops.zero();
        for y in 0..p.in_h {
            // Safety: rows `y < in_h` of `in_w` elements lie in `input`, and
            // of `row_len` elements (plus the slack) in `scratch`; the copied
            // columns lie within them (checked above); the zeroing stores start
            // inside the row and reach at most `lanes - 1` elements past it.
            unsafe {
                let src = input.as_ptr().add(y * p.in_w + span.first_col);
                let dst = scratch.as_mut_ptr().add(y * row_len);
                if with_padding {
                    let mut i = 0;
                    while i < span.first {
                        ops.store_ptr(zero, dst.add(i));
                        i += lanes;
                    }
                }
                let body = dst.add(span.first);
                let mut i = 0;
                while i < whole {
                    ops.store_ptr(ops.load_ptr(src.add(i)), body.add(i));
                    i += lanes;
                }
                if i < span.n {
                    ops.store_ptr_mask(ops.load_ptr_mask(src.add(i), last), body.add(i), last);
                }
                if with_padding {
                    let mut i = span.first + span.n;
                    while i < row_len {
                        ops.store_ptr(zero, dst.add(i));
                        i += lanes;
                    }
                }
            }
        }
        return 0;
    }
    // At stride 2, the image columns that the two phases share pairwise
    // (`a`'s column `2 i + first_col` and `b`'s the next one) are copied
    // together, a loop the compiler vectorizes (loads and shuffles); the
    // columns left over, at most one per phase, by the loop below. Strided
    // copies one element at a time cost about 11 instructions an element.
    let pairs = if stride == 2 {
        let [a, b] = [layout.phases[0], layout.phases[1]];
        if a.first_col + 1 == b.first_col {
            Some((0, 1, a.n.min(b.n)))
        } else if b.first_col + 1 == a.first_col {
            Some((1, 0, a.n.min(b.n)))
        } else {
            None
        }
    } else {
        None
    };
    // Rows copied wholly one element at a time, for `kernel-stats`.
    let mut elementwise_rows = 0;
    for (y, dst) in scratch[..p.in_h * row_len]
        .chunks_exact_mut(row_len)
        .enumerate()
    {
        let src = &input[y * p.in_w..][..p.in_w];
        // Elements of phases 0 and 1 copied by the paired loop.
        let mut done = [0; 2];
        if let Some((a, b, n)) = pairs
            && n > 0
        {
            let (span_a, span_b) = (layout.phases[a], layout.phases[b]);
            let (phase_0, phase_1) = dst.split_at_mut(layout.phase_len);
            let (dst_a, dst_b) = if a == 0 {
                (phase_0, phase_1)
            } else {
                (phase_1, phase_0)
            };
            let dst_a = &mut dst_a[span_a.first..][..n];
            let dst_b = &mut dst_b[span_b.first..][..n];
            let src = &src[span_a.first_col..][..2 * n];
            for ((da, db), s) in dst_a.iter_mut().zip(dst_b).zip(src.chunks_exact(2)) {
                *da = s[0];
                *db = s[1];
            }
            done = [n; 2];
        } else {
            elementwise_rows += 1;
        }
        for (phase, (dst, span)) in dst
            .chunks_exact_mut(layout.phase_len)
            .zip(layout.phases)
            .enumerate()
        {
            let done = done.get(phase).copied().unwrap_or(0);
            let (head, rest) = dst.split_at_mut(span.first);
            let (body, tail) = rest.split_at_mut(span.n);
            if with_padding {
                head.fill(0.);
                tail.fill(0.);
            }
            for (d, s) in body[done..]
                .iter_mut()
                .zip(src[span.first_col..].iter().step_by(stride).skip(done))
            {
                *d = *s;
            }
        }
    }
    elementwise_rows
}

/// Compute every output row of every channel of a block. Rows whose `KH` x
/// `KW` kernel lies wholly over the image use [`FixedTaps`] (when the kernel
/// is that size; `KH = 0` for none); the rest use [`AnyTaps`]. Both sum the
/// taps in the same order, so the results are the same to the bit. Returns
/// the number of rows computed by `FixedTaps`.
#[inline(always)]
fn conv_channels<I: Isa, const KH: usize, const KW: usize>(
    isa: I,
    p: &ChannelParams,
    layout: &ScratchLayout,
    channels: Channels,
    scratch: &mut [f32],
) -> RowCounts {
    let ops = isa.f32();
    let lanes = ops.len();
    let (in_len, k_len, out_len) = (p.in_h * p.in_w, p.k_h * p.k_w, p.out_h * p.out_w);
    let fixed = KH > 0 && p.k_h == KH && p.k_w == KW;
    let fixed_taps: [usize; KW] = if fixed {
        std::array::from_fn(|k_x| layout.tap_offsets[k_x])
    } else {
        [0; KW]
    };
    // The fixed kernel loads without bounds checks: check once that every tap
    // of every column up to `out_w_padded` lies inside a row, and that the
    // kernel rows of the inner output rows lie inside the image's rows.
    assert!(
        fixed_taps
            .iter()
            .all(|&t| t + layout.out_w_padded <= layout.row_len)
    );
    let inner_rows = if fixed {
        layout.inner_rows.clone()
    } else {
        0..0
    };
    let row_step = p.dilation_y * layout.row_len;
    if let Some(last_row) = inner_rows.clone().last() {
        assert!(
            last_row * p.stride_h + (KH - 1) * p.dilation_y < p.pad_top + p.in_h
                && inner_rows.start * p.stride_h >= p.pad_top
        );
    }
    // The last, partial vector of each output row.
    let last = ops.first_n_mask(p.out_w % lanes);
    let max_tap = layout.tap_offsets.iter().copied().max().unwrap_or(0);

    let Channels {
        input,
        kernel,
        init,
        output,
    } = channels;
    // The splatted weights of a kernel of another size than `KH` x `KW`.
    let mut weights: SmallVec<[I::F32; 25]> = SmallVec::new();
    let mut rows = RowCounts::default();
    for c in 0..kernel.len() / k_len {
        rows.elementwise_copied += fill_scratch(
            isa,
            p,
            layout,
            &input[c * in_len..][..in_len],
            scratch,
            c == 0,
        );
        let scratch = &*scratch;
        let kernel = &kernel[c * k_len..][..k_len];
        let init = ops.splat(init.map_or(0., |init| init[c]));
        // Built in place, not collected: a `SmallVec` of vectors cost about
        // 450 instructions a channel.
        let mut fixed_weights = [[init; KW]; KH];
        if fixed {
            for (k_y, row) in fixed_weights.iter_mut().enumerate() {
                for (k_x, w) in row.iter_mut().enumerate() {
                    *w = ops.splat(kernel[k_y * KW + k_x]);
                }
            }
        } else {
            weights.clear();
            weights.extend(kernel.iter().map(|&w| ops.splat(w)));
        }
        let any_weights: &[I::F32] = if fixed {
            fixed_weights.as_flattened()
        } else {
            &weights
        };

        let output = &mut output[c * out_len..][..out_len];
        // The edge rows, where part of the kernel overhangs the image.
        for y in (0..inner_rows.start).chain(inner_rows.end.max(inner_rows.start)..p.out_h) {
            let out_row = &mut output[y * p.out_w..][..p.out_w];
            let k_rows = KernelRows::new(p, y, layout.row_len);
            if fixed {
                let taps = EdgeTaps {
                    isa,
                    scratch,
                    rows: &k_rows,
                    taps: &fixed_taps,
                    max_tap,
                    weights: &fixed_weights,
                    init,
                };
                conv_row(isa, &taps, out_row, last);
            } else {
                let taps = AnyTaps {
                    isa,
                    scratch,
                    rows: &k_rows,
                    tap_offsets: layout.tap_offsets,
                    max_tap,
                    weights: any_weights,
                    k_w: p.k_w,
                    init,
                };
                conv_row(isa, &taps, out_row, last);
            }
        }
        if fixed {
            rows.unrolled_edge += p.out_h - inner_rows.len();
        }
        if !inner_rows.is_empty() {
            let first_row = (inner_rows.start * p.stride_h - p.pad_top) * layout.row_len;
            let taps = FixedTaps {
                isa,
                rows: &scratch[first_row..],
                row_step,
                taps: &fixed_taps,
                weights: &fixed_weights,
                init,
            };
            conv_rows(
                isa,
                &taps,
                &mut output[inner_rows.start * p.out_w..inner_rows.end * p.out_w],
                p.out_w,
                p.stride_h * layout.row_len,
                last,
            );
        }
        rows.unrolled += inner_rows.len();
    }
    rows
}

/// A source of output vectors for [`conv_row`].
trait Taps<I: Isa> {
    /// The `N` output vectors of a row that start at column `x` ([`AnyTaps`]),
    /// or at offset `x` of the taps' rows ([`FixedTaps`]: `x` = the row's
    /// offset plus its column). Callers keep the column plus `N * lanes`
    /// within the row's width rounded up to whole vectors.
    fn block<const N: usize>(&self, x: usize) -> [I::F32; N];
}

/// Compute one output row from `taps`: blocks of `DW_BLOCK` vectors, then
/// single vectors, the last one possibly partial (stored under `last`, the
/// mask of the row's width modulo the vector length).
#[inline(always)]
fn conv_row<I: Isa, T: Taps<I>>(isa: I, taps: &T, out_row: &mut [MaybeUninit<f32>], last: I::M32) {
    let ops = isa.f32();
    let lanes = ops.len();
    let out_w = out_row.len();
    let out = out_row.as_mut_ptr() as *mut f32;
    let mut x = 0;
    // Safety: every store below lies within `out_row` (the loops' bounds, and
    // `last` covers the `out_w - x < lanes` elements left at the end).
    while x + lanes * DW_BLOCK <= out_w {
        let acc = taps.block::<DW_BLOCK>(x);
        for (b, acc) in acc.into_iter().enumerate() {
            unsafe { ops.store_ptr(acc, out.add(x + b * lanes)) };
        }
        x += lanes * DW_BLOCK;
    }
    while x + lanes <= out_w {
        let [y] = taps.block::<1>(x);
        unsafe { ops.store_ptr(y, out.add(x)) };
        x += lanes;
    }
    if x < out_w {
        let [y] = taps.block::<1>(x);
        unsafe { ops.store_ptr_mask(y, out.add(x), last) };
    }
}

/// Compute consecutive output rows of width `out_w` from `taps`, the row `r`
/// of `out` from the taps at offset `r * in_step` (the distance between the
/// rows' first input rows): the same vectors as [`conv_row`] for each row,
/// computed a column of blocks at a time (`DW_BLOCK` vectors, then single
/// vectors, then the masked last one) down all the rows. The loop over the
/// rows then holds only the pointer steps: computed row by row, each row paid
/// about 55 instructions of setup (its pointers and bounds, the weights
/// reloaded into registers for each of its loops), as much as the arithmetic
/// of a row of 32 outputs.
#[inline(always)]
fn conv_rows<I: Isa, T: Taps<I>>(
    isa: I,
    taps: &T,
    out: &mut [MaybeUninit<f32>],
    out_w: usize,
    in_step: usize,
    last: I::M32,
) {
    let ops = isa.f32();
    let lanes = ops.len();
    assert!(out_w > 0 && out.len().is_multiple_of(out_w));
    let n_rows = out.len() / out_w;
    let out = out.as_mut_ptr() as *mut f32;
    let mut x = 0;
    // Safety: every store below lies within `out`: row `r < n_rows` of
    // `out_w` elements, at columns below `out_w` (the loops' bounds, and
    // `last` covers the `out_w - x < lanes` elements left at the end).
    // (The offsets step by addition: with `r * in_step` the compiler kept a
    // multiplication and a spilled register in the loops.)
    while x + lanes * DW_BLOCK <= out_w {
        let (mut at, mut o) = (x, x);
        for _ in 0..n_rows {
            let acc = taps.block::<DW_BLOCK>(at);
            for (b, acc) in acc.into_iter().enumerate() {
                unsafe { ops.store_ptr(acc, out.add(o + b * lanes)) };
            }
            (at, o) = (at + in_step, o + out_w);
        }
        x += lanes * DW_BLOCK;
    }
    while x + lanes <= out_w {
        let (mut at, mut o) = (x, x);
        for _ in 0..n_rows {
            let [y] = taps.block::<1>(at);
            unsafe { ops.store_ptr(y, out.add(o)) };
            (at, o) = (at + in_step, o + out_w);
        }
        x += lanes;
    }
    if x < out_w {
        let (mut at, mut o) = (x, x);
        for _ in 0..n_rows {
            let [y] = taps.block::<1>(at);
            unsafe { ops.store_ptr_mask(y, out.add(o), last) };
            (at, o) = (at + in_step, o + out_w);
        }
    }
}

/// The taps of a kernel of any size, over the kernel rows that lie on the
/// image.
struct AnyTaps<'a, I: Isa> {
    isa: I,
    scratch: &'a [f32],
    rows: &'a KernelRows,
    tap_offsets: &'a [usize],
    max_tap: usize,
    weights: &'a [I::F32],
    k_w: usize,
    init: I::F32,
}

impl<I: Isa> Taps<I> for AnyTaps<'_, I> {
    #[inline(always)]
    fn block<const N: usize>(&self, x: usize) -> [I::F32; N] {
        conv_block::<I, N>(
            self.isa,
            self.scratch,
            self.rows,
            self.tap_offsets,
            self.max_tap,
            self.weights,
            self.k_w,
            x,
            self.init,
        )
    }
}

/// The taps of a `KH` x `KW` kernel over the kernel rows that lie on the image,
/// for the edge rows (where [`FixedTaps`] does not apply): the kernel rows in a
/// loop, as [`AnyTaps`] takes them, and each row's `KW` taps unrolled, with
/// their weights from the splatted `KH` x `KW` array. The same sums in the
/// same order as [`AnyTaps`]: the general loop cost about 6 instructions per
/// tap (the tap's offset and weight loaded, the loop's bookkeeping).
struct EdgeTaps<'a, I: Isa, const KH: usize, const KW: usize> {
    isa: I,
    scratch: &'a [f32],
    rows: &'a KernelRows,
    /// Offset of each horizontal tap within a row, the largest `max_tap`.
    taps: &'a [usize; KW],
    max_tap: usize,
    weights: &'a [[I::F32; KW]; KH],
    init: I::F32,
}

impl<I: Isa, const KH: usize, const KW: usize> Taps<I> for EdgeTaps<'_, I, KH, KW> {
    #[inline(always)]
    fn block<const N: usize>(&self, x: usize) -> [I::F32; N] {
        let ops = self.isa.f32();
        let lanes = ops.len();
        let mut acc = [self.init; N];
        let mut row_start = self.rows.first_row;
        // Bounds checked once per kernel row, as in `conv_block`.
        let span = self.max_tap + lanes * N;
        for k_y in self.rows.k_y.clone() {
            let row = &self.scratch[row_start + x..][..span];
            for (&offset, &w) in self.taps.iter().zip(&self.weights[k_y]) {
                for (b, acc) in acc.iter_mut().enumerate() {
                    // Safety: `offset + lanes * N <= span`, the length of `row`.
                    let v = unsafe { ops.load_ptr(row.as_ptr().add(offset + b * lanes)) };
                    *acc = ops.mul_add(v, w, *acc);
                }
            }
            row_start += self.rows.row_step;
        }
        acc
    }
}

/// The taps of a `KH` x `KW` kernel whose rows all lie on the image: constant
/// trip counts, so the loops unroll, and no bounds check per tap.
struct FixedTaps<'a, I: Isa, const KH: usize, const KW: usize> {
    isa: I,
    /// The scratch rows from the one under kernel row 0 of the first output
    /// row; for an output vector at offset `x` (see [`conv_rows`]), the row
    /// under kernel row `k_y` starts `k_y * row_step + x` elements in.
    /// [`conv_channels`] checked that all `KH` rows of every output row it
    /// computes, `row_len` elements each, lie in it.
    rows: &'a [f32],
    row_step: usize,
    /// Offset of each horizontal tap within a row; checked by
    /// [`conv_channels`] to leave room for a vector load at every column up
    /// to `out_w_padded`.
    taps: &'a [usize; KW],
    weights: &'a [[I::F32; KW]; KH],
    init: I::F32,
}

impl<I: Isa, const KH: usize, const KW: usize> Taps<I> for FixedTaps<'_, I, KH, KW> {
    #[inline(always)]
    fn block<const N: usize>(&self, x: usize) -> [I::F32; N] {
        let ops = self.isa.f32();
        let lanes = ops.len();
        let mut acc = [self.init; N];
        for (k_y, weights) in self.weights.iter().enumerate() {
            let row = k_y * self.row_step + x;
            for (&offset, &w) in self.taps.iter().zip(weights) {
                debug_assert!(row + offset + lanes * N <= self.rows.len());
                for (b, acc) in acc.iter_mut().enumerate() {
                    // Safety: `conv_channels` checked that the kernel's rows
                    // lie in `rows` and that `offset + out_w_padded` is within
                    // a row, and callers keep `x + N * lanes` within
                    // `out_w_padded`.
                    let v =
                        unsafe { ops.load_ptr(self.rows.as_ptr().add(row + offset + b * lanes)) };
                    *acc = ops.mul_add(v, w, *acc);
                }
            }
        }
        acc
    }
}

/// The kernel rows that fall on image rows for one output row, and where
/// their scratch rows start.
///
/// Kernel row `k_y` reads input row `out_y * stride_h + k_y * dilation_y -
/// pad_top`, which increases with `k_y`, so the rows inside the image are one
/// range and their scratch rows are `row_step` apart. Computed per output row
/// without allocating (the kernel may have any height).
struct KernelRows {
    /// Kernel rows `k_y` over the image.
    k_y: Range<usize>,
    /// Offset in the scratch buffer of the row under `k_y.start`.
    first_row: usize,
    /// Distance in the scratch buffer between the rows of consecutive `k_y`.
    row_step: usize,
}

impl KernelRows {
    #[inline(always)]
    fn new(p: &ChannelParams, out_y: usize, row_len: usize) -> Self {
        // Padded row of kernel row 0, and the padded rows `pad_top..pad_top +
        // in_h` that hold the image.
        let top = out_y * p.stride_h;
        let (image_start, image_end) = (p.pad_top, p.pad_top + p.in_h);
        // (A division per output row is measurable in small channels; the
        // usual dilation of 1 needs none.)
        let div_ceil = |n: usize| {
            if p.dilation_y == 1 {
                n
            } else {
                n.div_ceil(p.dilation_y)
            }
        };
        let start = div_ceil(image_start.saturating_sub(top));
        let end = div_ceil(image_end.saturating_sub(top)).min(p.k_h);
        let start = start.min(end);
        let first_in_y = (top + start * p.dilation_y).saturating_sub(p.pad_top);
        KernelRows {
            k_y: start..end,
            first_row: first_in_y * row_len,
            row_step: p.dilation_y * row_len,
        }
    }
}

/// Accumulate `N` vectors of outputs starting at column `x` of an output row:
/// `init + sum(row[offset + x..] * weight)` over the kernel rows in `rows`
/// (rows of `scratch`) and the horizontal taps in `tap_offsets` (the largest
/// of which is `max_tap`).
#[inline(always)]
fn conv_block<I: Isa, const N: usize>(
    isa: I,
    scratch: &[f32],
    rows: &KernelRows,
    tap_offsets: &[usize],
    max_tap: usize,
    weights: &[I::F32],
    k_w: usize,
    x: usize,
    init: I::F32,
) -> [I::F32; N] {
    let ops = isa.f32();
    let lanes = ops.len();
    let mut acc = [init; N];
    let mut row_start = rows.first_row;
    // Bounds checked once per kernel row rather than per tap: the span from
    // column `x` that the row's taps read.
    let span = max_tap + lanes * N;
    for k_y in rows.k_y.clone() {
        let row = &scratch[row_start + x..][..span];
        let weights = &weights[k_y * k_w..][..k_w];
        for (&offset, &w) in tap_offsets.iter().zip(weights) {
            for (b, acc) in acc.iter_mut().enumerate() {
                // Safety: `offset + lanes * N <= span`, the length of `row`.
                let v = unsafe { ops.load_ptr(row.as_ptr().add(offset + b * lanes)) };
                *acc = ops.mul_add(v, w, *acc);
            }
        }
        row_start += rows.row_step;
    }
    acc
}

impl DepthwiseConvKernel<f32, f32, f32> for GenericDepthwiseConvKernel {
    fn compute_row(
        &self,
        params: &ConvParams,
        out_row: &mut [MaybeUninit<f32>],
        out_y: usize,
        out_init: f32,
        image_chan: &[f32],
        kernel_chan: NdTensorView<f32, 2>,
        _input_zero: f32,
        _kernel_zero: f32,
    ) {
        let kernel_view = kernel_chan.weakly_checked_view();

        // Initialize output row.
        for x in out_row.iter_mut() {
            x.write(out_init);
        }
        let out_row: &mut [f32] = unsafe { out_row.assume_init() };

        for k_y in 0..params.kernel_h {
            let in_y = out_y * params.stride_h + k_y * params.dilation_y;
            if in_y < params.pad_top || in_y >= params.in_h + params.pad_top {
                continue;
            }

            let in_row_y = in_y - params.pad_top;
            let in_row = &image_chan[in_row_y * params.in_row_stride..][..params.in_row_len];

            for (k_x, (in_range, out_range)) in params.col_range_for_kernel_x.iter().enumerate() {
                let dest = &mut out_row[out_range.clone()];
                let src = &in_row[in_range.clone()];
                let scale = kernel_view[[k_y, k_x]];

                let src_els = src.len().div_ceil(params.stride_w);
                debug_assert!(src_els == dest.len());

                unroll_loop!(0..src_els, i, 4, {
                    unsafe {
                        *dest.get_unchecked_mut(i) +=
                            *src.get_unchecked(i * params.stride_w) * scale;
                    }
                });
            }
        }
    }
}

impl DepthwiseConvKernel<i8, u8, i32> for GenericDepthwiseConvKernel {
    fn compute_row(
        &self,
        params: &ConvParams,
        out_row: &mut [MaybeUninit<i32>],
        out_y: usize,
        out_init: i32,
        image_chan: &[i8],
        kernel_chan: NdTensorView<u8, 2>,
        input_zero: i8,
        kernel_zero: u8,
    ) {
        let kernel_view = kernel_chan.weakly_checked_view();
        let input_zero = input_zero as i32;
        let kernel_zero = kernel_zero as i32;

        // Initialize output row.
        for x in out_row.iter_mut() {
            x.write(out_init);
        }
        let out_row: &mut [i32] = unsafe { out_row.assume_init() };

        for k_y in 0..params.kernel_h {
            let in_y = out_y * params.stride_h + k_y * params.dilation_y;
            if in_y < params.pad_top || in_y >= params.in_h + params.pad_top {
                continue;
            }

            let in_row_y = in_y - params.pad_top;
            let in_row = &image_chan[in_row_y * params.in_row_stride..][..params.in_row_len];

            for (k_x, (in_range, out_range)) in params.col_range_for_kernel_x.iter().enumerate() {
                let dest = &mut out_row[out_range.clone()];
                let src = &in_row[in_range.clone()];
                let scale = kernel_view[[k_y, k_x]] as i32 - kernel_zero;

                let src_els = src.len().div_ceil(params.stride_w);
                debug_assert!(src_els == dest.len());

                unroll_loop!(0..src_els, i, 4, {
                    unsafe {
                        *dest.get_unchecked_mut(i) +=
                            (*src.get_unchecked(i * params.stride_w) as i32 - input_zero) * scale;
                    }
                });
            }
        }
    }
}

/// Compute depthwise convolution for the block of channels from `input`
/// specified by `chan_range` into `output`.
///
/// Convolutions where the group count is equal to the input and output
/// channel count are referred to as _depthwise_. These use a different
/// implementation than general convolutions for efficiency.
///
/// `X`, `W` and `Y` are the input, weight and output data types respectively.
pub struct DepthwiseConvExecutor<X: Copy, W, Y: Copy + Default> {
    kernel: Box<dyn DepthwiseConvKernel<X, W, Y> + Sync>,
}

impl<X: Copy + Default + Sync, W: Copy + Default + Sync, Y: Copy + Default>
    DepthwiseConvExecutor<X, W, Y>
{
    /// Compute depthwise convolution for the block of channels from `input`
    /// specified by `chan_range` into `output`.
    ///
    /// `col_range_for_kernel_x` is a precomputed map of kernel X coordinate to
    /// `(in_range, out_range)` of column ranges that are valid for the input and
    /// output.
    ///
    /// When this function returns, all elements of `output` will have been
    /// initialized.
    fn depthwise_conv_2d_block(
        &self,
        mut output: NdTensorViewMut<MaybeUninit<Y>, 3>, // C, H, W
        chan_range: Range<usize>,
        input: NdTensorView<X, 3>,  // C, H, W
        kernel: NdTensorView<W, 4>, // C, _, Kh, Kw
        bias: Option<NdTensorView<Y, 1>>,
        padding: [usize; 4],
        strides: [usize; 2],
        dilations: [usize; 2],
        col_range_for_kernel_x: &[(Range<usize>, Range<usize>)],
        input_zero: Option<X>,
        kernel_zero: Option<&[W]>,
    ) {
        debug_assert_eq!(input.stride(2), 1, "last dim of input is not contiguous");
        debug_assert_eq!(output.stride(2), 1, "last dim of output is not contiguous");

        let [_, out_h, out_w] = output.shape();
        let [_, _, k_h, k_w] = kernel.shape();
        let [_, in_h, in_w] = input.shape();
        let [stride_h, stride_w] = strides;
        let [pad_top, pad_left, _pad_bottom, _pad_right] = padding;
        let [dilation_y, dilation_x] = dilations;

        let channel_params = ChannelParams {
            in_h,
            in_w,
            out_h,
            out_w,
            k_h,
            k_w,
            pad_top,
            pad_left,
            stride_h,
            stride_w,
            dilation_y,
            dilation_x,
        };

        let conv_params = ConvParams {
            stride_h,
            stride_w,
            kernel_h: k_h,
            pad_top,
            dilation_y,
            in_h,
            in_row_stride: input.stride(1),
            in_row_len: input.size(2),
            col_range_for_kernel_x,
        };

        // The whole block at once, when its planes are contiguous (the input
        // always is, see `depthwise_conv_2d`, and so is the output), so that
        // the kernel does its setup once for all its channels.
        let block_kernel = kernel.slice(chan_range.clone());
        let block_input = input.slice(chan_range.clone());
        let block_bias = bias.map(|bias| bias.slice(chan_range.clone()));
        let block_bias: Option<Cow<[Y]>> = block_bias.as_ref().map(|bias| bias.to_slice());
        if let Some(kernel_data) = block_kernel.data()
            && let Some(in_data) = block_input.data()
            && let Some(out_data) = output.data_mut()
            && let Some(rows) = self.kernel.compute_channels(
                &channel_params,
                out_data,
                block_bias.as_deref(),
                in_data,
                kernel_data,
            )
        {
            kernel_stats::add(chan_range.len(), 0, rows);
            return;
        }

        let input_zero = input_zero.unwrap_or_default();
        // Channels of this block computed by each kind of kernel.
        let (mut whole_channel, mut row_by_row) = (0, 0);
        let mut rows = RowCounts::default();
        for c in chan_range.clone() {
            let kernel_view = kernel.slice([c, 0]);

            let mut out_chan = output.slice_mut([c - chan_range.start]);
            let out_row_stride = out_chan.stride(0);
            let out_row_len = out_chan.size(1);
            let out_chan_data = out_chan.data_mut().unwrap();

            let in_chan = input.slice([c]);
            let in_chan_data = in_chan.data().unwrap();

            let init_value = if let Some(bias) = bias {
                bias[c]
            } else {
                Y::default()
            };

            let kernel_zero = kernel_zero.map(|kz| kz[c]).unwrap_or_default();

            // A whole-channel kernel needs contiguous planes.
            let contiguous = out_row_stride == out_row_len && in_chan.stride(0) == in_w;
            if contiguous
                && let Some(kernel_data) = kernel_view.data()
                && let Some(chan_rows) = self.kernel.compute_channels(
                    &channel_params,
                    &mut out_chan_data[..out_h * out_w],
                    Some(std::slice::from_ref(&init_value)),
                    &in_chan_data[..in_h * in_w],
                    kernel_data,
                )
            {
                whole_channel += 1;
                rows += chan_rows;
                continue;
            }
            row_by_row += 1;

            for out_y in 0..out_h {
                // Here and in the `compute_row` implementation we use manual
                // slicing of the input data rather than tensor `slice` methods
                // for efficiency.
                let out_row = &mut out_chan_data[out_y * out_row_stride..][..out_row_len];
                self.kernel.compute_row(
                    &conv_params,
                    out_row,
                    out_y,
                    init_value,
                    in_chan_data,
                    kernel_view,
                    input_zero,
                    kernel_zero,
                );
            }
        }
        kernel_stats::add(whole_channel, row_by_row, rows);
    }

    /// Compute a depthwise convolution of a 2D image.
    pub fn depthwise_conv_2d(
        &self,
        pool: &BufferPool,
        input: &NdTensorView<X, 4>,
        kernel: &NdTensorView<W, 4>,
        bias: Option<NdTensorView<Y, 1>>,
        padding: [usize; 4],
        strides: [usize; 2],
        dilations: [usize; 2],
        out_hw: [usize; 2],
        input_zero: Option<X>,
        kernel_zero: Option<&[W]>,
    ) -> NdTensor<Y, 4> {
        let [batch, _in_c, _in_h, in_w]: [usize; 4] = input.shape();
        let [out_c, _, _k_h, k_w]: [usize; 4] = kernel.shape();
        let [_pad_top, pad_left, _pad_bottom, _pad_right] = padding;
        let [_stride_h, stride_w] = strides;
        let [_dilation_y, dilation_x] = dilations;
        let [out_h, out_w] = out_hw;

        let mut output = NdTensor::uninit_in(pool, [batch, out_c, out_h, out_w]);

        // `conv_2d_depthwise_block` assumes contiguous last dimension.
        let input = input.to_contiguous_in(pool).auto_return(pool);

        // Map of kernel X position to `(in_range, out_range)` of column ranges that
        // are used in the inner loop.
        let col_range_for_kernel_x: SmallVec<[_; 7]> = (0..k_w)
            .map(|k_x| {
                let (min_out_x, max_out_x) =
                    min_max_out_x_coords(k_x, in_w, pad_left, stride_w, dilation_x, out_w);

                // If the output range is empty, the input range must be too. Exit
                // early in case `max_out_x` is zero.
                //
                // This can happen if all the input coordinates which this kernel
                // column would be multiplied with are part of the padding region.
                if min_out_x == max_out_x {
                    return (0..0, 0..0);
                }

                let min_in_x = min_out_x * stride_w + k_x * dilation_x - pad_left;
                let max_in_x = (max_out_x - 1) * stride_w + k_x * dilation_x - pad_left + 1;

                (min_in_x..max_in_x, min_out_x..max_out_x)
            })
            .collect();

        // Whole channels per parallel task: as many as make about
        // `DW_TASK_LEN` outputs, so that the small planes of a network's deep
        // layers (a few dozen outputs each) do not pay a task's and a block's
        // setup per channel.
        let chans_per_task = DW_TASK_LEN.div_ceil((out_h * out_w).max(1));

        let n_init = AtomicUsize::new(0);
        for n in 0..batch {
            let mut out_chans = output.slice_mut(n);
            let input = input.slice(n);

            out_chans
                .axis_chunks_mut(0, chans_per_task)
                .into_par_iter()
                .enumerate()
                .for_each(|(task, mut out_chans)| {
                    let first_chan = task * chans_per_task;
                    let chan_range = first_chan..first_chan + out_chans.size(0);
                    self.depthwise_conv_2d_block(
                        out_chans.view_mut(),
                        chan_range,
                        input,
                        kernel.view(),
                        bias,
                        padding,
                        strides,
                        dilations,
                        &col_range_for_kernel_x,
                        input_zero,
                        kernel_zero,
                    );

                    n_init.fetch_add(out_chans.len(), Ordering::SeqCst);
                });
        }

        // Safety: We initialized all output rows
        assert!(n_init.load(Ordering::SeqCst) == output.len());
        unsafe { output.assume_init() }
    }
}

impl Default for DepthwiseConvExecutor<f32, f32, f32> {
    fn default() -> Self {
        DepthwiseConvExecutor {
            kernel: Box::new(SimdDepthwiseConvKernel {}),
        }
    }
}

impl Default for DepthwiseConvExecutor<i8, u8, i32> {
    fn default() -> Self {
        DepthwiseConvExecutor {
            kernel: Box::new(GenericDepthwiseConvKernel {}),
        }
    }
}

// nb. Tests for depthwise conv are implemented in the main `conv.rs` module.
