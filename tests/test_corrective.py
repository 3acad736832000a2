"""bake.corrective: the keys that carry the fitted head's shape beyond its exported ARKit weights."""
import numpy as np

from bake.corrective import MIN_MM, corrective_keys


def _weights(head, T=40, rank=3, seed=0):
    rng = np.random.default_rng(seed)
    exported = np.clip(rng.normal(0.1, 0.2, (T, 52)), 0, 1)
    diff = rng.normal(0, 1, (T, rank)) @ rng.normal(0, 0.1, (rank, 52))      # a few directions, as a fit's are
    return exported + diff, exported


def test_keys_carry_the_difference_between_fit_and_exported_weights(head):
    fit, exported = _weights(head)
    A = head.arkit_deltas.astype(np.float64)
    keys, w = corrective_keys(head.arkit_deltas, fit - exported)
    assert keys.shape == (3, head.n_vertices, 3) and w.shape == (len(fit), 3)     # as many keys as directions
    want = np.einsum("tk,kvc->tvc", fit - exported, A)
    got = np.einsum("tk,kvc->tvc", w.astype(np.float64), keys.astype(np.float64))
    assert np.abs(got - want).max() < 1e-3 * np.abs(want).max()
    assert np.abs(w).max() <= 1.0 + 1e-6 and np.allclose(np.abs(w).max(0), 1.0)


def test_at_most_n_max_keys_keep_the_largest_motion(head):
    fit, exported = _weights(head, rank=6)
    A = head.arkit_deltas.astype(np.float64)
    want = np.einsum("tk,kvc->tvc", fit - exported, A)
    err = []
    for n in (1, 2, 6):
        keys, w = corrective_keys(head.arkit_deltas, fit - exported, n_max=n)
        assert len(keys) == n
        got = np.einsum("tk,kvc->tvc", w.astype(np.float64), keys.astype(np.float64))
        err.append(np.sqrt(((got - want) ** 2).sum()))
    assert err[0] > err[1] > err[2] and err[2] < 1e-3 * np.sqrt((want ** 2).sum())


def test_no_keys_when_nothing_is_left_out(head):
    fit, exported = _weights(head)
    assert len(corrective_keys(head.arkit_deltas, exported - exported)[0]) == 0
    assert len(corrective_keys(head.arkit_deltas, fit - exported, n_max=0)[0]) == 0
    tiny = 1e-5 * (fit - exported)                                   # well under MIN_MM of motion
    assert np.abs(np.einsum("tk,kvc->tvc", tiny, head.arkit_deltas)).max() < MIN_MM
    assert len(corrective_keys(head.arkit_deltas, tiny)[0]) == 0
