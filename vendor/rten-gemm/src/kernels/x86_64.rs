use std::mem::MaybeUninit;
use std::ops::Range;

use rten_base::byte_cast::{cast_slice, cast_uninit_mut_slice};
use rten_simd::{Isa, isa::Avx2Isa};
use rten_tensor::{Matrix, MatrixLayout};

use rten_simd::isa::Avx512Isa;

use super::simd_generic::{
    GemmDispatch, RhsInPlace, RhsPacking, RhsPanel, RhsWidePanel, simd_gemm_epilogue, simd_gemv,
    simd_int8_gemm, simd_int8_gemv,
};
use super::{
    BlockEpilogue, EPI_BETA_ONE, EPI_BIAS, EPI_PRELU, EPI_RELU, EPI_RESIDUAL, Int8DotProduct,
    Kernel, Lhs, MatVecOutput, PackedLayout, QuantParams, Rhs, TempTile,
};
use crate::packing;
use crate::packing::{
    BlockQuantizedMatrixPacker, Packer, pack_a_block, pack_b_block, packed_a_layout,
    packed_b_layout,
};
use crate::{BlockQuantizedMatrix, Im2Col};

/// Optimized kernel for x64 CPUs that support AVX + FMA instructions.
pub struct FmaKernel {
    isa: Avx2Isa,
}

impl FmaKernel {
    const MR: usize = 6;

    // Chosen to fit 2 AVX registers and take advantage of the two FMA
    // execution ports.
    const NR: usize = 16;
}

/// Number of 32-bit lanes in an AVX2 SIMD vector.
const AVX2_X32_LANES: usize = 8;

/// Number of 32-bit lanes in an AVX-512 SIMD vector.
const AVX512_X32_LANES: usize = 16;

/// Wrapper for `pack_a_block` which enables AVX instructions.
#[target_feature(enable = "avx2")]
#[target_feature(enable = "fma")]
unsafe fn pack_a_block_avx<const MR: usize>(
    out: &mut [MaybeUninit<f32>],
    a: Matrix,
    rows: Range<usize>,
    cols: Range<usize>,
) {
    pack_a_block::<f32, MR>(out, a, rows, cols);
}

/// Wrapper for `pack_b_block` which enables AVX instructions.
#[target_feature(enable = "avx2")]
#[target_feature(enable = "fma")]
unsafe fn pack_b_block_avx<const NR: usize>(
    out: &mut [MaybeUninit<f32>],
    b: Matrix,
    rows: Range<usize>,
    cols: Range<usize>,
) {
    pack_b_block::<f32, NR>(out, b, rows, cols);
}

/// The [`BlockEpilogue`]s `FmaKernel` applies in registers: those a
/// convolution makes, the bias, residual and PRelu or Relu after a single depth block;
/// with several, the bias after the first and the others after the last.
const FMA_EPILOGUES: [u8; 16] = [
    EPI_BIAS,
    EPI_BIAS | EPI_RESIDUAL,
    EPI_BIAS | EPI_PRELU,
    EPI_BIAS | EPI_RESIDUAL | EPI_PRELU,
    EPI_BIAS | EPI_RELU,
    EPI_BIAS | EPI_RESIDUAL | EPI_RELU,
    EPI_RESIDUAL,
    EPI_PRELU,
    EPI_RESIDUAL | EPI_PRELU,
    EPI_RELU,
    EPI_RESIDUAL | EPI_RELU,
    EPI_BETA_ONE | EPI_RESIDUAL,
    EPI_BETA_ONE | EPI_PRELU,
    EPI_BETA_ONE | EPI_RESIDUAL | EPI_PRELU,
    EPI_BETA_ONE | EPI_RELU,
    EPI_BETA_ONE | EPI_RESIDUAL | EPI_RELU,
];

/// The largest depth for which `FmaKernel` reads B in place ([`Rhs::Unpacked`]):
/// a depth block's (`depth_block_size`), so that one column tile's panel,
/// packed by the kernel, fits in a buffer on its stack (16 KB).
const FMA_PACKED_RHS_DEPTH: usize = 256;

/// `FmaKernel::kernel_with_epilogue` for a block of fewer rows than one row
/// tile, with B read in place (`Rhs::Unpacked`, from `b`): each column tile
/// has one tile, which reads B's rows once, so nothing is packed
/// ([`RhsInPlace`]). Out of line, so that its code leaves the register
/// allocation of the kernel's other paths as it was.
///
/// # Safety
///
/// As for `kernel_with_epilogue`, with `used_rows < FmaKernel::MR`, the
/// epilogue's parts those of the const parameters, and AVX2 and FMA
/// supported.
#[target_feature(enable = "avx2")]
#[target_feature(enable = "fma")]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn one_row_tile_in_place<
    const BETA_ONE: bool,
    const BIAS: bool,
    const RESIDUAL: bool,
    const PRELU: bool,
    const RELU: bool,
>(
    isa: Avx2Isa,
    tile_ptr: *mut f32,
    tile_row_stride: usize,
    a: Lhs<f32>,
    b: *const f32,
    b_row_stride: usize,
    col_tiles: usize,
    used_rows: usize,
    row: usize,
    col: usize,
    epi: &BlockEpilogue<f32>,
) {
    const MR: usize = FmaKernel::MR;
    const NR: usize = FmaKernel::NR;
    const NR_REGS: usize = NR / AVX2_X32_LANES;
    assert!(used_rows < MR);
    for c in 0..col_tiles {
        let tile_ptr = unsafe { tile_ptr.add(c * NR) };
        let b = RhsInPlace {
            src: b.wrapping_add(c * NR),
            row_stride: b_row_stride,
        };
        macro_rules! rows {
            ($rows:literal) => {
                unsafe {
                    simd_gemm_epilogue::<_, MR, NR_REGS, $rows, BETA_ONE, BIAS, RESIDUAL, PRELU, RELU>(
                        isa,
                        tile_ptr,
                        tile_row_stride,
                        a,
                        b,
                        row,
                        col + c * NR,
                        epi,
                    )
                }
            };
        }
        match used_rows {
            5 => rows!(5),
            4 => rows!(4),
            3 => rows!(3),
            2 => rows!(2),
            1 => rows!(1),
            _ => unreachable!(),
        }
    }
    #[cfg(feature = "kernel-stats")]
    crate::epilogue_stats::UNPACKED_COL_TILES.with(|n| n.set(n.get() + col_tiles));
}

