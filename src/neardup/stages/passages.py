"""Stages of passage dedup (``neardup passages``) on a distributed table of documents.

The local run (:mod:`neardup.api.passages`) indexes every document in one
:class:`~neardup.sharedtext.engine.SharedTextIndex` and asks it for each document's cuts. Here:

1. :func:`passage_rows` — the records of a raw batch as documents (id, keeper value, length,
   text), read by :func:`~neardup.stages.fingerprint.document_partition` like a dedup's;
2. :func:`reject_partition` — whole groups of equal ids: the first record of an id wins;
3. :func:`fingerprint_partition` — :func:`~neardup.sharedtext.engine.index_batch`, the local
   index's stage function: winnowed word k-grams ``(hash, pos, tpos)``;
4. :func:`sources_partition` — whole groups of one hash: :func:`~neardup.sharedtext.matches.anchors`
   (every occurrence paired with the earliest-ranked documents holding the hash), reduced to
   the pairs (document, source) they name;
5. :func:`cuts_partition` — whole groups of one document with the texts of its sources: a
   :class:`~neardup.sharedtext.engine.SharedTextIndex` of those documents gives the document's
   cuts. The anchors of a document in an index holding it and every source the corpus-wide
   anchors name for it are the corpus-wide ones (the earliest holders of each of its
   fingerprints that rank before it are all there), so its cuts are the local run's;
6. :func:`output_partition` — every document in input order: kept and removed records and
   spans lines as :func:`neardup.api.passages._write` writes them.

Keeper ranks are computed with :func:`~neardup.keep.keeper_rank` on each partition's documents
in input order: the functions above only compare ranks, and the order of any subset is the
corpus order restricted to it.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from neardup.config import KeepPolicy
from neardup.errors import InputError
from neardup.io.sources import FieldSpec, RawBatch, parse_batch
from neardup.keep import keeper_rank
from neardup.sharedtext.cuts import apply_cuts, spans_at
from neardup.sharedtext.engine import SharedTextIndex, index_batch
from neardup.sharedtext.matches import MAX_SOURCES, anchors
from neardup.sharedtext.runs import RECORD
from neardup.stages.arrow import GENERATED, POS_SHIFT, column, pickled, whole
from neardup.stages.fingerprint import ReadSpec

#: a document's passage fingerprint: hash (uint64 bits), document, token position
FINGERPRINT_SCHEMA = pa.schema(
    [
        ("hash", pa.int64()),
        ("pos", pa.int64()),
        ("tpos", pa.int32()),
        ("length", pa.int64()),
        ("keep", pa.binary()),
    ]
)
#: a document and one of the earlier documents it shares a fingerprint with
SOURCE_SCHEMA = pa.schema([("doc", pa.int64()), ("src", pa.int64())])
#: a repeated id: the record at ``pos`` is skipped (``error``: the message under on_error=raise)
REJECT_SCHEMA = pa.schema([("pos", pa.int64()), ("error_obj", pa.binary())])
#: the cuts of one document: ``n_tokens``, ``cuts`` (``CUT_FIELDS`` per cut, packed int64) and
#: ``source_ids`` (the pickled list of the sources' ids, one per cut)
CUTS_SCHEMA = pa.schema(
    [
        ("pos", pa.int64()),
        ("n_tokens", pa.int64()),
        ("cuts", pa.binary()),
        ("source_ids", pa.binary()),
    ]
)
#: one cut: its document and place there, its source (position and pickled id), its words
CUT_WORDS_SCHEMA = pa.schema(
    [
        ("pos", pa.int64()),
        ("idx", pa.int64()),
        ("src_pos", pa.int64()),
        ("source_id", pa.binary()),
        ("words", pa.int64()),
    ]
)
CUT_FIELDS = ("start", "end", "src_pos", "src_start", "src_end", "at0", "at1", "at2", "at3")
#: a line of kept, removed or spans (``which``), or a partition's counts (``which`` = stats)
OUTPUT_SCHEMA = pa.schema([("which", pa.string()), ("value", pa.binary())])
SPAN_FIELDS = ("id", "start", "end", "words", "source_id", "source_start", "source_end")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def passage_rows(
    raw: RawBatch, rows: list[int], spec: ReadSpec, fields: FieldSpec
) -> tuple[dict[str, pa.Array], list[tuple[int, Any]], int]:
    """The documents of one raw batch for passages (a
    :data:`~neardup.stages.fingerprint.RowsFunction`): id (null when generated), keeper value,
    length and text, with the raw record for the output."""
    from neardup.stages.arrow import KIND_DOC

    parsed = parse_batch(raw, fields)
    n = len(parsed.ids)
    row_of = dict(zip([item[0] for item in raw.items], rows, strict=True))
    ids: list[bytes | None] = []
    for rid in parsed.ids:
        generated = isinstance(rid, str) and rid.startswith(GENERATED + ":")
        ids.append(None if generated else pickle.dumps(rid, protocol=5))
    if raw.kind == "row":  # Parquet rows: the whole record, for the output writer
        raw_of = {line: pickle.dumps(rec, protocol=5) for line, rec in raw.items}
    else:
        raw_of = dict(raw.items)
    docs = {
        "kind": pa.array(np.full(n, KIND_DOC, np.int8)),
        "src": pa.array(np.full(n, spec.src, np.int32)),
        "row": pa.array(np.asarray([row_of[line] for line in parsed.lines], dtype=np.int64)),
        "id": pa.array(ids, type=pa.binary()),
        "keep": pickled(parsed.keep_values),
        "length": pa.array(np.fromiter((len(t) for t in parsed.texts), np.int64, count=n)),
        "raw": pa.array([raw_of.get(line) for line in parsed.lines], type=pa.binary()),
        "text": pa.array([encode(t) for t in parsed.texts], type=pa.binary()),
    }
    errors = [(row_of[e.line], e) for e in parsed.errors]
    return docs, errors, parsed.invalid_utf8


def _line(shown: str) -> Any:
    return int(shown) if shown.isdigit() else shown


def reject_partition(
    batches: Iterator[pa.RecordBatch], names: list[str], id_field: str
) -> Iterator[pa.RecordBatch]:
    """Stage: records whose id was seen before. Input: ``id_key`` (``str`` of the id),
    ``pos``, ``line`` and ``id`` (pickled) of documents, whole ``id_key`` groups per partition,
    sorted by ``(id_key, pos)``; ids are equal as Python values (``1`` is not ``"1"``).
    Output: :data:`REJECT_SCHEMA` for every record but the first of its id, with the error
    the local run raises under ``on_error=raise``."""
    table = whole(batches)
    if table is None:
        return
    keys = table.column("id_key").to_pylist()
    pos = column(table, "pos").astype(np.int64).tolist()
    lines = table.column("line").to_pylist()
    ids = table.column("id").to_pylist()
    out_pos, out_err = [], []
    seen: dict[Any, int] = {}
    for i, key in enumerate(keys):
        if i and key != keys[i - 1]:
            seen = {}
        doc_id = pickle.loads(ids[i])
        first = seen.get(doc_id)
        if first is None:
            seen[doc_id] = i
            continue
        line = _line(lines[i])
        err = InputError(
            f"duplicate id {doc_id!r} (first at {names[pos[first] >> POS_SHIFT]}:"
            f"{_line(lines[first])})",
            path=names[pos[i] >> POS_SHIFT],
            line=line if isinstance(line, int) else None,
            field=id_field,
            remedy="make ids unique, drop the id field to have ids generated, "
            "or pass --on-error skip to keep only the first",
        )
        out_pos.append(pos[i])
        out_err.append(pickle.dumps(err, protocol=5))
    if out_pos:
        yield pa.RecordBatch.from_pydict(
            {"pos": pa.array(out_pos, pa.int64()), "error_obj": pa.array(out_err, pa.binary())},
            schema=REJECT_SCHEMA,
        )


def check_keep_partition(
    batches: Iterator[pa.RecordBatch], policy: KeepPolicy
) -> Iterator[pa.RecordBatch]:
    """Stage: raise the local run's error for a keeper value that cannot be ranked (input:
    ``length``, ``keep``, ``id`` of documents). Yields nothing."""
    for batch in batches:
        if batch.num_rows:
            _rank(
                policy,
                column(batch, "length"),
                batch.column("keep").to_pylist(),
                [pickle.loads(v) for v in batch.column("id").to_pylist()],
            )
    yield from ()


def _rank(
    policy: KeepPolicy, lengths: np.ndarray, keep: list[bytes], ids: list[Any] | None = None
) -> np.ndarray:
    """:func:`keeper_rank` of documents given in input order (keeper values pickled)."""
    values = [pickle.loads(v) for v in keep]
    return keeper_rank(policy, lengths.astype(np.int64), values, ids or [""] * len(values))


def fingerprint_partition(
    batches: Iterator[pa.RecordBatch], k: int, w: int
) -> Iterator[pa.RecordBatch]:
    """Stage: the winnowed word k-grams of each document (``pos``, ``text``, ``length``,
    ``keep``) by :func:`~neardup.sharedtext.engine.index_batch`, as
    :data:`FINGERPRINT_SCHEMA` rows."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        texts = [decode(t) for t in batch.column("text").to_pylist()]
        ib = index_batch(texts, k, w)
        if ib.fp_hash.size == 0:
            continue
        doc = ib.fp_doc.astype(np.int64)
        yield pa.RecordBatch.from_pydict(
            {
                "hash": pa.array(ib.fp_hash.astype(np.uint64).view(np.int64)),
                "pos": pa.array(column(batch, "pos").astype(np.int64)[doc]),
                "tpos": pa.array(ib.fp_pos.astype(np.int32)),
                "length": pa.array(column(batch, "length").astype(np.int64)[doc]),
                "keep": batch.column("keep").take(pa.array(doc)),
            },
            schema=FINGERPRINT_SCHEMA,
        )


