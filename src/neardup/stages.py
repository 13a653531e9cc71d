"""Stage functions over Arrow record batches, for executors that move data as Arrow tables.

Each function takes an iterator of :class:`pyarrow.RecordBatch` (one partition of a distributed
table) and yields record batches; none of them knows which engine calls it. They wrap the same
kernels as the local path — :func:`neardup.pipeline.fingerprint_batch`, :func:`band_keys`,
:func:`bucket_pairs`, :func:`jaccard_pairs`, :func:`components`, :func:`choose_keepers` — so a
distributed run makes exactly the decisions of a local one.

Values an engine cannot hold natively travel as bytes: MinHash signatures and sorted shingle-id
sets as packed little-endian ``uint32``; ids and keeper values pickled (they may be ``str`` or
``int``, dates, ...); 64-bit hashes as ``int64`` (Spark has no unsigned type; the bits are the
same).

A document's place in the input is ``pos = source << 40 | line``: sources in the order given,
lines (or Parquet rows, or ranks of sorted ``.txt`` paths) within them, so sorting by ``pos``
gives the local executor's input order.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from neardup.candidates.lsh import band_keys, bucket_pairs
from neardup.cluster import star_groups
from neardup.config import KeepPolicy
from neardup.io.sources import RawBatch
from neardup.keep import choose_keepers, keeper_rank
from neardup.pipeline import StageParams, fingerprint_batch
from neardup.verify import estimate_pairs, jaccard_pairs, sorted_sets

POS_SHIFT = 40
GENERATED = "\x00neardup-generated-id"  # source name whose ``SOURCE:LINE`` ids are filled later
KIND_DOC, KIND_ERROR, KIND_SPLIT = 0, 1, 2

FINGERPRINT_SCHEMA = pa.schema(
    [
        ("kind", pa.int8()),
        ("src", pa.int32()),
        ("split", pa.int64()),
        ("row", pa.int64()),  # lines of the split (KIND_SPLIT), else the record's row in it
        ("id", pa.binary()),  # pickled; null: generate SOURCE:LINE once lines are known
        ("keep", pa.binary()),  # pickled keeper-field value
        ("length", pa.int64()),
        ("exact_hi", pa.int64()),
        ("exact_lo", pa.int64()),
        ("sig", pa.binary()),
        ("shingle_set", pa.binary()),
        ("n_set", pa.int32()),
        ("mode", pa.int8()),
        ("raw", pa.binary()),  # the JSONL line as read
        ("error", pa.binary()),  # pickled InputError (KIND_ERROR)
        ("invalid", pa.int64()),  # records repaired (invalid UTF-8) in the split (KIND_SPLIT)
    ]
)


def spark_ddl(schema: pa.Schema) -> str:
    """The schema as a Spark DDL string (the types used here only)."""
    names = {
        pa.int8(): "tinyint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.binary(): "binary",
        pa.string(): "string",
        pa.float64(): "double",
        pa.bool_(): "boolean",
    }
    return ", ".join(f"{f.name} {names[f.type]}" for f in schema)


def _packed(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """A binary array whose item ``i`` is ``values[offsets[i]:offsets[i+1]]`` as uint32 bytes."""
    data = np.ascontiguousarray(values, dtype=np.uint32)
    offs = (np.asarray(offsets, dtype=np.int64) * 4).astype(np.int32)
    n = offs.size - 1
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offs), pa.py_buffer(data)])


def unpack(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, offsets)`` of a binary column of packed uint32 (the inverse of packing)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if column.type == pa.large_binary():
        column = column.cast(pa.binary())
    _, off_buf, data_buf = column.buffers()
    offs = np.frombuffer(off_buf, dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint32) if data_buf is not None else np.zeros(0)
    return data.astype(np.uint32, copy=False), (offs // 4).astype(np.int64)


def _pickled(values: list[Any]) -> pa.Array:
    return pa.array([pickle.dumps(v, protocol=5) for v in values], type=pa.binary())


# --------------------------------------------------------------------------------------------
# read → parse → normalise → shingle → fingerprint
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReadSpec:
    """How one input's raw rows look: ``fmt`` is jsonl, parquet or txt; ``src`` its number."""

    src: int
    name: str
    fmt: str
    txt_ranks: dict[str, int] | None = None  # txt: relative path -> rank in sorted order