/// The LHS of row tile `t` of a block whose LHS is `a` (packed row tiles
/// `a_panel_stride` bytes apart, or rows read in place), for
/// `kernel_with_epilogue` and `wide_remainder_groups`.
#[inline(always)]
fn row_tile_lhs(a: Lhs<'_, f32>, t: usize, a_panel_stride: usize) -> Lhs<'_, f32> {
    const MR: usize = FmaKernel::MR;
    match a {
        Lhs::Packed(data) => Lhs::Packed(&data[t * a_panel_stride..]),
        Lhs::Unpacked { .. } => unpacked_lhs_from_row(a, t * MR),
    }
}

/// An unpacked A (`Lhs::Unpacked`) from its row `r` on: for
/// [`row_tile_lhs`]'s row tiles and `row_pair_strips`'s pairs of rows.
fn unpacked_lhs_from_row(a: Lhs<'_, f32>, r: usize) -> Lhs<'_, f32> {
    let Lhs::Unpacked {
        data,
        len,
        row_stride,
    } = a
    else {
        panic!("A must be read in place (Lhs::Unpacked)");
    };
    let offset = r * row_stride;
    Lhs::Unpacked {
        data: data.wrapping_add(offset),
        len: len.saturating_sub(offset),
        row_stride,
    }
}

/// The column tiles that `wide_remainder_groups` takes together: the
/// remainder rows' tile is `WIDE_COL_TILES * FmaKernel::NR` columns wide.
const WIDE_COL_TILES: usize = 3;

/// `FmaKernel::kernel_with_epilogue` with B read in place (`Rhs::Unpacked`,
/// from `b`) for a block of at least one full row tile whose rows leave a
/// remainder of 1 or 2 (`used_rows % MR`): the first `groups *
/// WIDE_COL_TILES` column tiles, `WIDE_COL_TILES` at a time. Each column
/// tile's full row tiles are computed as the kernel computes them, the
/// first packing the tile's B into one column tile of a panel
/// `WIDE_COL_TILES * NR` columns wide at `panel` (its rows that many
/// elements apart; B's strided rows are read once, as before), the others
/// reading it there; then the remainder rows of the group's columns are
/// one tile, `1-2 x 48` (6 or 12 accumulators), which reads that panel: per
/// depth step one broadcast of A per row for 48 columns instead of one per
/// 16, and one tile's setup and epilogue instead of three. Each output is
/// the same FMAs in the same order as the kernel's 16-column tiles, so the
/// output is the same. Out of line, as `one_row_tile_in_place`.
///
/// # Safety
///
/// As for `kernel_with_epilogue`, with `used_rows >= FmaKernel::MR`,
/// `used_rows % MR` 1 or 2, `groups * WIDE_COL_TILES` full-width column
/// tiles, `panel` at least `epi.depth * WIDE_COL_TILES * NR` long, the
/// epilogue's parts those of the const parameters, and AVX2 and FMA
/// supported.
#[target_feature(enable = "avx2")]
#[target_feature(enable = "fma")]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn wide_remainder_groups<
    const BETA_ONE: bool,
    const BIAS: bool,
    const RESIDUAL: bool,
    const PRELU: bool,
    const RELU: bool,
>(
    isa: Avx2Isa,
    tile_ptr: *mut f32,
    tile_row_stride: usize,
    a: Lhs<f32>,
    a_panel_stride: usize,
    b: *const f32,
    b_row_stride: usize,
    groups: usize,
    used_rows: usize,
    row: usize,
    col: usize,
    epi: &BlockEpilogue<f32>,
    panel: &mut [MaybeUninit<f32>],
) {
    const MR: usize = FmaKernel::MR;
    const NR: usize = FmaKernel::NR;
    const NR_REGS: usize = NR / AVX2_X32_LANES;
    const WIDE: usize = WIDE_COL_TILES * NR;
    const WIDE_REGS: usize = WIDE / AVX2_X32_LANES;
    let full_tiles = used_rows / MR;
    assert!(full_tiles >= 1 && matches!(used_rows % MR, 1 | 2));
    let depth = epi.depth;
    assert!(panel.len() >= depth * WIDE);
    // (A reference, not a pointer, so that the compiler knows that the
    // panel's stores do not alias A.)
    let panel = panel.as_mut_ptr() as *mut f32;

    let tile_a = |t: usize| row_tile_lhs(a, t, a_panel_stride);
    // A full row tile `t` of column `c` (of the block's), with B `b`.
    macro_rules! full_tile {
        ($t:expr, $c:expr, $b:expr) => {
            unsafe {
                simd_gemm_epilogue::<_, MR, NR_REGS, 6, BETA_ONE, BIAS, RESIDUAL, PRELU, RELU>(
                    isa,
                    tile_ptr.add($t * MR * tile_row_stride + $c * NR),
                    tile_row_stride,
                    tile_a($t),
                    $b,
                    row + $t * MR,
                    col + $c * NR,
                    epi,
                )
            }
        };
    }
    // The remainder rows of group `g`'s columns, from the wide panel.
    macro_rules! wide_tile {
        ($rows:literal, $g:expr) => {
            unsafe {
                let panel = std::slice::from_raw_parts(panel as *const f32, depth * WIDE);
                simd_gemm_epilogue::<_, MR, WIDE_REGS, $rows, BETA_ONE, BIAS, RESIDUAL, PRELU, RELU>(
                    isa,
                    tile_ptr.add(full_tiles * MR * tile_row_stride + $g * WIDE),
                    tile_row_stride,
                    tile_a(full_tiles),
                    RhsWidePanel(panel),
                    row + full_tiles * MR,
                    col + $g * WIDE,
                    epi,
                )
            }
        };
    }
    for g in 0..groups {
        for i in 0..WIDE_COL_TILES {
            let c = g * WIDE_COL_TILES + i;
            let dst = panel.wrapping_add(i * NR);
            let first = RhsPacking {
                src: b.wrapping_add(c * NR),
                row_stride: b_row_stride,
                dst,
                dst_row_stride: WIDE,
            };
            full_tile!(0, c, first);
            for t in 1..full_tiles {
                let packed = RhsInPlace {
                    src: dst,
                    row_stride: WIDE,
                };
                full_tile!(t, c, packed);
            }
        }
        match used_rows % MR {
            2 => wide_tile!(2, g),
            1 => wide_tile!(1, g),
            _ => unreachable!(),
        }
    }
    #[cfg(feature = "kernel-stats")]
    crate::epilogue_stats::WIDE_REMAINDER_TILES.with(|n| n.set(n.get() + groups));
}

/// The most column groups (`WIDE_COL_TILES` column tiles each) that
/// `row_pair_strips` packs at a time.
const STRIP_GROUPS: usize = 8;

/// Whether `row_pair_strips` takes a block whose output rows are
/// `row_stride` elements apart and has a residual: where that stride is a
/// multiple of 4 KB, a tile's rows (and the residual's) fall in one set of
/// the 8-way L1, and a 6-row tile's 6 residual loads and 6 output stores, 12
/// lines in one set, evict each other before the stores complete (the
/// mesh's 128x128 and 64x64 expansions with a residual: 64 and 16 KB
/// planes).
fn rows_alias(row_stride: usize) -> bool {
    (row_stride * size_of::<f32>()).is_multiple_of(4096)
}

/// `FmaKernel::kernel_with_epilogue` with B read in place (`Rhs::Unpacked`,
/// from `b`) and A in place (`Lhs::Unpacked`) for a block whose output rows
/// alias in L1 ([`rows_alias`]): the first `groups * WIDE_COL_TILES` column
/// tiles, as tiles of 2 rows x 48 columns (the `2 x 48` tile of
/// `wide_remainder_groups`, 12 accumulators) that go along the rows. For
/// `STRIP_GROUPS` groups of 48 columns at a time, B's rows are copied into
/// a panel 48 wide per group, then each pair of rows (and a last single
/// row) is computed across those columns, so that a tile touches two rows
/// of the output and of the residual, 4 lines of a set, instead of 12.
/// Each output is the same FMAs in the same order as the kernel's 6 x 16
/// tiles, so the output is the same. Out of line, as
/// `one_row_tile_in_place`.
///
/// # Safety
///
/// As for `kernel_with_epilogue`, with `a` unpacked, `groups *
/// WIDE_COL_TILES` full-width column tiles, `panel` at least `epi.depth *
/// WIDE_COL_TILES * NR` long, the epilogue's parts those of the const
/// parameters, and AVX2 and FMA supported.
#[target_feature(enable = "avx2")]
#[target_feature(enable = "fma")]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn row_pair_strips<
    const BETA_ONE: bool,
    const BIAS: bool,
    const RESIDUAL: bool,
    const PRELU: bool,
    const RELU: bool,
>(
    isa: Avx2Isa,
    tile_ptr: *mut f32,
    tile_row_stride: usize,
    a: Lhs<f32>,
    b: *const f32,
    b_row_stride: usize,
    groups: usize,
    used_rows: usize,
    row: usize,
    col: usize,
    epi: &BlockEpilogue<f32>,
    panel: &mut [MaybeUninit<f32>],
) {
    const MR: usize = FmaKernel::MR;
    const WIDE: usize = WIDE_COL_TILES * FmaKernel::NR;
    const WIDE_REGS: usize = WIDE / AVX2_X32_LANES;
    assert!(
        matches!(a, Lhs::Unpacked { .. }),
        "row_pair_strips reads A in place"
    );
    let depth = epi.depth;
    let chunk = (panel.len() / (depth * WIDE)).min(STRIP_GROUPS);
    assert!(chunk >= 1 && used_rows >= 1);
    // (A pointer, not a reference: the panel is written, then read as
    // slices.)
    let panel = panel.as_mut_ptr() as *mut f32;

    // A from row `r` of the block.
    let rows_a = |r: usize| unpacked_lhs_from_row(a, r);
    // Rows `r..r + $rows` of group `g` (of the block's), from the panel's
    // group `g - g0`.
    macro_rules! strip_tile {
        ($rows:literal, $r:expr, $g:expr, $g0:expr) => {
            unsafe {
                let group_panel = std::slice::from_raw_parts(
                    panel.add(($g - $g0) * depth * WIDE) as *const f32,
                    depth * WIDE,
                );
                simd_gemm_epilogue::<_, MR, WIDE_REGS, $rows, BETA_ONE, BIAS, RESIDUAL, PRELU, RELU>(
                    isa,
                    tile_ptr.add($r * tile_row_stride + $g * WIDE),
                    tile_row_stride,
                    rows_a($r),
                    RhsWidePanel(group_panel),
                    row + $r,
                    col + $g * WIDE,
                    epi,
                )
            }
        };
    }
    let mut g0 = 0;
    while g0 < groups {
        let g1 = (g0 + chunk).min(groups);
        for g in g0..g1 {
            for k in 0..depth {
                // Safety: B holds `depth` rows of the groups' columns, and
                // the panel `chunk * depth * WIDE` elements.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        b.add(k * b_row_stride + g * WIDE),
                        panel.add((g - g0) * depth * WIDE + k * WIDE),
                        WIDE,
                    );
                }
            }
        }
        for pair in 0..used_rows / 2 {
            for g in g0..g1 {
                strip_tile!(2, 2 * pair, g, g0);
            }
        }
        if used_rows % 2 == 1 {
            for g in g0..g1 {
                strip_tile!(1, used_rows - 1, g, g0);
            }
        }
        g0 = g1;
    }
    #[cfg(feature = "kernel-stats")]
    crate::epilogue_stats::ROW_PAIR_GROUPS.with(|n| n.set(n.get() + groups));
}

