//! JPEG/PNG bytes to an RGB image, refusing oversized or malformed input before it costs
//! memory: the byte count, then the header's dimensions, are checked before any pixel is
//! decoded, and the decoder runs under an allocation limit.

use std::io::Cursor;

use image::{ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use crate::Error;

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
    let format = sniff(bytes)?;
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooManyBytes {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder fills a truncated scan with grey and carries on; a frame cut
        // short in transit must not be judged as if it were whole.
        return Err(Error::Decode(
            "the JPEG is truncated (no end-of-image marker after the image data)".into(),
        ));
    }
    // The size the header declares, read before any decoder is set up, so a refusal names
    // it (the decoder's own limit error carries no numbers).
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
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| map_image_error(e, limits, Some((width, height))))?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

/// Whether an end-of-image marker (FF D9) follows the last start-of-scan (FF DA).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let last_eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    match (last_sos, last_eoi) {
        (Some(sos), Some(eoi)) => eoi > sos,
        _ => false,
    }
}

fn check_dimensions(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), Error> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(Error::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
        });
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

/// The decoder's error in our terms. `size` is the declared size when known: a limit error
/// names it; without it, the error says what limit was hit rather than inventing a size.
fn map_image_error(e: image::ImageError, limits: &DecodeLimits, size: Option<(u32, u32)>) -> Error {
    match e {
        image::ImageError::Limits(_) => match size {
            Some((width, height)) => Error::TooLarge {
                width,
                height,
                max_pixels: limits.max_pixels,
                max_side: limits.max_side,
            },
            None => Error::Decode(format!(
                "the image needs more memory to decode than allowed for {} pixels",
                limits.max_pixels
            )),
        },
        image::ImageError::Unsupported(_) => Error::UnsupportedFormat,
        other => Error::Decode(other.to_string()),
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

    #[test]
    fn refuses_too_many_bytes() {
        let mut big = encode_jpeg(64, 48);
        big.resize(40 << 20, 0);
        let err = decode_image(&big, &DecodeLimits::default()).expect_err("must refuse");
        assert!(matches!(err, Error::TooManyBytes { .. }), "got {err:?}");
    }
}