def _fingerprint_rows(raw: RawBatch, rows: list[int], spec: ReadSpec, params: StageParams):
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
        "keep": _pickled(bf.keep_values),
        "length": pa.array(bf.lengths.astype(np.int64)),
        "exact_hi": pa.array(exact[:, 0].copy()),
        "exact_lo": pa.array(exact[:, 1].copy()),
        "sig": _packed(bf.signatures.reshape(-1), np.arange(n + 1, dtype=np.int64) * k),
        "shingle_set": _packed(sets, set_offsets),
        "n_set": pa.array(np.diff(set_offsets).astype(np.int32)),
        "mode": pa.array(bf.modes.astype(np.int8)),
        "raw": pa.array([raw_of.get(line) for line in bf.lines], type=pa.binary()),
    }
    errors = [(row_of[e.line], e) for e in bf.errors]
    return docs, errors, bf.invalid_utf8


def _emit(docs: dict[str, pa.Array], split: int, errors: list[tuple[int, Any]], src: int):
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


def fingerprint_partition(
    batches: Iterator[pa.RecordBatch], spec: ReadSpec, params: StageParams
) -> Iterator[pa.RecordBatch]:
    """Stage: fingerprint the raw rows of one input's partition.

    Input columns: jsonl — ``value`` (binary line) and ``split`` (byte offset of the file split
    the line belongs to), in file order within each split; parquet — the text/id/keeper columns
    and ``row`` (row index in the file); txt — ``path`` (relative) and ``content``. Output:
    :data:`FINGERPRINT_SCHEMA` rows; for JSONL one ``KIND_SPLIT`` row per split with its number
    of lines, so that line numbers can be assigned once every split is counted."""
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
                docs, errors, bad = _fingerprint_rows(
                    raw, [line - 1 for line, _ in items], spec, params
                )
                invalid[split] = invalid.get(split, 0) + bad
                yield from _emit(docs, split, errors, spec.src)
        elif spec.fmt == "parquet":
            rows = batch.column("row").to_pylist()
            records = batch.drop_columns(["row"]).to_pylist()
            items = [(r + 1, rec) for r, rec in zip(rows, records, strict=True)]
            docs, errors, _ = _fingerprint_rows(
                RawBatch(spec.name, "row", items), rows, spec, params
            )
            yield from _emit(docs, 0, errors, spec.src)
        else:
            ranks = spec.txt_ranks or {}
            paths = batch.column("path").to_pylist()
            items = list(zip(paths, batch.column("content").to_pylist(), strict=True))
            raw = RawBatch(spec.name, "txt", items)
            docs, errors, bad = _fingerprint_rows(raw, [ranks[p] for p in paths], spec, params)
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


PASSTHROUGH = (
    "keep",
    "length",
    "exact_hi",
    "exact_lo",
    "sig",
    "shingle_set",
    "n_set",
    "mode",
    "raw",
)
DOCUMENT_SCHEMA = pa.schema(
    [f for f in FINGERPRINT_SCHEMA if f.name in PASSTHROUGH]
    + [
        ("kind", pa.int8()),
        ("pos", pa.int64()),
        ("line", pa.string()),  # as the local run shows it: a number, or a .txt path
        ("id", pa.binary()),
        ("id_key", pa.string()),  # str(id): ids are unique by this
        ("error", pa.string()),  # KIND_ERROR: the message's first line
        ("error_obj", pa.binary()),  # KIND_ERROR: the pickled error, with file and line
    ]
)


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
        out_line, out_id, out_key, out_msg, out_err = [], [], [], [], []
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
        )
        yield pa.RecordBatch.from_pydict(cols, schema=DOCUMENT_SCHEMA)


