"""core.track: crop convention, synthetic moving face with a gap, several faces, real clips (footage marker)."""
import numpy as np
import pytest

from core.footage import open_footage
from core.track import CROP_CENTER_Y, CROP_SCALE, FaceTracker, OneEuro, face_to_crop, gap_warnings
from core.types import Frame


@pytest.fixture(scope="module")
def face_sprite(head):
    """A rendered head (Haar finds it) with fine texture for optical flow: (120, 120, 3) uint8."""
    from core import mesh_render as mr
    pal = {"skin": (205, 170, 150), "lips": (150, 60, 70), "brows": (40, 30, 20), "eyes": (60, 50, 50),
           "scalp": (40, 30, 25), "interior": (60, 30, 30)}
    cols = np.array([pal[n] for n in head.region_names], float)[head.region]
    img = mr.render_turntable_view(head.vertices, head.faces, 0.0, size=120, vertex_colors=cols).astype(np.int16)
    noise = np.random.default_rng(0).integers(-12, 13, img.shape[:2])[..., None]
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def background(h=240, w=320):
    yy, xx = np.mgrid[0:h, 0:w]
    g = (90 + 40 * np.sin(xx / 37.0) * np.cos(yy / 53.0)).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def paste(img, sprite, x, y):
    out = img.copy()
    h, w = sprite.shape[:2]
    out[y:y + h, x:x + w] = sprite
    return out


def test_face_to_crop_convention():
    box = face_to_crop((100, 50, 80, 80))
    assert box.size == pytest.approx(CROP_SCALE * 80)
    assert box.x0 + box.size / 2 == pytest.approx(140)
    assert box.y0 + box.size / 2 == pytest.approx(50 + CROP_CENTER_Y * 80)


def test_one_euro_smooths_noise_and_follows_steps():
    f = OneEuro(0.05, 0.0)
    rng = np.random.default_rng(0)
    out = np.array([f(np.array([rng.normal()]))[0] for _ in range(400)])
    assert out[100:].std() < 0.35
    g = OneEuro(0.05, 8.0)
    steps = [g(np.array([0.0 if i < 10 else 1.0]))[0] for i in range(40)]
    assert steps[-1] == pytest.approx(1.0, abs=0.05)


def test_moving_face_gap_and_recovery(face_sprite):
    bg = background()
    frames, truth = [], []
    for t in range(40):
        if 20 <= t < 26:   # face gone
            frames.append(bg)
            truth.append(None)
            continue
        x, y = (20 + 4 * t, 40 + t) if t < 20 else (170 - 3 * (t - 26), 90)
        frames.append(paste(bg, face_sprite, x, y))
        truth.append((x + 60, y + 60))
    result = FaceTracker(smoothing=0.3).track(Frame(i, i / 25, im) for i, im in enumerate(frames))
    assert result.found.tolist() == [c is not None for c in truth]
    assert result.warnings == ("no face in frames 20..25 (6 frames)",)
    assert np.isnan(result.boxes[~result.found]).all()
    centres = result.boxes[:, :2] + result.boxes[:, 2:] / 2
    sides = result.boxes[:, 2]
    for t, c in enumerate(truth):
        if c is None or t in (0, 26):
            continue
        # crop centre near the sprite's nose area, crop side ~ head size (sprite head is ~100 px tall)
        assert np.linalg.norm(centres[t] - np.array(c) - [0, 8]) < 15, (t, centres[t], c)
        assert 90 < sides[t] < 200


def test_several_faces_largest_and_chosen(face_sprite):
    import cv2
    small = cv2.resize(face_sprite, (84, 84), interpolation=cv2.INTER_AREA)
    frame = paste(paste(background(240, 400), face_sprite, 250, 60), small, 20, 80)
    big = FaceTracker().update(frame)
    assert big is not None and big.x0 + big.size / 2 > 250
    chosen = FaceTracker(choose=(60, 120)).update(frame)
    assert chosen is not None and chosen.x0 + chosen.size / 2 < 110
    assert FaceTracker().update(background()) is None


def test_gap_warnings():
    idx = np.arange(10, 20)
    found = np.array([1, 0, 0, 1, 1, 1, 0, 1, 1, 0], bool)
    assert gap_warnings(idx, found) == ["no face in frames 11..12 (2 frames)", "no face in frames 16..16 (1 frames)",
                                        "no face in frames 19..19 (1 frames)"]
    assert gap_warnings(idx, np.zeros(10, bool)) == ["no face found in any of the 10 frames"]


def test_bad_arguments():
    with pytest.raises(ValueError):
        FaceTracker(smoothing=2)
    with pytest.raises(ValueError):
        FaceTracker(choose="smallest")


@pytest.mark.footage
@pytest.mark.parametrize("clip", ["talking_green_screen.mp4", "expressions_office.mp4"])
def test_real_clip_tracked(footage_dir, clip):
    with open_footage(footage_dir / clip) as footage:
        result = FaceTracker().track(footage)
    assert len(result.frames) > 50
    assert result.found.mean() >= 0.99
    c = result.boxes[:, :2] + result.boxes[:, 2:] / 2
    d2 = np.linalg.norm(c[2:] - 2 * c[1:-1] + c[:-2], axis=1) / result.boxes[1:-1, 2]
    assert np.nanmedian(d2) < 0.01   # crop centre steady: < 1 % of the crop side per frame^2
    # face roughly centred horizontally in these clips, crop about the head size
    assert np.all(np.abs(c[:, 0] - 256) < 120) and np.all((result.boxes[:, 2] > 250) & (result.boxes[:, 2] < 700))


def test_large_frame_tracked_on_downscaled_copy(face_sprite):
    import cv2
    sprite = cv2.resize(face_sprite, (480, 480), interpolation=cv2.INTER_LINEAR)
    bg = cv2.resize(background(), (2560, 1440), interpolation=cv2.INTER_LINEAR)
    tracker = FaceTracker()
    for t in range(5):
        box = tracker.update(paste(bg, sprite, 1000 + 20 * t, 500))
        assert box is not None
        centre = np.array([box.x0 + box.size / 2, box.y0 + box.size / 2])
        assert np.linalg.norm(centre - [1240 + 20 * t, 740 + 32]) < 50, (t, centre)
        assert 350 < box.size < 800


def test_small_face_needs_min_face(face_sprite):
    import cv2
    sprite = cv2.resize(face_sprite, (40, 40), interpolation=cv2.INTER_AREA)   # face box about 28 px
    frame = paste(cv2.resize(background(), (1280, 720)), sprite, 600, 300)
    assert FaceTracker(min_face=24).update(frame) is not None    # fine pass at the scale min_face needs
    assert FaceTracker(min_face=80).update(frame) is None
