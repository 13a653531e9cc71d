"""Commands over corpora on disk: ``dedup``, ``boilerplate`` and ``explain``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from neardup.api import dedup as run_dedup
from neardup.api import explain, find_boilerplate, plan
from neardup.cli.base import (
    boilerplate_options,
    cli,
    emit_json,
    executor_from,
    fingerprint_options,
    spark_options,
)
from neardup.cli.semantic_options import semantic_options
from neardup.config import OUTPUT_FORMATS, PRESETS, DedupConfig, preset
from neardup.params import format_parameter_report
from neardup.report.explain import format_explanation

if TYPE_CHECKING:
    pass


@cli.command("dedup")
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Folder (or Spark URI) for the results; a local folder is locked for the run, and inputs "
    "inside it are refused.",
)
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id (generated when absent).  [default: id]")
@fingerprint_options
@semantic_options
@click.option(
    "--verify/--no-verify",
    default=None,
    help="Check candidates against exact Jaccard (default) or trust MinHash estimates.",
)
@click.option(
    "--keep",
    help="Keeper: first|longest|shortest|newest:FIELD|priority:FIELD|corrected[:FIELD]|none "
    "(corrected: a 'CORRECTED -' version, then the latest by FIELD).  [default: first]",
)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    help="Stop at the first bad record (raise, default) or skip and count it.",
)
@click.option(
    "--clustering",
    type=click.Choice(["components", "star"]),
    help="components: every chain of near-duplicates is one cluster (default); star: each "
    "removed document is within the threshold of the one kept for it (default with --method "
    "semantic).",
)
@click.option("--workers", type=int, help="Worker threads.  [default: all cores]")
@click.option("--batch-size", type=int, help="Documents per batch.  [default: 1024]")
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    help="Format of kept/removed (default: the input's).",
)
@click.option(
    "--strip-boilerplate",
    is_flag=True,
    default=None,
    help="Find lines repeated across many documents (widgets, sign-offs) and ignore and strip "
    "them.",
)
@boilerplate_options
@click.option(
    "--containment",
    type=float,
    help="Also remove a document whose shingles are at least this fraction inside a longer "
    "document (truncated or abridged copies), e.g. 0.9.  [default: off]",
)
@click.option(
    "--containment-min-shingles",
    type=int,
    help="Smallest document (in distinct shingles) that can be contained.  [default: 20]",
)
@click.option(
    "--containment-ignore-quotes/--containment-count-quotes",
    default=None,
    help="Whether quoted lines ('>', '|', 'In article … writes:') are left out of a message's own "
    "text for containment (default: left out, so a reply never contains its parent).",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    help="Settings for a kind of text; options given explicitly win. ocr: character 5-grams at "
    "Jaccard 0.7, for text with recognition errors (README, 'Noisy text').",
)
@click.option(
    "--window",
    metavar="FIELD:DURATION",
    help="Documents whose FIELD times are further apart than DURATION (units s, m, h, d; e.g. "
    "date:3.5d) are never duplicates; a document without a time matches only others without "
    "one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--dry-run", is_flag=True, help="Print the chosen bands/rows and candidate odds; run nothing."
)
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    help="Also write a self-contained HTML report (summary, S-curve, clusters with diffs); local "
    "runs only (the next run into the output folder removes a report left there).",
)
@click.option("--progress/--no-progress", default=None, help="Progress bars on stderr.")
@spark_options("Run on this machine, or on Apache Spark (needs neardup[spark] and Java 17+).")
def dedup_cmd(
    inputs: tuple[str, ...],
    output: str | None,
    config_file: Path | None,
    as_json: bool,
    dry_run: bool,
    report: Path | None,
    progress: bool | None,
    executor: str,
    spark_master: str | None,
    partitions: int | None,
    spark_conf: tuple[str, ...],
    **options: Any,
) -> None:
    """Deduplicate INPUTS: JSONL[.gz|.zst], Parquet or CSV files, folders of such files (shards;
    names starting with . or _ skipped) or folders of .txt files.

    Writes OUTPUT/kept.<fmt>, OUTPUT/removed.<fmt> (with kept_id, cluster_id, similarity,
    reason), OUTPUT/clusters.jsonl and, last, OUTPUT/stats.json: a folder with stats.json holds
    a complete result.
    """
    base = DedupConfig.from_toml(config_file) if config_file else DedupConfig()
    name = options.pop("preset", None)
    changes = {k: v for k, v in options.items() if v is not None}
    if name is not None:
        changes = {**preset(name), **changes}
    cfg = base.with_(**changes) if changes else base
    if dry_run:
        parameters = plan(cfg)
        if as_json:
            emit_json(parameters)
        else:
            click.echo(format_parameter_report(parameters))
        return
    if not inputs:
        raise click.UsageError("give at least one input file or folder")
    if output is None:
        raise click.UsageError("--output DIR is required (or use --dry-run)")
    runner = executor_from(executor, spark_master, partitions, spark_conf)
    result = run_dedup(list(inputs), output, cfg, progress=progress, report=report, executor=runner)
    s = result.stats
    if as_json:
        emit_json(s)
        return
    click.echo(
        f"neardup: {s['documents']:,} documents → {s['kept']:,} kept, {s['removed']:,} removed "
        f"({s['removed_exact']:,} exact, {s['removed_near']:,} near"
        + (f", {s['removed_contained']:,} contained" if "removed_contained" in s else "")
        + (f", {s['removed_semantic']:,} semantic" if "removed_semantic" in s else "")
        + f") in {s['clusters']:,} clusters"
    )
    p = s["parameters"]
    how = f"{p['bands']} bands × {p['rows']} rows"
    if p.get("method") == "semantic":
        sem = p.get("semantic") or {}
        how = f"{p['model']} · {sem.get('search', p['semantic_search'])} search"
        if sem.get("buckets"):
            how += f" ({sem['buckets']} buckets, {sem['probes']} probes)"
    click.echo(
        f"  candidates {s['candidate_pairs']:,} · verified {s['verified_pairs']:,} · "
        f"rejected {s['rejected_pairs']:,} · {how} · "
        f"threshold {p['threshold']} · {s['total_seconds']:.2f} s · peak {s['peak_rss_mb']:.0f} MB"
    )
    extra = []
    if s["skipped_records"]:
        extra.append(f"{s['skipped_records']:,} bad records skipped")
    if s["invalid_utf8_records"]:
        extra.append(f"{s['invalid_utf8_records']:,} records with invalid UTF-8 repaired")
    if s["empty_documents"]:
        extra.append(f"{s['empty_documents']:,} empty documents kept as they are")
    if extra:
        click.echo("  " + " · ".join(extra))
    if s.get("boilerplate"):
        b = s["boilerplate"]
        click.echo(
            f"  boilerplate: {b['lines_stripped']:,} lines ({b['bytes_stripped']:,} bytes) "
            f"stripped from {b['documents_with_boilerplate']:,} documents"
        )
    _print_clusters(Path(result.outputs["clusters"]), limit=10)
    click.echo("  outputs: " + ", ".join(result.outputs.values()))


def _print_clusters(path: Path, limit: int) -> None:
    """The first clusters of a run: what was kept and what each removed copy duplicated."""
    if path.is_dir():  # Spark runs write part files
        parts = sorted(path.glob("part-*"))
        if not parts:
            return
        path = parts[0]
    with open(path, "rb") as fh:
        for n, line in enumerate(fh):
            if n == limit:
                click.echo("  …")
                break
            c = orjson.loads(line)
            kept = c["kept_id"] if c["kept_id"] is not None else "(none kept)"
            gone = ", ".join(
                f"{r['id']} ({r['reason']}, {'cos' if r['reason'] == 'semantic' else 'J'}="
                f"{r['similarity']:.3f})"
                for r in c["removed"]
            )
            click.echo(f"  cluster {c['cluster_id']}: kept {kept}; removed {gone}")


@cli.command("boilerplate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id.  [default: id]")
@click.option("--threshold", type=float, help="Near-duplicate threshold for the clusters. [0.8]")
@boilerplate_options
@click.option("--top", type=int, default=30, show_default=True, help="Lines to list.")
@click.option("--workers", type=int, help="Worker threads.  [default: all cores]")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bars on stderr.")
def boilerplate_cmd(
    inputs: tuple[Path, ...],
    config_file: Path | None,
    top: int,
    as_json: bool,
    progress: bool | None,
    **options: Any,
) -> None:
    """Report the boilerplate lines of INPUTS (lines that stand in many distinct documents),
    changing nothing. Near-duplicate copies of one document count once; documents whose only
    shared text is repeated lines count apart."""
    base = DedupConfig.from_toml(config_file) if config_file else DedupConfig()
    changes = {k: v for k, v in options.items() if v is not None}
    cfg = base.with_(**changes) if changes else base
    report = find_boilerplate(list(inputs), cfg, top=top, progress=progress)
    if as_json:
        emit_json(report)
        return
    p = report["parameters"]
    click.echo(
        f"neardup: {report['documents']:,} documents · boilerplate in "
        f"{report['documents_with_boilerplate']:,} · {report['lines_stripped']:,} lines "
        f"({report['bytes_stripped']:,} bytes) would be stripped · a line counts when it stands "
        f"in ≥ {p['min_docs']} distinct documents (≥ {p['long_min_docs']} if over "
        f"{p['long_words']} words; copies count once)"
    )
    if not report["lines"]:
        click.echo("  no boilerplate lines found")
    for row in report["lines"]:
        text = row["line"] if len(row["line"]) <= 70 else row["line"][:69] + "…"
        examples = ", ".join(str(e) for e in row["examples"])
        click.echo(
            f"  {row['documents']:>7,} docs  {row['clusters']:>7,} distinct  {text!r}  "
            f"(e.g. {examples})"
        )


@cli.command("explain")
@click.argument("a")
@click.argument("b")
@click.option(
    "--corpus",
    "corpus",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A and B are ids in this corpus (repeatable); differing lines are checked for "
    "boilerplate in it.",
)
@click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    help="A and B are ids stored in this index (its parameters apply).",
)
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--text-field", help="Field holding the text (with --corpus).  [default: text]")
@click.option("--id-field", help="Field holding the id (with --corpus).  [default: id]")
@fingerprint_options
@semantic_options
@boilerplate_options
@click.option(
    "--containment",
    type=float,
    help="Judge the containment rule at this threshold.  [default: 0.9]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain_cmd(
    a: str,
    b: str,
    corpus: tuple[Path, ...],
    index_path: Path | None,
    config_file: Path | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Explain why A and B are, or are not, duplicates: Jaccard and containment, the MinHash
    estimate, the odds that LSH proposes them, the verdict, and the lines that differ.

    A and B are two text files, or two document ids with --corpus or --index."""
    base = DedupConfig.from_toml(config_file) if config_file else DedupConfig()
    changes = {k: v for k, v in options.items() if v is not None}
    cfg = base.with_(**changes) if changes else base
    if index_path is not None:
        if corpus:
            raise click.UsageError("give --corpus or --index, not both")
        exp = explain(a, b, index=index_path)
    else:
        exp = explain(a, b, cfg, corpus=list(corpus) or None, progress=False)
    if as_json:
        emit_json(exp)
    else:
        click.echo(format_explanation(exp, width=shutil.get_terminal_size((100, 20)).columns))
