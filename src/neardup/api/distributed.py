"""Dedup on a cluster: :func:`neardup.dedup` with ``executor="spark"``.

The run writes into ``OUTPUT/.neardup-staging-<id>/`` through Spark's own committers (a retried
task never leaves a second copy of its output) and moves the finished folders into place only
at the end, with the protocol of :mod:`neardup.io.commit`: the old ``stats.json`` is removed
first, then the result folders are moved in, and ``stats.json`` is written last and marks a
complete run. A run that dies half-way leaves its staging folder behind and no ``stats.json``
beside files of another run; running it again removes stale staging folders and, being
deterministic, gives the same result.

A local ``OUTPUT`` (a path, not a URI) is also locked for the whole run like a local run's
(``OUTPUT/.neardup.lock``; a second run is refused), results of a local run left there
(``kept.jsonl``, …) are removed when the new folders are moved in, and the renames are made
durable with fsync. A URI (``s3a://``, ``hdfs://``, ``file://``) cannot be locked: two runs
into one URI are not detected, and each removes the other's staging folder; give each run its
own output URI.

Outputs are folders of part files that, concatenated in name order, equal the local run's files
byte for byte: ``kept/part-00000.jsonl``, …, ``removed/…``, ``clusters/…``.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from neardup import __version__
from neardup.candidates.lsh import LSHParams
from neardup.config import DedupConfig
from neardup.errors import ConfigError
from neardup.io.commit import fault_point, fsync_dir, owned_output, remove_stale_results
from neardup.io.sources import Source
from neardup.params import run_parameters
from neardup.pipeline import StageClock
from neardup.resolve import choose_lsh
from neardup.stages.decide import stats_counts

if TYPE_CHECKING:
    from neardup.api.spark_plan import SparkOutcome
    from neardup.executors.spark import SparkExecutor

RESULTS = ("kept", "removed", "clusters")
T = TypeVar("T")


def _is_uri(path: str) -> bool:
    return "://" in path


def dedup_spark(
    sources: list[Source],
    output: str,
    cfg: DedupConfig,
    fmt: str,
    executor: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the Spark plan and commit its outputs; returns ``(stats, outputs)``."""
    from neardup.api import spark_plan
    from neardup.executors.spark import SparkExecutor

    if cfg.strip_boilerplate:
        raise ConfigError(
            "--strip-boilerplate is not available with the Spark executor",
            remedy="run boilerplate stripping with --executor local",
        )
    spark_plan.check_inputs(sources, fmt)
    clock = StageClock()
    lsh = choose_lsh(cfg)
    ex = executor if isinstance(executor, SparkExecutor) else SparkExecutor()

    def produce(staging: str) -> tuple[Any, float]:
        outcome = spark_plan.run(ex, sources, cfg, lsh, staging, clock, fmt)
        return outcome, time.perf_counter()

    def stats_of(done: tuple[Any, float]) -> dict[str, Any]:
        clock.record("commit", done[1])
        return _stats(cfg, lsh, fmt, sources, done[0], clock, ex)

    stats = run_and_commit(ex, output, fmt, RESULTS, produce, stats_of)
    return stats, stats["outputs"]


