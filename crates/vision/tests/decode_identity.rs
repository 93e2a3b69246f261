//! JPEG frames are decoded with zune-jpeg called directly (src/decode.rs) rather than through
//! the `image` crate: every photo in the fixtures must come out the same to the bit as through
//! `image` (orientation applied), also when decoded into a buffer that held another frame.

use std::path::{Path, PathBuf};

use focus_vision::DecodeLimits;
use focus_vision::decode::{decode_image, decode_image_into};
use image::{ImageDecoder, ImageReader, RgbImage};

fn jpegs(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            jpegs(&path, found);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        {
            found.push(path);
        }
    }
}

fn through_image_crate(bytes: &[u8]) -> RgbImage {
    let mut decoder = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .expect("format")
        .into_decoder()
        .expect("decoder");
    let orientation = decoder.orientation().expect("orientation");
    let mut image = image::DynamicImage::from_decoder(decoder).expect("decodes");
    image.apply_orientation(orientation);
    image.into_rgb8()
}

#[test]
fn every_fixture_jpeg_decodes_as_through_the_image_crate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut files = Vec::new();
    jpegs(&root, &mut files);
    files.sort();
    assert!(files.len() >= 50, "fixtures found: {}", files.len());
    let limits = DecodeLimits::default();
    // One buffer through all the files, as a stream reuses it.
    let mut reused = RgbImage::new(0, 0);
    for path in &files {
        let bytes = std::fs::read(path).expect("read fixture");
        let want = through_image_crate(&bytes);
        let fresh = decode_image(&bytes, &limits).expect("decodes");
        assert!(fresh == want, "{}: differs", path.display());
        decode_image_into(&bytes, &limits, &mut reused).expect("decodes");
        assert!(
            reused == want,
            "{}: differs in a reused buffer",
            path.display()
        );
    }
}
