"""A dedup run as a schedule of Spark tables over the stage functions of :mod:`neardup.stages`.

read → fingerprint (per partition) → positions and ids → repeated ids (the id shuffle) → exact
groups (the hash shuffle) → LSH bands → candidate pairs (the ``(band, key)`` shuffle) →
similarities (joins bring both shingle sets to each pair) → connected components → decisions (the
component shuffle) → cluster lines and counts (the cluster shuffle) → outputs, sorted by input
position so that concatenating the part files gives the local executor's files byte for byte.

This module is glue only: reads, joins, shuffles and filters on columns the stages computed.
Every decision — which record of an id wins, exact groups, which pairs are duplicates, keepers,
similarity and reason of removed documents, counts, the histogram, the lines written — is made by
a stage function calling :mod:`neardup.stages.decide`, the code the local executor runs. Tables
are addressed through :class:`~neardup.executors.spark.SparkExecutor`; nothing here imports
pyspark.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from neardup.candidates.lsh import LSHParams
from neardup.config import DedupConfig
from neardup.errors import ConfigError
from neardup.io.sources import Source
from neardup.pipeline import StageClock, StageParams
from neardup.sharedtext.containment import MAX_POSTINGS
from neardup.stages import (
    POS_SHIFT,
    ReadSpec,
    band_partition,
    bucket_partition,
    cluster_partition,
    decide_partition,
    doc_counts_partition,
    document_partition,
    exact_partition,
    in_partition_order,
    jsonl_output_partition,
    line_rows,
    pair_summary_partition,
    reject_partition,
    similarity_partition,
    split_offsets,
)
from neardup.stages.arrow import (
    BAND_SCHEMA,
    CLUSTER_SCHEMA,
    COUNTS_ROW,
    DECISION_SCHEMA,
    DOC_COUNTS_SCHEMA,
    DOCUMENT_SCHEMA,
    EXACT_SCHEMA,
    KIND_DOC,
    KIND_ERROR,
    KIND_SPLIT,
    ORDER_ROW,
    OUTPUT_SCHEMA,
    PAIR_SCHEMA,
    PAIR_SUMMARY_SCHEMA,
    REJECT_SCHEMA,
    SIM_SCHEMA,
)
from neardup.stages.clusters import CONTAINED_EDGE, EXACT_EDGE, MEMBER, NEAR_EDGE
from neardup.stages.containment import (
    CONTAIN_FP_SCHEMA,
    CONTAIN_PAIR_SCHEMA,
    CONTAINED_SCHEMA,
    best_partition,
    fingerprint_rows_partition,
    prefix_partition,
    probe_pairs_partition,
    verify_partition,
)
from neardup.stages.decide import (
    HISTOGRAM_BINS,
    REASON_SEMANTIC,
    histogram_report,
    merge_counts,
)
from neardup.stages.window import PAIR_SCHEMA as WINDOW_PAIR_OUT
from neardup.stages.window import window_partition
from neardup.timewindow import parse_window

SUPPORTED = ("jsonl", "parquet", "txt")
#: largest set of positions sent to every task instead of shuffling the documents to it (8 bytes
#: a row: 32 MB)
BROADCAST_ROWS = 4_000_000


@dataclass(slots=True)
class SparkOutcome:
    """Counts, histogram and error messages of a Spark run (what stats.json reports)."""

    counts: dict[str, Any] = field(default_factory=dict)
    histogram: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    search: dict[str, Any] | None = None  # method semantic: how the pair search ran


def check_inputs(sources: list[Source], fmt: str) -> None:
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


def _read(ex: Any, src: Source, spec: ReadSpec) -> Any:
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
    sources: list[Source],
    cfg: DedupConfig,
    lsh: LSHParams,
    staging: str,
    clock: StageClock,
    fmt: str = "jsonl",
) -> SparkOutcome:
    """Run the schedule; outputs go under ``staging`` (``kept/``, ``removed/``, ``clusters/``)."""
    names = [s.name for s in sources]
    measure = "jaccard" if cfg.verify else "minhash"
    out = SparkOutcome()

    t = time.perf_counter()
    docs, n_splits, invalid, layout = _documents(
        ex, sources, StageParams.from_config(cfg), raw_jsonl=False
    )
    clock.record("fingerprint", t)

    # -- ids, exact groups, candidates ------------------------------------------------------------
    t = time.perf_counter()
    accepted, n_skipped, out.errors, skipped = _accept(ex, docs, cfg, names)
    doc_counts = _sums(
        ex, ex.map(accepted.select("n_set", "mode"), doc_counts_partition, DOC_COUNTS_SCHEMA)
    )
    search = None
    if cfg.method == "semantic":  # vectors gathered, searched on the driver (spark_semantic.py)
        from neardup.api.spark_semantic import semantic_edges

        found = semantic_edges(ex, accepted, cfg)
        exact_edges, near_edges = found.exact_edges, found.near_edges
        n_exact, n_near, bins, search = found.n_exact, found.n_near, found.bins, found.search
        measure = "cosine"
        out.counts["candidate_pairs"] = found.candidates
        clock.record("candidates", t)
        t = time.perf_counter()
    else:
        exact = ex.group(
            accepted.select("pos", "exact_hi", "exact_lo", "n_set"),
            ["exact_hi", "exact_lo"],
            ["exact_hi", "exact_lo", "pos"],
            exact_partition,
            EXACT_SCHEMA,
        )
        exact = ex.checkpoint(exact, "exact")
        exact_edges = exact.where("pos != rep").selectExpr("rep as a", "pos as b")
        reps = exact.where("pos = rep").select("pos").join(accepted.select("pos", "sig"), "pos")
        if cfg.window is not None:  # every copy is searched (stages/window.py: search_members)
            reps = accepted.where("n_set > 0").select("pos", "sig")
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

        # -- verification -------------------------------------------------------------------------
        t = time.perf_counter()
        sims = _similarities(ex, pairs, accepted, measure, cfg)
        sims = ex.checkpoint(sims, "similarities")
        summary = ex.to_arrow(ex.map(sims, pair_summary_partition, PAIR_SUMMARY_SCHEMA))
        bins = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
        np.add.at(bins, summary.column("bin").to_numpy(), summary.column("n").to_numpy())
        n_near = int(pc.sum(summary.column("accepted")).as_py() or 0)
        near_edges = sims.where("accepted").select("a", "b")
        n_exact = exact_edges.count()
    seconds = parse_window(cfg.window)[1] if cfg.window is not None else None
    if seconds is not None:  # pairs further apart in time are never duplicates
        times = accepted.select("pos", "time")
        exact_edges = ex.checkpoint(_windowed(ex, exact_edges, times, seconds), "window-exact")
        near_edges = ex.checkpoint(_windowed(ex, near_edges, times, seconds), "window-near")
        out.counts["window_rejected_pairs"] = n_exact + n_near - exact_edges.count()
        out.counts["window_rejected_pairs"] -= near_edges.count()
        out.counts["window_undated_documents"] = accepted.where("isnan(time)").count()
    clock.record("verify", t)

    # -- containment ------------------------------------------------------------------------------
    edges = exact_edges.unionByName(near_edges)
    contained = None
    bodies = False
    if cfg.containment is not None:
        t = time.perf_counter()
        # whether any document has a body apart from its text: then bodies count everywhere
        bodies = accepted.where("body_set is not null").limit(1).count() > 0
        found = ex.checkpoint(_contained(ex, accepted, cfg, bodies), "contained")
        out.counts["containment_pairs"] = found.count()
        # a pair that is also a verified near pair stays a Jaccard decision
        near_keys = near_edges.selectExpr("least(a, b) as lo", "greatest(a, b) as hi")
        contained = ex.checkpoint(
            found.where("edge")
            .selectExpr("a", "b", "least(a, b) as lo", "greatest(a, b) as hi")
            .join(near_keys, ["lo", "hi"], "left_anti")
            .select("a", "b"),
            "contained-edges",
        )
        if seconds is not None:
            before = contained.count()
            contained = ex.checkpoint(
                _windowed(ex, contained, accepted.select("pos", "time"), seconds),
                "window-contained",
            )
            out.counts["window_rejected_pairs"] += before - contained.count()
        edges = edges.unionByName(contained)
        clock.record("containment", t)

    # -- clusters, keepers, decisions -------------------------------------------------------------
    t = time.perf_counter()
    labels = ex.checkpoint(ex.components(edges), "components")
    decisions = ex.checkpoint(
        _decide(ex, labels, accepted, exact_edges, near_edges, cfg, measure, contained, bodies),
        "decisions",
    )
    cids = ex.dense_index(decisions, "root").withColumnRenamed("index", "cluster_id")
    decisions = ex.checkpoint(decisions.join(cids, "root"), "clustered")
    clock.record("cluster+keep", t)

    # -- outputs ----------------------------------------------------------------------------------
    t = time.perf_counter()
    compression = "gzip" if fmt == "jsonl.gz" else "none"

    def write(table: Any, which: str) -> None:
        table.write.mode("overwrite").option("compression", compression).text(f"{staging}/{which}")

    with ex.input_splits():  # JSONL inputs are read again, cut into the same splits
        direct = _direct_kept(ex, sources, layout, skipped, decisions, invalid)
        if direct is not None:  # kept lines copied by the JVM; only removed ones rendered
            write(direct, "kept")
            removed = decisions.where("removed")
            rendered = _rendered(
                ex, sources, layout, accepted, skipped, removed, cfg, invalid, only_decided=True
            )
            write(rendered.where("which = 'removed'").select("value"), "removed")
        else:
            rendered = _rendered(ex, sources, layout, accepted, skipped, decisions, cfg, invalid)
            for which in ("kept", "removed"):
                write(rendered.where(f"which = '{which}'").select("value"), which)
    members = decisions.select(
        "cluster_id", "pos", "removed", "similarity", "reason", "kept_id"
    ).join(accepted.select("pos", "id"), "pos")
    clusters = ex.sorted_cache(
        ex.group(members, ["cluster_id"], ["cluster_id", "pos"], cluster_partition, CLUSTER_SCHEMA),
        "cluster_id",
    )
    clusters.where(f"cluster_id != {COUNTS_ROW}").select("value").write.mode("overwrite").text(
        f"{staging}/clusters"
    )
    parts = [
        orjson.loads(r[0])
        for r in clusters.where(f"cluster_id = {COUNTS_ROW}").select("value").collect()
    ]
    cluster_counts = merge_counts(parts)
    if cfg.containment is not None:
        cluster_counts["removed_contained"] = sum(p.get("removed_contained", 0) for p in parts)
    rendered.unpersist()
    clusters.unpersist()
    clock.record("write", t)

    out.counts = {
        **out.counts,
        **doc_counts,
        **cluster_counts,
        "candidate_pairs": out.counts.get("candidate_pairs", int(bins.sum())),  # sims in [0, 1]
        "verified_pairs": n_near,
        "exact_pairs": n_exact,
        "skipped_records": n_skipped,
        "invalid_utf8_records": invalid,
        "input_splits": n_splits,
    }
    out.histogram = histogram_report(bins, cfg.verify, cfg.method)
    if search is not None:
        out.search = search
        out.counts["removed_semantic"] = decisions.where(
            f"removed and reason = {REASON_SEMANTIC}"
        ).count()
    return out


def _windowed(ex: Any, pairs: Any, times: Any, seconds: float) -> Any:
    """The pairs ``(a, b)`` within the time window, by :func:`window_partition` on the pairs
    with both documents' times joined in."""
    joined = (
        pairs.join(times.selectExpr("pos as a", "time as ta"), "a")
        .join(times.selectExpr("pos as b", "time as tb"), "b")
        .select("a", "b", "ta", "tb")
    )
    return ex.map(joined, window_partition, WINDOW_PAIR_OUT, seconds)


