"""Dedup runs: corpora on disk (`dedup`), in memory (`find_duplicates`), boilerplate reports."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neardup import __version__
from neardup.boilerplate_counts import candidate_units, frequent_units, raw_graph
from neardup.candidates.lsh import LSHParams
from neardup.config import DedupConfig
from neardup.errors import (
    ConfigError,
    DependencyError,
    NeardupError,
    note_interrupt,
    output_error,
)
from neardup.executors.base import Executor
from neardup.executors.local import LocalExecutor
from neardup.heap import tune_allocator
from neardup.io.artifacts import (
    BoilerplateOutput,
    OutputSet,
    default_output_format,
    write_clusters,
    write_documents,
)
from neardup.io.commit import WORK_PREFIX, check_inputs_outside, owned_output
from neardup.io.sources import Progress, RawBatch, Source, ensure_unchanged, open_sources
from neardup.params import parameter_report, run_parameters
from neardup.pipeline import (
    Fingerprints,
    StageClock,
    StageParams,
    fingerprint_batch,
    gather,
    scan,
)
from neardup.records import Cluster
from neardup.resolve import REASON_NAMES, Resolution, choose_lsh, resolve
from neardup.shingle_store import ShingleStore
from neardup.stages.decide import stats_counts
from neardup.text.boilerplate import BoilerplateSet, BoilerplateTally, UnitCounter

if TYPE_CHECKING:
    from neardup.executors.spark import SparkExecutor


@dataclass(frozen=True, slots=True)
class DedupResult:
    """What :func:`dedup` did: the contents of ``stats.json`` and the output paths."""

    stats: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return int(self.stats["kept"])

    @property
    def removed(self) -> int:
        return int(self.stats["removed"])


def _config(config: DedupConfig | None, overrides: dict[str, Any]) -> DedupConfig:
    cfg = config or DedupConfig()
    return cfg.with_(**overrides) if overrides else cfg


def _progress(enabled: bool | None, total: int, desc: str) -> Progress | None:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, file=sys.stderr, leave=False)


def plan(config: DedupConfig | None = None, **overrides: Any) -> dict[str, Any]:
    """The parameters a run would use (bands, rows, candidate probabilities), without a run."""
    cfg = _config(config, overrides)
    return parameter_report(cfg, choose_lsh(cfg))


def dedup(
    inputs: str | Path | Sequence[str | Path],
    output: str | Path,
    config: DedupConfig | None = None,
    *,
    progress: bool | None = None,
    report: str | Path | None = None,
    executor: str | SparkExecutor = "local",
    **overrides: Any,
) -> DedupResult:
    """Deduplicate corpora on disk and write kept, removed, clusters.jsonl and stats.json.

    ``inputs`` are JSONL (optionally .gz/.zst), Parquet or CSV files, or folders of .txt files.
    Every accepted input document ends up exactly once in kept or removed. ``overrides`` are
    :class:`DedupConfig` fields (``threshold=0.9``, ``keep="longest"``, ...). ``report``: also
    write a self-contained HTML report there (needs ``neardup[report]``).

    ``executor``: ``"local"`` (this machine, the default), ``"spark"`` (the active or a new
    Spark session; needs ``neardup[spark]``) or a :class:`neardup.SparkExecutor`. Spark runs write
    folders of part files (``kept/``, ``removed/``, ``clusters/``) and may write to any URI
    Spark's Hadoop connectors reach (``s3a://``, ``hdfs://``, ``gs://``).
    """
    cfg = _config(config, overrides)
    paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    if not paths:
        raise ConfigError("no inputs given", remedy="pass at least one file or folder")
    _load_model(cfg)
    sources = open_sources(paths)
    if "://" not in str(output):  # the inputs as given, and the files of input folders
        check_inputs_outside([*paths, *(s.name for s in sources)], Path(output))
    fmt = cfg.output_format or default_output_format(sources)
    if executor != "local":
        return _dedup_distributed(sources, output, cfg, fmt, executor, report)
    out = Path(output)
    with owned_output(out):
        return _dedup_locked(sources, out, cfg, fmt, progress, report)


def _dedup_locked(
    sources: list[Source],
    out: Path,
    cfg: DedupConfig,
    fmt: str,
    progress: bool | None,
    report: str | Path | None,
) -> DedupResult:
    """The run proper, with the output folder locked: fingerprint, resolve, write, commit."""
    tune_allocator()
    clock = StageClock()
    lsh = choose_lsh(cfg)
    total_bytes = sum(s.size for s in sources)
    outputs: OutputSet | None = None
    try:
        with (
            tempfile.TemporaryDirectory(dir=out, prefix=f"{WORK_PREFIX}{os.getpid()}-") as work,
            LocalExecutor(cfg.effective_workers) as executor,
        ):
            stamps = [src.stamp() for src in sources]
            fp, bset = _fingerprint(sources, cfg, executor, Path(work), progress, clock, lsh)
            t = time.perf_counter()
            res = resolve(fp, cfg, lsh)
            clock.record("candidates+verify+cluster+keep", t)
            t = time.perf_counter()
            outputs = OutputSet(out, fmt)
            bar = _progress(progress, total_bytes if fmt.startswith("jsonl") else 0, "write")
            try:
                write_documents(
                    sources,
                    fp,
                    res,
                    outputs,
                    boilerplate=BoilerplateOutput.of(cfg, fp),
                    progress=bar,
                )
                write_clusters(fp, res, outputs.clusters)
                clock.record("write", t)
                # the write pass checks the lines it reads, and copies kept runs from the file
                # as it is then: a rewrite in between is caught here, before anything is kept
                ensure_unchanged(sources, stamps)
                stats = _stats(cfg, fp, res, sources, fmt, clock, bset)
                written = outputs.commit(stats)
            except BaseException:
                outputs.abort()
                raise
            finally:
                if bar is not None:
                    bar.close()
        if report is not None:
            written["report"] = str(_write_report(Path(report), stats, out))
    except KeyboardInterrupt as exc:
        if outputs is not None and outputs.state != "previous":
            note_interrupt(exc, f"interrupted; {outputs.describe_state()}")
        raise
    except OSError as exc:
        if isinstance(exc, NeardupError) or not _is_output_error(exc, out, outputs):
            raise
        state = outputs.describe_state() if outputs is not None else f"{out} was not changed"
        if exc.filename is not None:
            raise output_error(exc, exc.filename, state=state) from exc
        raise output_error(exc, out, doing="cannot write in output folder", state=state) from exc
    return DedupResult(stats, written)


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _is_output_error(exc: OSError, out: Path, outputs: OutputSet | None) -> bool:
    """Whether an operating-system error came from writing: an error only writes meet, one
    during the second pass (which writes), or one that names a path in the output folder."""
    if exc.errno in _WRITE_ERRNOS or outputs is not None:
        return True
    name = exc.filename
    return name is not None and Path(os.path.realpath(name)).is_relative_to(os.path.realpath(out))


def _dedup_distributed(
    sources: list[Source],
    output: str | Path,
    cfg: DedupConfig,
    fmt: str,
    executor: str | SparkExecutor,
    report: str | Path | None,
) -> DedupResult:
    from neardup.api.distributed import dedup_spark

    if executor != "spark" and not (isinstance(executor, Executor) and executor.engine == "spark"):
        raise ConfigError(
            f"unknown executor {executor!r}", remedy="use executor='local' or executor='spark'"
        )
    if report is not None:
        raise ConfigError(
            "--report is written by local runs only",
            remedy="drop --report, or run with --executor local",
        )
    _load_model(cfg)  # a bad model stops the run before Spark starts
    stats, outputs = dedup_spark(sources, str(output), cfg, fmt, executor)
    return DedupResult(stats, outputs)


def _load_model(cfg: DedupConfig) -> None:
    """Method semantic: load the model before any work, so a bad one stops the run at once."""
    if cfg.method == "semantic" and cfg.model is not None:
        from neardup.semantic.embed import load_model

        load_model(cfg.model)


def _write_report(path: Path, stats: dict[str, Any], out: Path) -> Path:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise DependencyError(
            "the HTML report needs matplotlib",
            remedy="pip install 'neardup[report]'",
        ) from exc
    from neardup.report.html import write_report

    return write_report(path, stats, out)


def _scan_pass(
    sources: list[Source],
    cfg: DedupConfig,
    executor: LocalExecutor,
    work: Path,
    progress: bool | None,
    name: str,
    params: StageParams | None,
) -> Fingerprints:
    bar = _progress(progress, sum(s.size for s in sources), name)
    try:
        return scan(sources, cfg, executor, work, bar, params)
    finally:
        if bar is not None:
            bar.close()


def _fingerprint(
    sources: list[Source],
    cfg: DedupConfig,
    executor: LocalExecutor,
    work: Path,
    progress: bool | None,
    clock: StageClock,
    lsh: LSHParams,
) -> tuple[Fingerprints, BoilerplateSet | None]:
    """The fingerprint pass, preceded — when boilerplate is stripped — by a pass that counts
    line units and fingerprints the raw texts, so that units are counted once per distinct
    context (:func:`_boilerplate_set`)."""
    if not cfg.strip_boilerplate:
        t = time.perf_counter()
        fp = _scan_pass(sources, cfg, executor, work, progress, "fingerprint", None)
        clock.record("fingerprint", t)
        return fp, None
    bset = _boilerplate_set(sources, cfg, executor, work, progress, clock, lsh)
    t = time.perf_counter()
    params = StageParams.from_config(cfg, boilerplate=bset)
    fp = _scan_pass(sources, cfg, executor, work, progress, "strip+fingerprint", params)
    clock.record("strip+fingerprint", t)
    return fp, bset


def _boilerplate_set(
    sources: list[Source],
    cfg: DedupConfig,
    executor: LocalExecutor,
    work: Path,
    progress: bool | None,
    clock: StageClock,
    lsh: LSHParams,
) -> BoilerplateSet:
    """The boilerplate units: a pass counts the units of every document and fingerprints the raw
    texts; each unit found in enough documents is then counted once per distinct context
    (:mod:`neardup.boilerplate_counts`)."""
    t = time.perf_counter()
    params = StageParams.from_config(cfg, collect_units=True)
    raw = _scan_pass(sources, cfg, executor, work, progress, "count lines", params)
    clock.record("count lines", t)
    t = time.perf_counter()
    units = raw.units or UnitCounter()
    bset = candidate_units(
        units,
        min_docs=cfg.boilerplate_min_docs,
        long_words=cfg.boilerplate_long_words,
        long_min_docs=cfg.boilerplate_long_min_docs,
    )
    if len(bset):
        edges, slack = raw_graph(raw, cfg, lsh)
        bset = frequent_units(units, bset, len(raw), edges, slack)
    clock.record("boilerplate", t)
    return bset


def find_boilerplate(
    inputs: str | Path | Sequence[str | Path],
    config: DedupConfig | None = None,
    *,
    top: int = 50,
    progress: bool | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The boilerplate lines of a corpus, without changing anything.

    Returns ``{"documents", "documents_with_boilerplate", "lines_stripped", "bytes_stripped",
    "parameters", "lines": [{"line", "clusters", "documents", "examples"}, ...]}`` with the
    ``top`` lines that would be stripped from the most documents; ``clusters`` is a line's
    frequency, its number of distinct documents with copies of one counted once
    (:mod:`neardup.boilerplate_counts`), ``documents`` the number it is stripped from."""
    cfg = _config(config, {"strip_boilerplate": True, **overrides})
    paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    if not paths:
        raise ConfigError("no inputs given", remedy="pass at least one file or folder")
    sources = open_sources(paths)
    clock = StageClock()
    with (
        tempfile.TemporaryDirectory(prefix="neardup-boilerplate-") as work,
        LocalExecutor(cfg.effective_workers) as executor,
    ):
        fp, bset = _fingerprint(
            sources, cfg, executor, Path(work), progress, clock, choose_lsh(cfg)
        )
    return {"documents": len(fp), **_boilerplate_stats(cfg, fp, bset, top)}


