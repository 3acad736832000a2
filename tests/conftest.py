import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FOOTAGE = ROOT.parent / "shared" / "footage"

# Blender's user resources go to a throw-away folder before anything imports bpy.
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="fc_blender_user_"))


@pytest.fixture(scope="session")
def head():
    from core import head_model
    return head_model.load()


@pytest.fixture(scope="session")
def enlarged():
    """``enlarged(images, factor)``: the frames' centres enlarged ``factor`` times, the rest cut off (a camera held
    closer, as ``reshoots.reshoot`` "zoomF" makes a clip), and the 2x3 map from the frames' pixels to the copies'."""
    import cv2

    def enlarge(images: list, factor: float):
        h, w = images[0].shape[:2]
        A = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, factor)
        return [cv2.warpAffine(im, A, (w, h), flags=cv2.INTER_LINEAR) for im in images], A
    return enlarge


@pytest.fixture(scope="session")
def footage_dir():
    if not FOOTAGE.is_dir():
        pytest.skip("../shared/footage is absent")
    return FOOTAGE


@pytest.fixture(scope="session")
def sample_face_crops():
    """The bundled sample clip's face crops at the default network's size, one per tracked frame: (frame indices,
    (N, S, S, 3) uint8), cut at MediaPipe's tracker boxes as the bake first cuts them."""
    import numpy as np
    from core.footage import open_footage
    from core.presets import ASSETS, DEFAULT_PRESET, PRESETS
    from core.preprocess import crop_image
    from core.track import FaceTracker
    tracker, frames, crops = FaceTracker(), [], []
    with open_footage(str(ASSETS / "sample_clip.mp4")) as footage:
        for i, frame in enumerate(footage):
            state = tracker.update(frame.image)
            if state is not None:
                frames.append(i)
                crops.append(crop_image(frame.image, state.box, PRESETS[DEFAULT_PRESET].size))
    return np.array(frames), np.stack(crops)


@pytest.fixture(scope="session")
def build():
    """build.py (a script at the top, not a package module) loaded as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("fc_build", ROOT / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
