"""Library entry points that feed corpora on disk into a persistent index."""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from neardup.config import DedupConfig
from neardup.errors import OutputError, output_error
from neardup.io.commit import (
    MARKER,
    HeldSignals,
    check_inputs_outside,
    fault_point,
    fsync_dir,
    owned_output,
    remove_marker,
    remove_stale_results,
    write_marker,
)
from neardup.io.sources import FieldSpec, open_sources


class IndexAddInterrupted(KeyboardInterrupt):
    """:func:`index_add` was interrupted (Ctrl-C, SIGTERM) after committing some batches.

    A :class:`KeyboardInterrupt`, so callers that catch one keep working; it also says what
    stayed in the index: ``committed`` documents stored by the batches that were committed
    (each batch is one transaction) into the index at ``path``; nothing was written to
    ``output``, if one was given, unless the interrupt came while the results were committed
    there (``written``: the add had finished)."""

    def __init__(
        self, path: str, committed: int, output: str | None = None, written: bool = False
    ) -> None:
        self.path = path
        self.committed = committed
        self.output = output
        if written:  # the interrupt came while the results were committed: the add finished
            message = (
                f"interrupted after the add finished: {committed:,} documents were added to "
                f"{path} and the results were written to {output}"
            )
        elif committed:
            message = (
                f"interrupted after committing {committed:,} documents to {path} (batches are "
                "atomic); re-run with --skip-existing to add the rest"
            )
        else:
            message = f"interrupted; no documents were added to {path}"
        if output is not None and not written:
            message += f"; nothing was written to {output}"
        super().__init__(message)
        self.neardup_message = message  # what a command line that reports interrupts prints


def iter_documents(
    inputs: str | Path | Sequence[str | Path], config: DedupConfig | None = None
) -> Any:
    """Every record of the inputs as ``{"id", "text", **other fields}`` (ids generated when
    absent), with the same checks and error messages as :func:`dedup`."""
    from neardup.io.artifacts import _iter_records
    from neardup.io.sources import decode_json_line, record_id, record_text

    cfg = config or DedupConfig()
    paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    spec = FieldSpec(cfg.text_field, cfg.id_field)
    for src in open_sources(paths):
        for line, raw, record in _iter_records(src):
            rec = record if record is not None else decode_json_line(raw or b"", src.name, line)[0]
            text = record_text(rec, spec, src.name, line)
            rid = record_id(rec, spec, src.name, line)
            rest = {k: v for k, v in rec.items() if k not in (cfg.text_field, cfg.id_field)}
            yield {"id": str(rid), "text": text, **rest}


def index_add(
    index: Any,
    inputs: str | Path | Sequence[str | Path],
    *,
    add_duplicates: bool = False,
    output: str | Path | None = None,
    config: DedupConfig | None = None,
    progress: bool | None = None,
    skip_existing: bool = False,
) -> dict[str, Any]:
    """Add the documents of corpora on disk to an index, one transaction per batch of
    ``config.batch_size`` documents; the next batch is read and fingerprinted while the current
    one is written (:meth:`~neardup.index.Index.add_many`).

    Returns counts and every result; with ``output``, also writes ``kept.jsonl`` (documents
    added as new), ``removed.jsonl`` (duplicates, with ``kept_id``, ``similarity``, ``reason``)
    and ``stats.json``, as ``dedup`` does, so the two compose: the folder is locked for the add,
    ``stats.json`` is removed before the new files are renamed in and written last, and inputs
    inside the folder are refused (see :mod:`neardup.io.commit`). ``progress``: a bar of documents
    on stderr (default: when stderr is a terminal).

    ``skip_existing``: documents whose id the index already holds are skipped (counted in
    ``skipped``, written to neither output), so an add that was interrupted, or failed on a
    full disk, can be run again with the same inputs. Batches committed before an interrupt stay
    in the index: the interrupt is raised as :class:`IndexAddInterrupted`, which says how many
    documents were committed; a storage failure as :class:`~neardup.errors.OutputError` that
    says the same."""
    cfg = config or DedupConfig()
    if output is None:
        return _add(index, inputs, None, cfg, add_duplicates, progress, skip_existing)
    out = Path(output)
    paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    folders = [p for p in paths if "://" not in str(p) and Path(p).is_dir()]
    # the inputs as given, and the files of input folders (an output folder inside one)
    check_inputs_outside([*paths, *(s.name for s in open_sources(folders))], out)
    with owned_output(out):
        return _add(index, inputs, out, cfg, add_duplicates, progress, skip_existing)


