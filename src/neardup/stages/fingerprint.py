"""Stages from raw input rows to documents: fingerprint, positions and ids, document counts.

:func:`fingerprint_partition` wraps the local path's :func:`neardup.pipeline.fingerprint_batch`
(parse → normalise → shingle → exact hash + MinHash), so both executors fingerprint with the same
code; :func:`reject_partition` applies the rule that the first record of an id wins, with the
error message the local path gives (:func:`neardup.stages.decide.duplicate_id_error`).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from neardup.io.sources import RawBatch, without_bom
from neardup.pipeline import ContainmentBatch, StageParams, fingerprint_batch
from neardup.stages.arrow import (
    DOC_COUNTS_SCHEMA,
    DOCUMENT_SCHEMA,
    FINGERPRINT_SCHEMA,
    GENERATED,
    KIND_DOC,
    KIND_ERROR,
    KIND_SPLIT,
    PASSTHROUGH,
    POS_SHIFT,
    REJECT_SCHEMA,
    column,
    packed,
    packed64,
    pickled,
    whole,
)
from neardup.stages.decide import document_counts, duplicate_id_error
from neardup.verify import sorted_sets


@dataclass(frozen=True, slots=True)
class ReadSpec:
    """How one input's raw rows look: ``fmt`` is jsonl, parquet or txt; ``src`` its number."""

    src: int
    name: str
    fmt: str
    txt_ranks: dict[str, int] | None = None  # txt: relative path -> rank in sorted order
    #: carry each record's raw bytes in the ``raw`` column (False: null; the output stage of
    #: a JSONL input reads its lines again instead, see :func:`line_rows`)
    keep_raw: bool = True


def _fingerprint_rows(
    raw: RawBatch, rows: list[int], spec: ReadSpec, params: StageParams
) -> tuple[dict[str, pa.Array], list[tuple[int, Any]], int]:
    """Fingerprint one raw batch whose items are numbered by ``rows``; returns the doc and
    error columns (split filled in by the caller)."""
    bf = fingerprint_batch(raw, params)
    n = len(bf.ids)
    row_of = dict(zip([item[0] for item in raw.items], rows, strict=True))
    doc_rows = [row_of[line] for line in bf.lines]
    ids: list[Any] = []
    for rid in bf.ids:
        generated = isinstance(rid, str) and rid.startswith(GENERATED + ":")
        ids.append(None if generated else pickle.dumps(rid, protocol=5))
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(bf.shingle_counts, out=starts[1:])
    sets, set_offsets = sorted_sets(bf.shingles, starts, np.arange(n, dtype=np.int64))
    k = bf.signatures.shape[1] if bf.signatures.ndim == 2 else params.num_perm
    exact = np.ascontiguousarray(bf.exact).view(np.int64).reshape(-1, 2)
    if raw.kind == "row":  # Parquet rows: the whole record, for the output writer
        raw_of = {line: pickle.dumps(rec, protocol=5) for line, rec in raw.items}
    else:
        raw_of = dict(raw.items)
    docs = {
        "kind": pa.array(np.full(n, KIND_DOC, np.int8)),
        "src": pa.array(np.full(n, spec.src, np.int32)),
        "row": pa.array(np.asarray(doc_rows, dtype=np.int64)),
        "id": pa.array(ids, type=pa.binary()),
        "keep": pickled(bf.keep_values),
        "length": pa.array(bf.lengths.astype(np.int64)),
        "exact_hi": pa.array(exact[:, 0].copy()),
        "exact_lo": pa.array(exact[:, 1].copy()),
        "sig": packed(bf.signatures.reshape(-1), np.arange(n + 1, dtype=np.int64) * k),
        "shingle_set": packed(sets, set_offsets),
        "n_set": pa.array(np.diff(set_offsets).astype(np.int32)),
        "mode": pa.array(bf.modes.astype(np.int8)),
        "raw": (
            pa.array([raw_of.get(line) for line in bf.lines], type=pa.binary())
            if spec.keep_raw
            else pa.nulls(n, pa.binary())
        ),
    }
    if bf.embeddings is not None:  # method semantic: the unit vector in place of a signature
        from neardup.stages.semantic import packed_vectors

        docs["sig"] = packed_vectors(bf.embeddings)
    if bf.contain is not None:
        docs.update(_containment_columns(bf.contain, n))
    if bf.times is not None:
        docs["time"] = pa.array(np.asarray(bf.times, dtype=np.float64))
    errors = [(row_of[e.line], e) for e in bf.errors]
    return docs, errors, bf.invalid_utf8


