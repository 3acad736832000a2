"""bake.cut_faces: the frames on which the picture's edge cuts the mouth, the eyes or the brows, named in a warning."""
import sys
from pathlib import Path

import numpy as np
import pytest

from bake.cut_faces import CUT_SHARE, PARTS, cut_parts, cut_warnings
from core import landmark_template as lt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

SIZE = (640, 480)


def faces(n: int = 10) -> np.ndarray:
    """``n`` frames of 478 points inside a 640x480 frame, the lips' at y 320-380, the rest above them."""
    rng = np.random.default_rng(0)
    p = np.empty((n, lt.NUM_LANDMARKS, 2))
    p[..., 0] = rng.uniform(200, 440, (n, lt.NUM_LANDMARKS))
    p[..., 1] = rng.uniform(150, 300, (n, lt.NUM_LANDMARKS))
    p[:, list(lt.LIPS), 1] = rng.uniform(320, 380, (n, len(lt.LIPS)))
    return p


def lips_below(p: np.ndarray, frames, share: float) -> np.ndarray:
    """``p`` with ``share`` of the lips' points on ``frames`` moved below the frame's bottom edge."""
    p = p.copy()
    some = list(lt.LIPS)[:int(np.ceil(share * len(lt.LIPS)))]
    for f in frames:
        p[f, some, 1] = SIZE[1] + 5.0
    return p


def test_a_part_is_cut_where_a_quarter_of_its_points_lie_outside_the_frame():
    p = lips_below(faces(), [3, 4], CUT_SHARE)
    cut = cut_parts(p, SIZE)
    mouth = [name for name, _ in PARTS].index("mouth")
    assert cut.shape == (10, len(PARTS)) and cut[:, mouth].tolist() == [k in (3, 4) for k in range(10)]
    assert not np.delete(cut, mouth, 1).any()
    assert not cut_parts(lips_below(faces(), [3, 4], 0.1), SIZE).any()       # a lip corner grazing the edge
    left = faces()
    left[5, list(lt.RIGHT_EYE + lt.LEFT_EYE), 0] -= 500.0                   # both eyes past the left edge
    assert cut_parts(left, SIZE)[:, [name for name, _ in PARTS].index("eyes")].tolist() == [k == 5 for k in range(10)]


def test_a_frame_without_a_face_is_never_cut():
    p = lips_below(faces(), range(10), 1.0)
    p[2:5] = np.nan
    assert cut_parts(p, SIZE).any(1).tolist() == [k not in (2, 3, 4) for k in range(10)]


def test_the_warnings_name_each_stretch_its_footage_frames_and_the_parts_cut():
    p = lips_below(faces(), [1, 2, 3, 7], 0.5)
    p[7, list(lt.RIGHT_BROW + lt.LEFT_BROW), 1] = -10.0                     # the brows above the top edge
    lines = cut_warnings(p, SIZE, np.arange(100, 110))
    assert len(lines) == 2
    assert lines[0].startswith("frames 101-103 (3 frames): the picture's edge cuts the face's mouth:")
    assert lines[1].startswith("frame 107: the picture's edge cuts the face's mouth and brows:")
    assert cut_warnings(faces(), SIZE, np.arange(10)) == []
    many = cut_warnings(lips_below(faces(), [0, 2, 4, 6, 8], 0.5), SIZE, np.arange(10), most=3)
    assert len(many) == 1 and many[0].startswith("5 frames in 5 stretches between frames 0 and 8:")


@pytest.mark.footage
def test_the_expressions_clip_zoomed_twice_is_warned_of_its_mouth_and_as_shot_is_not(footage_dir, tmp_path):
    """The expressions clip's first 90 frames as shot (the frame cuts the chin of some, not the lips) and zoomed twice
    (``reshoots.reshoot`` "zoom2": the lips leave the frame): the tracker's landmarks name the mouth on the copy only."""
    from reshoots import reshoot
    from core.footage import open_footage
    from core.track import FaceTracker

    def marks(path):
        with open_footage(str(path), end=90) as f:
            images = [fr.image for fr in f]
        p = np.full((len(images), lt.NUM_LANDMARKS, 2), np.nan)
        for k, s in enumerate(FaceTracker().states(images)):
            if s is not None:
                p[k] = s.landmarks[:, :2]
        return p, images[0].shape[1::-1]

    shot, size = marks(footage_dir / "expressions_office.mp4")
    assert cut_warnings(shot, size, np.arange(len(shot))) == []
    zoomed, size = marks(reshoot(footage_dir / "expressions_office.mp4", "zoom2", tmp_path).path)
    lines = cut_warnings(zoomed, size, np.arange(len(zoomed)))
    assert lines and all("mouth" in line for line in lines)
    assert cut_parts(zoomed, size)[:, 0].sum() >= 45
