"""Face tracking on the real clips: fraction of decodable frames with a face, crop jitter, speed; PNG strips.

    .venv/bin/python benchmarks/bench_track.py [--footage ../shared/footage] [--png /tmp/track]
        [--json benchmarks/results/track.json] [clip.mp4 ...]

jitter = median over consecutive tracked triples of |c[t+1] - 2 c[t] + c[t-1]| (crop centre, pixels) / crop side.
Per clip also what two of core.track's thresholds are set against: the short-range detector's best score on the
first frame turned by 0-3 quarter turns (TURN_CHECK_SCORE) and the lowest and highest ratio of the face's size
(core.track.face_size) between consecutive frames (JUMP_RATIO; ``jumps``, the frames the tracker reported; over the
re-shot copies and the renders: benchmarks/bench_fold.py --read cuts).
Speed counts tracking only (landmarks + blendshapes every frame, detection when acquiring; decoding is timed
apart). The PNG strip per clip shows sampled frames with the landmarks (green dots), the face box (green) and the
crop box (red) with its centre (red cross), and under each frame the crop at 192 px with a centre cross.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.footage import open_footage  # noqa: E402
from core.preprocess import crop_image  # noqa: E402
from core.track import FaceTracker  # noqa: E402
from core.types import CropBox  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import CLIPS, FOOTAGE  # noqa: E402



def jitter(boxes: np.ndarray, found: np.ndarray) -> float:
    c = boxes[:, :2] + 0.5 * boxes[:, 2:3]
    ok = found[2:] & found[1:-1] & found[:-2]
    if not ok.any():
        return float("nan")
    d2 = np.linalg.norm(c[2:] - 2 * c[1:-1] + c[:-2], axis=1)[ok]
    return float(np.median(d2 / boxes[1:-1, 2][ok]))


def draw_tile(image: np.ndarray, box: CropBox | None, face, tile_h: int = 192, crop_px: int = 192,
              points: np.ndarray | None = None) -> np.ndarray:
    vis = image.copy()
    t = max(2, image.shape[0] // 200)
    if points is not None:
        for x, y in points[:, :2]:
            cv2.circle(vis, (int(x), int(y)), max(1, t // 2), (0, 255, 0), -1)
    if face is not None:
        x, y, w, h = (int(round(v)) for v in face)
        cv2.rectangle(vis, (x, y), (x + w, y + h), (0, 255, 0), t)
    if box is not None:
        cv2.rectangle(vis, (int(box.x0), int(box.y0)), (int(box.x0 + box.size), int(box.y0 + box.size)), (255, 0, 0), t)
        c = (int(box.x0 + box.size / 2), int(box.y0 + box.size / 2))
        cv2.drawMarker(vis, c, (255, 0, 0), cv2.MARKER_CROSS, 6 * t, t)
    s = tile_h / vis.shape[0]
    top = cv2.resize(vis, (int(vis.shape[1] * s), tile_h), interpolation=cv2.INTER_AREA)
    bottom = np.zeros((crop_px, top.shape[1], 3), np.uint8)
    if box is not None:
        crop = crop_image(image, box, crop_px)
        m = crop_px // 2
        cv2.drawMarker(crop, (m, m), (255, 0, 0), cv2.MARKER_CROSS, 16, 1)
        x = max(0, (top.shape[1] - crop_px) // 2)
        bottom[:, x:x + crop_px] = crop[:, : top.shape[1] - x]
    else:
        cv2.putText(bottom, "no face", (10, crop_px // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 80, 80), 2)
    return np.vstack([top, bottom])


def orientation_scores(tracker: FaceTracker, image: np.ndarray) -> list[float]:
    """The short-range detector's best score on ``image`` turned by 0, 1, 2 and 3 quarter turns (``np.rot90``; 0
    where it finds none): what core.track.TURN_CHECK_SCORE is set against (an upright clip turned by 2 is that face
    upside down, and its 0 the face turned back)."""
    out = []
    for k in range(4):
        dets = tracker.models.detect_faces(np.ascontiguousarray(np.rot90(image, k)), False)
        out.append(round(max((float(d.score) for d in dets), default=0.0), 3))
    return out


def step_ratio_range(sides: np.ndarray) -> list[float] | None:
    """[lowest, highest] ratio of the followed face's size (core.track.face_size) between consecutive frames with a
    face (what core.track.JUMP_RATIO is set against); None with fewer than two."""
    r = sides[1:] / sides[:-1]
    r = r[np.isfinite(r)]
    return [round(float(r.min()), 3), round(float(r.max()), 3)] if len(r) else None


def run_clip(path: Path, png_dir: Path | None, n_tiles: int = 8) -> dict:
    tracker = FaceTracker()
    boxes, found, tiles = [], [], []
    t_track = t_decode = 0.0
    scores = None
    with open_footage(path) as footage:
        n_expected = footage.frame_count_reported
        step = max(1, n_expected // n_tiles)
        it = iter(footage)
        while True:
            t0 = time.perf_counter()
            frame = next(it, None)
            t_decode += time.perf_counter() - t0
            if frame is None:
                break
            if scores is None:
                scores = orientation_scores(tracker, frame.image)
            t0 = time.perf_counter()
            state = tracker.update(frame.image)
            t_track += time.perf_counter() - t0
            box = None if state is None else state.box
            found.append(box is not None)
            boxes.append((box.x0, box.y0, box.size) if box else (np.nan,) * 3)
            if png_dir is not None and frame.index % step == 0 and len(tiles) < n_tiles:
                tiles.append(draw_tile(frame.image, box, tracker.face_box,
                                       points=None if state is None else state.landmarks))
        report = footage.report()
    boxes, found = np.asarray(boxes, np.float64), np.asarray(found, bool)
    n = len(found)
    out = {"clip": path.name, "frames_decoded": n, "frames_reported": n_expected,
           "found_fraction": float(found.mean()) if n else 0.0, "frames_without_face": int(n - found.sum()),
           "jitter_center_per_side": jitter(boxes, found),
           "track_fps": n / t_track if t_track else float("nan"),
           "decode_fps": n / t_decode if t_decode else float("nan"),
           "detections": tracker.detections, "refined": tracker.refined, "footage_report": report,
           "detector_score_by_quarter_turns": scores,
           "face_size_step_ratio": step_ratio_range(np.asarray(tracker.sizes, np.float64)), "jumps": len(tracker.jumps)}
    if png_dir is not None and tiles:
        png_dir.mkdir(parents=True, exist_ok=True)
        width = max(t.shape[1] for t in tiles)
        tiles = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles]
        rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
        rows = [np.pad(r, ((0, 0), (0, rows[0].shape[1] - r.shape[1]), (0, 0))) for r in rows]
        png = png_dir / f"track_{path.stem}.png"
        cv2.imwrite(str(png), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
        out["png"] = str(png)
    return out


def run_4k(path: Path, n: int = 60) -> dict:
    """Speed on 4K frames: the clip's first ``n`` frames scaled up into 3840x2160 (face about 1400 px)."""
    tracker = FaceTracker()
    found, t_track = 0, 0.0
    with open_footage(path, end=n) as footage:
        for frame in footage:
            big = np.zeros((2160, 3840, 3), np.uint8)
            big[300:1700, 1500:2900] = cv2.resize(frame.image, (1400, 1400), interpolation=cv2.INTER_LINEAR)
            t0 = time.perf_counter()
            found += tracker.update(big) is not None
            t_track += time.perf_counter() - t0
    return {"clip": f"{path.name} scaled into 3840x2160", "frames_decoded": n, "found_fraction": found / n,
            "track_fps": n / t_track}


