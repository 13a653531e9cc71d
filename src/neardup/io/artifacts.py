"""The result files of a dedup run: kept, removed, clusters.jsonl and stats.json.

Outputs are written by a second pass over the inputs in input order: kept JSONL records are copied
byte for byte when the output format is JSONL; removed records gain ``kept_id``, ``cluster_id``,
``similarity`` and ``reason``. Every file goes to a temporary name; the commit
(:mod:`neardup.io.commit`) removes the old ``stats.json`` first, renames the new files in and
writes ``stats.json`` last, so ``stats.json`` always describes the files beside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from neardup.errors import InputError
from neardup.io.commit import (
    MARKER,
    HeldSignals,
    fault_point,
    fsync_dir,
    remove_marker,
    remove_stale_results,
    write_marker,
)
from neardup.io.ranges import copy_jsonl
from neardup.io.sinks import Sink, open_sink
from neardup.io.sources import Progress, Source, decode_json_line, input_changed, jsonl_lines
from neardup.stages.decide import REASON_NAMES, cluster_lines
from neardup.text.boilerplate import apply_removed

if TYPE_CHECKING:
    from neardup.config import DedupConfig
    from neardup.pipeline import Fingerprints
    from neardup.resolve import Resolution

ADDED_FIELDS = ("kept_id", "cluster_id", "similarity", "reason")
EXTENSIONS = {
    "jsonl": "jsonl",
    "jsonl.gz": "jsonl.gz",
    "jsonl.zst": "jsonl.zst",
    "csv": "csv",
    "parquet": "parquet",
}


def default_output_format(sources: list[Source]) -> str:
    """The output format that matches the inputs: their format (with the first one's
    compression for JSONL); a folder of .txt files is written as JSONL."""
    families = {("jsonl" if s.format == "txt" else s.format) for s in sources}
    if len(families) > 1:
        from neardup.errors import ConfigError

        raise ConfigError(
            "inputs have different formats (" + ", ".join(sorted(families)) + ")",
            remedy="pass --output-format jsonl|jsonl.gz|jsonl.zst|parquet|csv",
        )
    first = sources[0]
    if first.format == "jsonl" and first.compression:
        return f"jsonl.{first.compression}"
    return "jsonl" if first.format == "txt" else first.format


def _iter_records(src: Source) -> Iterator[tuple[Any, bytes | None, dict[str, Any] | None]]:
    """``(line, raw_line, record)`` for every record of a source, in the order of the scan."""
    if src.format == "jsonl":
        for batch in src.batches(1024):
            for line, payload in jsonl_lines(batch):
                yield line, payload, None
    elif src.format == "txt":
        for batch in src.batches(256):
            for rel, data in batch.items:
                yield rel, None, {"id": rel, "text": data.decode("utf-8", errors="replace")}
    else:
        for batch in src.batches(4096):
            for line, row in batch.items:
                yield line, None, row


class OutputSet:
    """The files of one run, committed together (see :mod:`neardup.io.commit`).

    ``state`` says what the output folder holds while and after the set is committed:
    ``"previous"`` (the earlier result, untouched), ``"none"`` (no complete result: the old
    ``stats.json`` is gone and the new one is not yet written) or ``"committed"``."""

    def __init__(
        self, output: Path, fmt: str, *, side: str = "clusters", documents: bool = True
    ) -> None:
        """``side`` names the JSONL file written beside the documents (``clusters`` for dedup,
        ``spans`` for passages); ``documents=False`` writes no kept or removed file."""
        self.output = output
        self.state = "previous"
        ext = EXTENSIONS[fmt]
        self.sinks: list[Sink] = []
        self.named: list[tuple[str, Sink]] = []
        try:
            if documents:
                self.kept = self._open("kept", output / f"kept.{ext}", fmt)
                self.removed = self._open("removed", output / f"removed.{ext}", fmt)
            self.clusters = self._open(side, output / f"{side}.jsonl", "jsonl")
        except BaseException:
            self.abort()
            raise

    def _open(self, key: str, path: Path, fmt: str) -> Sink:
        sink = open_sink(path, fmt)
        self.sinks.append(sink)
        self.named.append((key, sink))
        return sink

    def commit(self, stats: dict[str, Any]) -> dict[str, str]:
        """Close every file, then commit: remove the old ``stats.json``, remove results of an
        earlier run that this run does not produce, rename the new files in, write
        ``stats.json`` last. SIGINT and SIGTERM wait until the commit is done."""
        for sink in self.sinks:
            sink.close()
        fault_point("before-commit")
        out = self.output
        with HeldSignals(after=f"interrupted after the results were written to {out}"):
            self.state = "none"
            remove_marker(out)
            remove_stale_results(out, [s.path.name for s in self.sinks])
            paths: dict[str, str] = {}
            for key, sink in self.named:
                paths[key] = str(sink.commit())
                fault_point(f"renamed-{key}")
            fsync_dir(out)
            outputs = {**paths, "stats": str(out / MARKER)}
            stats["outputs"] = outputs
            write_marker(out, stats)
            self.state = "committed"
        return outputs

    def describe_state(self) -> str:
        """What the output folder holds now, in words (for error messages)."""
        if self.state == "previous":
            return f"{self.output} was not changed"
        if self.state == "none":
            return f"{self.output} holds no complete result now: its stats.json was removed"
        return f"the results in {self.output} are complete"

    def abort(self) -> None:
        """Drop the temporary files of every file not yet renamed into place."""
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                sink.abort()


@dataclass(frozen=True, slots=True)
class BoilerplateOutput:
    """How stripped boilerplate shows in the outputs: removed from the kept text (``strip``),
    or listed as line numbers in ``field`` of kept and removed records (``mark``)."""

    mode: str
    text_field: str
    removed_lines: dict[int, list[int]]
    field: str = "boilerplate_lines"

    @classmethod
    def of(cls, cfg: DedupConfig, fp: Fingerprints) -> BoilerplateOutput | None:
        if not cfg.strip_boilerplate:
            return None
        return cls(cfg.boilerplate_mode, cfg.text_field, fp.removed_lines)

    def apply(self, record: dict[str, Any], ordinal: int, kept: bool) -> dict[str, Any]:
        gone = self.removed_lines.get(ordinal)
        if self.mode == "mark":
            record[self.field] = gone or []
        elif gone and kept:
            record[self.text_field] = apply_removed(record[self.text_field], gone)
        return record


def write_documents(
    sources: list[Source],
    fp: Fingerprints,
    res: Resolution,
    outputs: OutputSet,
    *,
    boilerplate: BoilerplateOutput | None = None,
    progress: Progress | None = None,
) -> None:
    """Second pass: route every accepted record to kept or removed, in input order.

    A JSONL input written to a JSONL output, with no boilerplate to apply and no repaired
    record, is copied as byte ranges (:func:`neardup.io.ranges.copy_jsonl`); other inputs go
    record by record. Both write the same bytes."""
    skipped = set(fp.skipped)
    raw_ok = outputs.kept.format.startswith("jsonl")
    check_utf8 = fp.invalid_utf8 > 0
    removed = res.removed.tolist()  # Python bools: cheap to index in this per-record loop
    ends = np.searchsorted(np.asarray(fp.sources, dtype=np.int64), np.arange(len(sources)), "right")
    ordinal = 0
    for k, src in enumerate(sources):
        end = int(ends[k])

        def write_removed(
            row: int, raw: bytes, line: int, src: Source = src, first: int = ordinal
        ) -> None:
            rec = _decode(raw, src, line)
            _write_removed(rec, first + row, src, line, fp, res, outputs, boilerplate)

        if src.format == "jsonl" and raw_ok and boilerplate is None and not check_utf8:
            lines = np.asarray(fp.lines[ordinal:end], dtype=np.int64)
            bad = np.array(sorted(ln for s, ln in skipped if s == src.name), dtype=np.int64)
            copy_jsonl(
                src, lines, res.removed[ordinal:end], bad, outputs.kept, write_removed, progress
            )
            ordinal = end
            continue
        for line, raw, record in _iter_records(src):
            if progress is not None and raw is not None:
                progress.update(len(raw))
            if skipped and (src.name, line) in skipped:
                continue
            if ordinal >= end or fp.lines[ordinal] != line:
                raise input_changed(src, line)
            x = ordinal
            ordinal += 1
            touched = boilerplate is not None and (
                boilerplate.mode == "mark" or x in boilerplate.removed_lines
            )
            if not removed[x]:
                if (
                    raw is not None
                    and raw_ok
                    and not touched
                    and not (check_utf8 and _needs_repair(raw))
                ):
                    outputs.kept.write_line(raw + b"\n")
                    continue
                rec = dict(record) if record is not None else _decode(raw, src, line)
                if boilerplate is not None:
                    boilerplate.apply(rec, x, kept=True)
                outputs.kept.write(rec)
                continue
            rec = dict(record) if record is not None else _decode(raw, src, line)
            _write_removed(rec, x, src, line, fp, res, outputs, boilerplate)
    header = next((s.columns for s in sources if s.columns), None)
    if header is not None:  # a CSV input's header, for outputs that no row reaches
        outputs.kept.expect_columns(header)
        contained = ("containment", "containment_reverse") if res.containment is not None else ()
        outputs.removed.expect_columns([*header, *ADDED_FIELDS, *contained])


def _write_removed(
    rec: dict[str, Any],
    x: int,
    src: Source,
    line: Any,
    fp: Fingerprints,
    res: Resolution,
    outputs: OutputSet,
    boilerplate: BoilerplateOutput | None,
) -> None:
    """Write document ``x``, removed, with what it duplicates."""
    if boilerplate is not None:
        boilerplate.apply(rec, x, kept=False)
    c = int(res.labels[x])
    keeper = int(res.keepers[c])
    rec = removed_record(
        rec,
        kept_id=fp.ids[keeper] if keeper >= 0 else None,
        cluster_id=c,
        similarity=float(res.similarity[x]),
        reason=REASON_NAMES[int(res.reason[x])],
        source=src.name,
        line=line if isinstance(line, int) else None,
    )
    if res.containment is not None and res.containment_reverse is not None:
        rec["containment"] = _rounded(res.containment[x])
        rec["containment_reverse"] = _rounded(res.containment_reverse[x])
    outputs.removed.write(rec)


def removed_record(
    rec: dict[str, Any],
    *,
    kept_id: Any,
    cluster_id: int,
    similarity: float,
    reason: str,
    source: str,
    line: int | None,
) -> dict[str, Any]:
    """A removed record: the input record with ``kept_id``, ``cluster_id``, ``similarity``
    (rounded to 6 places) and ``reason`` added; refuses records that already have them."""
    clash = [f for f in ADDED_FIELDS if f in rec]
    if clash:
        raise InputError(
            f"record already has the field(s) {', '.join(clash)} that neardup adds to "
            "removed records",
            path=source,
            line=line,
            field=clash[0],
            remedy="rename those fields in the input first",
        )
    rec["kept_id"] = kept_id
    rec["cluster_id"] = cluster_id
    rec["similarity"] = round(similarity, 6)
    rec["reason"] = reason
    return rec


def _rounded(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)


def _needs_repair(raw: bytes) -> bool:
    """Whether a line was repaired when read (invalid UTF-8 or lone surrogates)."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return True
    return False


def _decode(raw: bytes | None, src: Source, line: Any) -> dict[str, Any]:
    record, _ = decode_json_line(raw or b"", src.name, line)
    return record


def write_clusters(fp: Fingerprints, res: Resolution, sink: Sink) -> None:
    """One line per cluster (:func:`neardup.stages.decide.cluster_lines`): id, size, kept id,
    members (input order), min/max similarity of the removed members to the kept one, and each
    removed member with its similarity and reason."""
    members = np.flatnonzero(res.labels >= 0)
    members = members[np.argsort(res.labels[members], kind="stable")]
    keepers = res.keepers[res.labels[members]]
    for line in cluster_lines(
        res.labels[members],
        [fp.ids[i] for i in members.tolist()],
        res.removed[members],
        res.similarity[members],
        res.reason[members],
        [fp.ids[k] if k >= 0 else None for k in keepers.tolist()],
    ):
        sink.write_line(line)