@dataclass(frozen=True, slots=True)
class InputLayout:
    """How the inputs were read: each source's :class:`ReadSpec` and the lines before each of
    its splits, so that a second read of a JSONL input gives its lines the same positions."""

    specs: list[ReadSpec]
    offsets: dict[tuple[int, int], int]
    #: every JSONL scan partition held exactly one split, in file order, so a line's row in
    #: its split is its row in its partition (``monotonically_increasing_id``'s low 33 bits)
    one_split_each: bool = False


def _documents(
    ex: Any, sources: list[Source], params: Any, rows_of: Any = None, raw_jsonl: bool = True
) -> tuple[Any, int, int, InputLayout]:
    """Fingerprint every input; returns the document table (:data:`DOCUMENT_SCHEMA`: documents
    and bad records with their input position), the number of input splits, the number of
    records repaired (invalid UTF-8) and the :class:`InputLayout`. ``rows_of`` and ``params``:
    how a raw batch's records become documents (default: a dedup's fingerprints under its
    :class:`StageParams`). ``raw_jsonl=False`` leaves the ``raw`` column of JSONL records null
    (the output stage reads those lines again rather than carry them through every table).

    Lines of each JSONL split are first counted by Spark's reader alone (no Python, no
    parsing), so every split knows the lines before it and fingerprints and positions are
    computed in one pass and written once."""
    with ex.input_splits():
        specs, raws, counts = [], [], []
        one_split_each = True
        for i, src in enumerate(sources):
            ranks = None
            if src.format == "txt":
                files = src.txt_files()
                ranks = {p.relative_to(src.path).as_posix(): k + 1 for k, p in enumerate(files)}
            spec = ReadSpec(i, src.name, src.format, ranks, raw_jsonl or src.format != "jsonl")
            raw = _read(ex, src, spec)
            specs.append(spec)
            raws.append(raw)
            if src.format == "jsonl":
                lines = ex.to_arrow(
                    raw.selectExpr("spark_partition_id() as part", "split")
                    .groupBy("part", "split")
                    .count()
                )
                parts = lines.column("part").to_pylist()
                splits = lines.column("split").to_pylist()
                in_order = [s for _, s in sorted(zip(parts, splits, strict=True))]
                # one split per partition, partitions in file order: part files of lines
                # numbered in the JVM concatenate in input order
                one_split_each = (
                    one_split_each and len(set(parts)) == len(parts) and in_order == sorted(splits)
                )
                counts += [
                    (i, int(split), int(n))
                    for split, n in zip(
                        lines.column("split").to_pylist(),
                        lines.column("count").to_pylist(),
                        strict=True,
                    )
                ]
        layout = InputLayout(specs, split_offsets(counts), one_split_each)
        docs = _scan(ex, sources, layout, params, rows_of, raws)
        docs = ex.checkpoint(docs, "documents")
    marks = ex.to_arrow(docs.where(f"kind = {KIND_SPLIT}").select("invalid"))
    invalid = int(pc.sum(marks.column("invalid")).as_py() or 0)
    return docs, marks.num_rows, invalid, layout