// Safety - The `new` fn tests for AVX-2 / FMA support.
unsafe impl Kernel<f32, f32, f32> for FmaKernel {
    fn new() -> Option<Self> {
        Avx2Isa::new().map(|isa| FmaKernel { isa })
    }

    fn name(&self) -> &'static str {
        "x86_64-f32-fma"
    }

    fn mr(&self) -> usize {
        Self::MR
    }

    fn nr(&self) -> usize {
        Self::NR
    }

    fn packed_a_layout(
        &self,
        a: Matrix,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<f32>>,
    ) -> PackedLayout {
        let mut info = packed_a_layout::<f32, { Self::MR }>(rows, cols);
        info.must_pack = a.col_stride() != 1;
        info
    }

    fn pack_a_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        a: Matrix,
        rows: Range<usize>,
        cols: Range<usize>,
        _quant: Option<QuantParams<f32>>,
    ) {
        let out = cast_uninit_mut_slice(out).expect("incorrect alignment for packing buffer");

        // Safety: Kernel can only be constructed if AVX is supported.
        unsafe {
            pack_a_block_avx::<{ Self::MR }>(out, a, rows, cols);
        }
    }

    fn packed_b_layout(
        &self,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<f32>>,
    ) -> PackedLayout {
        packed_b_layout::<f32, { Self::NR }>(rows, cols)
    }

    fn pack_b_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        b: Matrix,
        rows: Range<usize>,
        cols: Range<usize>,
        _quant: Option<QuantParams<f32>>,
    ) {
        let out = cast_uninit_mut_slice(out).unwrap();

        // Safety: Kernel can only be constructed if AVX is supported.
        unsafe {
            pack_b_block_avx::<{ Self::NR }>(out, b, rows, cols);
        }
    }

    fn pack_im2col(
        &self,
        out: &mut [MaybeUninit<u8>],
        image: &Im2Col<f32>,
        rows: Range<usize>,
        cols: Range<usize>,
        _zero_point: Option<f32>,
    ) {
        const NR_REGS: usize = FmaKernel::NR / AVX2_X32_LANES;

        #[target_feature(enable = "avx2")]
        #[target_feature(enable = "fma")]
        unsafe fn pack_im2col_avx<const NR_REGS: usize, const NR: usize>(
            isa: Avx2Isa,
            out: &mut [MaybeUninit<f32>],
            image: &Im2Col<f32>,
            rows: Range<usize>,
            cols: Range<usize>,
        ) {
            image.pack_block::<_, NR_REGS>(isa, out, NR, rows, cols);
        }

        // Safety: Kernel can only be constructed if AVX is supported
        let out = cast_uninit_mut_slice(out).unwrap();
        unsafe {
            pack_im2col_avx::<NR_REGS, { Self::NR }>(self.isa, out, image, rows, cols);
        }
    }

    fn pack_block_quant<'a>(
        &self,
        mat: BlockQuantizedMatrix<'a, f32>,
    ) -> Option<Box<dyn Packer<'a> + 'a + Send + Sync>> {
        Some(Box::new(
            BlockQuantizedMatrixPacker::<f32, { Self::NR }>::new(mat),
        ))
    }

    #[target_feature(enable = "avx2")]
    #[target_feature(enable = "fma")]
    unsafe fn kernel(
        &self,
        tile_ptr: *mut f32,
        tile_row_stride: usize,
        a: Lhs<f32>,
        b: &[u8],
        used_rows: usize,
        used_cols: usize,
        depth: usize,
        alpha: f32,
        beta: f32,
        _a_quant: Option<QuantParams<f32>>,
        _b_quant: Option<QuantParams<f32>>,
    ) {
        const MR: usize = FmaKernel::MR;
        const NR: usize = FmaKernel::NR;
        const NR_REGS: usize = NR / AVX2_X32_LANES;

        let b = cast_slice(b).unwrap();

        // TODO - Replace temporary tile with masked loads and stores.
        let mut tmp_tile = TempTile::<f32, MR, NR>::new();
        let (dest_ptr, dest_row_stride, dest_beta) = if used_cols == NR {
            (tile_ptr, tile_row_stride, beta)
        } else {
            (tmp_tile.as_mut_ptr() as *mut f32, NR, 0.)
        };

        let gemm = unsafe {
            GemmDispatch::<_, MR, NR_REGS>::new(
                self.isa,
                dest_ptr,
                dest_row_stride,
                a,
                b,
                depth,
                alpha,
                dest_beta,
            )
        };

        unsafe {
            match used_rows {
                6 => gemm.dispatch::<6>(),
                5 => gemm.dispatch::<5>(),
                4 => gemm.dispatch::<4>(),
                3 => gemm.dispatch::<3>(),
                2 => gemm.dispatch::<2>(),
                1 => gemm.dispatch::<1>(),
                _ => panic!("unsupported `used_rows` {}", used_rows),
            }
        }

        if used_cols != NR {
            unsafe {
                tmp_tile.accumulate_into(
                    tile_ptr as *mut MaybeUninit<f32>,
                    used_rows,
                    used_cols,
                    tile_row_stride,
                    beta,
                );
            }
        }
    }

    fn supports_epilogue(&self, parts: u8) -> bool {
        FMA_EPILOGUES.contains(&parts)
    }

    fn packs_rhs(&self, depth: usize) -> bool {
        depth <= FMA_PACKED_RHS_DEPTH
    }

    #[target_feature(enable = "avx2")]
    #[target_feature(enable = "fma")]
    unsafe fn kernel_with_epilogue(
        &self,
        tile_ptr: *mut f32,
        tile_row_stride: usize,
        a: Lhs<f32>,
        a_panel_stride: usize,
        b: Rhs<f32>,
        col_tiles: usize,
        used_rows: usize,
        row: usize,
        col: usize,
        epi: &BlockEpilogue<f32>,
    ) {
        const MR: usize = FmaKernel::MR;
        const NR: usize = FmaKernel::NR;
        const NR_REGS: usize = NR / AVX2_X32_LANES;

        // The panel of one column tile, packed from B in place by its first
        // row tile (`Rhs::Unpacked`).
        let mut panel = [MaybeUninit::<f32>::uninit(); FMA_PACKED_RHS_DEPTH * NR];

        let tile_a = |t: usize| row_tile_lhs(a, t, a_panel_stride);

        macro_rules! run {
            ($beta_one:literal, $bias:literal, $res:literal, $prelu:literal, $relu:literal) => {{
                macro_rules! rows {
                    ($rows:literal, $t:expr, $c:expr, $tile_ptr:expr, $b:expr) => {
                        unsafe {
                            simd_gemm_epilogue::<
                                _,
                                MR,
                                NR_REGS,
                                $rows,
                                $beta_one,
                                $bias,
                                $res,
                                $prelu,
                                $relu,
                            >(
                                self.isa,
                                $tile_ptr.add($t * MR * tile_row_stride),
                                tile_row_stride,
                                tile_a($t),
                                $b,
                                row + $t * MR,
                                col + $c * NR,
                                epi,
                            )
                        }
                    };
                }
                let full_tiles = used_rows / MR;
                // The row tiles of column tile `c` from `t0`, with B `b`.
                macro_rules! column {
                    ($c:expr, $tile_ptr:expr, $t0:expr, $b:expr) => {
                        for t in $t0..full_tiles {
                            rows!(6, t, $c, $tile_ptr, $b);
                        }
                        match used_rows % MR {
                            0 => {}
                            5 => rows!(5, full_tiles, $c, $tile_ptr, $b),
                            4 => rows!(4, full_tiles, $c, $tile_ptr, $b),
                            3 => rows!(3, full_tiles, $c, $tile_ptr, $b),
                            2 => rows!(2, full_tiles, $c, $tile_ptr, $b),
                            1 => rows!(1, full_tiles, $c, $tile_ptr, $b),
                            _ => unreachable!(),
                        }
                    };
                }
                match b {
                    Rhs::Packed { data, panel_stride } => {
                        let b: &[f32] = cast_slice(data).unwrap();
                        let b_panel_len = panel_stride / size_of::<f32>();
                        for c in 0..col_tiles {
                            let tile_ptr = unsafe { tile_ptr.add(c * NR) };
                            let b = RhsPanel(&b[c * b_panel_len..(c + 1) * b_panel_len]);
                            column!(c, tile_ptr, 0, b);
                        }
                    }
                    Rhs::Unpacked { data, row_stride } if full_tiles == 0 => unsafe {
                        one_row_tile_in_place::<$beta_one, $bias, $res, $prelu, $relu>(
                            self.isa,
                            tile_ptr,
                            tile_row_stride,
                            a,
                            data,
                            row_stride,
                            col_tiles,
                            used_rows,
                            row,
                            col,
                            epi,
                        )
                    },
                    Rhs::Unpacked { data, row_stride } => {
                        let depth = epi.depth;
                        assert!(depth <= FMA_PACKED_RHS_DEPTH);
                        // Output rows that alias in L1, with a residual: the
                        // column groups along pairs of rows.
                        let strip_groups = if $res
                            && rows_alias(tile_row_stride)
                            && matches!(a, Lhs::Unpacked { .. })
                            && depth * WIDE_COL_TILES * NR <= panel.len()
                        {
                            col_tiles / WIDE_COL_TILES
                        } else {
                            0
                        };
                        if strip_groups > 0 {
                            unsafe {
                                row_pair_strips::<$beta_one, $bias, $res, $prelu, $relu>(
                                    self.isa,
                                    tile_ptr,
                                    tile_row_stride,
                                    a,
                                    data,
                                    row_stride,
                                    strip_groups,
                                    used_rows,
                                    row,
                                    col,
                                    epi,
                                    &mut panel,
                                )
                            }
                        }
                        let first_col = strip_groups * WIDE_COL_TILES;
                        // A remainder of 1-2 rows: its tiles 48 columns wide
                        // where the panel holds them.
                        let wide_groups = if strip_groups == 0
                            && matches!(used_rows % MR, 1 | 2)
                            && depth * WIDE_COL_TILES * NR <= panel.len()
                        {
                            col_tiles / WIDE_COL_TILES
                        } else {
                            0
                        };
                        if wide_groups > 0 {
                            unsafe {
                                wide_remainder_groups::<$beta_one, $bias, $res, $prelu, $relu>(
                                    self.isa,
                                    tile_ptr,
                                    tile_row_stride,
                                    a,
                                    a_panel_stride,
                                    data,
                                    row_stride,
                                    wide_groups,
                                    used_rows,
                                    row,
                                    col,
                                    epi,
                                    &mut panel,
                                )
                            }
                        }
                        let dst = panel.as_mut_ptr() as *mut f32;
                        for c in first_col.max(wide_groups * WIDE_COL_TILES)..col_tiles {
                            let tile_ptr = unsafe { tile_ptr.add(c * NR) };
                            let first = RhsPacking {
                                src: data.wrapping_add(c * NR),
                                row_stride,
                                dst,
                                dst_row_stride: NR,
                            };
                            rows!(6, 0, c, tile_ptr, first);
                            // Safety: the first tile has written the panel's
                            // `depth` rows.
                            let packed = unsafe {
                                std::slice::from_raw_parts(dst as *const f32, depth * NR)
                            };
                            column!(c, tile_ptr, 1, RhsPanel(packed));
                        }
                    }
                }
            }};
        }

        // As `FMA_EPILOGUES`.
        const B: u8 = EPI_BIAS;
        const BR: u8 = EPI_BIAS | EPI_RESIDUAL;
        const BP: u8 = EPI_BIAS | EPI_PRELU;
        const BRP: u8 = EPI_BIAS | EPI_RESIDUAL | EPI_PRELU;
        const BL: u8 = EPI_BIAS | EPI_RELU;
        const BRL: u8 = EPI_BIAS | EPI_RESIDUAL | EPI_RELU;
        const R: u8 = EPI_RESIDUAL;
        const P: u8 = EPI_PRELU;
        const RP: u8 = EPI_RESIDUAL | EPI_PRELU;
        const L: u8 = EPI_RELU;
        const RL: u8 = EPI_RESIDUAL | EPI_RELU;
        const OR: u8 = EPI_BETA_ONE | EPI_RESIDUAL;
        const OP: u8 = EPI_BETA_ONE | EPI_PRELU;
        const ORP: u8 = EPI_BETA_ONE | EPI_RESIDUAL | EPI_PRELU;
        const OL: u8 = EPI_BETA_ONE | EPI_RELU;
        const ORL: u8 = EPI_BETA_ONE | EPI_RESIDUAL | EPI_RELU;
        match epi.parts {
            B => run!(false, true, false, false, false),
            BR => run!(false, true, true, false, false),
            BP => run!(false, true, false, true, false),
            BRP => run!(false, true, true, true, false),
            BL => run!(false, true, false, false, true),
            BRL => run!(false, true, true, false, true),
            R => run!(false, false, true, false, false),
            P => run!(false, false, false, true, false),
            RP => run!(false, false, true, true, false),
            L => run!(false, false, false, false, true),
            RL => run!(false, false, true, false, true),
            OR => run!(true, false, true, false, false),
            OP => run!(true, false, false, true, false),
            ORP => run!(true, false, true, true, false),
            OL => run!(true, false, false, false, true),
            ORL => run!(true, false, true, false, true),
            parts => panic!("unsupported epilogue {parts:#x}"),
        }
    }

    fn gemv_kernel(
        &self,
        out: MatVecOutput<f32>,
        a: &[f32],
        b: Matrix,
        alpha: f32,
        _a_quant: Option<QuantParams<f32>>,
        _b_quant: Option<QuantParams<f32>>,
    ) {
        #[target_feature(enable = "avx2")]
        #[target_feature(enable = "fma")]
        unsafe fn gemv_kernel_impl(
            isa: Avx2Isa,
            out: MatVecOutput<f32>,
            a: &[f32],
            b: Matrix,
            alpha: f32,
        ) {
            simd_gemv::<_, 4>(isa, out, a, b, alpha);
        }
        // Safety: Kernel can only be constructed if supported.
        unsafe {
            gemv_kernel_impl(self.isa, out, a, b, alpha);
        }
    }
}

