//! The vision core's error type. A frame with no face is not an error; bad input is.

/// What can go wrong turning bytes into a verdict. `Display` is fit to show a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No bytes at all.
    #[error("the image is empty")]
    Empty,
    /// The bytes are not a JPEG or PNG image.
    #[error("unsupported image format (expected JPEG or PNG)")]
    UnsupportedFormat,
    /// The encoded image is larger than the configured byte limit.
    #[error("the image is {bytes} bytes, more than the limit of {limit} bytes")]
    TooManyBytes { bytes: usize, limit: usize },
    /// The header declares dimensions beyond the limits; refused before decoding. The
    /// numbers are the ones the header declares.
    #[error(
        "the image is {width}x{height} pixels, more than the limit of {max_pixels} pixels \
         and {max_side} px a side"
    )]
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
        max_side: u32,
    },
    /// The image is too small to hold a face.
    #[error(
        "the image is {width}x{height} pixels, too small to analyse (at least {min_side} px a side)"
    )]
    TooSmall {
        width: u32,
        height: u32,
        min_side: u32,
    },
    /// The bytes claim a supported format but do not decode (truncated or corrupt).
    #[error("the image could not be decoded: {0}")]
    Decode(String),
    /// A model failed to load or run. Not caused by the input; a bug or a broken build.
    #[error("model error: {0}")]
    Model(String),
}
