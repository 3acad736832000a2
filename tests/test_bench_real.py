"""benchmarks/bench_real.py's weights-against-scores reading (no footage, no dlib)."""
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_real  # noqa: E402
from bake import fusion  # noqa: E402
from core.head_model import ARKIT_NAMES  # noqa: E402


def test_score_agreement_splits_prior_and_other_shapes_and_skips_the_rescaled_blinks():
    rng = np.random.default_rng(0)
    T = 12
    scores = rng.uniform(0, 1, (T, 52))
    scores[:, ARKIT_NAMES.index("tongueOut")] = np.nan            # the model does not read it
    names = list(reversed(ARKIT_NAMES)) + ["residual_0"]          # the bake's key order need not be ARKit's
    weights = np.zeros((T, 53))
    for k, n in enumerate(names[:52]):
        weights[:, k] = np.nan_to_num(scores[:, ARKIT_NAMES.index(n)])
    other = next(n for n, p in zip(ARKIT_NAMES, fusion.prior_shapes()) if not p and n != "tongueOut")
    weights[:, names.index(other)] += 0.3
    weights[:, names.index("eyeBlinkLeft")] += 0.9               # rescaled to the clip's lids: not compared
    faces = [SimpleNamespace(blendshapes=s) for s in scores[:-1]] + [None]
    tracks = SimpleNamespace(frames=np.arange(1, T + 1), weights=weights, key_names=names, tracked=np.ones(T, bool))
    r = bench_real.score_agreement(tracks, faces)
    n_other = int((~fusion.prior_shapes()).sum()) - 1             # without tongueOut (no blink is a non-prior shape)
    assert r["frames"] == T - 1
    assert r["prior_shapes"] == pytest.approx(0.0, abs=1e-12)
    assert r["other_shapes"] == pytest.approx(0.3 / n_other)
    assert list(r["worst_other"])[0] == other and r["worst_other"][other] == pytest.approx(0.3)
    with pytest.raises(ValueError):
        bench_real.score_agreement(tracks, faces[:-1])
