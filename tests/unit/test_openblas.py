"""OpenBLAS idle threads are told to sleep before numpy loads, unless the user said otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SHOW = "import neardup, os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"


def _run(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if env_value is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_import_sets_the_openblas_thread_timeout() -> None:
    assert _run(None) == "4"


def test_a_value_the_user_set_is_kept() -> None:
    assert _run("20") == "20"


def test_it_is_set_before_numpy_is_imported() -> None:
    code = (
        "import sys, neardup; import neardup.openblas as o; "
        "print(list(sys.modules).index('neardup.openblas') < list(sys.modules).index('numpy'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


PROBE = """
import sys, json
{setup}
import neardup
rows = ["the harbour master counted boats at dawn " + str(i % 3) for i in range(6)]
neardup.find_duplicates(rows, ngram=3)
loaded = "scipy.linalg" in sys.modules
import numba.np.arraymath as arraymath
try:
    import scipy.linalg  # noqa: F401
    importable = True
except ImportError:
    importable = None  # scipy is not installed
print(json.dumps([loaded, arraymath._HAVE_BLAS, importable]))
"""


def _probe(setup: str) -> list[object]:
    code = PROBE.format(setup=setup)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_the_console_script_keeps_numba_from_loading_scipy_linalg() -> None:
    as_library = _probe("")
    as_script = _probe(
        "from neardup.openblas import numba_without_scipy_blas\nnumba_without_scipy_blas()"
    )
    if as_library[2] is None:
        pytest.skip("scipy is not installed: numba's probe costs nothing")
    assert as_library[:2] == [True, True]  # the library leaves numba's probe as it is
    assert as_script == [False, False, True]  # no scipy.linalg by the kernels; still importable