def run_and_commit(
    ex: Any,
    output: str,
    fmt: str,
    results: tuple[str, ...],
    produce: Callable[[str], T],
    stats_of: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """Run a Spark schedule into a staging folder beside ``output`` and commit it: the output
    folder locked (local paths), staging folders of dead runs removed, ``produce(staging)``
    writing the part files, then the old ``stats.json`` removed first, the ``results`` folders
    renamed in, and ``stats_of(produced)`` written as the new ``stats.json`` last."""
    out = output if _is_uri(output) else str(Path(output).resolve())
    local = None if _is_uri(output) else Path(out)
    with _locked(local), ex:
        base = ex.qualify(out)
        for name in ex.list(base) if ex.exists(base) else []:
            if name.startswith(".neardup-staging-"):
                ex.delete(f"{base}/{name}")  # left by a run that did not finish
        staging = f"{base}/.neardup-staging-{uuid.uuid4().hex[:12]}"
        ex.start_work(f"{staging}/_work")
        try:
            produced = produce(staging)
            ex.delete(f"{staging}/_work")
            fault_point("before-commit")
            ex.delete(f"{base}/stats.json")  # first: no marker beside files of two runs
            if local is not None:
                fsync_dir(local)
                remove_stale_results(local, results)
            fault_point("marker-removed")
            outputs = _commit(ex, staging, base, fmt, results)
            if local is not None:
                fsync_dir(local)
            stats = stats_of(produced)
            stats["outputs"] = {**outputs, "stats": f"{_shown(out)}/stats.json"}
            data = orjson.dumps(stats, option=orjson.OPT_INDENT_2)
            ex.write_bytes(f"{staging}/stats.json", data)
            fault_point("marker-written")
            ex.rename(f"{staging}/stats.json", f"{base}/stats.json")
            if local is not None:
                fsync_dir(local)
        finally:
            ex.delete(staging)
    return stats


@contextlib.contextmanager
def _locked(folder: Path | None) -> Iterator[None]:
    """Lock a local output folder for the run (see :mod:`neardup.io.commit`); URIs are not
    locked."""
    if folder is None:
        yield
        return
    with owned_output(folder):
        yield


def _shown(path: str) -> str:
    """Local paths without the ``file:`` scheme Hadoop adds."""
    return path[5:] if path.startswith("file:") else path


def _commit(
    ex: Any, staging: str, base: str, fmt: str, results: tuple[str, ...] = RESULTS
) -> dict[str, str]:
    """Give part files stable names (``part-00000.jsonl``) and move the result folders into
    ``base``, replacing those of an earlier run (``kept`` and ``removed`` in the output
    format, the others JSONL)."""
    ext = "jsonl.gz" if fmt == "jsonl.gz" else "jsonl"
    outputs = {}
    for which in results:
        folder = f"{staging}/{which}"
        suffix = ext if which in ("kept", "removed") else "jsonl"
        k = 0
        for name in ex.list(folder):
            if name.startswith("part-"):
                ex.rename(f"{folder}/{name}", f"{folder}/part-{k:05d}.{suffix}")
                k += 1
            elif name.startswith((".", "_")):
                ex.delete(f"{folder}/{name}")
        ex.delete(f"{base}/{which}")
        ex.rename(folder, f"{base}/{which}")
        outputs[which] = _shown(f"{base}/{which}")
    return outputs


def _stats(
    cfg: DedupConfig,
    lsh: LSHParams,
    fmt: str,
    sources: list[Source],
    outcome: SparkOutcome,
    clock: StageClock,
    ex: SparkExecutor,
) -> dict[str, Any]:
    c = outcome.counts
    return {
        "neardup_version": __version__,
        "executor": "spark",
        **stats_counts(c),
        "similarity_histogram": outcome.histogram,
        "character_shingled_documents": c["character_shingled_documents"],
        "skipped_records": c["skipped_records"],
        "invalid_utf8_records": c["invalid_utf8_records"],
        "errors": outcome.errors,
        "shingles_spilled_to_disk": False,
        "parameters": {
            **run_parameters(cfg, lsh, fmt),
            **({"semantic": outcome.search} if outcome.search is not None else {}),
        },
        "boilerplate": None,
        "inputs": [{"path": s.name, "format": s.format, "bytes": s.size} for s in sources],
        "spark": {
            "master": ex.spark.sparkContext.master if ex.spark is not None else None,
            "partitions": ex.partitions,
            "input_splits": c["input_splits"],
            "default_parallelism": ex.spark.sparkContext.defaultParallelism
            if ex.spark is not None
            else None,
        },
        "stages": clock.stages,
        "total_seconds": clock.total,
        "peak_rss_mb": max((s["peak_rss_mb"] for s in clock.stages.values()), default=0.0),
    }
