//! JPEG/PNG bytes to an RGB image, refusing oversized or malformed input before it costs
//! memory: the byte count, then the header's dimensions, are checked before any pixel is
//! decoded, and the decoder runs under a size limit.
//!
//! JPEG, every webcam frame, goes straight to zune-jpeg (the decoder the `image` crate wraps,
//! called the way it calls it, so the pixels are the same to the bit) and into a buffer the
//! caller may reuse from frame to frame ([`decode_image_into`]): the `image` crate's wrapper
//! copies the input, parses the headers three times and decodes into a freshly zeroed buffer,
//! together ~1.2 M instructions of a 640x360 frame's ~7.
//! PNG goes through the `image` crate.
//!
//! A reader of part of a frame (the tracked face's region) can have only that [`Region`]
//! decoded ([`decode_region_into`]): the JPEG is still read whole, but the inverse DCT,
//! upsampling and colour conversion run only near the region (the vendored zune-jpeg's
//! `JpegDecoder::decode_region_into`), and the region it reports is the full decode's to the
//! bit.

use std::{io::Cursor, ops::Range};

use image::{ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage, metadata::Orientation};
use zune_jpeg::{
    JpegDecoder, PixelRegion,
    errors::DecodeErrors,
    zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions},
};

use crate::Error;

/// A rectangle of an image's pixels: `columns` from the left, `rows` from the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub columns: Range<u32>,
    pub rows: Range<u32>,
}

impl Region {
    /// All of an image `width` x `height`.
    pub fn whole(width: u32, height: u32) -> Self {
        Self {
            columns: 0..width,
            rows: 0..height,
        }
    }

    /// Whether no pixel is in it.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty() || self.rows.is_empty()
    }

    /// Whether every pixel of `other` is in it (an empty `other` is in any region).
    pub fn contains(&self, other: &Region) -> bool {
        let within = |outer: &Range<u32>, inner: &Range<u32>| {
            outer.start <= inner.start && inner.end <= outer.end
        };
        other.is_empty()
            || (within(&self.columns, &other.columns) && within(&self.rows, &other.rows))
    }

    /// The part of it in an image `width` x `height`.
    pub fn clipped(&self, width: u32, height: u32) -> Self {
        let clip = |r: &Range<u32>, n: u32| r.start.min(n)..r.end.min(n).max(r.start.min(n));
        Self {
            columns: clip(&self.columns, width),
            rows: clip(&self.rows, height),
        }
    }

    /// The region spanned by the points `[x, y]` (`None` if any is NaN or infinite), from
    /// `before` pixels before the smallest coordinates (floored) to `after` pixels after the
    /// largest (floored), clipped to an image `width` x `height`.
    pub fn around_points(
        points: impl IntoIterator<Item = [f32; 2]>,
        before: f32,
        after: f32,
        width: u32,
        height: u32,
    ) -> Option<Self> {
        let mut lo = [f32::INFINITY; 2];
        let mut hi = [f32::NEG_INFINITY; 2];
        for p in points {
            if !(p[0].is_finite() && p[1].is_finite()) {
                return None;
            }
            for axis in 0..2 {
                lo[axis] = lo[axis].min(p[axis]);
                hi[axis] = hi[axis].max(p[axis]);
            }
        }
        // Saturating float-to-int casts: coordinates beyond the image clip to its edges.
        let span = |axis: usize| {
            (lo[axis].floor() - before).max(0.0) as u32..(hi[axis].floor() + after).max(0.0) as u32
        };
        Some(
            Self {
                columns: span(0),
                rows: span(1),
            }
            .clipped(width, height),
        )
    }
}

/// Limits on what [`decode_image`] accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeLimits {
    /// Largest encoded size accepted, in bytes. Default 32 MiB.
    pub max_bytes: usize,
    /// Largest pixel count (width x height) accepted. Default 40 megapixels.
    pub max_pixels: u64,
    /// Largest width or height accepted. Default 16384.
    pub max_side: u32,
    /// Smallest width or height accepted: nothing smaller can hold a usable face. Default 32.
    pub min_side: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_bytes: 32 << 20,
            max_pixels: 40_000_000,
            max_side: 16_384,
            min_side: 32,
        }
    }
}

