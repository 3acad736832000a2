"""Per-call time of the real-face models (core.face_models) under onnxruntime, for 1 and 2 intra-op threads.

    .venv/bin/python benchmarks/bench_face_models.py [--repeats 50] [--json benchmarks/results/face_models.json]

Inputs: the bundled sample clip's first frame (384 px). Times are medians over ``--repeats`` calls after a warm-up
and include each call's own pre/post-processing (letterbox + decoding + NMS for the detectors, the affine crop and
its inverse for the landmarks, point selection for the blendshapes, both eyes' crops and the two calls for the
iris model's eye contours).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import face_models as fm  # noqa: E402
from core.footage import open_footage  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "face_models.json")
    args = ap.parse_args(argv)
    with open_footage(ROOT / "core" / "assets" / "sample_clip.mp4") as src:
        frame = next(iter(src)).image
    results = {}
    for threads in (1, 2):
        m = fm.FaceModels(threads=threads)
        det = m.detect_faces(frame)[0]
        roi = fm.roi_from_detection(det)
        pts, _ = m.landmarks(frame, roi)
        rois4 = [roi] * 4
        r = {"detector_short_ms": median_ms(lambda: m.detect_faces(frame, False), args.repeats),
             "detector_full_ms": median_ms(lambda: m.detect_faces(frame, True), args.repeats),
             "landmarks_ms": median_ms(lambda: m.landmarks(frame, roi), args.repeats),
             "landmarks_batch4_ms_per_crop": median_ms(lambda: m.landmarks_batch(frame, rois4), args.repeats) / 4,
             "blendshapes_ms": median_ms(lambda: m.blendshapes(pts), args.repeats),
             "eye_contours_ms_both_eyes": median_ms(lambda: m.eye_contours(frame, pts), args.repeats)}
        results[f"threads_{threads}"] = r
        print(f"threads {threads}: " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()))
    import onnxruntime as ort
    meta = {"machine": describe_machine(), "cpu_count": os.cpu_count(),
            "onnxruntime": ort.__version__, "frame": list(frame.shape), "repeats": args.repeats}
    write_result(args.json, {"meta": meta, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