/// Optimized kernel for x64 CPUs that support AVX 512 instructions.
pub struct Avx512Kernel {
    isa: Avx512Isa,
}

impl Avx512Kernel {
    // The optimal value of MR depends on how many AVX-512 FMA units the CPU has.
    // Client Intel CPUs have one, server CPUs have two. This smaller value is
    // tuned for single-FMA CPUs.
    //
    // See https://github.com/robertknight/rten/issues/17.
    const MR: usize = 6;

    // 2 x 16-f32-wide registers.
    const NR: usize = 32;
}

// Safety - The `new` fn checks for AVX-512 support.
unsafe impl Kernel<f32, f32, f32> for Avx512Kernel {
    fn new() -> Option<Self> {
        Avx512Isa::new().map(|isa| Avx512Kernel { isa })
    }

    fn name(&self) -> &'static str {
        "x86_64-f32-avx512"
    }

    fn mr(&self) -> usize {
        Self::MR
    }

    fn nr(&self) -> usize {
        Self::NR
    }

    fn packed_a_layout(
        &self,
        a: Matrix,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<f32>>,
    ) -> PackedLayout {
        let mut info = packed_a_layout::<f32, { Self::MR }>(rows, cols);
        info.must_pack = a.col_stride() != 1;
        info
    }

    fn pack_a_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        a: Matrix,
        rows: Range<usize>,
        cols: Range<usize>,
        _quant: Option<QuantParams<f32>>,
    ) {
        let out = cast_uninit_mut_slice(out).expect("incorrect alignment for packing buffer");

        // Safety: AVX-512 implies availability of AVX 2.
        unsafe {
            pack_a_block_avx::<{ Self::MR }>(out, a, rows, cols);
        }
    }

    fn packed_b_layout(
        &self,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<f32>>,
    ) -> PackedLayout {
        packed_b_layout::<f32, { Self::NR }>(rows, cols)
    }

    fn pack_b_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        b: Matrix,
        rows: Range<usize>,
        cols: Range<usize>,
        _quant: Option<QuantParams<f32>>,
    ) {
        let out = cast_uninit_mut_slice(out).expect("incorrect alignment for packing buffer");

        // Safety: We assume AVX-512 implies availability of AVX 2.
        unsafe {
            pack_b_block_avx::<{ Self::NR }>(out, b, rows, cols);
        }
    }

    fn pack_im2col(
        &self,
        out: &mut [MaybeUninit<u8>],
        image: &Im2Col<f32>,
        rows: Range<usize>,
        cols: Range<usize>,
        _zero_point: Option<f32>,
    ) {
        #[target_feature(enable = "avx512f")]
        #[target_feature(enable = "avx512vl")]
        unsafe fn pack_im2col_avx512<const NR_REGS: usize, const NR: usize>(
            isa: Avx512Isa,
            out: &mut [MaybeUninit<f32>],
            image: &Im2Col<f32>,
            rows: Range<usize>,
            cols: Range<usize>,
        ) {
            image.pack_block::<_, NR_REGS>(isa, out, NR, rows, cols);
        }

        const NR_REGS: usize = Avx512Kernel::NR / AVX512_X32_LANES;

        // Safety: Kernel can only be constructed if AVX-512 is supported.
        let out = cast_uninit_mut_slice(out).unwrap();
        unsafe {
            pack_im2col_avx512::<NR_REGS, { Self::NR }>(self.isa, out, image, rows, cols);
        }
    }

    fn pack_block_quant<'a>(
        &self,
        mat: BlockQuantizedMatrix<'a, f32>,
    ) -> Option<Box<dyn Packer<'a> + 'a + Send + Sync>> {
        Some(Box::new(
            BlockQuantizedMatrixPacker::<f32, { Self::NR }>::new(mat),
        ))
    }

    #[target_feature(enable = "avx512f")]
    #[target_feature(enable = "avx512vl")]
    unsafe fn kernel(
        &self,
        tile_ptr: *mut f32,
        tile_row_stride: usize,
        a: Lhs<f32>,
        b: &[u8],
        used_rows: usize,
        used_cols: usize,
        depth: usize,
        alpha: f32,
        beta: f32,
        _a_quant: Option<QuantParams<f32>>,
        _b_quant: Option<QuantParams<f32>>,
    ) {
        const MR: usize = Avx512Kernel::MR;
        const NR: usize = Avx512Kernel::NR;
        const NR_REGS: usize = NR / AVX512_X32_LANES;

        let b = cast_slice(b).unwrap();

        // TODO - Replace temporary tile with masked loads and stores.
        let mut tmp_tile = TempTile::<f32, MR, NR>::new();
        let (dest_ptr, dest_row_stride, dest_beta) = if used_cols == NR {
            (tile_ptr, tile_row_stride, beta)
        } else {
            (tmp_tile.as_mut_ptr() as *mut f32, NR, 0.)
        };

        let gemm = unsafe {
            GemmDispatch::<_, MR, NR_REGS>::new(
                self.isa,
                dest_ptr,
                dest_row_stride,
                a,
                b,
                depth,
                alpha,
                dest_beta,
            )
        };

        unsafe {
            match used_rows {
                6 => gemm.dispatch::<6>(),
                5 => gemm.dispatch::<5>(),
                4 => gemm.dispatch::<4>(),
                3 => gemm.dispatch::<3>(),
                2 => gemm.dispatch::<2>(),
                1 => gemm.dispatch::<1>(),
                _ => panic!("unsupported `used_rows` {}", used_rows),
            }
        }

        if used_cols != NR {
            unsafe {
                tmp_tile.accumulate_into(
                    tile_ptr as *mut MaybeUninit<f32>,
                    used_rows,
                    used_cols,
                    tile_row_stride,
                    beta,
                );
            }
        }
    }

    fn gemv_kernel(
        &self,
        out: MatVecOutput<f32>,
        a: &[f32],
        b: Matrix,
        alpha: f32,
        _a_quant: Option<QuantParams<f32>>,
        _b_quant: Option<QuantParams<f32>>,
    ) {
        #[target_feature(enable = "avx512f")]
        #[target_feature(enable = "avx512vl")]
        unsafe fn gemv_kernel_impl(
            isa: Avx512Isa,
            out: MatVecOutput<f32>,
            a: &[f32],
            b: Matrix,
            alpha: f32,
        ) {
            simd_gemv::<_, 2>(isa, out, a, b, alpha);
        }
        // Safety: Kernel can only be constructed if supported.
        unsafe {
            gemv_kernel_impl(self.isa, out, a, b, alpha);
        }
    }
}