def sources_partition(
    batches: Iterator[pa.RecordBatch], policy: KeepPolicy
) -> Iterator[pa.RecordBatch]:
    """Stage: the sources of documents. Input: :data:`FINGERPRINT_SCHEMA` rows, whole hash
    groups per partition. Output: the distinct ``(doc, src)`` pairs of the anchors
    (:func:`~neardup.sharedtext.matches.anchors`, as the local index calls it) of the
    partition's fingerprints."""
    table = whole(batches, FINGERPRINT_SCHEMA)
    if table is None:
        return
    pos = column(table, "pos").astype(np.int64)
    docs, first, local = np.unique(pos, return_index=True, return_inverse=True)
    keep = table.column("keep").take(pa.array(first)).to_pylist()
    rank = _rank(policy, column(table, "length")[first], keep)
    part = np.empty(pos.size, dtype=RECORD)
    part["hash"] = column(table, "hash").astype(np.int64).view(np.uint64)
    part["doc"] = local.reshape(-1)
    part["pos"] = column(table, "tpos")
    part = part[np.lexsort((part["pos"], part["doc"], part["hash"]))]
    anc = anchors(part, rank, MAX_SOURCES)
    if anc.size == 0:
        return
    pairs = np.unique(np.stack([anc["doc"], anc["src"]], axis=1), axis=0)
    yield pa.RecordBatch.from_pydict(
        {"doc": pa.array(docs[pairs[:, 0]]), "src": pa.array(docs[pairs[:, 1]])},
        schema=SOURCE_SCHEMA,
    )


