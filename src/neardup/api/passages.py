"""Passage dedup: cut every run of at least ``min_words`` words that stands in an earlier
document, keep one copy, and say where each cut came from.

Two passes over the inputs. The first tokenizes every document into the shared-text index
(:mod:`neardup.sharedtext`); the index then yields each document's cuts, attributed to the
earliest document (under the keeper policy) that holds the same run. The second pass writes, in
input order: ``kept`` (records with their cuts removed, or untouched), ``removed`` (documents
left with fewer than ``min_words_left`` words, ``reason: passages``), ``spans.jsonl`` (one line
per cut) and ``stats.json``, committed together as in :func:`neardup.dedup`.
"""

from __future__ import annotations

import array
import errno
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from neardup import __version__
from neardup.config import PassagesConfig
from neardup.errors import ConfigError, InputError, NeardupError, output_error
from neardup.executors.local import LocalExecutor
from neardup.io.artifacts import OutputSet, _decode, _iter_records, default_output_format
from neardup.io.commit import WORK_PREFIX, check_inputs_outside, owned_output
from neardup.io.sources import (
    FieldSpec,
    ParsedBatch,
    RawBatch,
    Source,
    input_changed,
    open_sources,
    parse_batch,
)
from neardup.keep import keeper_rank
from neardup.sharedtext.cuts import apply_cuts, spans_at
from neardup.sharedtext.engine import CUT, IndexedBatch, SharedTextIndex, index_batch

SPAN_FIELDS = ("id", "start", "end", "words", "source_id", "source_start", "source_end")


@dataclass(frozen=True, slots=True)
class PassagesResult:
    """``stats`` as written to ``stats.json``; ``outputs`` the paths written."""

    stats: dict[str, Any]
    outputs: dict[str, str]


@dataclass(slots=True)
class _Corpus:
    """What the write pass needs of every accepted document (compact: a million documents
    hold this in memory)."""

    ids: list[Any]
    sources: array.array[int]  # index of the document's source
    lines: list[Any]  # its line (or path) in the source
    lengths: array.array[int]
    keep_values: list[Any]
    skipped: set[tuple[str, Any]]
    errors: list[str]


def _config(config: PassagesConfig | None, overrides: dict[str, Any]) -> PassagesConfig:
    cfg = config or PassagesConfig()
    return replace(cfg, **overrides) if overrides else cfg


def passages(
    inputs: str | Path | Sequence[str | Path],
    output: str | Path,
    config: PassagesConfig | None = None,
    *,
    report: str | Path | None = None,
    executor: Any = "local",
    **overrides: Any,
) -> PassagesResult:
    """Cut passages that stand in several documents from all but the first (see the module
    docstring); ``overrides`` are :class:`~neardup.config.PassagesConfig` fields. ``report``:
    also write a self-contained HTML report there (needs ``neardup[report]``).

    ``executor``: ``"local"`` (the default), ``"spark"`` or a :class:`neardup.SparkExecutor`
    (:mod:`neardup.api.spark_passages`): folders of part files ``kept/``, ``removed/`` and
    ``spans/`` that concatenated are the local run's files."""
    cfg = _config(config, overrides)
    paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    if not paths:
        raise ConfigError("no inputs given", remedy="pass at least one file or folder")
    sources = open_sources(paths)
    if "://" not in str(output):
        check_inputs_outside([*paths, *(s.name for s in sources)], Path(output))
    fmt = cfg.output_format or default_output_format(sources)
    if executor != "local":
        from neardup.api.spark_passages import passages_spark

        stats, outputs = passages_spark(sources, str(output), cfg, fmt, executor, report)
        return PassagesResult(stats, outputs)
    out = Path(output)
    with owned_output(out):
        try:
            with tempfile.TemporaryDirectory(dir=out, prefix=WORK_PREFIX) as work:
                result = _run(sources, out, Path(work), cfg, fmt)
        except OSError as exc:
            err = _write_error(exc, out, f"{out} was not changed")
            if err is exc:
                raise
            raise err from exc
        if report is not None:
            from neardup.report.passages import write_passages_report

            result.outputs["report"] = str(write_passages_report(report, result.stats, out))
        return result


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _write_error(exc: OSError, out: Path, state: str) -> Exception:
    """A full disk (or quota, or a read-only folder) met while writing the work files or the
    results, as an :class:`~neardup.errors.OutputError` that names the folder and says what it
    holds now (``state``); other errors as they are. numpy reports a short write without an
    errno ("N requested and M written"): the disk filled up."""
    if isinstance(exc, NeardupError):
        return exc
    short_write = exc.errno is None and "requested and" in str(exc) and "written" in str(exc)
    if not (short_write or exc.errno in _WRITE_ERRNOS):
        return exc
    if short_write:
        exc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return output_error(exc, out, doing="cannot write in output folder", state=state)


def _parse_and_index(
    raw: RawBatch, spec: FieldSpec, k: int, w: int
) -> tuple[str, ParsedBatch, IndexedBatch]:
    """Stage function (worker threads): parse a raw batch and index its texts."""
    parsed = parse_batch(raw, spec)
    return raw.source, parsed, index_batch(parsed.texts, k, w)


