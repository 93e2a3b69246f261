//! A frame under analysis, decoded only where it is read.
//!
//! A tracked frame is read only around the face the previous frame found: the rotated crop
//! for the face mesh, then the eye-brightness check. [`Frame`] carries the decoded image with
//! the [`Region`] of it that holds the frame ([`crate::decode::decode_region_into`] decodes a
//! JPEG only near the region asked for) and the bytes to decode the rest from. Every reader
//! asks for the region it will read ([`Frame::region`]) and only then gets the image; a
//! region not yet decoded is decoded first (the whole frame, once), so a reader never sees
//! pixels that are not the frame's, and a frame decoded in part is analysed exactly as a
//! whole one: the detector, when the track is lost, asks for the whole frame
//! ([`Frame::whole`]).

use image::RgbImage;

use crate::{
    Error,
    decode::{DecodeLimits, Region, decode_image_into},
};

/// A decoded frame, whole or in part; see the module documentation.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pixels: Pixels<'a>,
}

#[derive(Debug)]
enum Pixels<'a> {
    /// Every pixel decoded.
    Whole(&'a RgbImage),
    /// Only `decoded` of `image` holds the frame decoded from `bytes`; the other pixels are
    /// unspecified and never handed out.
    Part {
        image: &'a mut RgbImage,
        decoded: Region,
        bytes: &'a [u8],
        limits: &'a DecodeLimits,
    },
}

impl<'a> Frame<'a> {
    /// A frame decoded whole.
    pub(crate) fn whole_image(image: &'a RgbImage) -> Self {
        Self {
            pixels: Pixels::Whole(image),
        }
    }

    /// `image`, decoded from `bytes` (within `limits`) in `decoded` only.
    pub(crate) fn part(
        image: &'a mut RgbImage,
        decoded: Region,
        bytes: &'a [u8],
        limits: &'a DecodeLimits,
    ) -> Self {
        Self {
            pixels: Pixels::Part {
                image,
                decoded,
                bytes,
                limits,
            },
        }
    }

    /// Width and height of the frame, in pixels.
    pub(crate) fn dimensions(&self) -> (u32, u32) {
        match &self.pixels {
            Pixels::Whole(image) => image.dimensions(),
            Pixels::Part { image, .. } => image.dimensions(),
        }
    }

    /// The image, for a reader of `region` only (clipped to the frame): decoded whole first
    /// if that region is not decoded yet.
    pub(crate) fn region(&mut self, region: &Region) -> Result<&RgbImage, Error> {
        let (width, height) = self.dimensions();
        if let Pixels::Part {
            image,
            decoded,
            bytes,
            limits,
        } = &mut self.pixels
            && !decoded.contains(&region.clipped(width, height))
        {
            decode_image_into(bytes, limits, image)?;
            *decoded = Region::whole(image.width(), image.height());
        }
        Ok(match &self.pixels {
            Pixels::Whole(image) => image,
            Pixels::Part { image, .. } => image,
        })
    }

    /// The whole image, decoded in full first if it is not yet.
    pub(crate) fn whole(&mut self) -> Result<&RgbImage, Error> {
        let (width, height) = self.dimensions();
        self.region(&Region::whole(width, height))
    }

    /// The region decoded (all of it for a whole frame).
    #[cfg(test)]
    pub(crate) fn decoded(&self) -> Region {
        match &self.pixels {
            Pixels::Whole(image) => Region::whole(image.width(), image.height()),
            Pixels::Part { decoded, .. } => decoded.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use image::ImageFormat;

    use super::*;
    use crate::decode::{decode_image, decode_region_into};

    #[test]
    fn a_reader_beyond_the_decoded_region_gets_the_whole_frame() {
        let img = RgbImage::from_fn(160, 96, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8])
        });
        let mut bytes = Vec::new();
        img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
            .expect("encode");
        let limits = DecodeLimits::default();
        let full = decode_image(&bytes, &limits).expect("decodes");
        // Another frame's pixels in the buffer.
        let mut image = RgbImage::from_pixel(160, 96, image::Rgb([1, 2, 3]));
        let wanted = Region {
            columns: 70..80,
            rows: 40..50,
        };
        let decoded =
            decode_region_into(&bytes, &limits, &mut image, wanted.clone()).expect("decodes");
        assert!(decoded.contains(&wanted) && decoded != Region::whole(160, 96));
        let mut frame = Frame::part(&mut image, decoded.clone(), &bytes, &limits);
        // Inside: no decoding.
        frame.region(&wanted).expect("decoded");
        assert_eq!(frame.decoded(), decoded);
        // An empty region, or one clipped away, reads nothing.
        frame
            .region(&Region {
                columns: 500..600,
                rows: 0..10,
            })
            .expect("nothing to read");
        assert_eq!(frame.decoded(), decoded);
        // Beyond: the whole frame.
        let beyond = Region {
            columns: 0..10,
            rows: 40..50,
        };
        assert!(*frame.region(&beyond).expect("decodes") == full);
        assert_eq!(frame.decoded(), Region::whole(160, 96));
    }
}