def _scan(
    ex: Any,
    sources: list[Source],
    layout: InputLayout,
    params: Any,
    rows_of: Any,
    raws: list[Any] | None = None,
    which: list[int] | None = None,
) -> Any:
    """The document rows of the sources numbered ``which`` (default: all), in source order,
    read as :func:`_documents` read them (``raws``: their scans, when already made)."""
    names = [s.name for s in sources]
    fmts = [s.format for s in sources]
    parts = []
    for i in range(len(sources)) if which is None else which:
        spec = layout.specs[i]
        raw = raws[i] if raws is not None else _read(ex, sources[i], spec)
        offsets = {split: off for (src, split), off in layout.offsets.items() if src == spec.src}
        parts.append(
            ex.map(
                raw,
                document_partition,
                DOCUMENT_SCHEMA,
                spec,
                params,
                offsets,
                names,
                fmts,
                rows_of,
            )
        )
    return _union(parts)


def _rendered(
    ex: Any,
    sources: list[Source],
    layout: InputLayout,
    accepted: Any,
    skipped: Any,
    decisions: Any,
    cfg: DedupConfig,
    invalid: int,
    only_decided: bool = False,
) -> Any:
    """The output lines (:func:`jsonl_output_partition`) of every accepted document (with
    ``only_decided``: of the documents in ``decisions`` alone), cached, in partitions that
    give them in input order when written in turn.

    JSONL inputs are read a second time in the splits of the first read (:func:`line_rows`:
    no parsing), so their lines never travel through a shuffle or a checkpoint; other inputs
    bring their records from ``accepted``. Skipped records are left out by position and each
    line meets its decision in a broadcast join when the decisions are few enough, which
    keeps every split in its own partition, in file order. Each partition reports whether its
    rows came in order; only if they did not (other inputs, or a shuffled join) is the table
    sorted by position."""
    names = [s.name for s in sources]
    fmts = [s.format for s in sources]
    cols = ["pos", "line", "id", "raw"]
    parts = []
    for i, src in enumerate(sources):
        if src.format == "jsonl":
            if layout.one_split_each:
                lines = _numbered_lines(ex, src, layout, i).selectExpr(
                    "pos", "line", "cast(null as binary) as id", "raw"
                )
            else:
                lines = _scan(ex, sources, layout, None, line_rows, which=[i])
                lines = lines.where(f"kind = {KIND_DOC}").select(*cols)
            if skipped is not None:
                lines = lines.join(skipped.hint("broadcast"), "pos", "left_anti")
        else:
            lines = accepted.where(f"shiftright(pos, {POS_SHIFT}) = {i}").select(*cols)
        parts.append(lines)
    lines = _union(parts)
    decided = ["pos", "cluster_id", "removed", "similarity", "reason", "kept_id"]
    decided += ["containment", "containment_reverse"]
    decisions = decisions.select(*decided)
    if decisions.count() <= BROADCAST_ROWS // 2:
        decisions = decisions.hint("broadcast")
    joined = lines.join(decisions, "pos", "inner" if only_decided else "left")
    joined = joined.fillna({"removed": False})
    rendered = ex.cache(
        ex.map(
            joined,
            jsonl_output_partition,
            OUTPUT_SCHEMA,
            names,
            fmts,
            invalid > 0,
            cfg.containment is not None,
        )
    )
    marks = ex.to_arrow(
        rendered.where(f"which = '{ORDER_ROW}'").selectExpr(
            "spark_partition_id() as part", "pos", "value"
        )
    )
    order = list(
        zip(
            marks.column("part").to_pylist(),
            marks.column("pos").to_pylist(),
            marks.column("value").to_pylist(),
            strict=True,
        )
    )
    if in_partition_order(order):
        return rendered
    ordered = ex.sorted_cache(rendered.where(f"which != '{ORDER_ROW}'"), "pos")
    ordered.count()  # computed before the unsorted table is let go
    rendered.unpersist()
    return ordered