// K tile size for int8 kernels.
const K_TILE: usize = 4;

pub struct Avx2Int8Kernel {
    isa: Avx2Isa,
}

impl Avx2Int8Kernel {
    const MR: usize = 6;
    const NR: usize = 16;
}

unsafe impl Kernel<u8, i8, i32> for Avx2Int8Kernel {
    fn new() -> Option<Self> {
        Avx2Isa::new().map(|isa| Avx2Int8Kernel { isa })
    }

    fn name(&self) -> &'static str {
        "x86_64-u8i8i32-avx2"
    }

    fn mr(&self) -> usize {
        Self::MR
    }

    fn nr(&self) -> usize {
        Self::NR
    }

    fn may_saturate(&self) -> bool {
        true
    }

    fn im2col_row_count_step(&self) -> usize {
        4
    }

    fn packed_a_layout(
        &self,
        _a: Matrix<u8>,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<u8>>,
    ) -> PackedLayout {
        let mut layout = packing::int8::packed_a_layout::<{ Self::MR }, K_TILE>(rows, cols);
        layout.must_pack = true;
        layout
    }

    fn pack_a_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        a: Matrix<u8>,
        rows: Range<usize>,
        cols: Range<usize>,
        quant: Option<QuantParams<u8>>,
    ) {
        let out = cast_uninit_mut_slice(out).unwrap();
        packing::int8::pack_a::<{ Self::MR }, K_TILE>(
            out,
            a.slice((rows.clone(), cols)),
            quant.map(|q| &q.zero_point[rows]),
        )
    }

    fn packed_b_layout(
        &self,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<i8>>,
    ) -> PackedLayout {
        packing::int8::packed_b_layout::<{ Self::NR }, K_TILE>(rows, cols)
    }

    fn pack_b_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        b: Matrix<i8>,
        rows: Range<usize>,
        cols: Range<usize>,
        quant: Option<QuantParams<i8>>,
    ) {
        let out = cast_uninit_mut_slice(out).unwrap();
        packing::int8::pack_b::<{ Self::NR }, K_TILE>(
            out,
            b.slice((rows, cols.clone())),
            quant.map(|q| &q.zero_point[cols]),
        )
    }

    fn pack_im2col(
        &self,
        out: &mut [MaybeUninit<u8>],
        image: &Im2Col<i8>,
        rows: Range<usize>,
        cols: Range<usize>,
        zero_point: Option<i8>,
    ) {
        #[target_feature(enable = "avx2")]
        unsafe fn pack_im2col_avx(
            isa: Avx2Isa,
            out: &mut [MaybeUninit<u8>],
            image: &Im2Col<i8>,
            rows: Range<usize>,
            cols: Range<usize>,
            zero_point: Option<i8>,
        ) {
            const NR: usize = Avx2Int8Kernel::NR;
            const NR_REGS: usize = NR / AVX2_X32_LANES;

            let out = cast_uninit_mut_slice(out).unwrap();
            image.pack_block_i8_dot::<_, NR, NR_REGS, K_TILE>(
                isa,
                out,
                rows,
                cols,
                zero_point.unwrap_or_default(),
            );
        }

        unsafe {
            pack_im2col_avx(self.isa, out, image, rows, cols, zero_point);
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn kernel(
        &self,
        tile_ptr: *mut i32,
        tile_row_stride: usize,
        a: Lhs<u8>,
        b: &[u8],
        used_rows: usize,
        used_cols: usize,
        depth: usize,
        _alpha: f32,
        beta: i32,
        _a_quant: Option<QuantParams<u8>>,
        _b_quant: Option<QuantParams<i8>>,
    ) {
        let a_data = match a {
            Lhs::Packed(data) => data,
            Lhs::Unpacked { .. } => panic!("lhs must be packed"),
        };

        let (a_data, a_meta) = packing::int8::extract_packed_a::<{ Self::MR }>(a_data);
        let (b, b_meta) = packing::int8::extract_packed_b::<{ Self::NR }>(b);

        const NR_REGS: usize = Avx2Int8Kernel::NR / AVX2_X32_LANES;
        unsafe {
            simd_int8_gemm::<_, _, { Self::MR }, { Self::NR }, NR_REGS>(
                self.isa,
                tile_ptr,
                tile_row_stride,
                a_data,
                b,
                used_rows,
                used_cols,
                depth,
                beta != 0, // accumulate
                a_meta.zero_points,
                b_meta.zero_points,
                &a_meta.row_sums,
                &b_meta.col_sums,
                self.isa,
            )
        }
    }

    fn gemv_kernel(
        &self,
        mut out: MatVecOutput<i32>,
        a: &[u8],
        b: Matrix<i8>,
        _alpha: f32,
        a_quant: Option<QuantParams<u8>>,
        b_quant: Option<QuantParams<i8>>,
    ) {
        let a_zero = a_quant.map(|aq| aq.zero_point[0]).unwrap_or(0);
        let b_zero = b_quant.map(|bq| bq.zero_point);
        let out = out.as_bool_beta();

        #[target_feature(enable = "avx2")]
        unsafe fn gemv_impl(
            isa: Avx2Isa,
            out: MatVecOutput<i32, bool>,
            a: &[u8],
            b: Matrix<i8>,
            a_zero: u8,
            b_zero: Option<&[i8]>,
        ) {
            simd_int8_gemv::<_, false /* CAST_B_U8 */>(isa, out, a, b, a_zero, b_zero, isa)
        }

        // Safety: AVX2 is supported if this kernel was constructed.
        unsafe { gemv_impl(self.isa, out, a, b, a_zero, b_zero) }
    }
}

type I8x32 = <Avx2Isa as Isa>::I8;
type I32x8 = <Avx2Isa as Isa>::I32;

/// `u8 x i8 -> i32` dot product for AVX2.
///
/// Safety: Avx2Isa can only be constructed if AVX2 is supported.
unsafe impl Int8DotProduct for Avx2Isa {
    type X8 = I8x32;
    type I32 = I32x8;

    /// Compute 8x dot products between `u8` values in `a`, `i8` values in `b` and
    /// add the `i32` results to `c`.
    #[inline]
    fn dot_product(self, a: Self::X8, b: Self::X8, c: Self::I32) -> Self::I32 {
        use core::arch::x86_64::{
            _mm256_add_epi32, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_set1_epi16,
        };

        unsafe {
            let tmp = _mm256_maddubs_epi16(a.0, b.0);
            let tmp = _mm256_madd_epi16(tmp, _mm256_set1_epi16(1));
            _mm256_add_epi32(c.0, tmp).into()
        }
    }
}

pub struct Avx512Int8Kernel {
    isa: Avx512Isa,
    /// VNNI ("DL Boost") int8 dot product, if supported.
    vnni_dot: Option<Avx512VnniDotProduct>,
}

impl Avx512Int8Kernel {
    const MR: usize = 8;
    const NR: usize = 32;
}

unsafe impl Kernel<u8, i8, i32> for Avx512Int8Kernel {
    fn new() -> Option<Self> {
        let isa = Avx512Isa::new()?;
        let vnni_dot = Avx512VnniDotProduct::new();
        Some(Avx512Int8Kernel { isa, vnni_dot })
    }

    fn name(&self) -> &'static str {
        "x86_64-u8i8i32-avx512"
    }

    fn mr(&self) -> usize {
        Self::MR
    }

    fn nr(&self) -> usize {
        Self::NR
    }

    fn may_saturate(&self) -> bool {
        self.vnni_dot.is_none()
    }

    fn im2col_row_count_step(&self) -> usize {
        4
    }

    fn packed_a_layout(
        &self,
        _a: Matrix<u8>,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<u8>>,
    ) -> PackedLayout {
        let mut layout = packing::int8::packed_a_layout::<{ Self::MR }, K_TILE>(rows, cols);
        layout.must_pack = true;
        layout
    }

    fn pack_a_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        a: Matrix<u8>,
        rows: Range<usize>,
        cols: Range<usize>,
        quant: Option<QuantParams<u8>>,
    ) {
        let out = cast_uninit_mut_slice(out).unwrap();
        packing::int8::pack_a::<{ Self::MR }, K_TILE>(
            out,
            a.slice((rows.clone(), cols)),
            quant.map(|q| &q.zero_point[rows]),
        )
    }

    fn packed_b_layout(
        &self,
        rows: usize,
        cols: usize,
        _quant: Option<QuantParams<i8>>,
    ) -> PackedLayout {
        packing::int8::packed_b_layout::<{ Self::NR }, K_TILE>(rows, cols)
    }

    fn pack_b_block(
        &self,
        out: &mut [MaybeUninit<u8>],
        b: Matrix<i8>,
        rows: Range<usize>,
        cols: Range<usize>,
        quant: Option<QuantParams<i8>>,
    ) {
        let out = cast_uninit_mut_slice(out).unwrap();
        packing::int8::pack_b::<{ Self::NR }, K_TILE>(
            out,
            b.slice((rows, cols.clone())),
            quant.map(|q| &q.zero_point[cols]),
        )
    }

    fn pack_im2col(
        &self,
        out: &mut [MaybeUninit<u8>],
        image: &Im2Col<i8>,
        rows: Range<usize>,
        cols: Range<usize>,
        zero_point: Option<i8>,
    ) {
        #[target_feature(enable = "avx512f")]
        #[target_feature(enable = "avx512bw")]
        unsafe fn pack_im2col_avx512(
            isa: Avx512Isa,
            out: &mut [MaybeUninit<u8>],
            image: &Im2Col<i8>,
            rows: Range<usize>,
            cols: Range<usize>,
            zero_point: Option<i8>,
        ) {
            const NR: usize = Avx512Int8Kernel::NR;
            const NR_REGS: usize = NR / AVX512_X32_LANES;

            let out = cast_uninit_mut_slice(out).unwrap();
            image.pack_block_i8_dot::<_, NR, NR_REGS, K_TILE>(
                isa,
                out,
                rows,
                cols,
                zero_point.unwrap_or_default(),
            );
        }

        unsafe {
            pack_im2col_avx512(self.isa, out, image, rows, cols, zero_point);
        }
    }

    #[target_feature(enable = "avx512f")]
    #[target_feature(enable = "avx512bw")]
    unsafe fn kernel(
        &self,
        tile_ptr: *mut i32,
        tile_row_stride: usize,
        a: Lhs<u8>,
        b: &[u8],
        used_rows: usize,
        used_cols: usize,
        depth: usize,
        _alpha: f32,
        beta: i32,
        _a_quant: Option<QuantParams<u8>>,
        _b_quant: Option<QuantParams<i8>>,
    ) {
        let a_data = match a {
            Lhs::Packed(data) => data,
            Lhs::Unpacked { .. } => panic!("lhs must be packed"),
        };

        let (a_data, a_meta) = packing::int8::extract_packed_a::<{ Self::MR }>(a_data);
        let (b, b_meta) = packing::int8::extract_packed_b::<{ Self::NR }>(b);

        const NR_REGS: usize = Avx512Int8Kernel::NR / AVX512_X32_LANES;
        if let Some(vnni_dot) = self.vnni_dot {
            unsafe {
                simd_int8_gemm::<_, _, { Self::MR }, { Self::NR }, NR_REGS>(
                    self.isa,
                    tile_ptr,
                    tile_row_stride,
                    a_data,
                    b,
                    used_rows,
                    used_cols,
                    depth,
                    beta != 0, // accumulate
                    a_meta.zero_points,
                    b_meta.zero_points,
                    &a_meta.row_sums,
                    &b_meta.col_sums,
                    vnni_dot,
                )
            }
        } else {
            unsafe {
                simd_int8_gemm::<_, _, { Self::MR }, { Self::NR }, NR_REGS>(
                    self.isa,
                    tile_ptr,
                    tile_row_stride,
                    a_data,
                    b,
                    used_rows,
                    used_cols,
                    depth,
                    beta != 0, // accumulate
                    a_meta.zero_points,
                    b_meta.zero_points,
                    &a_meta.row_sums,
                    &b_meta.col_sums,
                    self.isa, // Use non-VNNI dot product
                )
            }
        }
    }

    fn gemv_kernel(
        &self,
        mut out: MatVecOutput<i32>,
        a: &[u8],
        b: Matrix<i8>,
        _alpha: f32,
        a_quant: Option<QuantParams<u8>>,
        b_quant: Option<QuantParams<i8>>,
    ) {
        let a_zero = a_quant.map(|aq| aq.zero_point[0]).unwrap_or(0);
        let b_zero = b_quant.map(|bq| bq.zero_point);
        let out = out.as_bool_beta();

        if let Some(vnni_dot) = self.vnni_dot {
            #[target_feature(enable = "avx512f")]
            #[target_feature(enable = "avx512vl")]
            #[target_feature(enable = "avx512bw")]
            unsafe fn gemv_vnni(
                isa: Avx512Isa,
                out: MatVecOutput<i32, bool>,
                a: &[u8],
                b: Matrix<i8>,
                a_zero: u8,
                b_zero: Option<&[i8]>,
                vnni: Avx512VnniDotProduct,
            ) {
                simd_int8_gemv::<_, false /* CAST_B_U8 */>(isa, out, a, b, a_zero, b_zero, vnni)
            }

            // Safety: AVX512 is available and supports VNNI.
            unsafe {
                gemv_vnni(self.isa, out, a, b, a_zero, b_zero, vnni_dot);
            }
        } else {
            #[target_feature(enable = "avx512f")]
            #[target_feature(enable = "avx512vl")]
            #[target_feature(enable = "avx512bw")]
            unsafe fn gemv_non_vnni(
                isa: Avx512Isa,
                out: MatVecOutput<i32, bool>,
                a: &[u8],
                b: Matrix<i8>,
                a_zero: u8,
                b_zero: Option<&[i8]>,
            ) {
                simd_int8_gemv::<_, false /* CAST_B_U8 */>(isa, out, a, b, a_zero, b_zero, isa)
            }

            // Safety: AVX512 is supported if this kernel was constructed.
            unsafe {
                gemv_non_vnni(self.isa, out, a, b, a_zero, b_zero);
            }
        }
    }
}

