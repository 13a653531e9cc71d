"""Reading a finished run's outputs back for the HTML report.

The largest clusters come from streaming ``clusters.jsonl``, keeping only those clusters. The
texts of the documents the report shows come from streaming the kept and removed files (the
inputs are the fallback), keeping only those texts. Memory stays bounded on any corpus.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: Removed documents diffed per cluster; the rest are counted.
MAX_REMOVED_SHOWN = 50
#: Characters of one document that the report reads (the rest is cut, and said so).
MAX_DOC_CHARS = 100_000


def length_of(text: str) -> str:
    """The length in characters of a text the report read (a text longer than
    :data:`MAX_DOC_CHARS` was cut when read: its length says "over")."""
    if len(text) > MAX_DOC_CHARS:
        return f"over {MAX_DOC_CHARS:,} characters"
    return f"{len(text):,} characters"


def _iter_clusters(path: Path, count: list[int]) -> Iterator[dict[str, Any]]:
    """The clusters of ``clusters.jsonl``, slimmed to what the report needs."""
    import orjson

    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            c = orjson.loads(line)
            count[0] += 1
            removed = c.get("removed") or []
            members = c.get("members") or []
            yield {
                "cluster_id": c.get("cluster_id"),
                "size": int(c.get("size") or len(members)),
                "kept_id": c.get("kept_id"),
                "first_member": members[0] if members else None,
                "min_similarity": c.get("min_similarity"),
                "max_similarity": c.get("max_similarity"),
                "removed": removed[:MAX_REMOVED_SHOWN],
                "n_removed": len(removed),
            }


def largest_clusters(path: Path, n: int) -> tuple[list[dict[str, Any]], int]:
    """The ``n`` largest clusters (ties: smaller cluster id first) and the number of clusters."""
    count = [0]
    top = heapq.nsmallest(
        n, _iter_clusters(path, count), key=lambda c: (-c["size"], _sort_id(c["cluster_id"]))
    )
    if n == 0:  # nsmallest(0, ...) does not consume the iterator
        count[0] = sum(1 for _ in _iter_clusters(path, [0]))
    return top, count[0]


def _sort_id(cid: Any) -> tuple[int, Any]:
    return (0, cid) if isinstance(cid, int) else (1, str(cid))


def reference_id(c: dict[str, Any]) -> Any:
    """The document the removed ones are compared with: the kept one, or — when nothing was
    kept (``--keep none``) — the cluster's first member."""
    return c["kept_id"] if c["kept_id"] is not None else c["first_member"]


def wanted_ids(clusters: Iterable[dict[str, Any]]) -> set[str]:
    """Ids (as strings) of every document the report shows for ``clusters``."""
    wanted: set[str] = set()
    for c in clusters:
        ref = reference_id(c)
        if ref is not None:
            wanted.add(str(ref))
        wanted.update(str(r["id"]) for r in c["removed"])
    return wanted


def output_file(stats: dict[str, Any], output_dir: Path, key: str) -> Path | None:
    """``kept.<fmt>`` or ``removed.<fmt>`` of the run: by the name stats.json records, looked
    for in ``output_dir`` first (the recorded path may be relative to another directory)."""
    candidates: list[Path] = []
    recorded = (stats.get("outputs") or {}).get(key)
    if recorded:
        candidates += [output_dir / Path(recorded).name, Path(recorded)]
    fmt = (stats.get("parameters") or {}).get("output_format")
    if fmt:
        candidates.append(output_dir / f"{key}.{fmt}")
    return next((p for p in candidates if p.is_file()), None)


def iter_records(path: Path | None, needle: bytes | None = None) -> Iterator[dict[str, Any]]:
    """The records of an output file (any format); JSONL lines without ``needle`` are skipped
    undecoded. Unreadable records, and an unreadable file, end or skip quietly."""
    from neardup.errors import NeardupError
    from neardup.io.artifacts import _iter_records
    from neardup.io.sources import decode_json_line, open_source

    if path is None:
        return
    try:
        source = open_source(str(path))
        for line, raw, record in _iter_records(source):
            if record is None:
                if raw is None or (needle is not None and needle not in raw):
                    continue
                try:
                    record, _ = decode_json_line(raw, str(path), line)
                except NeardupError:
                    continue
            yield record
    except (NeardupError, OSError):
        return


def _spec(stats: dict[str, Any]) -> Any:
    from neardup.io.sources import FieldSpec

    params = stats.get("parameters") or {}
    return FieldSpec(
        text_field=params.get("text_field") or "text", id_field=params.get("id_field") or "id"
    )


def input_texts(stats: dict[str, Any], wanted: set[str]) -> dict[str, str]:
    """Texts of the ``wanted`` ids (compared as strings) as the run read them: from its inputs
    (a run that rewrites texts, such as ``neardup passages``, leaves the originals there)."""
    found: dict[str, str] = {}
    spec = _spec(stats)
    for entry in stats.get("inputs") or []:
        name = entry.get("path") if isinstance(entry, dict) else None
        if name and Path(name).exists() and len(found) < len(wanted):
            _scan_texts(Path(name), name, spec, wanted, found)
    return found


def load_texts(stats: dict[str, Any], output_dir: Path, wanted: set[str]) -> dict[str, str]:
    """Texts of the ``wanted`` ids (compared as strings), read from kept and removed; the inputs
    are a fallback for documents whose ids were generated (``SOURCE:LINE``, no id field)."""
    spec = _spec(stats)
    found: dict[str, str] = {}
    files = [output_file(stats, output_dir, k) for k in ("kept", "removed")]
    for path in files:
        if path is not None and len(found) < len(wanted):
            _scan_texts(path, str(path), spec, wanted, found)
    if len(found) < len(wanted):
        for key, text in input_texts(stats, wanted - found.keys()).items():
            found[key] = text
    return found


def _scan_texts(path: Path, name: str, spec: Any, wanted: set[str], found: dict[str, str]) -> None:
    """Stream one file, keeping the (cut) texts of wanted ids; stop once all are found."""
    from neardup.errors import NeardupError
    from neardup.io.sources import open_source, parse_batch

    try:
        source = open_source(name)
        with contextlib.closing(source.batches(256)) as batches:
            for raw in batches:
                parsed = parse_batch(raw, spec)
                for rid, text in zip(parsed.ids, parsed.texts, strict=True):
                    key = str(rid)
                    if key in wanted and key not in found:
                        found[key] = text[: MAX_DOC_CHARS + 1]
                if len(found) >= len(wanted):
                    return
    except (NeardupError, OSError):
        return  # a report without some texts beats no report
