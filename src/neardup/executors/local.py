"""The local executor: stage functions over batches on this machine.

Results come back in input order, with at most ``2 × workers`` batches in flight, so memory holds
a bounded window of the corpus however large it is. With one worker everything runs in the
calling thread.

Workers are threads by default. The stage's hot loops are numba kernels compiled with
``nogil=True``, so they run in parallel while another thread parses JSON or case-folds text; and
threads share the batches and results instead of pickling them between processes. On a 2-core
machine (100k documents, 386 MB of JSONL) processes spent more time moving shingle arrays
through pipes than they saved. ``kind="processes"`` remains for stage functions that hold the
GIL (fork start method: workers inherit the compiled kernels).
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class LocalExecutor:
    """Ordered, bounded parallel map over batches (an :class:`~neardup.executors.base.Executor`)."""

    engine = "local"

    def __init__(self, workers: int = 1, kind: Literal["threads", "processes"] = "threads") -> None:
        self.workers = max(1, int(workers))
        self.kind = kind
        self._pool: Any = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            if self.kind == "processes":
                self._pool = mp.get_context("fork").Pool(self.workers)
            else:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="neardup")
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if self._pool is None:
            return
        if isinstance(self._pool, ThreadPoolExecutor):
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
        else:
            if exc_type is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
        self._pool = None

    def _submit(self, fn: Callable[..., R], item: Any, args: tuple[Any, ...]) -> Callable[[], R]:
        if isinstance(self._pool, ThreadPoolExecutor):
            return self._pool.submit(fn, item, *args).result
        return self._pool.apply_async(fn, (item, *args)).get

    def map(self, fn: Callable[..., R], items: Iterable[T], *args: Any) -> Iterator[R]:
        """``fn(item, *args)`` for each item, in order."""
        if self._pool is None:
            for item in items:
                yield fn(item, *args)
            return
        window: deque[Callable[[], R]] = deque()
        limit = 2 * self.workers
        for item in items:
            window.append(self._submit(fn, item, args))
            if len(window) >= limit:
                yield window.popleft()()
        while window:
            yield window.popleft()()