type I8x64 = <Avx512Isa as Isa>::I8;
type I32x16 = <Avx512Isa as Isa>::I32;

// Safety: Avx512Isa can only be constructed if AVX-512 is supported.
unsafe impl Int8DotProduct for Avx512Isa {
    type X8 = I8x64;
    type I32 = I32x16;

    /// Compute 16 dot products between `u8` values in `a`, `i8` values in `b` and
    /// add the `i32` results to `c`.
    #[inline]
    fn dot_product(self, a: I8x64, b: I8x64, c: I32x16) -> I32x16 {
        use core::arch::x86_64::{
            _mm512_add_epi32, _mm512_madd_epi16, _mm512_maddubs_epi16, _mm512_set1_epi16,
        };

        unsafe {
            let tmp = _mm512_maddubs_epi16(a.0, b.0);
            let tmp = _mm512_madd_epi16(tmp, _mm512_set1_epi16(1));
            _mm512_add_epi32(c.0, tmp).into()
        }
    }
}

/// Eight-bit integer dot product using AVX512 VNNI instructions.
#[derive(Copy, Clone)]
struct Avx512VnniDotProduct {
    _private: (),
}

impl Avx512VnniDotProduct {
    pub fn new() -> Option<Self> {
        detect_avx512_vnni().then_some(Self { _private: () })
    }
}

