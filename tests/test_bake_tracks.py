"""The baked scene's ARKit semantics: eyeBlink 1 shuts the clip's own lids (bake.tracks.shut_scales), 0 is the lids at
rest (bake.tracks.blink_rest, bake.fusion.lids_at_rest)."""
import dataclasses

import numpy as np
import pytest

from bake import fusion
from bake.tracks import BLINK_KEYS, REST_MAX, blink_rest, build_tracks, posed_vertices, shut_scales
from core import landmark_template as lt
from core.eyelids import lid_aspects
from core.head_model import ARKIT_NAMES, N_ARKIT


def _lid_gaps(head, template, vertices):
    p = template.points(np.asarray(vertices, np.float64), head)
    return [p[lt.RIGHT_UPPER_LID, 1] - p[lt.RIGHT_LOWER_LID, 1], p[lt.LEFT_UPPER_LID, 1] - p[lt.LEFT_LOWER_LID, 1]]


def _tracks(head, weights, rest=None, corrective=None):
    T = len(weights)
    return build_tracks(head, np.zeros(len(head.identity_std)), weights, np.tile(np.eye(3), (T, 1, 1)),
                        np.tile([0.0, 0.0, 500.0], (T, 1)), np.arange(T), 30.0, np.eye(3), (640, 480),
                        np.ones(T, bool), corrective_deltas=corrective, rest=rest)


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


def test_blink_zero_is_the_lids_at_rest_and_the_mesh_stays(head):
    """A clip whose open eyes the solve reads at eyeBlinkRight 0.2: with that rest, the exported weight is 0 at rest,
    still 1 where the lids meet and in proportion between; lids wider than at rest export 0 and ride on a corrective
    key of the baked head. The mesh is the solve's at every frame, and the left eye (rest 0) is as before."""
    right, left = (ARKIT_NAMES.index(n) for n in BLINK_KEYS)
    w = np.zeros((5, N_ARKIT + 1), np.float32)              # one corrective key of the caller's, kept
    f = shut_scales(head, head.vertices, head.arkit_deltas)[0]    # the solve's weight that shuts the lids (about 1)
    w[:, right] = f * np.array([0.2, 0.6, 1.0, 0.05, 0.2])  # rest, half way to shut, shut, wider than rest, rest
    w[:, left] = [0.0, 0.0, 0.5, 0.0, 0.0]
    w[:, -1] = 0.5
    corrective = 0.1 * head.arkit_deltas[ARKIT_NAMES.index("jawOpen")][None]
    before, rested = _tracks(head, w, corrective=corrective), _tracks(head, w, np.array([0.2, 0.0]), corrective)
    assert rested.weights[:, right] == pytest.approx([0.0, 0.5, 1.0, 0.0, 0.0], abs=1e-5)
    assert rested.weights[:, left] == pytest.approx(before.weights[:, left])
    assert rested.key_names[:N_ARKIT + 1] == before.key_names and rested.key_names[-1].startswith("corrective_")
    assert rested.weights[:, -1] == pytest.approx([0.0, 0.0, 0.0, 0.75, 0.0], abs=1e-5)    # (0.2 - 0.05) / 0.2
    for i in range(len(w)):
        assert np.abs(posed_vertices(rested, i) - posed_vertices(before, i)).max() < 1e-3
    assert not np.allclose(rested.basis, before.basis)      # the neutral's right lids at rest
    bare = build_tracks(head, np.zeros(len(head.identity_std)), w[:, :N_ARKIT], rested.head_rotation,
                        rested.head_translation, np.arange(len(w)), 30.0, np.eye(3), (640, 480), np.ones(len(w), bool),
                        rest=np.array([0.2, 0.0]), wider_keys=False)    # a head with the ARKit keys alone
    assert bare.key_names == before.key_names[:N_ARKIT]
    assert bare.weights[:, right] == pytest.approx(rested.weights[:, right])
    plain = _tracks(head, w[:, :N_ARKIT])
    assert np.abs(posed_vertices(bare, 1) - posed_vertices(plain, 1)).max() < 1e-3     # at rest and above: the same
    lids = [i for i in range(len(head.vertices)) if np.abs(head.arkit_deltas[right][i]).max() > 0.1]
    assert np.abs(posed_vertices(bare, 3) - posed_vertices(plain, 3))[lids].max() > 0.1  # wider: at rest instead


def test_blink_rest_is_the_median_at_rest_within_its_bounds(head):
    right, left = (ARKIT_NAMES.index(n) for n in BLINK_KEYS)
    w = np.zeros((6, N_ARKIT))
    w[:, right] = [0.1, 0.2, 0.3, 0.9, 0.8, 0.7]
    w[:, left] = 0.9
    at_rest = np.array([[1, 1], [1, 1], [1, 1], [0, 1], [0, 1], [0, 1]], bool)
    assert blink_rest(w, np.ones(2), at_rest) == pytest.approx([0.2, REST_MAX])     # a "rest" past half shut: capped
    assert blink_rest(w, np.array([0.5, 1.0]), at_rest)[0] == pytest.approx(0.4)   # the solve's 0.2 of a 0.5 shut
    assert blink_rest(w, np.ones(2), np.zeros((6, 2), bool)) == pytest.approx([0.0, 0.0])


def _eyes(aspect_right, aspect_left):
    """(T, 478, 2) landmarks whose eyes are 10 px wide with these lid gaps over width (T,) each."""
    marks = np.zeros((len(aspect_right), 478, 2))
    for (_, (upper, lower), (outer, inner)), aspect, x in zip(fusion.EYES, (aspect_right, aspect_left), (0.0, 30.0)):
        marks[:, outer, 0], marks[:, inner, 0] = x, x + 10.0
        marks[:, lower, 1] = 10.0 * np.asarray(aspect)
    return marks


def test_lids_at_rest_are_the_open_frames_of_eyes_that_open():
    """The frames within REST_FRACTION of the clip's open gap are at rest; an eye that never opens (a subject
    asleep: every gap under the open-eye line) has no rest, so its blinks are not read away."""
    open_right = np.array([0.30, 0.31, 0.05, 0.20, 0.30])
    asleep = np.full(5, 0.06)
    marks = _eyes(open_right, asleep)
    rest = fusion.lids_at_rest(lid_aspects(marks), fusion.open_aspects(lid_aspects(marks)))
    assert rest[:, 0].tolist() == [True, True, False, False, True]
    assert not rest[:, 1].any()
