"""Library entry points that feed corpora on disk into a persistent index."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neardup.config import DedupConfig
from neardup.io.sources import FieldSpec, open_source


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
    for src in (open_source(p) for p in paths):
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
) -> dict[str, Any]:
    """Add the documents of corpora on disk to an index, one transaction per batch.

    Returns counts and every result; with ``output``, also writes ``kept.jsonl`` (documents
    added as new), ``removed.jsonl`` (duplicates, with ``kept_id``, ``similarity``, ``reason``)
    and ``stats.json``, as ``dedup`` does, so the two compose."""
    from neardup.io.sinks import open_sink, write_json_atomic

    cfg = config or DedupConfig()
    t0 = time.perf_counter()
    sinks = None
    if output is not None:
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        sinks = (open_sink(out / "kept.jsonl", "jsonl"), open_sink(out / "removed.jsonl", "jsonl"))
    results: list[Any] = []
    try:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            res = index.add(batch, add_duplicates=add_duplicates)
            results.extend(res)
            if sinks is not None:
                for doc, r in zip(batch, res, strict=True):
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
            batch.clear()

        for doc in iter_documents(inputs, cfg):
            batch.append(doc)
            if len(batch) >= cfg.batch_size:
                flush()
        if batch:
            flush()
        summary = {
            "documents": len(results),
            "new": sum(r.status == "new" for r in results),
            "duplicates": sum(r.status == "duplicate" for r in results),
            "stored": sum(r.added for r in results),
            "seconds": round(time.perf_counter() - t0, 3),
            "index": index.stats(),
        }
        if sinks is not None:
            for s in sinks:
                s.close()
                s.commit()
            write_json_atomic(Path(output) / "stats.json", summary)
    except BaseException:
        if sinks is not None:
            for s in sinks:
                s.abort()
        raise
    return {**summary, "results": [r.to_dict() for r in results]}