// Safety: Avx512VnniDotProduct can only be constructed if AVX512-VNNI is
// supported.
unsafe impl Int8DotProduct for Avx512VnniDotProduct {
    type X8 = I8x64;
    type I32 = I32x16;

    /// Compute 16 dot products between `u8` values in `a`, `i8` values in `b` and
    /// add the `i32` results to `c`.
    ///
    /// This uses AVX-512 VNNI instructions for better performance and to avoid
    /// saturation issue that `VPMADDUBSW` has. See
    /// https://www.intel.com/content/www/us/en/developer/articles/guide/deep-learning-with-avx512-and-dl-boost.html.
    #[inline]
    fn dot_product(self, a: I8x64, b: I8x64, c: I32x16) -> I32x16 {
        unsafe { avx512_vnni_u8i8i32_dot_product(a, b, c) }
    }
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn avx512_vnni_u8i8i32_dot_product(a: I8x64, b: I8x64, mut c: I32x16) -> I32x16 {
    // Use inline asm rather than an intrinsic here to avoid needing to mark
    // this function as using the `avx512vnni` feature. If we did that, the
    // entire kernel function needs to have the same target feature statically
    // enabled in order for this function to be inlined into it, which is
    // critical for performance. This in turn means we would need to have
    // separate instantiations of the kernel for the VNNI and non-VNNI cases.
    //
    // By using asm we can use this instruction after a dynamic flag check
    // within the kernel.
    use std::arch::asm;
    unsafe {
        asm! {
            "vpdpbusd {result}, {a}, {b}",
            result = inout(zmm_reg) c.0,
            a = in(zmm_reg) a.0,
            b = in(zmm_reg) b.0,
            options(nostack)
        }
    }
    c
}

/// Detect availability of AVX-512 VNNI instructions using cpuid.
///
/// This function only returns valid results if AVX-512 is supported.
///
/// See https://www.felixcloutier.com/x86/cpuid or the Intel Instruction Set
/// Reference for cpuid.
///
/// This function differs from `is_x86_feature_detected("avx512vnni")` as that
/// function can incorrectly return false on macOS if feature detection was
/// performed before an AVX512 instruction was used in a process. See
/// notes in [`is_avx512_supported`].
fn detect_avx512_vnni() -> bool {
    use core::arch::x86_64::__cpuid_count;
    let regs = __cpuid_count(7, 0);
    regs.ecx & (1 << 11) != 0
}

#[cfg(test)]
mod tests {
    use super::detect_avx512_vnni;

    #[test]
    fn test_vnni_detect() {
        // `detect_avx512_vnni` may return true in cases where
        // `is_x86_feature_detected` returns false, but the converse is not
        // true.
        let have_vnni = detect_avx512_vnni();
        if is_x86_feature_detected!("avx512vnni") {
            assert!(have_vnni);
        }
    }
}