def _add(
    index: Any,
    inputs: Any,
    out: Path | None,
    cfg: DedupConfig,
    add_duplicates: bool,
    progress: bool | None,
    skip_existing: bool,
) -> dict[str, Any]:
    """The add proper, with the output folder (if any) locked: add, write, commit."""
    from neardup.index import CommittedInterrupt
    from neardup.io.sinks import open_sink

    t0 = time.perf_counter()
    sinks = None
    state = ["previous"]  # what ``out`` holds: see :class:`neardup.io.artifacts.OutputSet`
    if out is not None:
        sinks = (open_sink(out / "kept.jsonl", "jsonl"), open_sink(out / "removed.jsonl", "jsonl"))
    results: list[Any] = []
    pending: deque[list[dict[str, Any]]] = deque()  # batches read, results not yet back

    def batches() -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for doc in iter_documents(inputs, cfg):
            batch.append(doc)
            if len(batch) >= cfg.batch_size:
                pending.append(batch)
                yield batch
                batch = []
        if batch:
            pending.append(batch)
            yield batch

    bar = _bar(progress)
    try:
        adds = index.add_many(batches(), add_duplicates=add_duplicates, skip_existing=skip_existing)
        for res in adds:
            batch = pending.popleft()
            results.extend(res)
            if bar is not None:
                bar.update(len(res))
            if sinks is not None:
                _write_results(sinks, batch, res)
        index.checkpoint()
        summary = {
            "documents": len(results),
            "new": sum(r.status == "new" for r in results),
            "duplicates": sum(r.status == "duplicate" for r in results),
            "skipped": sum(r.status == "skipped" for r in results),
            "stored": sum(r.added for r in results),
            "seconds": round(time.perf_counter() - t0, 3),
            "index": index.stats(),
        }
        if out is not None and sinks is not None:
            _commit(out, sinks, summary, state)
    except BaseException as exc:
        if sinks is not None:
            for s in sinks:
                s.abort()
        if isinstance(exc, CommittedInterrupt):  # the batch in flight was committed too
            results.extend(exc.results)
        committed = sum(r.added for r in results)
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, IndexAddInterrupted):
            where = None if out is None else str(out)
            written = state[0] == "committed"
            raise IndexAddInterrupted(str(index.path), committed, where, written) from exc
        if isinstance(exc, OutputError) and state[0] != "previous":
            raise OutputError(
                f"{exc.message}; the add itself finished: {committed:,} documents were added to "
                f"{index.path}",
                remedy=exc.remedy,
            ) from exc
        if isinstance(exc, OutputError) and results:
            raise OutputError(
                f"{exc.message}; {committed:,} documents of this add were committed before "
                "(batches are atomic)",
                remedy=f"{exc.remedy}; then re-run with --skip-existing to add the rest",
            ) from exc
        raise
    finally:
        if bar is not None:
            bar.close()
    return {**summary, "results": [r.to_dict() for r in results]}


def _commit(out: Path, sinks: tuple[Any, Any], summary: dict[str, Any], state: list[str]) -> None:
    """Commit ``kept.jsonl`` and ``removed.jsonl`` as ``dedup`` commits its results (see
    :mod:`neardup.io.commit`): the old ``stats.json`` first removed, the new one written last.
    ``state[0]`` follows what ``out`` holds: ``"previous"``, ``"none"``, ``"committed"``."""
    try:
        for s in sinks:
            s.close()
        fault_point("before-commit")
        with HeldSignals(after=f"interrupted after the results were written to {out}"):
            state[0] = "none"
            remove_marker(out)
            remove_stale_results(out, [s.path.name for s in sinks])
            paths: dict[str, str] = {}
            for key, sink in zip(("kept", "removed"), sinks, strict=True):
                paths[key] = str(sink.commit())
                fault_point(f"renamed-{key}")
            fsync_dir(out)
            write_marker(out, {**summary, "outputs": {**paths, "stats": str(out / MARKER)}})
            state[0] = "committed"
    except OSError as exc:
        if state[0] == "previous":
            now = f"{out} was not changed"
        else:
            now = f"{out} holds no complete result now: its stats.json was removed"
        where = exc.filename if exc.filename is not None else out
        raise output_error(exc, where, state=now) from exc


def _bar(enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc="add", unit=" docs", unit_scale=True, file=sys.stderr, leave=False)


def _write_results(sinks: tuple[Any, Any], batch: list[dict[str, Any]], res: list[Any]) -> None:
    for doc, r in zip(batch, res, strict=True):
        if r.status == "skipped":
            continue
        if r.status == "new":
            sinks[0].write(doc)
        else:
            sinks[1].write(
                {
                    **doc,
                    "kept_id": r.kept_id,
                    "cluster_id": None,
                    "similarity": r.similarity,
                    "reason": r.reason,
                }
            )
