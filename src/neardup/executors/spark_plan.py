"""A dedup run as a plan of Spark tables, built from the stage functions in :mod:`neardup.stages`.

read → fingerprint (per partition) → positions and ids → exact groups (group by the 128-bit
hash) → LSH bands (one row per band) → candidate pairs (the ``(band, key)`` shuffle) → exact
Jaccard (joins bring both shingle sets to each pair) → connected components → keepers (the
cluster shuffle) → similarity of each removed document to its keeper → outputs, sorted by input
position so that concatenating the part files gives the local executor's files byte for byte.

Every table is addressed through :class:`~neardup.executors.spark.SparkExecutor`; this module
imports nothing from pyspark and calls only DataFrame methods with SQL expressions.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from neardup.candidates.lsh import LSHParams
from neardup.config import DedupConfig
from neardup.errors import ConfigError, DuplicateIdError
from neardup.pipeline import StageClock, StageParams
from neardup.stages import (
    BAND_SCHEMA,
    CLUSTER_SCHEMA,
    DOCUMENT_SCHEMA,
    FINGERPRINT_SCHEMA,
    KEEPER_SCHEMA,
    KIND_DOC,
    KIND_ERROR,
    KIND_SPLIT,
    OUTPUT_SCHEMA,
    PAIR_SCHEMA,
    POS_SHIFT,
    SIM_SCHEMA,
    ReadSpec,
    band_partition,
    bucket_partition,
    cluster_partition,
    fingerprint_partition,
    histogram_partition,
    jsonl_output_partition,
    keeper_partition,
    position_partition,
    similarity_partition,
    split_offsets,
)

SUPPORTED = ("jsonl", "parquet", "txt")


@dataclass(slots=True)
class SparkOutcome:
    """Counts and file locations of a Spark run (what stats.json reports)."""

    counts: dict[str, Any] = field(default_factory=dict)
    histogram: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


def check_inputs(sources: list[Any], fmt: str) -> None:
    """Refuse inputs and output formats the Spark path does not read or write."""
    for s in sources:
        if s.format not in SUPPORTED:
            raise ConfigError(
                f"{s.name}: {s.format.upper()} inputs are not read by the Spark executor",
                remedy="convert the input to JSONL or Parquet, or use --executor local",
            )
        if s.compression == "zst":
            raise ConfigError(
                f"{s.name}: Spark's Hadoop readers cannot decompress .zst without native libraries",
                remedy="recompress as .gz (or convert to Parquet), or use --executor local",
            )
    if fmt not in ("jsonl", "jsonl.gz"):
        raise ConfigError(
            f"output format {fmt} is not written by the Spark executor",
            remedy="pass --output-format jsonl or jsonl.gz",
        )


def _read(ex: Any, src: Any, spec: ReadSpec, cfg: DedupConfig) -> Any:
    uri = ex.qualify(str(src.path.resolve()) if "://" not in src.name else src.name)
    if spec.fmt == "jsonl":
        return (
            ex.spark.read.option("lineSep", "\n")
            .text(uri)
            .selectExpr("cast(value as binary) as value", "_metadata.file_block_start as split")
        )
    if spec.fmt == "parquet":
        df = ex.spark.read.parquet(uri)
        if "row" in df.columns:
            raise ConfigError(
                f"{src.name}: a column is named 'row', which the Spark executor uses itself",
                remedy="rename the column, or use --executor local",
            )
        cols = [f"`{c}`" for c in df.columns]
        return df.selectExpr(*cols, "_metadata.row_index as row")
    prefix = uri.rstrip("/") + "/"
    df = (
        ex.spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.txt")
        .load(uri)
        .selectExpr(f"substring(path, {len(prefix) + 1}) as path", "content")
    )
    # Spark's file scans skip empty files; they are documents too (empty, never duplicates)
    empty = [p.relative_to(src.path).as_posix() for p in src.txt_files() if p.stat().st_size == 0]
    if empty:
        rows = pa.table({"path": empty, "content": pa.array([b""] * len(empty), pa.binary())})
        df = df.unionByName(ex.from_arrow(rows))
    return df


def run(
    ex: Any,
    sources: list[Any],
    cfg: DedupConfig,
    lsh: LSHParams,
    staging: str,
    clock: StageClock,
    fmt: str = "jsonl",
) -> SparkOutcome:
    """Run the plan; outputs go under ``staging`` (``kept/``, ``removed/``, ``clusters/``)."""
    names = [s.name for s in sources]
    fmts = [s.format for s in sources]
    params = StageParams.from_config(cfg)
    out = SparkOutcome()

    # -- fingerprint ------------------------------------------------------------------------------
    t = time.perf_counter()
    parts = []
    for i, src in enumerate(sources):
        ranks = None
        if src.format == "txt":
            files = src.txt_files()
            ranks = {p.relative_to(src.path).as_posix(): k + 1 for k, p in enumerate(files)}
        spec = ReadSpec(i, src.name, src.format, ranks)
        raw = _read(ex, src, spec, cfg)
        parts.append(ex.map(raw, fingerprint_partition, FINGERPRINT_SCHEMA, spec, params))
    fpt = parts[0]
    for p in parts[1:]:
        fpt = fpt.unionByName(p)
    with ex.input_splits():
        fpt = ex.checkpoint(fpt, "fingerprints")
    split_rows = fpt.where(f"kind = {KIND_SPLIT}")
    markers = ex.to_arrow(split_rows.select("src", "split", "row", "invalid"))
    offsets = split_offsets(
        list(
            zip(
                markers.column("src").to_pylist(),
                markers.column("split").to_pylist(),
                markers.column("row").to_pylist(),
                strict=True,
            )
        )
    )
    invalid = int(sum(markers.column("invalid").to_pylist()))
    off_table = pa.table(
        {
            "src": pa.array([k[0] for k in offsets], pa.int32()),
            "split": pa.array([k[1] for k in offsets], pa.int64()),
            "offset": pa.array(list(offsets.values()), pa.int64()),
        }
    )
    body = fpt.where(f"kind != {KIND_SPLIT}").join(
        ex.from_arrow(off_table).hint("broadcast"), ["src", "split"], "left"
    )
    body = body.fillna({"offset": 0})
    docs = ex.checkpoint(
        ex.map(body, position_partition, DOCUMENT_SCHEMA, names, fmts), "documents"
    )
    clock.record("fingerprint", t)

    # -- ids: first occurrence wins; errors -------------------------------------------------------
    t = time.perf_counter()
    accepted, errors = _accept(ex, docs, cfg, names)
    out.errors = errors["messages"]
    n = accepted.count()
    eligible = accepted.where("n_set > 0")
    groups = eligible.groupBy("exact_hi", "exact_lo").agg({"pos": "min"})
    groups = groups.withColumnRenamed("min(pos)", "rep")
    exact = ex.checkpoint(
        eligible.join(groups, ["exact_hi", "exact_lo"]).select("pos", "rep"), "exact"
    )
    exact_edges = exact.where("pos != rep").selectExpr("rep as a", "pos as b")
    reps = exact.where("pos = rep").join(accepted.select("pos", "sig"), "pos")

    # -- candidates -------------------------------------------------------------------------------
    bands = ex.map(reps, band_partition, BAND_SCHEMA, lsh.bands, lsh.rows, cfg.num_perm)
    pairs = ex.group(
        bands,
        ["band", "key"],
        ["band", "key", "pos"],
        bucket_partition,
        PAIR_SCHEMA,
        cfg.max_bucket,
    )
    pairs = ex.checkpoint(pairs.dropDuplicates(["a", "b"]), "candidates")
    clock.record("candidates", t)

    # -- verification -----------------------------------------------------------------------------
    t = time.perf_counter()
    sims = ex.checkpoint(_similarities(ex, pairs, accepted, cfg), "similarities")
    n_cand = sims.count()
    hist = ex.map(sims, histogram_partition, pa.schema([("bin", pa.int32()), ("n", pa.int64())]))
    counts = np.zeros(50, dtype=np.int64)
    for r in hist.groupBy("bin").agg({"n": "sum"}).collect():
        counts[int(r[0])] = int(r[1])
    near_edges = sims.where(f"sim >= {cfg.threshold!r}").select("a", "b")
    n_near = near_edges.count()
    clock.record("verify", t)

    # -- clusters and keepers ---------------------------------------------------------------------
    t = time.perf_counter()
    labels = ex.checkpoint(ex.components(exact_edges.unionByName(near_edges)), "components")
    member_cols = accepted.select("pos", "length", "keep", "id")
    members = labels.join(member_cols, "pos").selectExpr(
        "root", "0 as kind", "pos", "cast(null as bigint) as b", "length", "keep", "id"
    )
    if cfg.clustering == "star":
        edge_rows = exact_edges.selectExpr("b as pos", "a as b", "1 as kind").unionByName(
            near_edges.selectExpr("a as pos", "b", "2 as kind")
        )
        edge_rows = edge_rows.join(labels, "pos").selectExpr(
            "root",
            "kind",
            "pos",
            "b",
            "cast(null as bigint) as length",
            "cast(null as binary) as keep",
            "cast(null as binary) as id",
        )
        members = members.unionByName(edge_rows)
    keepers = ex.checkpoint(
        ex.group(
            members,
            ["root"],
            ["root", "kind", "pos"],
            keeper_partition,
            KEEPER_SCHEMA,
            cfg.keep,
            cfg.clustering,
        ),
        "keepers",
    )
    decisions = ex.checkpoint(_decisions(ex, keepers, accepted, cfg), "decisions")
    clock.record("cluster+keep", t)

    # -- outputs ----------------------------------------------------------------------------------
    t = time.perf_counter()
    lines = accepted.select("pos", "line", "id", "raw").join(decisions, "pos", "left")
    lines = lines.fillna({"removed": False})
    ordered = ex.sorted_cache(lines, "pos")
    rendered = ex.map(ordered, jsonl_output_partition, OUTPUT_SCHEMA, names, fmts, invalid > 0)
    compression = "gzip" if fmt == "jsonl.gz" else "none"
    for which in ("kept", "removed"):
        (
            rendered.where(f"which = '{which}'")
            .select("value")
            .write.mode("overwrite")
            .option("compression", compression)
            .text(f"{staging}/{which}")
        )
    cluster_rows = decisions.join(accepted.select("pos", "id"), "pos")
    clusters = ex.group(
        cluster_rows, ["cluster_id"], ["cluster_id", "pos"], cluster_partition, CLUSTER_SCHEMA
    )
    ex.sorted_cache(clusters, "cluster_id").select("value").write.mode("overwrite").text(
        f"{staging}/clusters"
    )
    ordered.unpersist()
    clock.record("write", t)

    stats = decisions.selectExpr(
        "count(*) as members",
        "sum(cast(removed as int)) as removed",
        "sum(case when removed and reason = 'exact' then 1 else 0 end) as removed_exact",
        "count(distinct cluster_id) as clusters",
    ).collect()[0]
    sizes = decisions.groupBy("cluster_id").count().agg({"count": "max"}).collect()[0][0]
    out.counts = {
        "documents": n,
        "removed": int(stats["removed"] or 0),
        "removed_exact": int(stats["removed_exact"] or 0),
        "clusters": int(stats["clusters"] or 0),
        "largest_cluster": int(sizes or 0),
        "documents_in_clusters": int(stats["members"] or 0),
        "candidate_pairs": n_cand,
        "verified_pairs": n_near,
        "rejected_pairs": n_cand - n_near,
        "exact_pairs": exact_edges.count(),
        "empty_documents": accepted.where("n_set = 0").count(),
        "character_shingled_documents": accepted.where("mode = 2").count(),
        "skipped_records": errors["count"],
        "invalid_utf8_records": invalid,
        "input_splits": markers.num_rows,
    }
    edges = np.linspace(0.0, 1.0, 51)
    out.histogram = {
        "bin_edges": [round(float(e), 2) for e in edges],
        "candidate_pairs": counts.tolist(),
        "measure": "exact Jaccard" if cfg.verify else "MinHash estimate",
    }
    return out


def _accept(ex: Any, docs: Any, cfg: DedupConfig, names: list[str]) -> tuple[Any, dict]:
    """Documents whose id is first seen; errors (bad records, repeated ids) in input order."""
    good = docs.where(f"kind = {KIND_DOC}")
    first = good.groupBy("id_key").agg({"pos": "min"}).withColumnRenamed("min(pos)", "first")
    keyed = good.join(first, "id_key")
    repeated = keyed.where("pos != first")
    first_line = good.selectExpr("pos as first", "line as first_line")
    dup_rows = repeated.join(first_line, "first").selectExpr(
        "pos", "line", "id_key", "first", "first_line"
    )
    bad = docs.where(f"kind = {KIND_ERROR}")
    n_dup = dup_rows.count()
    n_bad = bad.count()
    messages: list[tuple[int, str, Any]] = []
    if n_dup or n_bad:
        limit = 1 if cfg.on_error == "raise" else 20
        for r in bad.orderBy("pos").limit(limit).select("pos", "error", "error_obj").collect():
            messages.append((int(r[0]), r[1], pickle.loads(r[2])))
        for r in dup_rows.orderBy("pos").limit(limit).collect():
            pos, line, key, first_pos, first_line = r
            src, first_src = int(pos) >> POS_SHIFT, int(first_pos) >> POS_SHIFT
            lineno = int(line) if line.isdigit() else None
            err = DuplicateIdError(
                f"id '{key}' appears twice: first at {names[first_src]}:{first_line}, "
                f"again at {names[src]}:{line}",
                path=names[src],
                line=lineno,
                field=cfg.id_field,
                remedy="make ids unique, drop the id field to have ids generated, or pass "
                "--on-error skip to keep only the first",
            )
            messages.append((int(pos), str(err).splitlines()[0], err))
        messages.sort(key=lambda m: m[0])
        if cfg.on_error == "raise":
            raise messages[0][2]
    accepted = keyed.where("pos = first").drop("first", "kind", "error", "error_obj")
    accepted = ex.checkpoint(accepted, "accepted")
    return accepted, {"count": n_dup + n_bad, "messages": [m[1] for m in messages[:20]]}


def _similarities(ex: Any, pairs: Any, accepted: Any, cfg: DedupConfig) -> Any:
    """``(a, b, sim)`` for each pair: exact Jaccard (verify) or the MinHash estimate."""
    col, measure = ("shingle_set", "jaccard") if cfg.verify else ("sig", "minhash")
    short = "set" if cfg.verify else "sig"
    left = accepted.selectExpr("pos as a", f"{col} as {short}_a")
    right = accepted.selectExpr("pos as b", f"{col} as {short}_b")
    joined = pairs.join(left, "a").join(right, "b").select("a", "b", f"{short}_a", f"{short}_b")
    return ex.map(joined, similarity_partition, SIM_SCHEMA, measure, cfg.num_perm)


def _decisions(ex: Any, keepers: Any, accepted: Any, cfg: DedupConfig) -> Any:
    """One row per clustered document: cluster id, removed or not, kept id, similarity to the
    kept (or, under keep=none, first) member and the reason."""
    none = cfg.keep.kind == "none"
    ref = "root" if none else "keeper"
    cids = ex.dense_index(keepers, "root").withColumnRenamed("index", "cluster_id")
    base = keepers.join(cids, "root")
    removed = base.where("true" if none else "pos != keeper").selectExpr("pos as a", f"{ref} as b")
    sims = _similarities(ex, removed, accepted, cfg)
    hashes = accepted.select("pos", "exact_hi", "exact_lo")
    sims = (
        sims.join(hashes.selectExpr("pos as a", "exact_hi as ha", "exact_lo as la"), "a")
        .join(hashes.selectExpr("pos as b", "exact_hi as hb", "exact_lo as lb"), "b")
        .selectExpr("a as pos", "b", "(ha = hb and la = lb) as same", "sim")
        .selectExpr("pos", "b", "same", "case when same then 1.0 else sim end as sim")
    )
    if none:
        # the first member is compared with its closest fellow member
        others = sims.where("pos != b")
        best = others.groupBy("b").agg({"sim": "max", "same": "max"})
        best = best.selectExpr("b", "`max(sim)` as best", "`max(same)` as any_same")
        sims = sims.join(best, "b", "left").selectExpr(
            "pos",
            "case when pos = b then coalesce(any_same, false) else same end as same",
            "case when pos = b then coalesce(best, 0.0) else sim end as sim",
        )
    else:
        sims = sims.select("pos", "same", "sim")
    ids = accepted.selectExpr("pos as keeper", "id as kept_id")
    out = base.join(sims, "pos", "left")
    if none:
        out = out.selectExpr("*", "cast(null as binary) as kept_id")
    else:
        out = out.join(ids, "keeper", "left")
    return out.selectExpr(
        "pos",
        "cluster_id",
        "sim is not null as removed",
        "kept_id",
        "sim as similarity",
        "case when same then 'exact' else 'near' end as reason",
    )
