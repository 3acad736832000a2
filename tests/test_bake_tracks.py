"""The baked scene's ARKit semantics: eyeBlink 1 shuts the clip's own lids (bake.tracks.shut_scales)."""
import dataclasses

import numpy as np
import pytest

from bake.tracks import BLINK_KEYS, build_tracks, posed_vertices, shut_scales
from core import landmark_template as lt
from core.head_model import ARKIT_NAMES, N_ARKIT


def _lid_gaps(head, template, vertices):
    p = template.points(np.asarray(vertices, np.float64), head)
    return [p[lt.RIGHT_UPPER_LID, 1] - p[lt.RIGHT_LOWER_LID, 1], p[lt.LEFT_UPPER_LID, 1] - p[lt.LEFT_LOWER_LID, 1]]


def _tracks(head, weights):
    T = len(weights)
    return build_tracks(head, np.zeros(len(head.identity_std)), weights, np.tile(np.eye(3), (T, 1, 1)),
                        np.tile([0.0, 0.0, 500.0], (T, 1)), np.arange(T), 30.0, np.eye(3), (640, 480),
                        np.ones(T, bool))


def test_blink_keys_shut_the_clips_own_lids_at_one(head):
    """A neutral whose right eye is already 30 % shut (as a real subject's fitted neutral opens the lids less than
    the mean head's): its eyeBlinkRight key is rescaled to shut the lids at 1 and the weights follow, so the mesh is
    the one the solve fitted at every frame; the left eye and the mean head keep the asset's own key."""
    template = lt.load()
    right, left = (ARKIT_NAMES.index(n) for n in BLINK_KEYS)
    assert shut_scales(head, head.vertices, head.arkit_deltas) == pytest.approx([1.0, 1.0], abs=0.02)
    narrow = dataclasses.replace(head, vertices=(head.vertices + 0.3 * head.arkit_deltas[right]).astype(np.float32))
    assert shut_scales(narrow, narrow.vertices, narrow.arkit_deltas) == pytest.approx([0.7, 1.0], abs=0.02)
    w = np.zeros((4, N_ARKIT), np.float32)
    w[:, right] = [0.0, 0.35, 0.6, 0.8]          # open, half shut, nearly shut, and past shut (the lids crossed)
    w[:, left] = 0.5
    tracks = _tracks(narrow, w)
    assert tracks.weights[:, right] == pytest.approx([0.0, 0.5, 0.6 / 0.7, 1.0], abs=0.02)
    assert tracks.weights[:, left] == pytest.approx(0.5, abs=0.02)
    for i in range(3):                            # the fitted mesh, unchanged where the lids do not cross
        want = narrow.vertices + np.tensordot(w[i], narrow.arkit_deltas, 1) + [0.0, 0.0, 500.0]
        assert np.abs(posed_vertices(tracks, i) - want).max() < 1e-3
    shut = tracks.basis + tracks.key_deltas[right]
    assert abs(_lid_gaps(narrow, template, shut)[0]) < 0.1          # mm: weight 1 brings the lids together
    assert _lid_gaps(narrow, template, posed_vertices(tracks, 3) - [0.0, 0.0, 500.0])[0] > -0.1   # not crossed