def line_rows(
    raw: RawBatch, rows: list[int], spec: ReadSpec, params: Any
) -> tuple[dict[str, pa.Array], list[tuple[int, Any]], int]:
    """A :data:`RowsFunction` for reading a JSONL input a second time, for the output stage:
    every non-blank line as a document row with its ``raw`` bytes and nothing parsed (which
    lines were bad records is already known by position from the first read)."""
    n = len(raw.items)
    docs = {
        "kind": pa.array(np.full(n, KIND_DOC, np.int8)),
        "src": pa.array(np.full(n, spec.src, np.int32)),
        "row": pa.array(np.asarray(rows, dtype=np.int64)),
        "raw": pa.array([value for _, value in raw.items], type=pa.binary()),
    }
    return docs, [], 0


def _containment_columns(cb: ContainmentBatch, n: int) -> dict[str, pa.Array]:
    """The containment columns of a batch's ``n`` documents: winnowed fingerprints (packed
    uint64, in text order), own shingle-sequence length, the own and body shingle sets of the
    documents where they differ from the whole text's, and message authors and replies."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(cb.doc, minlength=n)[:n], out=offsets[1:])
    order = np.argsort(cb.doc, kind="stable")  # already by document; kept in text order

    def sets(of: dict[int, np.ndarray]) -> pa.Array:
        items = [
            np.ascontiguousarray(of[i], dtype=np.uint32).tobytes() if i in of else None
            for i in range(n)
        ]
        return pa.array(items, type=pa.binary())

    return {
        "contain": packed64(cb.hashes[order], offsets),
        "own_size": pa.array(np.asarray(cb.sizes, dtype=np.int64)),
        "own_set": sets(cb.own),
        "body_set": sets(cb.body),
        "author": pa.array(np.asarray(cb.authors, dtype=np.uint64).view(np.int64)),
        "reply": pa.array(np.asarray(cb.replies, dtype=bool)),
    }


def _emit(
    docs: dict[str, pa.Array], split: int, errors: list[tuple[int, Any]], src: int
) -> Iterator[pa.RecordBatch]:
    n = len(docs["kind"])
    if n:
        cols = dict(docs)
        cols["split"] = pa.array(np.full(n, split, np.int64))
        yield pa.RecordBatch.from_pydict(_fill(cols, n), schema=FINGERPRINT_SCHEMA)
    if errors:
        m = len(errors)
        cols = {
            "kind": pa.array(np.full(m, KIND_ERROR, np.int8)),
            "src": pa.array(np.full(m, src, np.int32)),
            "split": pa.array(np.full(m, split, np.int64)),
            "row": pa.array([r for r, _ in errors], type=pa.int64()),
            "error": pa.array([pickle.dumps(e, protocol=5) for _, e in errors], type=pa.binary()),
        }
        yield pa.RecordBatch.from_pydict(_fill(cols, m), schema=FINGERPRINT_SCHEMA)


def _fill(cols: dict[str, pa.Array], n: int) -> dict[str, pa.Array]:
    for f in FINGERPRINT_SCHEMA:
        if f.name not in cols:
            cols[f.name] = pa.nulls(n, f.type)
    return {f.name: cols[f.name] for f in FINGERPRINT_SCHEMA}


#: how the raw rows of one batch become document columns: ``(raw, rows, spec, params)`` →
#: ``(columns, [(row, error)], records repaired)`` (:func:`_fingerprint_rows`)
RowsFunction = Callable[
    [RawBatch, list[int], ReadSpec, Any], tuple[dict[str, pa.Array], list[tuple[int, Any]], int]
]


def fingerprint_partition(
    batches: Iterator[pa.RecordBatch],
    spec: ReadSpec,
    params: Any,
    rows_of: RowsFunction | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stage: fingerprint the raw rows of one input's partition.

    Input columns: jsonl — ``value`` (binary line) and ``split`` (byte offset of the file split
    the line belongs to), in file order within each split; parquet — the text/id/keeper columns
    and ``row`` (row index in the file); txt — ``path`` (relative) and ``content``. Output:
    :data:`FINGERPRINT_SCHEMA` rows; for JSONL one ``KIND_SPLIT`` row per split with its number
    of lines, so that line numbers can be assigned once every split is counted. ``rows_of``
    turns the records of a raw batch into document columns (default: :func:`_fingerprint_rows`,
    a dedup's fingerprints, with ``params`` its :class:`StageParams`)."""
    make = rows_of or _fingerprint_rows
    lines_in: dict[int, int] = {}
    invalid: dict[int, int] = {}
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if spec.fmt == "jsonl":
            values = batch.column("value").to_pylist()
            splits = batch.column("split").to_numpy(zero_copy_only=False)
            # rows of one split are contiguous and in file order
            bounds = np.flatnonzero(np.diff(splits)) + 1
            for lo, hi in zip(
                np.concatenate([[0], bounds]), np.concatenate([bounds, [len(values)]]), strict=True
            ):
                split = int(splits[lo])
                first = lines_in.get(split, 0)
                rows = list(range(first, first + int(hi - lo)))
                lines_in[split] = first + int(hi - lo)
                items = [(r + 1, v) for r, v in zip(rows, values[lo:hi], strict=True) if v.strip()]
                raw = RawBatch(GENERATED, "jsonl", items)
                docs, errors, bad = make(raw, [line - 1 for line, _ in items], spec, params)
                invalid[split] = invalid.get(split, 0) + bad
                yield from _emit(docs, split, errors, spec.src)
        elif spec.fmt == "parquet":
            rows = batch.column("row").to_pylist()
            records = batch.drop_columns(["row"]).to_pylist()
            items = [(r + 1, rec) for r, rec in zip(rows, records, strict=True)]
            docs, errors, _ = make(RawBatch(spec.name, "row", items), rows, spec, params)
            yield from _emit(docs, 0, errors, spec.src)
        else:
            ranks = spec.txt_ranks or {}
            paths = batch.column("path").to_pylist()
            contents = [without_bom(c) for c in batch.column("content").to_pylist()]
            items = list(zip(paths, contents, strict=True))
            raw = RawBatch(spec.name, "txt", items)
            docs, errors, bad = make(raw, [ranks[p] for p in paths], spec, params)
            invalid[0] = invalid.get(0, 0) + bad
            yield from _emit(docs, 0, errors, spec.src)
    splits = sorted(set(lines_in) | set(invalid))
    if splits:
        m = len(splits)
        cols = {
            "kind": pa.array(np.full(m, KIND_SPLIT, np.int8)),
            "src": pa.array(np.full(m, spec.src, np.int32)),
            "split": pa.array(splits, type=pa.int64()),
            "row": pa.array([lines_in.get(s, 0) for s in splits], type=pa.int64()),
            "invalid": pa.array([invalid.get(s, 0) for s in splits], type=pa.int64()),
        }
        yield pa.RecordBatch.from_pydict(_fill(cols, m), schema=FINGERPRINT_SCHEMA)


