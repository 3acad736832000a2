"""How many threads numpy's BLAS uses inside a block: ``with blas_threads(1): ...``.

The clip solve (bake.solve) is made of many small batched products (per-frame 59 x 59 systems, 288-row landmark
Jacobians) and a few large ones. On them a second OpenBLAS thread costs more CPU than it saves, and where other
processes keep the cores busy its threads wait on each other, and the solve takes longer in wall time than with one
thread (measured in docs/MEASUREMENTS.md, "Where the time goes"). One thread also makes the solve's result the same
on every machine (with two, the order of float sums, and so the last bits that the Gauss-Newton steps amplify, depend
on how OpenBLAS splits the work).

The per-frame stage (bake.pipeline.observe) keeps both cores busy with threads of its own (tracking, two halves of
each network call); a product there large enough for OpenBLAS to split (a crop's rays against its axis, tens of
thousands of rows) wakes OpenBLAS's threads, which then spin beside them: with one thread there and in the rest of
the bake, the press clip took 5.7-6.1 s of CPU instead of 6.9-7.1 (``benchmarks/bench_real.py --no-oracle``, three
runs each taken in turn on a 2-core AMD EPYC, ``results/speed_press_amd_{04207a5,f6be664}_*.json``), the same
observations and bake to the last bit (docs/MEASUREMENTS.md, "Where the time goes").

numpy's wheels bundle OpenBLAS (``numpy.libs`` or ``numpy/.dylibs``), whose ``openblas_set_num_threads`` (with the
``64_`` suffix of the 64-bit-integer build, or the ``scipy_`` prefix of numpy 2's) sets the count for the process. The
setting is process-wide: use it where no other thread is running BLAS work. Where numpy uses another BLAS (Accelerate,
MKL) none of these names exists and ``blas_threads`` changes nothing; the environment variables (OPENBLAS_NUM_THREADS,
bake.batch) still apply there.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import logging
import os
from contextlib import contextmanager

import numpy as np

log = logging.getLogger(__name__)

_NAMES = ("openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads")
_LIB_GLOBS = ("numpy.libs/libopenblas*", "numpy.libs/libscipy_openblas*", "numpy/.dylibs/libopenblas*",
              "numpy/.dylibs/libscipy_openblas*")


@functools.lru_cache(maxsize=1)
def _openblas() -> tuple | None:
    """(get, set) of numpy's bundled OpenBLAS thread count, or None where it cannot be found."""
    site = os.path.dirname(os.path.dirname(np.__file__))
    for pattern in _LIB_GLOBS:
        for path in sorted(glob.glob(os.path.join(site, pattern))):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for name in _NAMES:
                if hasattr(lib, name.format("get")) and hasattr(lib, name.format("set")):
                    get, put = getattr(lib, name.format("get")), getattr(lib, name.format("set"))
                    get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                    return get, put
    log.debug("numpy's OpenBLAS not found; BLAS thread count left as it is")
    return None


def current() -> int | None:
    """numpy's OpenBLAS thread count now (None where it cannot be read)."""
    lib = _openblas()
    return None if lib is None else int(lib[0]())


@contextmanager
def blas_threads(n: int):
    """numpy's OpenBLAS limited to ``n`` threads inside the block, the previous count restored after it."""
    lib = _openblas()
    if lib is None:
        yield
        return
    before = int(lib[0]())
    lib[1](int(n))
    try:
        yield
    finally:
        lib[1](before)
