// One camera frame as JPEG bytes: createImageBitmap from the <video>, encoded in a dedicated
// Worker (./encoder.js) on an OffscreenCanvas; where Workers or OffscreenCanvas are missing,
// on the page with canvas.toBlob. Used by the session's stream (stream.js) and the
// calibration page. Frames stay in memory and are never stored.
//
// Why a Worker: a hidden tab's main thread runs canvas encoding at the pace of its throttled
// task queue, once a second after Chromium's intensive throttling starts; a dedicated Worker
// is not throttled (docs/architecture.md, "Streaming in the background").

const capture = document.createElement("canvas");
let encoder = null; // { worker, pending: Map(id -> { resolve, reject }), nextId }; false: none

/** The Worker encoder, started on first use; null where Workers or OffscreenCanvas are missing. */
function workerEncoder() {
  if (encoder !== null) return encoder || null;
  if (typeof Worker === "undefined" || typeof OffscreenCanvas === "undefined" || typeof createImageBitmap === "undefined") {
    encoder = false;
    return null;
  }
  try {
    const worker = new Worker("/assets/live/encoder.js");
    const enc = { worker, pending: new Map(), nextId: 1 };
    worker.onmessage = (event) => {
      const waiting = enc.pending.get(event.data.id);
      if (!waiting) return;
      enc.pending.delete(event.data.id);
      if (event.data.error) waiting.reject(new Error(event.data.error));
      else waiting.resolve(event.data.buffer);
    };
    worker.onerror = () => {
      // The Worker could not run (an old browser, a blocked script): encode on the page.
      for (const waiting of enc.pending.values()) waiting.reject(new Error("the encoder stopped"));
      worker.terminate();
      encoder = false;
    };
    encoder = enc;
    return enc;
  } catch {
    encoder = false;
    return null;
  }
}

/** True when `video` has a picture to capture. */
export function videoReady(video) {
  return video.readyState >= 2 && video.videoWidth > 0;
}

/**
 * The current picture of `video` as JPEG bytes (an ArrayBuffer), scaled to at most
 * `maxWidth` px wide; null when the encoder gave nothing. Rejects when the capture failed.
 */
export async function captureJpeg(video, { maxWidth = 640, quality = 0.7 } = {}) {
  const scale = Math.min(1, maxWidth / video.videoWidth);
  const width = Math.round(video.videoWidth * scale);
  const height = Math.round(video.videoHeight * scale);
  const enc = workerEncoder();
  if (enc) {
    const bitmap = await createImageBitmap(video);
    const id = enc.nextId++;
    return new Promise((resolve, reject) => {
      enc.pending.set(id, { resolve, reject });
      enc.worker.postMessage({ id, bitmap, width, height, quality }, [bitmap]);
    });
  }
  capture.width = width;
  capture.height = height;
  capture.getContext("2d").drawImage(video, 0, 0, width, height);
  const blob = await new Promise((resolve) => capture.toBlob(resolve, "image/jpeg", quality));
  return blob ? blob.arrayBuffer() : null;
}
