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

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
