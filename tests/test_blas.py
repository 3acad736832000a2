import numpy as np
import pytest

from bake import blas


def test_blas_threads_sets_and_restores():
    """Inside ``blas_threads(1)`` numpy's OpenBLAS runs one thread, and the count before is restored after (also on
    an error); products give the same numbers."""
    before = blas.current()
    if before is None:
        pytest.skip("this numpy has no bundled OpenBLAS (blas_threads is a no-op there)")
    a = np.random.default_rng(0).random((200, 200))
    with blas.blas_threads(1):
        assert blas.current() == 1
        one = a @ a
    assert blas.current() == before
    with pytest.raises(RuntimeError):
        with blas.blas_threads(1):
            raise RuntimeError("inside")
    assert blas.current() == before
    assert np.allclose(one, a @ a)
