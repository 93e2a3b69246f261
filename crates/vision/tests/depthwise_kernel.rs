//! The face models' depthwise convolutions must run in the patched rten's SIMD kernel
//! (vendor/rten/README.md, change 1). Both kernels compute the same values, so the golden
//! landmarks cannot tell them apart: an earlier version of the patch silently kept every
//! channel on the generic row-by-row kernel, and only a profile showed it. This test reads
//! rten's per-kernel channel counts (its `kernel-stats` feature, on in every build of this
//! crate so that `cargo build` and `cargo test` share one build of rten) around a cold and a
//! tracked frame, and that the rows away from the channels' edges run its code unrolled for
//! 3x3 and 5x5 kernels (the edge rows its code unrolled for the kernel's width, change 29),
//! and that their input rows are copied into its padded rows by its
//! vector copy (stride 1) or paired copy (stride 2), not one element at a time (change 21).
//! Likewise their max pools (2x2, stride 2) must run in the 2x2 kernel of change 8 rather
//! than rten's generic pooling, those of the residual branches straight into their padded
//! outputs (change 48).
//!
//! It is its own test binary so that no other test's convolutions run in the same process
//! while it counts.

use std::sync::Arc;

use focus_vision::{FaceAnalyzer, FaceTracker};
use rten::ops::{depthwise_kernel_stats, max_pool_kernel_stats};

#[test]
fn every_depthwise_channel_of_the_face_models_takes_the_simd_kernel() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/faces/attentive/"
    );
    let photo = std::fs::read_dir(path)
        .expect("fixtures folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .min()
        .expect("an attentive fixture");
    let bytes = std::fs::read(&photo).expect("fixture reads");
    let analyzer = Arc::new(FaceAnalyzer::embedded().expect("embedded models load"));

    let before = depthwise_kernel_stats();
    let pools_before = max_pool_kernel_stats();
    let cold = analyzer.analyze_bytes(&bytes).expect("cold frame");
    assert!(cold.face.is_some(), "{} has a face", photo.display());
    let after_cold = depthwise_kernel_stats();

    let mut tracker = FaceTracker::new(Arc::clone(&analyzer));
    tracker.analyze_bytes(&bytes).expect("first frame");
    let after_first = depthwise_kernel_stats();
    tracker.analyze_bytes(&bytes).expect("tracked frame");
    let after_tracked = depthwise_kernel_stats();
    let pools_after = max_pool_kernel_stats();

    let cold_simd = after_cold.whole_channel - before.whole_channel;
    let tracked_simd = after_tracked.whole_channel - after_first.whole_channel;
    // The detector and the mesh are MobileNet-style: thousands of depthwise channels a frame.
    assert!(
        cold_simd > 1000,
        "cold frame: {cold_simd} channels in the SIMD kernel"
    );
    assert!(
        tracked_simd > 1000,
        "tracked frame: {tracked_simd} channels in the SIMD kernel"
    );
    // The tracked frame skips the detector, so it convolves fewer channels than a cold one.
    assert!(
        tracked_simd < cold_simd,
        "tracked {tracked_simd}, cold {cold_simd}"
    );
    assert_eq!(
        after_tracked.row_by_row, before.row_by_row,
        "depthwise channels fell back to the generic row-by-row kernel"
    );
    // Their kernels are 3x3 (the mesh) and 5x5 (the detector): apart from the edge rows of
    // each channel, where the kernel overhangs the image, every output row must run the
    // SIMD kernel's code unrolled for those sizes (change 7), the kernel's fast path.
    let cold_unrolled = after_cold.unrolled_rows - before.unrolled_rows;
    let tracked_unrolled = after_tracked.unrolled_rows - after_first.unrolled_rows;
    assert!(
        cold_unrolled > 10 * cold_simd,
        "cold frame: {cold_unrolled} unrolled rows over {cold_simd} channels"
    );
    assert!(
        tracked_unrolled > 10 * tracked_simd,
        "tracked frame: {tracked_unrolled} unrolled rows over {tracked_simd} channels"
    );
    // And their edge rows (the kernel overhanging the image above or below: with "same"
    // padding at least one a channel, two in the mesh's stride-1 layers) run the code
    // unrolled for the kernel's width over the kernel rows on the image (change 29), not the
    // general loop.
    let cold_edge = after_cold.unrolled_edge_rows - before.unrolled_edge_rows;
    let tracked_edge = after_tracked.unrolled_edge_rows - after_first.unrolled_edge_rows;
    assert!(
        cold_edge >= cold_simd,
        "cold frame: {cold_edge} unrolled edge rows over {cold_simd} channels"
    );
    assert!(
        tracked_edge >= 2 * tracked_simd,
        "tracked frame: {tracked_edge} unrolled edge rows over {tracked_simd} channels"
    );
    // Their depthwise convolutions have strides 1 and 2 (the detector's): every input row
    // must be copied into the kernel's padded rows by its vector copy (stride 1) or its
    // paired copy of the two stride phases (stride 2), not one element at a time (change 21).
    assert_eq!(
        after_tracked.elementwise_copied_rows, before.elementwise_copied_rows,
        "depthwise input rows copied one element at a time"
    );
    // Both models halve their feature maps with 2x2 stride-2 max pools (3 in the detector,
    // 6 in the mesh, tens of channels each), and every one must take the 2x2 kernel.
    let pooled = pools_after.two_by_two - pools_before.two_by_two;
    assert!(pooled > 100, "{pooled} planes in the 2x2 max-pool kernel");
    assert_eq!(
        pools_after.generic, pools_before.generic,
        "max pools fell back to the generic pooling"
    );
    // The residual branches' pools whose output is padded with channels (the mesh's three,
    // BlazeFace's three) pool straight into the padded output (rten change 48): at least
    // the mesh's three in each of the three frames.
    let padded = pools_after.padded_images - pools_before.padded_images;
    assert!(padded >= 9, "{padded} images pooled into a padded output");
}