# --------------------------------------------------------------------------------------------
# candidates and verification
# --------------------------------------------------------------------------------------------
BAND_SCHEMA = pa.schema([("band", pa.int32()), ("key", pa.int64()), ("pos", pa.int64())])
PAIR_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64())])
SIM_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("sim", pa.float64())])


def band_partition(
    batches: Iterator[pa.RecordBatch], bands: int, rows: int, num_perm: int
) -> Iterator[pa.RecordBatch]:
    """Stage: one ``(band, key, pos)`` row per band of each document's signature."""
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        data, _ = unpack(batch.column("sig"))
        sigs = data.reshape(n, num_perm)
        keys = band_keys(sigs, np.arange(n, dtype=np.int64), bands, rows)  # (bands, n)
        pos = batch.column("pos").to_numpy(zero_copy_only=False)
        yield pa.RecordBatch.from_pydict(
            {
                "band": pa.array(np.repeat(np.arange(bands, dtype=np.int32), n)),
                "key": pa.array(keys.reshape(-1).view(np.int64)),
                "pos": pa.array(np.tile(pos, bands).astype(np.int64)),
            },
            schema=BAND_SCHEMA,
        )


def bucket_partition(batches: Iterator[pa.RecordBatch], window: int) -> Iterator[pa.RecordBatch]:
    """Stage: candidate pairs within each ``(band, key)`` bucket. Input sorted by
    ``(band, key, pos)`` with every bucket whole in one partition."""
    table = pa.Table.from_batches(list(batches), schema=BAND_SCHEMA)
    if table.num_rows < 2:
        return
    band = table.column("band").to_numpy()
    key = table.column("key").to_numpy()
    pos = table.column("pos").to_numpy()
    new = np.ones(band.size, dtype=bool)
    new[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    group = np.cumsum(new)
    a, b = bucket_pairs(group, np.arange(group.size, dtype=np.int64), pos, window)
    yield pa.RecordBatch.from_pydict({"a": pa.array(a), "b": pa.array(b)}, schema=PAIR_SCHEMA)


def similarity_partition(
    batches: Iterator[pa.RecordBatch], measure: str, num_perm: int
) -> Iterator[pa.RecordBatch]:
    """Stage: similarity of pairs with both documents' shingle sets (``set_a``, ``set_b``) or
    signatures (``sig_a``, ``sig_b``) joined in: exact Jaccard, or the MinHash estimate."""
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        col = "set" if measure == "jaccard" else "sig"
        va, oa = unpack(batch.column(f"{col}_a"))
        vb, ob = unpack(batch.column(f"{col}_b"))
        values = np.concatenate([va, vb])
        offsets = np.concatenate([oa, ob[1:] + oa[-1]])
        pairs = np.stack([np.arange(n), np.arange(n) + n], axis=1).astype(np.int64)
        if measure == "jaccard":
            sims = jaccard_pairs(values, offsets, pairs)
        else:
            sims = estimate_pairs(values.reshape(2 * n, num_perm), pairs)
        yield pa.RecordBatch.from_pydict(
            {"a": batch.column("a"), "b": batch.column("b"), "sim": pa.array(sims)},
            schema=SIM_SCHEMA,
        )


def histogram_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: the partition's histogram of similarities (50 bins on [0, 1], as the local run);
    histograms add up across partitions."""
    counts = np.zeros(50, dtype=np.int64)
    for batch in batches:
        sims = batch.column("sim").to_numpy(zero_copy_only=False)
        counts += np.histogram(sims, bins=50, range=(0.0, 1.0))[0]
    yield pa.RecordBatch.from_pydict(
        {"bin": pa.array(np.arange(50, dtype=np.int32)), "n": pa.array(counts)}
    )


# --------------------------------------------------------------------------------------------
# clusters and keepers
# --------------------------------------------------------------------------------------------
KEEPER_SCHEMA = pa.schema([("pos", pa.int64()), ("root", pa.int64()), ("keeper", pa.int64())])


def keeper_partition(
    batches: Iterator[pa.RecordBatch], policy: KeepPolicy, clustering: str
) -> Iterator[pa.RecordBatch]:
    """Stage: keepers (and, for ``star``, keeper-centred groups) of whole components.

    Input: member rows (``kind`` 0: ``root``, ``pos``, ``length``, ``keep``, ``id``) and, for
    ``star``, edge rows (``kind`` 1 exact copy → representative as ``(pos=copy, b=rep)``;
    ``kind`` 2 verified near edge ``(pos=a, b)``), sorted by ``(root, kind, pos)``. Output: one
    row per member still in a cluster: its cluster's first member and its keeper (-1 under
    ``keep=none``)."""
    table = pa.Table.from_batches(list(batches))
    if table.num_rows == 0:
        return
    root = table.column("root").to_numpy()
    bounds = np.flatnonzero(np.diff(root)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [root.size]])
    kind = table.column("kind").to_numpy()
    pos = table.column("pos").to_numpy()
    other = table.column("b").to_numpy(zero_copy_only=False)
    lengths = table.column("length").to_numpy(zero_copy_only=False)
    keep_col = table.column("keep").to_pylist()
    id_col = table.column("id").to_pylist()
    out_pos, out_root, out_keeper = [], [], []
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        is_member = kind[lo:hi] == 0
        members = pos[lo:hi][is_member]
        m = members.size
        idx = np.flatnonzero(is_member) + lo
        length = lengths[idx].astype(np.int64)
        values = [pickle.loads(keep_col[i]) for i in idx.tolist()]
        ids = [pickle.loads(id_col[i]) for i in idx.tolist()]
        labels = np.zeros(m, dtype=np.int64)
        roots = np.zeros(1, dtype=np.int64)
        if clustering == "star":
            local = {int(p): k for k, p in enumerate(members.tolist())}
            e = np.flatnonzero(~is_member) + lo
            pairs = np.array(
                [(local[int(other[i])], local[int(pos[i])]) for i in e.tolist()], dtype=np.int64
            ).reshape(-1, 2)
            exact_mask = kind[e] == 1
            near = np.sort(pairs[~exact_mask], axis=1)
            rank = keeper_rank(policy, length, values, ids)
            labels, roots = star_groups(m, labels, pairs[exact_mask], near, rank)
        keepers = choose_keepers(policy, labels, roots, length, values, ids)
        inside = labels >= 0
        out_pos.append(members[inside])
        out_root.append(members[roots[labels[inside]]])
        k = keepers[labels[inside]]
        out_keeper.append(np.where(k >= 0, members[np.maximum(k, 0)], -1))
    yield pa.RecordBatch.from_pydict(
        {
            "pos": pa.array(np.concatenate(out_pos).astype(np.int64)),
            "root": pa.array(np.concatenate(out_root).astype(np.int64)),
            "keeper": pa.array(np.concatenate(out_keeper).astype(np.int64)),
        },
        schema=KEEPER_SCHEMA,
    )


def index_partition(batches: Iterator[pa.RecordBatch], offsets: dict[int, int], column: str):
    """Stage: dense index of a column sorted across partitions: ``offsets[p]`` rows precede
    partition ``p`` (given in the ``pid`` column)."""
    seen: dict[int, int] = {}
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pid = int(batch.column("pid")[0].as_py())
        start = offsets[pid] + seen.get(pid, 0)
        seen[pid] = seen.get(pid, 0) + batch.num_rows
        yield pa.RecordBatch.from_pydict(
            {
                column: batch.column(column),
                "index": pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64)),
            }
        )


# --------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------
OUTPUT_SCHEMA = pa.schema([("which", pa.string()), ("value", pa.string())])


def jsonl_output_partition(
    batches: Iterator[pa.RecordBatch], names: list[str], fmts: list[str], check_utf8: bool
) -> Iterator[pa.RecordBatch]:
    """Stage: the output line of every document (sorted by ``pos``): kept JSONL lines as read
    (re-encoded only when they were repaired), Parquet rows as JSON objects, ``.txt``
    documents as ``{"id", "text"}``,
    removed records with ``kept_id``, ``cluster_id``, ``similarity`` and ``reason`` added —
    the local writer's bytes."""
    from neardup.io.artifacts import removed_record
    from neardup.io.sources import decode_json_line

    for batch in batches:
        which, values = [], []
        cols = {c: batch.column(c).to_pylist() for c in batch.schema.names}
        for i in range(batch.num_rows):
            src = int(cols["pos"][i]) >> POS_SHIFT
            raw = cols["raw"][i]
            removed = bool(cols["removed"][i])
            jsonl = fmts[src] == "jsonl"
            if jsonl and not removed and not check_utf8:
                which.append("kept")
                values.append(raw.decode("utf-8"))
                continue
            if jsonl:
                record, repaired = decode_json_line(raw, names[src], int(cols["line"][i]))
            elif fmts[src] == "parquet":
                record, repaired = pickle.loads(raw), True
            else:
                rid = pickle.loads(cols["id"][i])
                record = {"id": rid, "text": raw.decode("utf-8", errors="replace")}
                repaired = True
            if not removed:
                which.append("kept")
                line = raw.decode("utf-8") if not repaired else orjson.dumps(record).decode()
                values.append(line)
                continue
            kept = cols["kept_id"][i]
            rec = removed_record(
                record,
                kept_id=pickle.loads(kept) if kept is not None else None,
                cluster_id=int(cols["cluster_id"][i]),
                similarity=float(cols["similarity"][i]),
                reason=cols["reason"][i],
                source=names[src],
                line=int(cols["line"][i]) if fmts[src] != "txt" else None,
            )
            which.append("removed")
            values.append(orjson.dumps(rec).decode())
        yield pa.RecordBatch.from_pydict(
            {"which": pa.array(which, pa.string()), "value": pa.array(values, pa.string())},
            schema=OUTPUT_SCHEMA,
        )