def cuts_partition(
    batches: Iterator[pa.RecordBatch],
    policy: KeepPolicy,
    min_words: int,
    k: int | None,
) -> Iterator[pa.RecordBatch]:
    """Stage: the cuts of whole documents. Input, one row per document and member (``doc``;
    ``member``: the document itself or one of its sources, with its ``text``, ``length``,
    ``keep`` and ``id``), whole ``doc`` groups per partition. Output: :data:`CUTS_SCHEMA`
    for every document that loses text."""
    table = whole(batches)
    if table is None:
        return
    member = column(table, "member").astype(np.int64)
    docs, first = np.unique(member, return_index=True)
    targets = set(column(table, "doc").astype(np.int64).tolist())
    sub = table.take(pa.array(first))
    ids = [pickle.loads(v) for v in sub.column("id").to_pylist()]
    rank = _rank(policy, column(sub, "length"), sub.column("keep").to_pylist(), ids)
    texts = [decode(t) for t in sub.column("text").to_pylist()]
    with tempfile.TemporaryDirectory(prefix="neardup-passages-") as work:
        index = SharedTextIndex(work, min_words=min_words, k=k)
        try:
            index.add(texts)
        finally:
            index.close()
        index.finish()
        counts = index.token_counts()
        out_pos, out_n, out_cuts, out_ids = [], [], [], []
        for d, mine in index.cuts(rank):
            if int(docs[d]) not in targets:
                continue
            values = np.array(
                [(c.start, c.end, docs[c.source], c.src_start, c.src_end, *c.at) for c in mine],
                dtype=np.int64,
            )
            out_pos.append(int(docs[d]))
            out_n.append(int(counts[d]))
            out_cuts.append(values.tobytes())
            out_ids.append(pickle.dumps([ids[c.source] for c in mine], protocol=5))
    if out_pos:
        yield pa.RecordBatch.from_pydict(
            {
                "pos": pa.array(out_pos, pa.int64()),
                "n_tokens": pa.array(out_n, pa.int64()),
                "cuts": pa.array(out_cuts, pa.binary()),
                "source_ids": pa.array(out_ids, pa.binary()),
            },
            schema=CUTS_SCHEMA,
        )


