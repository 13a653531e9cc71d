"""OpenBLAS idle threads are told to sleep before numpy loads, unless the user said otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

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
