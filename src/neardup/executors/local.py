"""The local executor: stage functions over batches in worker processes on this machine.

Results come back in input order, with at most ``2 × workers`` batches in flight, so memory holds
a bounded window of the corpus however large it is. With one worker everything runs in the calling
process (no pickling, easiest to debug).
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class LocalExecutor:
    """Ordered, bounded parallel map over batches."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, int(workers))
        self._pool: Any = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            # fork: workers inherit the compiled kernels and character tables of the parent
            self._pool = mp.get_context("fork").Pool(self.workers)
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if self._pool is not None:
            if exc_type is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
            self._pool = None

    def map(self, fn: Callable[..., R], items: Iterable[T], *args: Any) -> Iterator[R]:
        """``fn(item, *args)`` for each item, in order."""
        if self._pool is None:
            for item in items:
                yield fn(item, *args)
            return
        window: deque[Any] = deque()
        limit = 2 * self.workers
        for item in items:
            window.append(self._pool.apply_async(fn, (item, *args)))
            if len(window) >= limit:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()