/// Tells JPEG and PNG apart by their magic bytes; anything else is unsupported.
fn sniff(bytes: &[u8]) -> Result<ImageFormat, Error> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(ImageFormat::Png)
    } else {
        Err(Error::UnsupportedFormat)
    }
}

/// Decodes JPEG or PNG bytes to 8-bit RGB, applying the EXIF orientation of photos.
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, Error> {
    let mut image = RgbImage::default();
    decode_image_into(bytes, limits, &mut image)?;
    Ok(image)
}

/// [`decode_image`] into `image`, reusing its buffer: a stream's frames, all the same size,
/// are decoded without allocating or clearing anything. `image` is replaced by the decoded
/// image; after an error it holds an unspecified image (possibly empty).
pub fn decode_image_into(
    bytes: &[u8],
    limits: &DecodeLimits,
    image: &mut RgbImage,
) -> Result<(), Error> {
    decode_into(bytes, limits, image, None).map(|_| ())
}

/// [`decode_image_into`] for a reader of `region` only: returns the region of `image` that
/// holds the decoded frame, exactly as [`decode_image_into`] decodes it, a region that
/// contains `region` (clipped to the image). The other pixels are unspecified (another
/// frame's, or pixels decoded without their neighbours) and must not be read.
///
/// Only a JPEG without EXIF rotation is decoded in part (see `decode_region_into` in
/// `vendor/zune-jpeg`); anything else is decoded whole, and all of it returned.
pub fn decode_region_into(
    bytes: &[u8],
    limits: &DecodeLimits,
    image: &mut RgbImage,
    region: Region,
) -> Result<Region, Error> {
    decode_into(bytes, limits, image, Some(region))
}

/// [`decode_image_into`] and [`decode_region_into`]: all of the image, or at least `region`
/// of it; returns the region decoded.
fn decode_into(
    bytes: &[u8],
    limits: &DecodeLimits,
    image: &mut RgbImage,
    region: Option<Region>,
) -> Result<Region, Error> {
    let format = sniff(bytes)?;
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooManyBytes {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    match format {
        ImageFormat::Jpeg => decode_jpeg(bytes, limits, image, region),
        _ => {
            *image = decode_with_image_crate(bytes, format, limits)?;
            Ok(Region::whole(image.width(), image.height()))
        }
    }
}

/// The JPEG decoder's options, as the `image` crate sets them (non-strict: a corrupt scan
/// still yields an image, as in browsers), with its width and height limits.
fn jpeg_options(limits: &DecodeLimits) -> DecoderOptions {
    DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_strict_mode(false)
        .set_max_width(limits.max_side as usize)
        .set_max_height(limits.max_side as usize)
}

/// Decodes a JPEG into `image`, all of it or at least `region`; returns the region decoded.
fn decode_jpeg(
    bytes: &[u8],
    limits: &DecodeLimits,
    image: &mut RgbImage,
    region: Option<Region>,
) -> Result<Region, Error> {
    let layout = jpeg_layout(bytes);
    if layout == JpegLayout::Truncated || (layout == JpegLayout::Other && !jpeg_is_complete(bytes))
    {
        // The JPEG decoder fills a truncated scan with grey and carries on; a frame cut
        // short in transit must not be judged as if it were whole.
        return Err(Error::Decode(
            "the JPEG is truncated (no end-of-image marker after the image data)".into(),
        ));
    }
    // The size the header declares, read before any decoder is set up, so a refusal names
    // it (the decoder's own limit error carries no numbers).
    let declared = declared_size(bytes, ImageFormat::Jpeg);
    if let Some((width, height)) = declared {
        check_dimensions(width, height, limits)?;
    }
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), jpeg_options(limits));
    decoder
        .decode_headers()
        .map_err(|e| map_jpeg_error(e, limits, declared))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| Error::Decode("the JPEG decoder read no frame header".into()))?;
    let (width, height) = (width as u32, height as u32);
    check_dimensions(width, height, limits)?;
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let len = decoder
        .output_buffer_size()
        .ok_or_else(|| Error::Decode("the JPEG's size overflows".into()))?;
    let mut pixels = std::mem::take(image).into_raw();
    if layout == JpegLayout::SingleScan {
        // Every pixel is written (see `JpegLayout`), or with `region` every pixel of the
        // region reported: no need to clear a reused buffer.
        pixels.resize(len, 0);
    } else {
        // The decoder may stop early on a marker inside a scan and leave the rest unwritten:
        // zeroes there, as in a fresh buffer, not the previous frame's pixels.
        pixels.clear();
        pixels.resize(len, 0);
    }
    let decoded = match region {
        // The stored image's pixels are the frame's only when it is not turned.
        Some(region) if orientation == Orientation::NoTransforms => {
            let to_usize = |r: Range<u32>| r.start as usize..r.end as usize;
            let wanted = PixelRegion {
                rows: to_usize(region.rows),
                columns: to_usize(region.columns),
            };
            let decoded = decoder
                .decode_region_into(&mut pixels, wanted)
                .map_err(|e| map_jpeg_error(e, limits, Some((width, height))))?;
            // Within the image, so within `u32`.
            let to_u32 = |r: Range<usize>| r.start as u32..r.end as u32;
            Region {
                columns: to_u32(decoded.columns),
                rows: to_u32(decoded.rows),
            }
        }
        _ => {
            decoder
                .decode_into(&mut pixels)
                .map_err(|e| map_jpeg_error(e, limits, Some((width, height))))?;
            Region::whole(width, height)
        }
    };
    let frame = RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| Error::Decode("the JPEG decoder's output has the wrong size".into()))?;
    *image = if orientation == Orientation::NoTransforms {
        frame
    } else {
        let mut turned = image::DynamicImage::ImageRgb8(frame);
        turned.apply_orientation(orientation);
        turned.into_rgb8()
    };
    Ok(if orientation == Orientation::NoTransforms {
        decoded
    } else {
        Region::whole(image.width(), image.height())
    })
}

