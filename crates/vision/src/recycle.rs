//! Large per-frame buffers kept for the next frame instead of allocated (and zeroed) anew:
//! the decoded frame (~0.7 MB at 640x360), the face crop (~0.8 MB) and the detector's
//! letterbox (~0.4 MB: the resizer's intermediate image, the resized frame, the input). Kept
//! by the shared models, not per stream, so they number at most the frames analysed at once
//! (the server's inference slots), however many sessions are open.
//!
//! A kept buffer still holds the pixels of a past frame until the next one overwrites it;
//! it never leaves the process, and `Debug` shows only how many are kept.

use std::sync::{Mutex, PoisonError};

/// At most this many buffers are kept: more than the frames a server analyses at once.
const MAX_KEPT: usize = 8;

/// A few spare buffers of one kind.
#[derive(Default)]
pub(crate) struct Recycler<T> {
    free: Mutex<Vec<T>>,
}

impl<T: Default> Recycler<T> {
    /// A kept buffer, or a new empty one.
    pub(crate) fn take(&self) -> T {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// Keeps `item` for a later [`Recycler::take`], unless enough are kept already.
    pub(crate) fn give(&self, item: T) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < MAX_KEPT {
            free.push(item);
        }
    }
}

impl<T> std::fmt::Debug for Recycler<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.free.lock().map_or(0, |free| free.len());
        f.debug_struct("Recycler").field("kept", &kept).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_number_of_buffers_and_never_shows_their_contents() {
        let recycler = Recycler::<Vec<u8>>::default();
        assert!(recycler.take().is_empty());
        for _ in 0..MAX_KEPT + 3 {
            recycler.give(vec![42; 16]);
        }
        assert_eq!(
            format!("{recycler:?}"),
            format!("Recycler {{ kept: {MAX_KEPT} }}")
        );
        for _ in 0..MAX_KEPT {
            assert_eq!(recycler.take(), vec![42; 16]);
        }
        assert!(recycler.take().is_empty());
    }
}