#: Python's ``bytes.strip`` whitespace: a line of only these is blank (not a record)
_BLANK = " \t\n\r\x0b\x0c"


def _numbered_lines(ex: Any, src: Source, layout: InputLayout, i: int) -> Any:
    """``(pos, line, raw)`` of every non-blank line of JSONL input ``i``, numbered in the JVM:
    the read gives the first read's partitions, each one split
    (``layout.one_split_each``), so a line's row in its split is the low 33 bits of
    ``monotonically_increasing_id`` and its line number is the lines before its split plus
    that row plus one — :func:`line_rows` without Python."""
    spec = layout.specs[i]
    offsets = [(split, off) for (s, split), off in layout.offsets.items() if s == spec.src]
    table = pa.table(
        {
            "split": pa.array([o[0] for o in offsets], pa.int64()),
            "offset": pa.array([o[1] for o in offsets], pa.int64()),
        }
    )
    numbered = _read(ex, src, spec).selectExpr(
        "value", "split", f"monotonically_increasing_id() & {(1 << 33) - 1} as row"
    )
    return (
        numbered.join(ex.from_arrow(table).hint("broadcast"), "split")
        .where(f"cast(value as string) rlike '[^{_BLANK}]'")
        .selectExpr(
            f"{spec.src << POS_SHIFT} + offset + row + 1 as pos",
            "cast(offset + row + 1 as string) as line",
            "value as raw",
        )
    )