CLUSTER_SCHEMA = pa.schema([("cluster_id", pa.int64()), ("value", pa.string())])


def cluster_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: one clusters.jsonl line per cluster, from its members sorted by
    ``(cluster_id, pos)`` (whole clusters in one partition) — the local writer's bytes."""
    table = pa.Table.from_batches(list(batches))
    if table.num_rows == 0:
        return
    cid = table.column("cluster_id").to_numpy()
    cols = {c: table.column(c).to_pylist() for c in ("id", "removed", "similarity", "reason")}
    kept_col = table.column("kept_id").to_pylist()
    bounds = np.flatnonzero(np.diff(cid)) + 1
    out_c, out_v = [], []
    for lo, hi in zip(
        np.concatenate([[0], bounds]).tolist(),
        np.concatenate([bounds, [cid.size]]).tolist(),
        strict=True,
    ):
        ids = [pickle.loads(b) for b in cols["id"][lo:hi]]
        gone = [k for k in range(hi - lo) if cols["removed"][lo + k]]
        sims = [round(float(cols["similarity"][lo + k]), 6) for k in gone]
        kept = kept_col[lo]
        line = {
            "cluster_id": int(cid[lo]),
            "size": hi - lo,
            "kept_id": pickle.loads(kept) if kept is not None else None,
            "members": ids,
            "min_similarity": min(sims),
            "max_similarity": max(sims),
            "removed": [
                {"id": ids[k], "similarity": s, "reason": cols["reason"][lo + k]}
                for k, s in zip(gone, sims, strict=True)
            ],
        }
        out_c.append(int(cid[lo]))
        out_v.append(orjson.dumps(line).decode())
    yield pa.RecordBatch.from_pydict(
        {"cluster_id": pa.array(out_c, pa.int64()), "value": pa.array(out_v, pa.string())},
        schema=CLUSTER_SCHEMA,
    )
