"""The output stage: the kept and removed JSONL lines of documents, as the local writer writes
them (:func:`neardup.io.artifacts.removed_record` adds the same fields)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import orjson
import pyarrow as pa

from neardup.stages.arrow import ORDER_ROW, OUTPUT_SCHEMA, POS_SHIFT, column
from neardup.stages.decide import REASON_NAMES


def jsonl_output_partition(
    batches: Iterator[pa.RecordBatch],
    names: list[str],
    fmts: list[str],
    check_utf8: bool,
    containment: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Stage: the output line of every document (sorted by ``pos``): kept JSONL lines as read
    (re-encoded only when they were repaired), Parquet rows as JSON objects, ``.txt``
    documents as ``{"id", "text"}``,
    removed records with ``kept_id``, ``cluster_id``, ``similarity`` and ``reason`` added —
    the local writer's bytes; with ``containment`` on, removed records also get
    ``containment`` and ``containment_reverse``.

    A partition that saw rows ends with one :data:`ORDER_ROW` row: its first and last
    position and whether its rows came in position order, so that a schedule can tell
    whether its partitions, taken in turn, already hold the outputs in input order."""
    from neardup.io.artifacts import _rounded, removed_record
    from neardup.io.sources import decode_json_line

    first = last = -1
    in_order = True
    for batch in batches:
        if batch.num_rows == 0:
            continue
        which, values = [], []
        cols = {c: batch.column(c).to_pylist() for c in batch.schema.names}
        positions = cols["pos"]
        steps = np.diff(column(batch, "pos"))
        if first < 0:
            first = positions[0]
        elif positions[0] <= last:
            in_order = False
        if steps.size and steps.min() <= 0:
            in_order = False
        last = positions[-1]
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
                reason=REASON_NAMES[int(cols["reason"][i])],
                source=names[src],
                line=int(cols["line"][i]) if fmts[src] != "txt" else None,
            )
            if containment:
                for key in ("containment", "containment_reverse"):
                    value = cols[key][i]
                    rec[key] = _rounded(float("nan") if value is None else value)
            which.append("removed")
            values.append(orjson.dumps(rec).decode())
        yield pa.RecordBatch.from_pydict(
            {
                "pos": pa.array(positions, pa.int64()),
                "which": pa.array(which, pa.string()),
                "value": pa.array(values, pa.string()),
            },
            schema=OUTPUT_SCHEMA,
        )
    if first >= 0:
        yield pa.RecordBatch.from_pydict(
            {
                "pos": pa.array([first], pa.int64()),
                "which": pa.array([ORDER_ROW], pa.string()),
                "value": pa.array([f"{last} {int(in_order)}"], pa.string()),
            },
            schema=OUTPUT_SCHEMA,
        )


def in_partition_order(marks: list[tuple[int, int, str]]) -> bool:
    """Whether output partitions taken in the order of their index give the rows in position
    order: ``marks`` holds ``(partition, first, "LAST SORTED")`` of the :data:`ORDER_ROW` rows
    of :func:`jsonl_output_partition` (one per partition that saw rows)."""
    previous = -1
    for _, first, value in sorted(marks):
        last, sorted_flag = value.split()
        if sorted_flag != "1" or first <= previous:
            return False
        previous = int(last)
    return True