def cut_words_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: one :data:`CUT_WORDS_SCHEMA` row per cut of each document (``pos``, ``cuts``,
    ``source_ids``), for the words cut per source."""
    for batch in batches:
        pos, idx, src, sid, words = [], [], [], [], []
        for p, data, ids in zip(
            column(batch, "pos").tolist(),
            batch.column("cuts").to_pylist(),
            batch.column("source_ids").to_pylist(),
            strict=True,
        ):
            cuts = np.frombuffer(data, dtype=np.int64).reshape(-1, len(CUT_FIELDS))
            pos += [p] * len(cuts)
            idx += list(range(len(cuts)))
            src += cuts[:, 2].tolist()
            sid += [pickle.dumps(x, protocol=5) for x in pickle.loads(ids)]
            words += (cuts[:, 1] - cuts[:, 0]).tolist()
        if pos:
            yield pa.RecordBatch.from_pydict(
                {"pos": pos, "idx": idx, "src_pos": src, "source_id": sid, "words": words},
                schema=CUT_WORDS_SCHEMA,
            )


def output_partition(
    batches: Iterator[pa.RecordBatch],
    names: list[str],
    fmts: list[str],
    text_field: str,
    remove: bool,
    min_words_left: int,
) -> Iterator[pa.RecordBatch]:
    """Stage: the kept and removed records and the spans lines of documents sorted by
    ``pos`` (``line``, ``id``, ``raw``, and for documents that lose text ``n_tokens``,
    ``cuts`` and ``source_ids``), as the local writer writes them; the partition's counts
    (removed documents, characters cut) in a last row ``stats``."""
    from neardup.io.sources import decode_json_line

    n_removed = chars_cut = 0
    for batch in batches:
        which: list[str] = []
        values: list[bytes] = []
        cols = {c: batch.column(c).to_pylist() for c in batch.schema.names}
        for i in range(batch.num_rows):
            src = int(cols["pos"][i]) >> POS_SHIFT
            raw = cols["raw"][i]
            data = cols["cuts"][i]
            fmt = fmts[src]
            if data is None and not remove:
                continue
            if data is None and fmt == "jsonl":
                which.append("kept")
                values.append(raw)
                continue
            if fmt == "jsonl":
                record, _ = decode_json_line(raw, names[src], int(cols["line"][i]))
            elif fmt == "parquet":
                record = pickle.loads(raw)
            else:
                record = {
                    "id": pickle.loads(cols["id"][i]),
                    "text": raw.decode("utf-8", errors="replace"),
                }
            if data is None:
                which.append("kept")
                values.append(orjson.dumps(record))
                continue
            doc_id = pickle.loads(cols["id"][i])
            cuts = np.frombuffer(data, dtype=np.int64).reshape(-1, len(CUT_FIELDS)).tolist()
            sources = pickle.loads(cols["source_ids"][i])
            text = record[text_field]
            spans = spans_at(text, [(c[5], c[6], c[7], c[8]) for c in cuts])
            for c, sid, (a, b) in zip(cuts, sources, spans, strict=True):
                which.append("spans")
                values.append(
                    orjson.dumps(
                        dict(
                            zip(
                                SPAN_FIELDS,
                                (doc_id, a, b, c[1] - c[0], sid, c[3], c[4]),
                                strict=True,
                            )
                        )
                    )
                )
                chars_cut += b - a
            if not remove:
                continue
            words = [c[1] - c[0] for c in cuts]
            left = int(cols["n_tokens"][i]) - sum(words)
            if left < min_words_left:
                record["reason"] = "passages"
                record["words_left"] = left
                record["source_id"] = sources[words.index(max(words))]
                which.append("removed")
                values.append(orjson.dumps(record))
                n_removed += 1
            else:
                record[text_field] = apply_cuts(text, spans)
                which.append("kept")
                values.append(orjson.dumps(record))
        if which:
            yield pa.RecordBatch.from_pydict(
                {"which": pa.array(which, pa.string()), "value": pa.array(values, pa.binary())},
                schema=OUTPUT_SCHEMA,
            )
    counts = {"removed": n_removed, "characters_cut": chars_cut}
    yield pa.RecordBatch.from_pydict(
        {"which": ["stats"], "value": [orjson.dumps(counts)]}, schema=OUTPUT_SCHEMA
    )
