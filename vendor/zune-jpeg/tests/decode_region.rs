//! `JpegDecoder::decode_region_into`: the region it reports is that of a full decode, to the
//! bit, for every window; pixels far from the window are not written at all.

use core::ops::Range;

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::{JpegDecoder, PixelRegion};

/// A test image and its MCU size, (width, height) in pixels.
type Image = (&'static [u8], (usize, usize));

/// scikit-image's `chelsea` (CC0, see `images/README.md`): 451x300, baseline YCbCr 4:2:0, so
/// 16x16 MCUs, the last row and column partial.
const CHELSEA: Image = (include_bytes!("images/chelsea.jpg"), (16, 16));
/// The same picture in 4:2:2 (16x8 MCUs), 4:4:0 (8x16) and 4:4:4 (8x8, not interleaved).
const CHELSEA_422: Image = (include_bytes!("images/chelsea-422.jpg"), (16, 8));
const CHELSEA_440: Image = (include_bytes!("images/chelsea-440.jpg"), (8, 16));
const CHELSEA_444: Image = (include_bytes!("images/chelsea-444.jpg"), (8, 8));

fn decoder(image: Image, out: ColorSpace) -> JpegDecoder<ZCursor<&'static [u8]>> {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(out);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(image.0), options);
    decoder.decode_headers().unwrap();
    decoder
}

/// Decodes `wanted` of `image` into a buffer of 0xAA and checks it against `full`.
fn check(image: Image, out: ColorSpace, full: &[u8], wanted: PixelRegion) {
    let (width, height) = decoder(image, out).dimensions().unwrap();
    let channels = out.num_components();
    let row = width * channels;
    let mut pixels = vec![0xAA; full.len()];
    let valid = decoder(image, out)
        .decode_region_into(&mut pixels, wanted.clone())
        .unwrap();
    let clip = |r: &Range<usize>, n: usize| r.start.min(n)..r.end.min(n).max(r.start.min(n));
    let (rows, columns) = (clip(&wanted.rows, height), clip(&wanted.columns, width));
    let contains = |outer: &Range<usize>, inner: &Range<usize>, n: usize| {
        outer.start <= inner.start && outer.end >= inner.end && outer.end <= n
    };
    assert!(
        contains(&valid.rows, &rows, height) && contains(&valid.columns, &columns, width),
        "{out:?} {wanted:?}: valid {valid:?}"
    );
    if rows.is_empty() || columns.is_empty() {
        return;
    }
    let bytes = |r: usize| r * row + valid.columns.start * channels..r * row + valid.columns.end * channels;
    for r in valid.rows.clone() {
        assert!(
            pixels[bytes(r)] == full[bytes(r)],
            "{out:?} {wanted:?}: row {r} of {valid:?} differs"
        );
    }
    // Finished are the requested pixels rounded out to MCUs, with one MCU of margin each
    // side, no more: pixels further out are left as they were.
    let (mcu_width, mcu_height) = image.1;
    let outside = |r: &Range<usize>, mcu: usize| {
        r.start.saturating_sub(2 * mcu) / mcu * mcu..(r.end + 2 * mcu).div_ceil(mcu) * mcu
    };
    let (near_rows, near_columns) = (outside(&rows, mcu_height), outside(&columns, mcu_width));
    let left = near_columns.start.min(width) * channels;
    let right = near_columns.end.min(width) * channels;
    for (r, line) in pixels.chunks_exact(row).enumerate() {
        let untouched: &[&[u8]] = if near_rows.contains(&r) {
            &[&line[..left], &line[right..]]
        } else {
            &[line]
        };
        assert!(
            untouched.iter().all(|part| part.iter().all(|&p| p == 0xAA)),
            "{out:?} {wanted:?}: row {r} written outside {near_columns:?}"
        );
    }
}

#[test]
fn every_window_of_rows_or_columns_matches_a_full_decode() {
    let out = ColorSpace::RGB;
    let full = decoder(CHELSEA, out).decode().unwrap();
    for start in (0..320).step_by(9) {
        for end in (start..330).step_by(23) {
            check(CHELSEA, out, &full, PixelRegion { rows: start..end, columns: 0..usize::MAX });
        }
    }
    for start in (0..470).step_by(11) {
        for end in (start..480).step_by(29) {
            check(CHELSEA, out, &full, PixelRegion { rows: 0..usize::MAX, columns: start..end });
        }
    }
}

#[test]
fn rectangles_match_a_full_decode_in_every_output_colourspace() {
    for out in [ColorSpace::RGB, ColorSpace::RGBA, ColorSpace::YCbCr] {
        let full = decoder(CHELSEA, out).decode().unwrap();
        for rows in [0..40, 17..120, 100..101, 150..300, 290..400] {
            for columns in [0..40, 33..200, 250..251, 300..451, 440..1000] {
                check(CHELSEA, out, &full, PixelRegion { rows: rows.clone(), columns });
            }
        }
    }
}

#[test]
fn columns_at_odd_offsets_and_near_both_edges_match_a_full_decode_in_every_subsampling() {
    // Chroma is upsampled only in the window's MCU columns, so with horizontal subsampling
    // the window's first and last upsampled samples are filtered as at a row's ends: the
    // one-MCU margin keeps them out of the region, but at the image's own edges.
    for image in [CHELSEA, CHELSEA_422, CHELSEA_440, CHELSEA_444] {
        for out in [ColorSpace::RGB, ColorSpace::YCbCr] {
            let full = decoder(image, out).decode().unwrap();
            for start in [0, 1, 7, 9, 15, 17, 23, 31, 33, 99, 201, 333, 415, 429, 435, 441, 449, 450] {
                for len in [1, 2, 9, 17, 45, 130] {
                    for rows in [0..usize::MAX, 37..61] {
                        let columns = start..start + len;
                        check(image, out, &full, PixelRegion { rows, columns });
                    }
                }
            }
        }
    }
}

#[test]
fn the_whole_image_is_a_full_decode() {
    let full = decoder(CHELSEA, ColorSpace::RGB).decode().unwrap();
    let mut pixels = vec![0; full.len()];
    let valid = decoder(CHELSEA, ColorSpace::RGB)
        .decode_region_into(&mut pixels, PixelRegion { rows: 0..usize::MAX, columns: 0..usize::MAX })
        .unwrap();
    assert_eq!(valid, PixelRegion { rows: 0..300, columns: 0..451 });
    assert!(pixels == full);
}

#[test]
fn grayscale_from_subsampled_colour_is_decoded_whole() {
    // The one layout the region does not apply to (the decoder converts two rows per
    // iteration there): everything is decoded and reported so.
    let full = decoder(CHELSEA, ColorSpace::Luma).decode().unwrap();
    let mut pixels = vec![0; full.len()];
    let valid = decoder(CHELSEA, ColorSpace::Luma)
        .decode_region_into(&mut pixels, PixelRegion { rows: 100..120, columns: 10..20 })
        .unwrap();
    assert_eq!(valid, PixelRegion { rows: 0..300, columns: 0..451 });
    assert!(pixels == full);
}