def _boilerplate_stats(
    cfg: DedupConfig, fp: Fingerprints, bset: BoilerplateSet | None, top: int
) -> dict[str, Any]:
    tally = fp.boilerplate or BoilerplateTally()
    return {
        "documents_with_boilerplate": tally.documents,
        "lines_stripped": tally.lines_stripped,
        "bytes_stripped": tally.bytes_stripped,
        "frequent_units": len(bset) if bset is not None else 0,
        "parameters": {
            "mode": cfg.boilerplate_mode,
            "min_docs": cfg.boilerplate_min_docs,
            "long_words": cfg.boilerplate_long_words,
            "long_min_docs": bset.long_min_docs if bset is not None else None,
        },
        "lines": tally.top(top),
    }


def _stats(
    cfg: DedupConfig,
    fp: Fingerprints,
    res: Resolution,
    sources: list[Source],
    fmt: str,
    clock: StageClock,
    bset: BoilerplateSet | None = None,
) -> dict[str, Any]:
    return {
        "neardup_version": __version__,
        **stats_counts(res.counts),
        "similarity_histogram": res.histogram,
        "character_shingled_documents": res.counts["character_shingled_documents"],
        "skipped_records": len(fp.skipped),
        "invalid_utf8_records": fp.invalid_utf8,
        "errors": fp.error_messages,
        "shingles_spilled_to_disk": fp.shingles_spilled,
        "parameters": {
            **run_parameters(cfg, res.lsh, fmt),
            **({"semantic": res.search} if res.search is not None else {}),
        },
        "boilerplate": _boilerplate_stats(cfg, fp, bset, 20) if cfg.strip_boilerplate else None,
        "inputs": [{"path": s.name, "format": s.format, "bytes": s.size} for s in sources],
        "stages": clock.stages,
        "total_seconds": clock.total,
        "peak_rss_mb": max((s["peak_rss_mb"] for s in clock.stages.values()), default=0.0),
    }


