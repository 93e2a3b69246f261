#!/usr/bin/env python3
"""Would a still photo be judged better as a live session judges a person holding still?

A cold still gets its landmarks from the mesh run on the detector's crop; in a live session
every frame after the first is tracked: the mesh runs on the crop made from the previous
frame's landmarks. This script judges each photo of one half of the evaluation sets both
ways, with no change to the program: `focus-sentry analyze --stream PHOTO PHOTO PHOTO` is a
cold pass followed by two tracked refinements of the same frame. It prints, per pass, the
accuracy (labels as `focus-sentry eval` reads them), the head-pose MAE against the
`with_pose/poses.csv` ground truth, the misjudged photos, the pose of every photo with ground
truth, how far the pose, gaze and eye closure move from the cold pass to the first tracked
one, and how well the eye closure still separates open eyes from shut ones.

With `--eyes`, it instead prints the eye closure of every labelled photo (eyes seen on every
pass) per pass, and per pass how many open eyes read closed and shut eyes open at the default
threshold (`--closed-closure`, 0.65): docs/vision.md "Eye state on tracked frames".

With `--mirror`, it instead compares the pose of each photo with ground truth with the pose
of its mirror image (yaw negated), and their mean: test-time mirroring. The mirrored copies
go to a temporary folder and are deleted at once; the evaluation photos are read in place.

    python3 scripts/still-refinement.py target/release/focus-sentry --half choosing \
        ../shared/eval/faces ../shared/eval/faces2

Not run in CI; docs/vision.md ("Accuracy") quotes its figures. Measure the choosing half; the
held-out half only once, for a change the choosing half supports.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import tempfile

CLASSES = {"attentive", "away", "eyes_closed", "no_face"}


def fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def half_of(path: str) -> str:
    """The split of `focus-sentry eval --half`: the file name's FNV-1a hash, even = choosing."""
    return "choosing" if fnv1a(os.path.basename(path).encode()) % 2 == 0 else "held-out"


def read_samples(dirs):
    """{path: {"class": ..., "pose": (yaw, pitch)}} from the manifests and pose files."""
    samples = {}
    for d in dirs:
        for root, _, files in os.walk(d):
            if "MANIFEST.tsv" in files:
                with open(os.path.join(root, "MANIFEST.tsv")) as f:
                    for r in csv.DictReader(f, delimiter="\t"):
                        p = os.path.normpath(os.path.join(root, r["file"].strip()))
                        c = r["expected_class"].strip()
                        if p.lower().endswith((".jpg", ".jpeg", ".png")) and c in CLASSES:
                            samples.setdefault(p, {})["class"] = c
                            samples[p]["notes"] = (r.get("notes") or "").strip()
            if os.path.basename(root) == "with_pose" and "poses.csv" in files:
                with open(os.path.join(root, "poses.csv")) as f:
                    for r in csv.DictReader(f):
                        p = os.path.normpath(os.path.join(root, r["file"].strip()))
                        s = samples.setdefault(p, {})
                        s["pose"] = (float(r["yaw_deg"]), float(r["pitch_deg"]))
                        c = (r.get("expected_class") or "").strip()
                        if c in CLASSES:
                            s.setdefault("class", c)
    return samples


def analyze(binary, paths, stream):
    args = [binary, "analyze"] + (["--stream"] if stream else []) + paths
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"') and not line.startswith('{"stream"')]


def head(a):
    f = a.get("face")
    return (f["head_pose"]["yaw_deg"], f["head_pose"]["pitch_deg"]) if f else None


def refinement(binary, samples, passes):
    res = {p: analyze(binary, [p] * (1 + passes), stream=True) for p in samples}
    for k in range(1 + passes):
        ok = total = 0
        err = [0.0, 0.0]
        n = 0
        bad = []
        for p, s in samples.items():
            a = res[p][k]
            if "class" in s:
                total += 1
                good = a.get("focused") == (s["class"] == "attentive")
                ok += good
                if not good:
                    bad.append(f'{os.path.basename(p)}: {s["class"]}, got {a.get("reason") or "focused"} ({a.get("away")})')
            if "pose" in s and head(a):
                n += 1
                err[0] += abs(head(a)[0] - s["pose"][0])
                err[1] += abs(head(a)[1] - s["pose"][1])
        kind = "cold" if k == 0 else f"tracked refinement {k}"
        print(f"pass {k} ({kind}): {ok}/{total} right; pose MAE yaw {err[0] / n:.2f}, pitch {err[1] / n:.2f} ({n} faces)")
        for b in bad:
            print("    wrong:", b)

    print("\nphoto: truth yaw pitch | read yaw pitch per pass")
    for p, s in samples.items():
        if "pose" in s:
            reads = "  ".join(f"{h[0]:6.1f} {h[1]:6.1f}" if h else "  none       " for h in map(head, res[p]))
            print(f'{os.path.basename(p):38s} {s["pose"][0]:6.1f} {s["pose"][1]:6.1f} | {reads}  {s.get("class", "")}')

    print("\n|change| from the cold pass to the first tracked one (faces found in both)")
    keys = {
        "head yaw": lambda f: f["head_pose"]["yaw_deg"],
        "head pitch": lambda f: f["head_pose"]["pitch_deg"],
        "gaze yaw": lambda f: f["gaze"]["yaw_deg"],
        "gaze pitch": lambda f: f["gaze"]["pitch_deg"],
    }
    both = [(p, res[p][0], res[p][1]) for p in samples if res[p][0].get("face") and res[p][1].get("face")]
    for name, get in keys.items():
        v = sorted(abs(get(b["face"]) - get(a["face"])) for _, a, b in both)
        print(f"{name:11s} median {statistics.median(v):.2f}  90th pct {v[int(0.9 * len(v))]:.2f}  max {v[-1]:.2f} deg ({len(v)} faces)")
    dc = sorted(((b["eye_closure"] - a["eye_closure"], os.path.basename(p)) for p, a, b in both), key=lambda t: -abs(t[0]))
    v = sorted(abs(x) for x, _ in dc)
    print(f"eye closure median {statistics.median(v):.3f}  90th pct {v[int(0.9 * len(v))]:.3f}  max {v[-1]:.3f}; largest: "
          + ", ".join(f"{n} {x:+.2f}" for x, n in dc[:3]))

    print("\neye closure, most closed open eye / least closed shut eye (eyes visible)")
    for k in range(1 + passes):
        opened, shut = [], []
        for p, s in samples.items():
            a = res[p][k]
            if a.get("face") and a["face"].get("eyes_visible") and "class" in s:
                (shut if s["class"] == "eyes_closed" else opened).append((a["eye_closure"], os.path.basename(p)))
        opened.sort()
        shut.sort()
        print(f"pass {k}: open {opened[-1][0]:.2f} ({opened[-1][1]}), {opened[-2][0]:.2f} ({opened[-2][1]}); "
              f"shut {shut[0][0]:.2f} ({shut[0][1]}), {shut[1][0]:.2f} ({shut[1][1]})")