def _read(sources: list[Source], cfg: PassagesConfig, index: SharedTextIndex) -> _Corpus:
    keep_field = cfg.keep.field if cfg.keep.kind in ("newest", "priority") else None
    spec = FieldSpec(cfg.text_field, cfg.id_field, keep_field)
    corpus = _Corpus([], array.array("l"), [], array.array("q"), [], set(), [])
    seen: dict[Any, int] = {}  # id → the document's ordinal
    source_index = {s.name: i for i, s in enumerate(sources)}

    def raw_batches() -> Iterator[RawBatch]:
        for src in sources:
            yield from src.batches(cfg.batch_size)

    with LocalExecutor(cfg.effective_workers) as executor:
        batches = executor.map(_parse_and_index, raw_batches(), spec, index.k, index.w)
        for name, parsed, batch in batches:
            for err in parsed.errors:
                if cfg.on_error == "raise":
                    raise err
                corpus.skipped.add((name, err.line))
                if len(corpus.errors) < 20:
                    corpus.errors.append(str(err))
            keep: list[int] = []
            for i, doc_id in enumerate(parsed.ids):
                line = parsed.lines[i]
                if doc_id in seen:
                    if cfg.on_error == "raise":
                        first = seen[doc_id]
                        if first < len(corpus.ids):
                            where = (sources[corpus.sources[first]].name, corpus.lines[first])
                        else:  # earlier in this batch
                            where = (name, parsed.lines[keep[first - len(corpus.ids)]])
                        raise InputError(
                            f"duplicate id {doc_id!r} (first at {where[0]}:{where[1]})",
                            path=name,
                            line=line if isinstance(line, int) else None,
                            field=cfg.id_field,
                            remedy="make ids unique, drop the id field to have ids generated, "
                            "or pass --on-error skip to keep only the first",
                        )
                    corpus.skipped.add((name, line))
                    continue
                seen[doc_id] = len(corpus.ids) + len(keep)
                keep.append(i)
            if len(keep) < len(parsed.ids):
                for field_name in ("ids", "texts", "lines", "keep_values"):
                    values = getattr(parsed, field_name)
                    setattr(parsed, field_name, [values[i] for i in keep])
                batch = index_batch(parsed.texts, index.k, index.w)
            index.append(batch)
            corpus.ids.extend(parsed.ids)
            corpus.sources.extend([source_index[name]] * len(parsed.lines))
            corpus.lines.extend(parsed.lines)
            corpus.lengths.extend(len(t) for t in parsed.texts)
            corpus.keep_values.extend(parsed.keep_values)
    index.finish()
    return corpus


def _run(
    sources: list[Source], out: Path, work: Path, cfg: PassagesConfig, fmt: str
) -> PassagesResult:
    t0 = time.perf_counter()
    total = sum(s.size for s in sources)
    index = SharedTextIndex(
        work / "index", min_words=cfg.min_words, k=cfg.k, expected_tokens=total // 6
    )
    try:
        corpus = _read(sources, cfg, index)
    finally:
        index.close()
    t1 = time.perf_counter()
    lengths = np.asarray(corpus.lengths, dtype=np.int64)
    rank = keeper_rank(cfg.keep, lengths, corpus.keep_values, corpus.ids)
    cut_path = work / "cuts.bin"
    with open(cut_path, "wb") as fh:  # CUT records in document order, read back in the write
        for rows in index.cut_records(rank):
            rows.tofile(fh)
    counts = index.token_counts()
    t2 = time.perf_counter()
    outputs = OutputSet(out, fmt, side="spans", documents=cfg.mode == "remove")
    try:
        with CutReader(cut_path) as cuts:
            tally = _write(sources, corpus, cuts, counts, cfg, outputs)
        t3 = time.perf_counter()
        stats = {
            "neardup_version": __version__,
            "command": "passages",
            "documents": len(corpus.ids),
            **tally,
            "skipped_records": len(corpus.skipped),
            "errors": corpus.errors,
            "parameters": {**cfg.to_dict(), "k": index.k, "window": index.w},
            "inputs": [{"path": s.name, "format": s.format, "bytes": s.size} for s in sources],
            "stages": {
                "read+index": round(t1 - t0, 3),
                "match": round(t2 - t1, 3),
                "write": round(t3 - t2, 3),
            },
            "total_seconds": round(t3 - t0, 3),
        }
        written = outputs.commit(stats)
    except OSError as exc:
        outputs.abort()
        err = _write_error(exc, out, outputs.describe_state())
        if err is exc:
            raise
        raise err from exc
    except BaseException:
        outputs.abort()
        raise
    return PassagesResult(stats, written)