/// PNG (or any format but JPEG) through the `image` crate, under its allocation limit.
fn decode_with_image_crate(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<RgbImage, Error> {
    let declared = declared_size(bytes, format);
    if let Some((width, height)) = declared {
        check_dimensions(width, height, limits)?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    // RGB8 output plus the decoder's own buffers; generous but bounded.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(decoder_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(e, limits, declared))?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| map_image_error(e, limits, Some((width, height))))?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

/// What a walk over a JPEG's markers found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JpegLayout {
    /// One scan, its entropy-coded data free of markers but restarts, then end-of-image: the
    /// webcam's kind. The decoder writes every pixel of such a file (a scan cut short or
    /// corrupt is filled with grey), so a reused buffer needs no clearing.
    SingleScan,
    /// One scan that runs to the end of the bytes with no end-of-image marker.
    Truncated,
    /// Anything else: several scans (progressive), a marker inside the scan, or headers the
    /// walk does not follow. Checked the slow way.
    Other,
}

/// Walks the header segments by their lengths to the first start-of-scan (SOS), then the
/// scan's entropy-coded data with `memchr` for its next marker. A few thousand instructions
/// on a webcam frame where a byte-by-byte search of the whole file costs ~130 000.
fn jpeg_layout(bytes: &[u8]) -> JpegLayout {
    let be16 = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *bytes.get(at)?,
            *bytes.get(at + 1)?,
        ])))
    };
    // Markers after SOI (as in `declared_size`): FF, fill FFs, the marker, a length that
    // counts itself.
    let mut at = 2;
    let scan_start = loop {
        let Some(&0xFF) = bytes.get(at) else {
            return JpegLayout::Other;
        };
        while bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at + 1) else {
            return JpegLayout::Other;
        };
        match marker {
            0xDA => match be16(at + 2) {
                Some(len) => break at + 2 + len,
                None => return JpegLayout::Other,
            },
            0xD0..=0xD7 | 0x01 => at += 2,
            0xD9 => return JpegLayout::Other,
            _ => match be16(at + 2) {
                Some(len) => at += 2 + len,
                None => return JpegLayout::Other,
            },
        }
    };
    // In entropy-coded data a 0xFF byte is followed by 00 (a stuffed data byte), a restart
    // marker (D0-D7), or is fill before a marker; any other byte ends the scan.
    let data = bytes.get(scan_start..).unwrap_or_default();
    let mut from = 0;
    while let Some(i) = memchr::memchr(0xFF, &data[from..]) {
        let at = from + i;
        match data.get(at + 1) {
            None => return JpegLayout::Truncated,
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => from = at + 1,
            Some(0xD9) => return JpegLayout::SingleScan,
            Some(_) => return JpegLayout::Other,
        }
    }
    JpegLayout::Truncated
}

