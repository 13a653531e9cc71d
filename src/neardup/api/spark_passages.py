"""Passage dedup on a cluster: :func:`neardup.passages` with ``executor="spark"``.

The schedule of :mod:`neardup.stages.passages` on Spark tables: read (the dedup's reader, with
documents for passages) → repeated ids (the id shuffle) → word k-gram fingerprints → the
sources each document shares a fingerprint with (the hash shuffle) → each document's cuts with
the texts of its sources (the document shuffle) → kept, removed and spans lines in input order.
Outputs are folders of part files (``kept/``, ``removed/``, ``spans/``) that, concatenated in
name order, equal the local run's files byte for byte; the run is staged, locked and committed
as :func:`neardup.api.distributed.dedup_spark` commits a dedup.
"""

from __future__ import annotations

import pickle
import time
from typing import Any

import orjson

from neardup import __version__
from neardup.config import PassagesConfig
from neardup.errors import ConfigError
from neardup.io.sources import FieldSpec, Source
from neardup.sharedtext.winnow import winnow_params
from neardup.stages.arrow import KIND_DOC, KIND_ERROR
from neardup.stages.passages import (
    CUT_WORDS_SCHEMA,
    CUTS_SCHEMA,
    FINGERPRINT_SCHEMA,
    OUTPUT_SCHEMA,
    REJECT_SCHEMA,
    SOURCE_SCHEMA,
    check_keep_partition,
    cut_words_partition,
    cuts_partition,
    fingerprint_partition,
    output_partition,
    passage_rows,
    reject_partition,
    sources_partition,
)


