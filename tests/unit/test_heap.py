"""Gathering arrays without holding them twice, and the allocator settings of a run."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from neardup.heap import stack, tune_allocator


def test_stack_equals_concatenate_and_empties_the_list() -> None:
    chunks = [np.arange(i * 6, (i + 1) * 6, dtype=np.uint32).reshape(3, 2) for i in range(4)]
    want = np.concatenate(chunks)
    got = stack(chunks)
    assert np.array_equal(got, want) and got.dtype == np.uint32
    assert chunks == []


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_takes_the_allocator_settings() -> None:
    assert tune_allocator() is True