/// Whether an end-of-image marker (FF D9) follows the last start-of-scan (FF DA): scanning
/// back from the end, an EOI comes first, and there is a start-of-scan at all.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_marker = bytes
        .windows(2)
        .rposition(|w| w == [0xFF, 0xD9] || w == [0xFF, 0xDA]);
    match last_marker {
        Some(at) if bytes[at + 1] == 0xD9 => bytes[..at].windows(2).any(|w| w == [0xFF, 0xDA]),
        _ => false,
    }
}

fn check_dimensions(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), Error> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(too_large((width, height), limits));
    }
    if width < limits.min_side || height < limits.min_side {
        return Err(Error::TooSmall {
            width,
            height,
            min_side: limits.min_side,
        });
    }
    Ok(())
}

/// The refusal of an image of `(width, height)` over `limits`.
fn too_large((width, height): (u32, u32), limits: &DecodeLimits) -> Error {
    Error::TooLarge {
        width,
        height,
        max_pixels: limits.max_pixels,
        max_side: limits.max_side,
    }
}

/// The decoder's error in our terms. `size` is the declared size when known: a limit error
/// names it; without it, the error says what limit was hit rather than inventing a size.
fn map_image_error(e: image::ImageError, limits: &DecodeLimits, size: Option<(u32, u32)>) -> Error {
    match e {
        image::ImageError::Limits(_) => match size {
            Some(size) => too_large(size, limits),
            None => Error::Decode(format!(
                "the image needs more memory to decode than allowed for {} pixels",
                limits.max_pixels
            )),
        },
        image::ImageError::Unsupported(_) => Error::UnsupportedFormat,
        other => Error::Decode(other.to_string()),
    }
}

/// The JPEG decoder's error in our terms, as [`map_image_error`] maps the `image` crate's
/// (which wraps the same decoder).
fn map_jpeg_error(e: DecodeErrors, limits: &DecodeLimits, size: Option<(u32, u32)>) -> Error {
    match e {
        DecodeErrors::LargeDimensions(_) => match size {
            Some(size) => too_large(size, limits),
            None => Error::Decode(format!(
                "the JPEG is wider or taller than the limit of {} px",
                limits.max_side
            )),
        },
        DecodeErrors::Unsupported(_) => Error::UnsupportedFormat,
        other => Error::Decode(format!("Format error decoding Jpeg: {other}")),
    }
}