def _direct_kept(
    ex: Any,
    sources: list[Source],
    layout: InputLayout,
    skipped: Any,
    decisions: Any,
    invalid: int,
) -> Any:
    """The kept output as the input's own lines, never leaving the JVM: every non-blank line
    of the JSONL inputs except the removed and the skipped ones, in input order (each split is
    one partition, and the lines meet the positions to leave out in a broadcast join, which
    keeps them where they are). ``None`` where that does not hold — other inputs, records
    repaired (they are written re-encoded), partitions holding several splits, or too many
    positions to broadcast — and the output stage renders every line."""
    if invalid or not layout.one_split_each or any(s.format != "jsonl" for s in sources):
        return None
    drop = decisions.where("removed").select("pos")
    if skipped is not None:
        drop = drop.unionByName(skipped.select("pos"))
    if drop.count() > BROADCAST_ROWS // 2:
        return None
    drop = drop.hint("broadcast")
    parts = [
        _numbered_lines(ex, src, layout, i).join(drop, "pos", "left_anti")
        for i, src in enumerate(sources)
    ]
    return _union(parts).selectExpr("cast(raw as string) as value")


def _union(tables: list[Any]) -> Any:
    """The rows of ``tables`` (one per source, in source order), by column name."""
    out = tables[0]
    for table in tables[1:]:
        out = out.unionByName(table)
    return out


