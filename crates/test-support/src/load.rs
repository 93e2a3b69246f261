//! What the load tools and the fault tests put a server under, and how they read its cost:
//! the largest frame it still analyses, and a process's resident memory.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, RgbImage};

/// A JPEG of 1920x1080 noise just under 2 MB (1.9 MB or so): as large as a frame the server
/// still analyses (its limit is 2 MiB), and as slow to decode as frames get. The same bytes
/// on every call.
pub fn large_frame() -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let image = RgbImage::from_fn(1920, 1080, |_, _| {
        let mut byte = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        };
        image::Rgb([byte(), byte(), byte()])
    });
    let mut quality = 95;
    loop {
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, quality)
            .write_image(image.as_raw(), 1920, 1080, image::ExtendedColorType::Rgb8)
            .unwrap();
        if jpeg.len() < 2_000_000 {
            assert!(jpeg.len() > 1_000_000, "{} bytes", jpeg.len());
            return jpeg;
        }
        quality -= 1;
    }
}

/// A process's resident memory in kB, from `/proc/<pid>/status` (Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss_kb: u64,
    /// VmHWM: the most it has been resident.
    pub peak_kb: u64,
}

impl Memory {
    /// Process `pid`'s memory; zeros where `/proc` cannot be read.
    pub fn of(pid: u32) -> Memory {
        Self::read(&format!("/proc/{pid}/status"))
    }

    /// This process's memory; zeros where `/proc` cannot be read.
    pub fn of_self() -> Memory {
        Self::read("/proc/self/status")
    }

    fn read(path: &str) -> Memory {
        let Ok(status) = std::fs::read_to_string(path) else {
            return Memory::default();
        };
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kb: field("VmRSS:"),
            peak_kb: field("VmHWM:"),
        }
    }
}