def split_offsets(markers: list[tuple[int, int, int]]) -> dict[tuple[int, int], int]:
    """Lines before each ``(src, split)``, from ``(src, split, lines)`` split counts."""
    out: dict[tuple[int, int], int] = {}
    total: dict[int, int] = {}
    for src, split, lines in sorted(markers):
        out[(src, split)] = total.get(src, 0)
        total[src] = total.get(src, 0) + lines
    return out


def position_partition(
    batches: Iterator[pa.RecordBatch], names: list[str], fmts: list[str]
) -> Iterator[pa.RecordBatch]:
    """Stage: give documents and errors their input position, line and final id.

    Input: fingerprint rows with ``offset`` (lines before their split) joined in. Generated ids
    become ``SOURCE:LINE``; errors get the real file and line. Output: :data:`DOCUMENT_SCHEMA`."""
    from neardup.errors import InputError

    for batch in batches:
        kind = batch.column("kind").to_numpy(zero_copy_only=False)
        src = batch.column("src").to_numpy(zero_copy_only=False).astype(np.int64)
        row = batch.column("row").to_numpy(zero_copy_only=False).astype(np.int64)
        offset = batch.column("offset").to_numpy(zero_copy_only=False).astype(np.int64)
        ids = batch.column("id").to_pylist()
        errs = batch.column("error").to_pylist()
        is_txt = np.array([fmts[s] == "txt" for s in src], dtype=bool)
        line = np.where(is_txt, row, offset + row + 1).astype(np.int64)
        pos = (src << POS_SHIFT) | line
        out_line: list[str] = []
        out_id: list[bytes | None] = []
        out_key: list[str | None] = []
        out_msg: list[str | None] = []
        out_err: list[bytes | None] = []
        for i in range(batch.num_rows):
            name = names[src[i]]
            shown: Any = int(line[i])
            if kind[i] == KIND_ERROR:
                e = pickle.loads(errs[i])
                if isinstance(e, InputError) and fmts[src[i]] == "jsonl":
                    e = type(e)(e.detail, path=name, line=shown, field=e.field, remedy=e.remedy)
                out_line.append(str(shown))
                out_id.append(None)
                out_key.append(None)
                out_msg.append(str(e).splitlines()[0])
                out_err.append(pickle.dumps(e, protocol=5))
                continue
            rid = pickle.loads(ids[i]) if ids[i] is not None else f"{name}:{shown}"
            out_line.append(str(rid if is_txt[i] else shown))
            out_id.append(ids[i] if ids[i] is not None else pickle.dumps(rid, protocol=5))
            out_key.append(str(rid))
            out_msg.append(None)
            out_err.append(None)
        cols = {name: batch.column(name) for name in PASSTHROUGH}
        cols.update(
            kind=pa.array(kind, type=pa.int8()),
            pos=pa.array(pos),
            line=pa.array(out_line, type=pa.string()),
            id=pa.array(out_id, type=pa.binary()),
            id_key=pa.array(out_key, type=pa.string()),
            error=pa.array(out_msg, type=pa.string()),
            error_obj=pa.array(out_err, type=pa.binary()),
            invalid=pa.nulls(batch.num_rows, pa.int64()),
        )
        yield pa.RecordBatch.from_pydict(cols, schema=DOCUMENT_SCHEMA)


