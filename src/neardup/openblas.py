"""OpenBLAS thread idling, set before numpy (and with it OpenBLAS) is first loaded.

numpy and scipy (which numba imports) each load an OpenBLAS whose worker threads, once
started, busy-wait for work for ``2**28`` CPU cycles before they sleep. neardup calls BLAS
only for semantic search, yet on a 2-core machine the two libraries' spinning took about
0.1–0.2 CPU-seconds of every run away from the fingerprint workers. ``OPENBLAS_THREAD_TIMEOUT``
(OpenBLAS's ``thread_timeout``, as a power of two; 4 is its minimum) makes idle threads sleep
at once; block matrix products of the semantic search were no slower with it. A value already
in the environment is left as it is, and so is an OpenBLAS loaded before neardup.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


def numba_without_scipy_blas() -> None:
    """Load numba's array functions with its BLAS probe answered "none", in a process that
    runs neardup alone (the console script; never on import of the library).

    When numba first loads its array functions, it decides whether ``np.dot`` and
    ``np.linalg`` can be compiled by importing ``scipy.linalg`` if scipy is installed: 0.14 s of
    every run, and a second OpenBLAS with its threads. neardup's kernels use neither (its one
    matrix product, in the semantic search, is numpy's). scipy stays importable afterwards."""
    probe = "scipy.linalg.cython_blas"
    if probe in sys.modules or "numba.np.arraymath" in sys.modules:
        return  # already decided
    sys.modules[probe] = None  # type: ignore[assignment]  # an import of it now fails at once
    try:
        import numba.np.arraymath  # noqa: F401 - runs the probe, once per process
    finally:
        if probe in sys.modules and sys.modules[probe] is None:
            del sys.modules[probe]