/// The width and height a JPEG's frame header (SOFn) or a PNG's IHDR declares, without
/// decoding anything. `None` when the header is missing, cut short or declares a zero
/// size (a JPEG whose height comes later, in a DNL marker).
pub fn declared_size(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    let be16 = |at: usize| -> Option<u32> {
        Some(u32::from(u16::from_be_bytes([
            *bytes.get(at)?,
            *bytes.get(at + 1)?,
        ])))
    };
    let size = match format {
        ImageFormat::Png => {
            // Signature (8), chunk length (4), "IHDR", width (4), height (4); big-endian.
            if bytes.get(12..16)? != b"IHDR" {
                return None;
            }
            let be32 = |at: usize| -> Option<u32> {
                Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
            };
            (be32(16)?, be32(20)?)
        }
        ImageFormat::Jpeg => {
            // Markers after SOI: FF, any fill FFs, the marker byte, then a big-endian length
            // that counts itself. A frame header is SOF0-SOF15 but for DHT (C4), JPG (C8) and
            // DAC (CC): precision (1), height (2), width (2).
            let mut at = 2;
            loop {
                if *bytes.get(at)? != 0xFF {
                    return None;
                }
                while *bytes.get(at + 1)? == 0xFF {
                    at += 1;
                }
                let marker = *bytes.get(at + 1)?;
                match marker {
                    0xD0..=0xD7 | 0x01 => at += 2,
                    // Start of scan or end of image before any frame header.
                    0xDA | 0xD9 => return None,
                    0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                        break (be16(at + 7)?, be16(at + 5)?);
                    }
                    _ => at += 2 + usize::try_from(be16(at + 2)?).ok()?,
                }
            }
        }
        _ => return None,
    };
    (size.0 > 0 && size.1 > 0).then_some(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
            .expect("encode");
        out
    }

    #[test]
    fn decodes_a_jpeg_and_a_png() {
        let jpeg = encode_jpeg(64, 48);
        let img = decode_image(&jpeg, &DecodeLimits::default()).expect("jpeg decodes");
        assert_eq!(img.dimensions(), (64, 48));

        let mut png = Vec::new();
        RgbImage::new(40, 50)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encode png");
        let img = decode_image(&png, &DecodeLimits::default()).expect("png decodes");
        assert_eq!(img.dimensions(), (40, 50));
    }

    #[test]
    fn refuses_bad_input_with_typed_errors() {
        let limits = DecodeLimits::default();
        assert!(matches!(decode_image(&[], &limits), Err(Error::Empty)));
        assert!(matches!(
            decode_image(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", &limits),
            Err(Error::UnsupportedFormat)
        ));
        assert!(matches!(
            decode_image(b"hello, not an image", &limits),
            Err(Error::UnsupportedFormat)
        ));
        let jpeg = encode_jpeg(64, 48);
        let truncated = &jpeg[..jpeg.len() / 3];
        assert!(matches!(
            decode_image(truncated, &limits),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn refuses_tiny_images() {
        let jpeg = encode_jpeg(1, 1);
        assert!(matches!(
            decode_image(&jpeg, &DecodeLimits::default()),
            Err(Error::TooSmall {
                width: 1,
                height: 1,
                ..
            })
        ));
    }

    #[test]
    fn refuses_a_huge_header_before_allocating() {
        // A real JPEG whose SOF0 header is patched to claim 60000x60000 pixels.
        let mut jpeg = encode_jpeg(64, 48);
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline JPEG has SOF0");
        // SOF0: FF C0, length (2), precision (1), height (2), width (2).
        jpeg[sof + 5..sof + 7].copy_from_slice(&60000u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
        let err = decode_image(&jpeg, &DecodeLimits::default()).expect_err("must refuse");
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    width: 60000,
                    height: 60000,
                    ..
                }
            ),
            "got {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the image is 60000x60000 pixels, more than the limit of 40000000 pixels and \
             16384 px a side"
        );
    }

    #[test]
    fn declared_sizes_are_read_from_the_headers() {
        let jpeg = encode_jpeg(64, 48);
        assert_eq!(declared_size(&jpeg, ImageFormat::Jpeg), Some((64, 48)));
        let mut png = Vec::new();
        RgbImage::new(40, 50)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encode png");
        assert_eq!(declared_size(&png, ImageFormat::Png), Some((40, 50)));
        // Cut before the frame header, or garbage after SOI: unknown, never a panic.
        assert_eq!(declared_size(&jpeg[..4], ImageFormat::Jpeg), None);
        assert_eq!(declared_size(&[0xFF, 0xD8, 0x00], ImageFormat::Jpeg), None);
        assert_eq!(declared_size(&png[..20], ImageFormat::Png), None);
    }

    #[test]
    fn a_png_declaring_a_huge_size_is_named_too() {
        let mut png = Vec::new();
        RgbImage::new(40, 50)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encode png");
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&3u32.to_be_bytes());
        let err = decode_image(&png, &DecodeLimits::default()).expect_err("must refuse");
        assert!(
            err.to_string().starts_with("the image is 100000x3 pixels"),
            "{err}"
        );
    }

    /// The pixels the `image` crate decodes (it wraps the same JPEG decoder).
    fn through_image_crate(bytes: &[u8]) -> RgbImage {
        image::load_from_memory_with_format(bytes, ImageFormat::Jpeg)
            .expect("image decodes")
            .into_rgb8()
    }

    /// `jpeg` with a comment segment (FF FE) put into the middle of its scan: the decoder
    /// stops at it and leaves the rest of the image unwritten.
    fn marker_inside_the_scan(jpeg: &[u8]) -> Vec<u8> {
        let sos = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("SOS");
        let mut mid = (sos + jpeg.len()) / 2;
        while jpeg[mid - 1] == 0xFF || jpeg[mid] == 0xFF {
            mid += 1;
        }
        [
            &jpeg[..mid],
            &[0xFF, 0xFE, 0x00, 0x04, b'h', b'i'],
            &jpeg[mid..],
        ]
        .concat()
    }

    #[test]
    fn jpeg_pixels_are_the_image_crates_even_in_a_reused_buffer() {
        let colour = encode_jpeg(96, 64);
        let mut grey = Vec::new();
        image::GrayImage::from_fn(80, 40, |x, y| image::Luma([(x * 3 + y) as u8]))
            .write_to(&mut Cursor::new(&mut grey), ImageFormat::Jpeg)
            .expect("encode grey");
        let broken = marker_inside_the_scan(&colour);
        let mut trailing = colour.clone();
        trailing.extend_from_slice(b"\xFF\xDA after the end");
        assert_eq!(jpeg_layout(&colour), JpegLayout::SingleScan);
        assert_eq!(jpeg_layout(&grey), JpegLayout::SingleScan);
        assert_eq!(jpeg_layout(&broken), JpegLayout::Other);
        assert_eq!(jpeg_layout(&trailing), JpegLayout::SingleScan);
        // The decoder stops at the marker and leaves the rest as it found it: zeroes in a
        // fresh buffer (this image's blue is 128 throughout).
        assert_eq!(through_image_crate(&broken).as_raw().last(), Some(&0));
        for bytes in [&colour, &grey, &broken, &trailing] {
            let want = through_image_crate(bytes);
            // A buffer holding another frame, larger and smaller than this one.
            for side in [200, 8] {
                let mut reused = RgbImage::from_pixel(side, side, image::Rgb([0xAA, 0x55, 0xAA]));
                decode_image_into(bytes, &DecodeLimits::default(), &mut reused).expect("decodes");
                assert!(reused == want, "pixels differ from the image crate's");
            }
        }
    }

    #[test]
    fn a_cut_jpeg_is_truncated_wherever_it_is_cut() {
        let jpeg = encode_jpeg(64, 48);
        let sos = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("SOS");
        for cut in [sos + 20, (sos + jpeg.len()) / 2, jpeg.len() - 1] {
            assert_eq!(
                jpeg_layout(&jpeg[..cut]),
                JpegLayout::Truncated,
                "cut at {cut}"
            );
            assert!(!jpeg_is_complete(&jpeg[..cut]));
            let err = decode_image(&jpeg[..cut], &DecodeLimits::default()).expect_err("cut");
            assert_eq!(
                err.to_string(),
                "the image could not be decoded: the JPEG is truncated (no end-of-image marker \
                 after the image data)"
            );
        }
        // Cut inside the headers: the slow check, which finds no scan.
        assert_eq!(jpeg_layout(&jpeg[..sos]), JpegLayout::Other);
        assert!(!jpeg_is_complete(&jpeg[..sos]));
        assert!(jpeg_is_complete(&jpeg));
        assert!(jpeg_is_complete(&marker_inside_the_scan(&jpeg)));
        // An end-of-image marker before any scan is not a complete image.
        assert!(!jpeg_is_complete(&[0xFF, 0xD8, 0xFF, 0xD9]));
    }

    #[test]
    fn refuses_too_many_bytes() {
        let mut big = encode_jpeg(64, 48);
        big.resize(40 << 20, 0);
        let err = decode_image(&big, &DecodeLimits::default()).expect_err("must refuse");
        assert!(matches!(err, Error::TooManyBytes { .. }), "got {err:?}");
    }
}