def _sums(ex: Any, df: Any) -> dict[str, int]:
    """Column sums of a table of per-partition counts."""
    table = ex.to_arrow(df)
    return {name: int(pc.sum(table.column(name)).as_py() or 0) for name in table.column_names}


def _accept(
    ex: Any, docs: Any, cfg: DedupConfig, names: list[str]
) -> tuple[Any, int, list[str], Any]:
    """The documents whose id is seen first, the number of records skipped (bad records and
    repeated ids), the first 20 error messages in input order and the table of the skipped
    records' positions (None when there are none); under ``on_error=raise`` the first error
    is raised."""
    good = docs.where(f"kind = {KIND_DOC}")
    rejected = ex.group(
        good.select("id_key", "pos", "line"),
        ["id_key"],
        ["id_key", "pos"],
        reject_partition,
        REJECT_SCHEMA,
        names,
        cfg.id_field,
    )
    rejected = ex.checkpoint(rejected, "rejected")
    errors = docs.where(f"kind = {KIND_ERROR}").select("pos", "error", "error_obj")
    errors = errors.unionByName(rejected)
    n_errors = errors.count()
    messages: list[str] = []
    if n_errors:
        limit = 1 if cfg.on_error == "raise" else 20
        first = errors.orderBy("pos").limit(limit).collect()
        if cfg.on_error == "raise":
            raise pickle.loads(first[0][2])
        messages = [r[1] for r in first]
    skipped = errors.select("pos") if n_errors else None
    if rejected.limit(1).count() == 0:  # the usual case: the documents as written
        return good.drop("kind", "error", "error_obj", "invalid"), n_errors, messages, skipped
    accepted = good.join(rejected.select("pos"), "pos", "left_anti")
    accepted = accepted.drop("kind", "error", "error_obj", "invalid")
    return ex.checkpoint(accepted, "accepted"), n_errors, messages, skipped


def _similarities(ex: Any, pairs: Any, accepted: Any, measure: str, cfg: DedupConfig) -> Any:
    """``(a, b, sim, accepted)`` for each pair (:func:`similarity_partition`)."""
    col, short = ("shingle_set", "set") if measure == "jaccard" else ("sig", "sig")
    involved = pairs.selectExpr("a as pos").unionByName(pairs.selectExpr("b as pos")).distinct()
    involved = ex.checkpoint(involved, "paired")
    if involved.count() <= BROADCAST_ROWS:
        involved = involved.hint("broadcast")
    values = accepted.select("pos", col).join(involved, "pos", "left_semi")
    left = values.selectExpr("pos as a", f"{col} as {short}_a")
    right = values.selectExpr("pos as b", f"{col} as {short}_b")
    joined = pairs.join(left, "a").join(right, "b").select("a", "b", f"{short}_a", f"{short}_b")
    return ex.map(joined, similarity_partition, SIM_SCHEMA, measure, cfg.num_perm, cfg.threshold)