def passages_spark(
    sources: list[Source],
    output: str,
    cfg: PassagesConfig,
    fmt: str,
    executor: Any,
    report: Any = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the passages schedule on Spark and commit its outputs; returns
    ``(stats, outputs)``. ``executor``: ``"spark"`` or a
    :class:`~neardup.executors.spark.SparkExecutor`."""
    from neardup.api import spark_plan
    from neardup.api.distributed import run_and_commit
    from neardup.executors.spark import SparkExecutor

    if executor != "spark" and getattr(executor, "engine", None) != "spark":
        raise ConfigError(
            f"unknown executor {executor!r}", remedy="use executor='local' or executor='spark'"
        )
    if report is not None:
        raise ConfigError(
            "--report is written by local runs only",
            remedy="drop --report, or run with --executor local",
        )
    spark_plan.check_inputs(sources, fmt)
    ex = executor if isinstance(executor, SparkExecutor) else SparkExecutor()
    results = ("kept", "removed", "spans") if cfg.mode == "remove" else ("spans",)
    t0 = time.perf_counter()

    def stats_of(stats: dict[str, Any]) -> dict[str, Any]:
        stats["total_seconds"] = round(time.perf_counter() - t0, 3)
        return stats

    stats = run_and_commit(
        ex, output, fmt, results, lambda staging: run(ex, sources, cfg, staging, fmt), stats_of
    )
    return stats, stats["outputs"]


def run(
    ex: Any, sources: list[Source], cfg: PassagesConfig, staging: str, fmt: str
) -> dict[str, Any]:
    """The schedule; outputs go under ``staging``. Returns stats.json without its outputs."""
    from neardup.api.spark_plan import _documents

    names = [s.name for s in sources]
    fmts = [s.format for s in sources]
    k, w = winnow_params(cfg.min_words, cfg.k)
    t0 = time.perf_counter()

    # -- documents: read, repeated ids, errors ----------------------------------------------------
    keep_field = cfg.keep.field if cfg.keep.kind in ("newest", "priority") else None
    fields = FieldSpec(cfg.text_field, cfg.id_field, keep_field)
    docs, n_splits, _, _ = _documents(ex, sources, fields, passage_rows)
    good = docs.where(f"kind = {KIND_DOC}")
    rejected = ex.group(
        good.select("id_key", "pos", "line", "id"),
        ["id_key"],
        ["id_key", "pos"],
        reject_partition,
        REJECT_SCHEMA,
        names,
        cfg.id_field,
    )
    rejected = ex.checkpoint(rejected, "rejected")
    errors = docs.where(f"kind = {KIND_ERROR}").select("pos", "error_obj")
    n_errors = errors.count()
    n_rejected = rejected.count()
    messages: list[str] = []
    if cfg.on_error == "raise" and n_errors + n_rejected:
        first = errors.unionByName(rejected).orderBy("pos").limit(1).collect()
        raise pickle.loads(first[0][1])
    if n_errors:
        first = errors.orderBy("pos").limit(20).collect()
        messages = [str(pickle.loads(r[1])) for r in first]
    cols = ["pos", "line", "id", "keep", "length", "raw", "text"]
    accepted = good.select(*cols)
    if n_rejected:
        accepted = ex.checkpoint(accepted.join(rejected.select("pos"), "pos", "left_anti"), "docs")
    if cfg.keep.kind in ("newest", "priority"):  # keeper values that cannot be ranked
        ex.map(
            accepted.select("length", "keep", "id"), check_keep_partition, REJECT_SCHEMA, cfg.keep
        ).count()
    n_docs = accepted.count()
    t1 = time.perf_counter()

    # -- fingerprints → sources → cuts -------------------------------------------------------------
    fps = ex.map(
        accepted.select("pos", "text", "length", "keep"),
        fingerprint_partition,
        FINGERPRINT_SCHEMA,
        k,
        w,
    )
    fps = ex.checkpoint(fps, "fingerprints")
    pairs = ex.group(
        fps, ["hash"], ["hash", "pos", "tpos"], sources_partition, SOURCE_SCHEMA, cfg.keep
    )
    pairs = ex.checkpoint(pairs.dropDuplicates(["doc", "src"]), "sources")
    members = pairs.selectExpr("doc", "src as member").unionByName(
        pairs.selectExpr("doc", "doc as member").distinct()
    )
    members = members.join(
        accepted.selectExpr("pos as member", "text", "length", "keep", "id"), "member"
    )
    cuts = ex.group(
        members,
        ["doc"],
        ["doc", "member"],
        cuts_partition,
        CUTS_SCHEMA,
        cfg.keep,
        cfg.min_words,
        cfg.k,
    )
    cuts = ex.checkpoint(cuts, "cuts")
    t2 = time.perf_counter()

    # -- outputs ----------------------------------------------------------------------------------
    ordered = accepted.select("pos", "line", "id", "raw").join(cuts, "pos", "left").orderBy("pos")
    rendered = ex.cache(
        ex.map(
            ordered,
            output_partition,
            OUTPUT_SCHEMA,
            names,
            fmts,
            cfg.text_field,
            cfg.mode == "remove",
            cfg.min_words_left,
        )
    )
    compression = "gzip" if fmt == "jsonl.gz" else "none"
    for which in ("kept", "removed", "spans") if cfg.mode == "remove" else ("spans",):
        (
            rendered.where(f"which = '{which}'")
            .selectExpr("cast(value as string) as value")
            .write.mode("overwrite")
            .option("compression", compression if which != "spans" else "none")
            .text(f"{staging}/{which}")
        )
    parts = [
        orjson.loads(r[0]) for r in rendered.where("which = 'stats'").select("value").collect()
    ]
    rendered.unpersist()
    tally = _tally(ex, cuts, parts)
    t3 = time.perf_counter()
    return {
        "neardup_version": __version__,
        "command": "passages",
        "executor": "spark",
        "documents": n_docs,
        "kept": n_docs - tally["removed"],
        **tally,
        "skipped_records": n_errors + n_rejected,
        "errors": messages,
        "parameters": {**cfg.to_dict(), "k": k, "window": w},
        "inputs": [{"path": s.name, "format": s.format, "bytes": s.size} for s in sources],
        "spark": {
            "master": ex.spark.sparkContext.master,
            "partitions": ex.partitions,
            "input_splits": n_splits,
            "default_parallelism": ex.spark.sparkContext.defaultParallelism,
        },
        "stages": {
            "read+index": round(t1 - t0, 3),
            "match": round(t2 - t1, 3),
            "write": round(t3 - t2, 3),
        },
    }


def _tally(ex: Any, cuts: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The counts of stats.json: documents that lose text, cuts, words and characters cut,
    documents removed whole (``parts``: the output stage's counts), and the 20 sources that
    lost most words to later documents; ties go to the source cut from first in input order,
    as the local run counts them."""
    per_cut = ex.checkpoint(
        ex.map(cuts.select("pos", "cuts", "source_ids"), cut_words_partition, CUT_WORDS_SCHEMA),
        "cut-words",
    )
    totals = ex.to_arrow(
        per_cut.selectExpr("count(*) as cuts", "coalesce(sum(words), 0) as words")
    ).to_pylist()[0]
    top = (
        per_cut.selectExpr("src_pos", "words", "source_id", "struct(pos, idx) as at")
        .groupBy("src_pos")
        .agg({"words": "sum", "at": "min", "source_id": "min"})
        .selectExpr("`sum(words)` as words", "`min(at)` as first", "`min(source_id)` as id")
        .orderBy(["words", "first"], ascending=[False, True])
        .limit(20)
        .select("id", "words")
        .collect()
    )
    return {
        "removed": sum(int(p["removed"]) for p in parts),
        "documents_with_cuts": cuts.count(),
        "cuts": int(totals["cuts"]),
        "words_cut": int(totals["words"]),
        "characters_cut": sum(int(p["characters_cut"]) for p in parts),
        "top_sources": [{"id": pickle.loads(r[0]), "words": int(r[1])} for r in top],
    }