SMALL_FRAME = (1280, 720)     # width, height of the small-face frames


def small_face_frame(image: np.ndarray, n: int, face_px: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Frame ``n`` of a close-up re-shot with the face about ``face_px`` wide in a grey SMALL_FRAME frame, moving 2 px
    per frame to the right: the frame, the scale and the (x, y) offset (a point u of the close-up, in pixel-centre
    coordinates, lands at u * scale + offset)."""
    s = face_px / (0.45 * image.shape[1])              # the face spans about 45 % of these close-ups
    small = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    big = np.full((SMALL_FRAME[1], SMALL_FRAME[0], 3), 96, np.uint8)
    x, y = 200 + 2 * n % 800, 300
    big[y:y + small.shape[0], x:x + small.shape[1]] = small
    return big, s, (x, y)


def run_small(path: Path, face_px: int = 60) -> dict:
    """A small face: the clip's frames scaled so the face is about ``face_px`` wide, moving across a 1280x720 frame."""
    tracker = FaceTracker()
    found, n, t_track = 0, 0, 0.0
    with open_footage(path) as footage:
        for frame in footage:
            big, _, _ = small_face_frame(frame.image, n, face_px)
            t0 = time.perf_counter()
            found += tracker.update(big) is not None
            t_track += time.perf_counter() - t0
            n += 1
    return {"clip": f"{path.name} with a {face_px}-px face in 1280x720", "frames_decoded": n,
            "found_fraction": found / max(n, 1), "track_fps": n / t_track, "detections": tracker.detections}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", default=list(CLIPS))
    ap.add_argument("--footage", type=Path, default=FOOTAGE)
    ap.add_argument("--png", type=Path, default=Path("/tmp/track"))
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "track.json")
    args = ap.parse_args(argv)
    if not args.footage.is_dir():
        print(f"footage folder {args.footage} is absent; nothing to measure", file=sys.stderr)
        return 1
    results = []
    for name in args.clips:
        r = run_clip(args.footage / name, args.png)
        results.append(r)
        print(f"{r['clip']:28s} frames {r['frames_decoded']:4d}/{r['frames_reported']:<4d} "
              f"found {100 * r['found_fraction']:6.2f}%  jitter {r['jitter_center_per_side']:.5f} side  "
              f"track {r['track_fps']:6.1f} fps  decode {r['decode_fps']:6.1f} fps  detections {r['detections']}  "
              f"double landmark passes {r['refined']}")
        print(f"    detector score at 0/1/2/3 quarter turns {r['detector_score_by_quarter_turns']}; face size step "
              f"ratio {r['face_size_step_ratio']}; jumps {r['jumps']}")
        for line in r["footage_report"]:
            print(f"    footage: {line}")
    if "expressions_office.mp4" in args.clips:
        r = run_4k(args.footage / "expressions_office.mp4")
        results.append(r)
        print(f"{r['clip']}: found {100 * r['found_fraction']:.1f}%  track {r['track_fps']:.1f} fps")
    if "talking_green_screen.mp4" in args.clips:
        r = run_small(args.footage / "talking_green_screen.mp4")
        results.append(r)
        print(f"{r['clip']}: found {100 * r['found_fraction']:.1f}%  track {r['track_fps']:.1f} fps  "
              f"detections {r['detections']}")
    import onnxruntime as ort
    meta = {"machine": describe_machine(), "cpu_count": os.cpu_count(),
            "opencv": cv2.__version__, "onnxruntime": ort.__version__,
            "tracker": "core.track on MediaPipe's face models (core.face_models)"}
    write_result(args.json, {"meta": meta, "clips": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