def _decide(
    ex: Any,
    labels: Any,
    accepted: Any,
    exact_edges: Any,
    near_edges: Any,
    cfg: DedupConfig,
    measure: str,
    contained: Any = None,
    bodies: bool = False,
) -> Any:
    """The decisions of every component (:func:`decide_partition`), from its members and, for
    ``star`` or with containment on, its edges, brought together by the component shuffle.
    With containment on, ``contained`` holds the contained edges ``(a, b)`` and members carry
    their own and body shingle sets, authors and whether they reply."""
    data = "shingle_set" if measure == "jaccard" else "sig"
    sets: list[str] = []
    if contained is not None:
        sets = [
            "coalesce(own_set, shingle_set) as own",
            "coalesce(body_set, shingle_set) as body",
            "author",
            "reply",
        ]
    member_cols = accepted.selectExpr(
        "pos", "length", "keep", "id", "exact_hi", "exact_lo", f"{data} as data", *sets
    )
    set_names = ["own", "body", "author", "reply"] if contained is not None else []
    members = labels.join(member_cols, "pos").selectExpr(
        "root",
        f"cast({MEMBER} as tinyint) as kind",
        "pos",
        "cast(null as bigint) as b",
        "length",
        "keep",
        "id",
        "exact_hi",
        "exact_lo",
        "data",
        *set_names,
    )
    if cfg.clustering == "star" or contained is not None:
        edges = exact_edges.selectExpr(
            "b as pos", "a as b", f"cast({EXACT_EDGE} as tinyint) as kind"
        ).unionByName(
            near_edges.selectExpr("a as pos", "b", f"cast({NEAR_EDGE} as tinyint) as kind")
        )
        if contained is not None:
            edges = edges.unionByName(
                contained.selectExpr("a as pos", "b", f"cast({CONTAINED_EDGE} as tinyint) as kind")
            )
        edges = edges.join(labels, "pos").selectExpr(
            "root",
            "kind",
            "pos",
            "b",
            "cast(null as bigint) as length",
            "cast(null as binary) as keep",
            "cast(null as binary) as id",
            "cast(null as bigint) as exact_hi",
            "cast(null as bigint) as exact_lo",
            "cast(null as binary) as data",
            *(
                [
                    "cast(null as binary) as own",
                    "cast(null as binary) as body",
                    "cast(null as bigint) as author",
                    "cast(null as boolean) as reply",
                ]
                if contained is not None
                else []
            ),
        )
        members = members.unionByName(edges)
    return ex.group(
        members,
        ["root"],
        ["root", "kind", "pos"],
        decide_partition,
        DECISION_SCHEMA,
        cfg.keep,
        cfg.clustering,
        measure,
        cfg.num_perm,
        None if cfg.containment is None else (cfg.threshold, float(cfg.containment), bodies),
    )


def _contained(ex: Any, accepted: Any, cfg: DedupConfig, bodies: bool) -> Any:
    """The containment pairs ``(a, b, containment, reverse, edge)``, one per contained
    document (:mod:`neardup.stages.containment`): distinct fingerprints per document →
    document frequencies (a count per hash) → the probes of each document (the document
    shuffle) → candidate pairs (the hash shuffle) → exact containment on the sets joined to
    each pair → the best container of each contained document (the shuffle by ``a``)."""
    threshold = float(cfg.containment or 1.0)
    low = cfg.containment_min_shingles
    fps = ex.map(
        accepted.where("contain is not null").select("pos", "contain", "own_size"),
        fingerprint_rows_partition,
        CONTAIN_FP_SCHEMA,
    )
    fps = ex.checkpoint(fps, "contain-fingerprints")
    df = fps.groupBy("hash").count().withColumnRenamed("count", "df")
    counted = ex.checkpoint(fps.join(df, "hash"), "contain-df")
    probes = ex.group(
        counted, ["pos"], ["pos"], prefix_partition, CONTAIN_FP_SCHEMA, threshold, low
    )
    probes = ex.checkpoint(probes, "contain-probes")
    holders = (
        counted.where(f"df >= 2 and df <= {MAX_POSTINGS}")
        .select("hash", "pos", "size")
        .join(probes.select("hash").distinct(), "hash", "left_semi")
    )
    rows = holders.selectExpr("hash", "false as probe", "pos", "size").unionByName(
        probes.selectExpr("hash", "true as probe", "pos", "size")
    )
    pairs = ex.group(
        rows, ["hash"], ["hash", "probe", "pos"], probe_pairs_partition, CONTAIN_PAIR_SCHEMA
    )
    pairs = ex.checkpoint(pairs.dropDuplicates(["a", "b"]), "contain-candidates")
    involved = pairs.selectExpr("a as pos").unionByName(pairs.selectExpr("b as pos")).distinct()
    values = accepted.selectExpr(
        "pos",
        "coalesce(own_set, shingle_set) as own",
        "coalesce(body_set, shingle_set) as body",
        "n_set",
        "author",
        "reply",
    ).join(involved, "pos", "left_semi")
    sides = [
        values.selectExpr(
            *[f"{c} as {c}_{x}" for c in ("own", "body", "n_set", "author", "reply")],
            f"pos as {x}",
        )
        for x in ("a", "b")
    ]
    joined = pairs.join(sides[0], "a").join(sides[1], "b")
    verified = ex.map(joined, verify_partition, CONTAINED_SCHEMA, threshold, low, bodies)
    verified = ex.checkpoint(verified, "contain-verified")
    return ex.group(verified, ["a"], ["a", "b"], best_partition, CONTAINED_SCHEMA)