def _as_rows(docs: Iterable[Any]) -> list[dict[str, Any]]:
    rows = []
    for i, d in enumerate(docs):
        if isinstance(d, str):
            rows.append({"id": i, "text": d})
        elif isinstance(d, tuple | list) and len(d) == 2:
            rows.append({"id": d[0], "text": d[1]})
        elif hasattr(d, "id") and hasattr(d, "text"):
            rows.append({"id": d.id, "text": d.text})
        else:
            raise ConfigError(
                f"document {i} is a {type(d).__name__}",
                remedy="pass strings, (id, text) pairs or neardup.Document objects",
            )
    return rows


def find_duplicates(
    docs: Iterable[Any], config: DedupConfig | None = None, **overrides: Any
) -> list[Cluster]:
    """Clusters of duplicates among in-memory documents.

    ``docs`` are strings (ids are their positions), ``(id, text)`` pairs or
    :class:`neardup.Document` objects. Returns clusters (two or more members) ordered by their
    first member, each with the kept id under the keeper policy and the exact similarity of every
    removed member to it.
    """
    cfg = _config(config, {"workers": 1, **overrides})
    if cfg.keep.kind in ("newest", "priority"):
        raise ConfigError(
            f"keeper policy '{cfg.keep}' needs records with fields",
            remedy="use dedup() on a file, or keep=first|longest|shortest|none here",
        )
    rows = _as_rows(docs)
    _load_model(cfg)
    batch = RawBatch("<memory>", "row", list(enumerate(rows, 1)))
    params = StageParams.from_config(cfg)
    # the same gathering as a run on disk: unique ids, bad records raise, shingles in memory
    fp = gather(
        iter([fingerprint_batch(batch, params)] if rows else []),
        ShingleStore(None),
        cfg.with_(on_error="raise"),
        ["<memory>"],
    )
    res = resolve(fp, cfg)
    return clusters_of(fp, res)


def clusters_of(fp: Fingerprints, res: Resolution) -> list[Cluster]:
    """Cluster records from a resolution."""
    out: list[Cluster] = []
    members_idx = np.flatnonzero(res.labels >= 0)
    if not members_idx.size:
        return out
    order = np.argsort(res.labels[members_idx], kind="stable")
    members_idx = members_idx[order]
    bounds = np.flatnonzero(np.diff(res.labels[members_idx])) + 1
    for group in np.split(members_idx, bounds):
        c = int(res.labels[group[0]])
        keeper = int(res.keepers[c])
        removed = [int(i) for i in group if res.removed[i]]
        sims = {fp.ids[i]: round(float(res.similarity[i]), 6) for i in removed}
        reasons = {fp.ids[i]: REASON_NAMES[int(res.reason[i])] for i in removed}
        out.append(
            Cluster(
                cluster_id=c,
                members=tuple(fp.ids[i] for i in group.tolist()),
                kept_id=fp.ids[keeper] if keeper >= 0 else None,
                min_similarity=min(sims.values()),
                max_similarity=max(sims.values()),
                similarities=sims,
                reasons=reasons,  # type: ignore[arg-type]
            )
        )
    return out