def document_partition(
    batches: Iterator[pa.RecordBatch],
    spec: ReadSpec,
    params: Any,
    offsets: dict[int, int],
    names: list[str],
    fmts: list[str],
    rows_of: RowsFunction | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stage: :func:`fingerprint_partition` then :func:`position_partition` in one pass, for
    inputs whose lines before each split (``offsets[split]``) were counted beforehand. Split
    rows (``kind`` = ``KIND_SPLIT``) keep their split in ``line`` and their repaired records in
    ``invalid``."""
    for batch in fingerprint_partition(batches, spec, params, rows_of):
        kind = column(batch, "kind")
        marks = kind == KIND_SPLIT
        if marks.any():
            split_rows = batch.filter(pa.array(marks))
            m = split_rows.num_rows
            cols: dict[str, pa.Array] = {
                f.name: pa.nulls(m, f.type) for f in DOCUMENT_SCHEMA if f.name != "kind"
            }
            cols["kind"] = pa.array(np.full(m, KIND_SPLIT, np.int8))
            cols["line"] = pa.array([str(x) for x in column(split_rows, "split").tolist()])
            cols["invalid"] = split_rows.column("invalid")
            yield pa.RecordBatch.from_pydict(
                {f.name: cols[f.name] for f in DOCUMENT_SCHEMA}, schema=DOCUMENT_SCHEMA
            )
        body = batch.filter(pa.array(~marks)) if marks.any() else batch
        if body.num_rows:
            split = column(body, "split").tolist()
            offset = pa.array([offsets.get(int(x), 0) for x in split], pa.int64())
            yield from position_partition(iter([body.append_column("offset", offset)]), names, fmts)


def reject_partition(
    batches: Iterator[pa.RecordBatch], names: list[str], id_field: str
) -> Iterator[pa.RecordBatch]:
    """Stage: records whose id was seen before, as errors. Input: ``id_key``, ``pos``, ``line``
    of documents, whole id groups per partition, sorted by ``(id_key, pos)``. Output:
    :data:`REJECT_SCHEMA` for every record but the first of its id."""
    table = whole(batches)
    if table is None:
        return
    keys = table.column("id_key").to_pylist()
    pos = column(table, "pos").astype(np.int64)
    lines = table.column("line").to_pylist()
    new = np.ones(len(keys), dtype=bool)
    new[1:] = [keys[i] != keys[i - 1] for i in range(1, len(keys))]
    first = np.maximum.accumulate(np.where(new, np.arange(len(keys)), 0))
    out_pos, out_msg, out_err = [], [], []
    for i in np.flatnonzero(~new).tolist():
        f = int(first[i])
        line: Any = int(lines[i]) if lines[i].isdigit() else lines[i]
        err = duplicate_id_error(
            keys[i],
            f"{names[int(pos[f]) >> POS_SHIFT]}:{lines[f]}",
            names[int(pos[i]) >> POS_SHIFT],
            line,
            id_field,
        )
        out_pos.append(int(pos[i]))
        out_msg.append(str(err).splitlines()[0])
        out_err.append(pickle.dumps(err, protocol=5))
    if out_pos:
        yield pa.RecordBatch.from_pydict(
            {
                "pos": pa.array(out_pos, pa.int64()),
                "error": pa.array(out_msg, pa.string()),
                "error_obj": pa.array(out_err, pa.binary()),
            },
            schema=REJECT_SCHEMA,
        )


def doc_counts_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: :func:`document_counts` of the partition's accepted documents (``n_set``,
    ``mode``); one row per partition, rows add up."""
    n_set, modes = [], []
    for batch in batches:
        n_set.append(column(batch, "n_set"))
        modes.append(column(batch, "mode"))
    counts = document_counts(
        np.concatenate(n_set) if n_set else np.zeros(0, np.int32),
        np.concatenate(modes) if modes else np.zeros(0, np.int8),
    )
    yield pa.RecordBatch.from_pydict(
        {k: pa.array([v], pa.int64()) for k, v in counts.items()}, schema=DOC_COUNTS_SCHEMA
    )