def eyes(binary, samples, passes, threshold):
    """Eye closure per pass of every labelled photo whose eyes are seen on every pass, and
    how the default `eyes_closed` threshold reads the open and the shut ones cold and tracked."""
    rows = []
    for p, s in samples.items():
        if "class" not in s or s["class"] == "no_face":
            continue
        res = analyze(binary, [p] * (1 + passes), stream=True)
        if not all(a.get("face") and a["face"].get("eyes_visible") for a in res):
            continue
        rows.append((p, s, [a["eye_closure"] for a in res], [a.get("reason") for a in res]))
    print(f"photo: class | eye closure per pass (cold, tracked...) | verdict per pass   (threshold {threshold})")
    for p, s, c, r in sorted(rows, key=lambda t: -t[2][1]):
        hard = " ".join(w for w in ("squint", "smil", "narrow") if w in s.get("notes", "").lower())
        cells = " ".join(f"{x:.2f}" for x in c)
        print(f'{os.path.basename(p):44s} {s["class"]:11s} | {cells} | {" ".join(str(x) for x in r)}  {hard}')
    for k in range(1 + passes):
        opened = sorted((c[k], os.path.basename(p)) for p, s, c, _ in rows if s["class"] != "eyes_closed")
        shut = sorted((c[k], os.path.basename(p)) for p, s, c, _ in rows if s["class"] == "eyes_closed")
        open_closed = [n for x, n in opened if x >= threshold]
        shut_open = [n for x, n in shut if x < threshold]
        sep = "separate" if opened[-1][0] < shut[0][0] else "do NOT separate"
        mid = (opened[-1][0] + shut[0][0]) / 2
        print(f"pass {k}: {len(opened)} open, {len(open_closed)} read closed {open_closed}; "
              f"{len(shut)} shut, {len(shut_open)} read open {shut_open}; most closed open {opened[-1][0]:.2f} "
              f"({opened[-1][1]}), least closed shut {shut[0][0]:.2f} ({shut[0][1]}): {sep}, midpoint {mid:.2f}")


def mirror(binary, samples):
    from PIL import Image, ImageOps

    err = {"as is": [0.0, 0.0, 0], "mirrored": [0.0, 0.0, 0], "mean of both": [0.0, 0.0, 0]}
    with tempfile.TemporaryDirectory() as tmp:
        for p, s in samples.items():
            if "pose" not in s:
                continue
            m = os.path.join(tmp, "mirror.jpg")
            with Image.open(p) as im:
                ImageOps.mirror(ImageOps.exif_transpose(im)).convert("RGB").save(m, quality=95)
            a, b = head(analyze(binary, [p], False)[0]), head(analyze(binary, [m], False)[0])
            os.remove(m)
            if not a or not b:
                print(f"{os.path.basename(p)}: no face {'as is' if not a else 'mirrored'}")
                continue
            b = (-b[0], b[1])
            both = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
            for k, v in (("as is", a), ("mirrored", b), ("mean of both", both)):
                err[k][0] += abs(v[0] - s["pose"][0])
                err[k][1] += abs(v[1] - s["pose"][1])
                err[k][2] += 1
    for k, (y, pi, n) in err.items():
        print(f"{k:13s} pose MAE yaw {y / n:.2f}, pitch {pi / n:.2f} ({n} faces)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--half", choices=["choosing", "held-out", "all"], required=True)
    ap.add_argument("--passes", type=int, default=2, help="tracked refinements after the cold pass")
    ap.add_argument("--mirror", action="store_true")
    ap.add_argument("--eyes", action="store_true", help="eye closure per pass against the threshold")
    ap.add_argument("--closed-closure", type=float, default=0.65, help="the default eyes_closed threshold")
    args = ap.parse_args()
    samples = {p: s for p, s in sorted(read_samples(args.dirs).items()) if args.half == "all" or half_of(p) == args.half}
    if args.mirror:
        mirror(args.binary, samples)
    elif args.eyes:
        eyes(args.binary, samples, args.passes, args.closed_closure)
    else:
        refinement(args.binary, samples, args.passes)


if __name__ == "__main__":
    main()
