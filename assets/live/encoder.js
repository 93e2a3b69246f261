// The JPEG encoder of the frame stream, run as a dedicated Worker (classic script, so it
// loads in every browser with Workers). The page hands it one camera frame as an
// ImageBitmap; it draws it on an OffscreenCanvas at the size asked for, encodes a JPEG and
// hands the bytes back.
//
// Why a Worker: a hidden tab's main thread runs canvas encoding (toBlob, convertToBlob) at
// the pace of its throttled task queue, once a second after Chromium's intensive throttling
// starts; a dedicated Worker is not throttled (docs/architecture.md, "Streaming in the
// background"). Frames stay in memory and are never stored.

/* global OffscreenCanvas */

let canvas = null;

self.onmessage = async (event) => {
  const { id, bitmap, width, height, quality } = event.data;
  try {
    if (!canvas || canvas.width !== width || canvas.height !== height) {
      canvas = new OffscreenCanvas(width, height);
    }
    const ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0, width, height);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
    const buffer = await blob.arrayBuffer();
    self.postMessage({ id, buffer }, [buffer]);
  } catch (e) {
    self.postMessage({ id, error: String((e && e.message) || e) });
  } finally {
    if (bitmap && bitmap.close) bitmap.close();
  }
};
