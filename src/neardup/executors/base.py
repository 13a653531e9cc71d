"""The executor protocol: what every executor offers a schedule.

An executor only schedules stage functions; it holds no stage logic. While entered it holds
the resources its schedule needs — worker threads for :class:`~neardup.executors.local.
LocalExecutor`, a Spark session for :class:`~neardup.executors.spark.SparkExecutor` — and
releases them on exit. Their primitives differ with what they move: the local executor maps a
stage over batches in input order; the Spark executor maps over partitions, groups whole groups
of a key into one partition, checkpoints tables and numbers them. The schedules that call those
primitives (:func:`neardup.resolve.resolve` and :mod:`neardup.api.spark_plan`) call the same
stage functions of :mod:`neardup.stages`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    """An executor: its engine (``"local"``, ``"spark"``) and a context that holds its
    resources."""

    engine: str

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