class CutReader:
    """The :data:`~neardup.sharedtext.engine.CUT` records of a file, a document at a time, for
    documents asked for in increasing order; a bounded chunk is in memory at once."""

    CHUNK = 1 << 18

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed in __exit__
        self._buf = np.zeros(0, dtype=CUT)
        self._docs = np.zeros(0, dtype=np.int64)  # the chunk's documents, contiguous
        self._i = 0

    def __enter__(self) -> CutReader:
        return self

    def __exit__(self, *_: Any) -> None:
        self._fh.close()

    def _fill(self) -> bool:
        if self._i < self._buf.size:
            return True
        self._buf = np.fromfile(self._fh, dtype=CUT, count=self.CHUNK)
        self._docs = np.ascontiguousarray(self._buf["doc"])
        self._i = 0
        return self._buf.size > 0

    def take(self, doc: int) -> np.ndarray:
        """The records of ``doc`` (none if it loses nothing)."""
        parts = []
        while self._fill() and int(self._docs[self._i]) <= doc:
            j = self._i + int(np.searchsorted(self._docs[self._i :], doc, side="right"))
            if int(self._docs[self._i]) == doc:
                parts.append(self._buf[self._i : j])
            self._i = j
        return np.concatenate(parts) if parts else self._buf[:0]


def _write(
    sources: list[Source],
    corpus: _Corpus,
    cuts: CutReader,
    counts: np.ndarray,
    cfg: PassagesConfig,
    outputs: OutputSet,
) -> dict[str, Any]:
    """Second pass: kept/removed records in input order, and one spans line per cut."""
    remove = cfg.mode == "remove"
    n = len(corpus.ids)
    n_removed = words_cut = chars_cut = n_cuts = docs_cut = 0
    source_words = np.zeros(n, dtype=np.int64)
    first_cut = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)  # ties: cut from first
    ordinal = 0
    for si, src in enumerate(sources):
        for line, raw, record in _iter_records(src):
            if (src.name, line) in corpus.skipped:
                continue
            if ordinal >= n or corpus.sources[ordinal] != si or corpus.lines[ordinal] != line:
                raise input_changed(src, line)
            x = ordinal
            ordinal += 1
            rows = cuts.take(x)
            if not rows.size:
                if remove:
                    if raw is not None and outputs.kept.format.startswith("jsonl"):
                        outputs.kept.write_line(raw + b"\n")
                    else:
                        rec = dict(record) if record is not None else _decode(raw, src, line)
                        outputs.kept.write(rec)
                continue
            rec = dict(record) if record is not None else _decode(raw, src, line)
            text = rec[cfg.text_field]
            words = (rows["end"] - rows["start"]).astype(np.int64)
            ats = zip(
                rows["at0"].tolist(),
                rows["at1"].tolist(),
                rows["at2"].tolist(),
                rows["at3"].tolist(),
                strict=True,
            )
            spans = spans_at(text, ats)
            sources_of = rows["source"].tolist()
            for (a, b), w, sx, ss, se in zip(
                spans,
                words.tolist(),
                sources_of,
                rows["src_start"].tolist(),
                rows["src_end"].tolist(),
                strict=True,
            ):
                values = (corpus.ids[x], a, b, w, corpus.ids[sx], ss, se)
                outputs.clusters.write_line(
                    orjson.dumps(dict(zip(SPAN_FIELDS, values, strict=True))) + b"\n"
                )
                chars_cut += b - a
            np.add.at(source_words, rows["source"], words)
            np.minimum.at(first_cut, rows["source"], n_cuts + np.arange(rows.size))
            n_cuts += rows.size
            docs_cut += 1
            words_cut += int(words.sum())
            if not remove:
                continue
            left = int(counts[x]) - int(words.sum())
            if left < cfg.min_words_left:
                rec["reason"] = "passages"
                rec["words_left"] = left
                rec["source_id"] = corpus.ids[sources_of[int(np.argmax(words))]]
                outputs.removed.write(rec)
                n_removed += 1
            else:
                rec[cfg.text_field] = apply_cuts(text, spans)
                outputs.kept.write(rec)
    top = np.lexsort((first_cut, -source_words))[:20]
    return {
        "kept": n - n_removed,
        "removed": n_removed,
        "documents_with_cuts": docs_cut,
        "cuts": n_cuts,
        "words_cut": words_cut,
        "characters_cut": chars_cut,
        "top_sources": [
            {"id": corpus.ids[int(i)], "words": int(source_words[i])}
            for i in top.tolist()
            if source_words[i] > 0
        ],
    }


def find_passages(
    texts: Sequence[str], *, min_words: int = 50, keep_first: bool = True
) -> list[dict[str, Any]]:
    """The passage cuts of a list of texts held in memory (documents are their indexes in
    ``texts``; the first in list order keeps each passage): one dict per cut with the fields of
    ``spans.jsonl``."""
    del keep_first  # list order is the only policy without fields
    with tempfile.TemporaryDirectory(prefix="neardup-passages-") as work:
        index = SharedTextIndex(Path(work), min_words=min_words)
        try:
            index.add(list(texts))
        finally:
            index.close()
        index.finish()
        rank = np.arange(len(texts), dtype=np.int64)
        out = []
        for d, mine in index.cuts(rank):
            spans = spans_at(texts[d], [c.at for c in mine])
            for c, (a, b) in zip(mine, spans, strict=True):
                out.append(
                    dict(
                        zip(
                            SPAN_FIELDS,
                            (d, a, b, c.words, c.source, c.src_start, c.src_end),
                            strict=True,
                        )
                    )
                )
        return out
