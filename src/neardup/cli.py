"""Command-line interface: parse → config → one library call → render.

Errors cross into the CLI in one place (:func:`main`), which prints the message with its remedy
and exits with the error's code: 2 for bad parameters, 3 for bad input, 4 for output problems,
130 when interrupted.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
import orjson

from neardup import __version__
from neardup.api import dedup as run_dedup
from neardup.api import explain, find_boilerplate, plan
from neardup.config import OUTPUT_FORMATS, DedupConfig
from neardup.errors import NeardupError
from neardup.params import format_parameter_report
from neardup.report.explain import format_explanation


def _emit_json(obj: Any) -> None:
    click.echo(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="neardup")
def cli() -> None:
    """Find, explain and remove exact and near-duplicate documents in text corpora."""


def fingerprint_options(fn: Any) -> Any:
    """Options that fix how documents are fingerprinted and matched (dedup, explain, index)."""
    options = [
        click.option(
            "--threshold", type=float, help="Jaccard similarity of near-duplicates.  [default: 0.8]"
        ),
        click.option("--num-perm", type=int, help="MinHash permutations.  [default: 128]"),
        click.option("--ngram", type=int, help="Words per shingle.  [default: 5]"),
        click.option(
            "--char-ngram",
            type=int,
            help="Characters per shingle (scripts without spaces).  [default: 5]",
        ),
        click.option(
            "--shingle",
            type=click.Choice(["auto", "word", "char"]),
            help="Word or character shingles; auto picks characters for Chinese, Japanese, Thai…",
        ),
        click.option("--seed", type=int, help="Seed of the MinHash permutations.  [default: 42]"),
        click.option("--bands", type=int, help="LSH bands (with --rows; default: chosen)."),
        click.option("--rows", type=int, help="LSH rows per band (with --bands)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def boilerplate_options(fn: Any) -> Any:
    """Options shared by ``dedup --strip-boilerplate`` and ``boilerplate``."""
    options = [
        click.option(
            "--boilerplate-mode",
            type=click.Choice(["strip", "mark"]),
            help="strip: remove the lines from kept text (default); mark: keep the text and list "
            "the line numbers in a 'boilerplate_lines' field.",
        ),
        click.option(
            "--boilerplate-min-docs",
            type=int,
            help="Distinct clusters a line must stand in to be boilerplate.  [default: 10]",
        ),
        click.option(
            "--boilerplate-long-words",
            type=int,
            help="Lines longer than this many words need more clusters.  [default: 40]",
        ),
        click.option(
            "--boilerplate-long-min-docs",
            type=int,
            help="Clusters a long line must stand in.  [default: 5 × min-docs]",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@cli.command("dedup")
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Folder for the results.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id (generated when absent).  [default: id]")
@fingerprint_options
@click.option(
    "--verify/--no-verify",
    default=None,
    help="Check candidates against exact Jaccard (default) or trust MinHash estimates.",
)
@click.option(
    "--keep",
    help="Keeper: first|longest|shortest|newest:FIELD|priority:FIELD|none.  [default: first]",
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
    "removed document is within the threshold of the one kept for it.",
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
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--dry-run", is_flag=True, help="Print the chosen bands/rows and candidate odds; run nothing."
)
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    help="Also write a self-contained HTML report (summary, S-curve, clusters with diffs).",
)
@click.option("--progress/--no-progress", default=None, help="Progress bars on stderr.")
def dedup_cmd(
    inputs: tuple[Path, ...],
    output: Path | None,
    config_file: Path | None,
    as_json: bool,
    dry_run: bool,
    report: Path | None,
    progress: bool | None,
    **options: Any,
) -> None:
    """Deduplicate INPUTS (JSONL[.gz|.zst], Parquet, CSV files or folders of .txt files).

    Writes OUTPUT/kept.<fmt>, OUTPUT/removed.<fmt> (with kept_id, cluster_id, similarity,
    reason), OUTPUT/clusters.jsonl and OUTPUT/stats.json.
    """
    base = DedupConfig.from_toml(config_file) if config_file else DedupConfig()
    changes = {k: v for k, v in options.items() if v is not None}
    cfg = base.with_(**changes) if changes else base
    if dry_run:
        report = plan(cfg)
        if as_json:
            _emit_json(report)
        else:
            click.echo(format_parameter_report(report))
        return
    if not inputs:
        raise click.UsageError("give at least one input file or folder")
    if output is None:
        raise click.UsageError("--output DIR is required (or use --dry-run)")
    result = run_dedup(list(inputs), output, cfg, progress=progress, report=report)
    s = result.stats
    if as_json:
        _emit_json(s)
        return
    click.echo(
        f"neardup: {s['documents']:,} documents → {s['kept']:,} kept, {s['removed']:,} removed "
        f"({s['removed_exact']:,} exact, {s['removed_near']:,} near) in {s['clusters']:,} clusters"
    )
    p = s["parameters"]
    click.echo(
        f"  candidates {s['candidate_pairs']:,} · verified {s['verified_pairs']:,} · "
        f"rejected {s['rejected_pairs']:,} · {p['bands']} bands × {p['rows']} rows · "
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
    with open(path, "rb") as fh:
        for n, line in enumerate(fh):
            if n == limit:
                click.echo("  …")
                break
            c = orjson.loads(line)
            kept = c["kept_id"] if c["kept_id"] is not None else "(none kept)"
            gone = ", ".join(
                f"{r['id']} ({r['reason']}, J={r['similarity']:.3f})" for r in c["removed"]
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
    changing nothing. Each line is counted once per cluster of near-duplicate documents."""
    base = DedupConfig.from_toml(config_file) if config_file else DedupConfig()
    changes = {k: v for k, v in options.items() if v is not None}
    cfg = base.with_(**changes) if changes else base
    report = find_boilerplate(list(inputs), cfg, top=top, progress=progress)
    if as_json:
        _emit_json(report)
        return
    p = report["parameters"]
    click.echo(
        f"neardup: {report['documents']:,} documents · boilerplate in "
        f"{report['documents_with_boilerplate']:,} · {report['lines_stripped']:,} lines "
        f"({report['bytes_stripped']:,} bytes) would be stripped · a line counts when it stands "
        f"in ≥ {p['min_docs']} clusters (≥ {p['long_min_docs']} if over {p['long_words']} words)"
    )
    if not report["lines"]:
        click.echo("  no boilerplate lines found")
    for row in report["lines"]:
        text = row["line"] if len(row["line"]) <= 70 else row["line"][:69] + "…"
        examples = ", ".join(str(e) for e in row["examples"])
        click.echo(
            f"  {row['documents']:>7,} docs  {row['clusters']:>7,} clusters  {text!r}  "
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
@boilerplate_options
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
        _emit_json(exp)
    else:
        click.echo(format_explanation(exp, width=shutil.get_terminal_size((100, 20)).columns))


@cli.group("index")
def index_group() -> None:
    """A persistent index: is a new document a duplicate of anything already stored?"""


@index_group.command("create")
@click.argument("path", type=click.Path(path_type=Path))
@fingerprint_options
def index_create(path: Path, **options: Any) -> None:
    """Create an index at PATH (one SQLite file). Its parameters are stored in it and used for
    every later call."""
    from neardup.index import Index

    idx = Index.create(path, **{k: v for k, v in options.items() if v is not None})
    p = idx.stats()["parameters"]
    click.echo(
        f"created {path}: threshold {p['threshold']}, {p['num_perm']} permutations, "
        f"{p['bands']} bands × {p['rows']} rows, word {p['ngram']}-grams"
    )


@index_group.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--add-duplicates", is_flag=True, help="Store duplicates too (they are reported).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Also write kept.jsonl (new), removed.jsonl (duplicates) and stats.json.",
)
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id.  [default: id]")
@click.option("--batch-size", type=int, help="Documents per transaction.  [default: 1024]")
@click.option("--json", "as_json", is_flag=True, help="Print every result as JSON.")
def index_add_cmd(
    path: Path,
    inputs: tuple[Path, ...],
    add_duplicates: bool,
    output: Path | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Add the documents of INPUTS to the index at PATH; report, for each, new or duplicate of
    an id with the similarity and reason. Each batch is one transaction."""
    from neardup.api import index_add
    from neardup.index import Index

    cfg = DedupConfig().with_(**{k: v for k, v in options.items() if v is not None})
    with Index.open(path) as idx:
        summary = index_add(
            idx, list(inputs), add_duplicates=add_duplicates, output=output, config=cfg
        )
    if as_json:
        _emit_json(summary)
        return
    for r in summary["results"]:
        if r["status"] == "new":
            click.echo(f"new        {r['id']}")
        else:
            stored = " (stored)" if r["added"] else ""
            click.echo(
                f"duplicate  {r['id']}  of {r['kept_id']}  {r['reason']}, "
                f"J={r['similarity']:.3f}{stored}"
            )
    click.echo(
        f"neardup: {summary['documents']:,} documents → {summary['new']:,} new, "
        f"{summary['duplicates']:,} duplicates · index holds "
        f"{summary['index']['documents']:,} · {summary['seconds']:.2f} s",
        err=True,
    )


@index_group.command("query")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--text", "texts", multiple=True, help="A text to look up (repeatable).")
@click.option("--limit", type=int, default=10, show_default=True, help="Matches per document.")
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id.  [default: id]")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def index_query(
    path: Path,
    inputs: tuple[Path, ...],
    texts: tuple[str, ...],
    limit: int,
    as_json: bool,
    **options: Any,
) -> None:
    """Look up the documents of INPUTS (or --text) in the index; nothing is changed."""
    from neardup.api import iter_documents
    from neardup.index import Index

    if not inputs and not texts:
        raise click.UsageError("give INPUT files or --text")
    cfg = DedupConfig().with_(**{k: v for k, v in options.items() if v is not None})
    queries = [(f"--text {k + 1}", t) for k, t in enumerate(texts)]
    if inputs:
        queries += [(d["id"], d["text"]) for d in iter_documents(list(inputs), cfg)]
    with Index.open(path) as idx:
        found = idx.query([t for _, t in queries], limit=limit)
    rows = [
        {"query": q, "matches": [m.to_dict() for m in ms]}
        for (q, _), ms in zip(queries, found, strict=True)
    ]
    if as_json:
        _emit_json(rows)
        return
    for row in rows:
        if not row["matches"]:
            click.echo(f"{row['query']}: no match")
        for m in row["matches"]:
            click.echo(f"{row['query']}: {m['id']}  {m['reason']}, J={m['similarity']:.3f}")


@index_group.command("remove")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("ids", nargs=-1, required=True)
def index_remove(path: Path, ids: tuple[str, ...]) -> None:
    """Remove documents by id from the index at PATH."""
    from neardup.index import Index

    with Index.open(path) as idx:
        n = idx.remove(ids)
    click.echo(f"removed {n} of {len(ids)}")


@index_group.command("stats")
@click.argument("path", type=click.Path(path_type=Path))
def index_stats(path: Path) -> None:
    """Documents, size on disk and parameters of the index at PATH (JSON)."""
    from neardup.index import Index

    with Index.open(path) as idx:
        _emit_json(idx.stats())


@cli.command("serve")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--api-key-file",
    type=click.Path(path_type=Path),
    help="File with one API key per line (also read: $NEARDUP_API_KEYS, comma-separated).",
)
@click.option(
    "--auth/--no-auth",
    default=None,
    help="Require a bearer API key (default: required unless bound to a loopback address).",
)
@click.option(
    "--max-body-mb",
    type=float,
    default=8.0,
    show_default=True,
    help="Largest request body accepted.",
)
@click.option(
    "--max-batch",
    type=int,
    default=1000,
    show_default=True,
    help="Most documents or texts per request.",
)
def serve_cmd(
    path: Path,
    host: str,
    port: int,
    api_key_file: Path | None,
    auth: bool | None,
    max_body_mb: float,
    max_batch: int,
) -> None:
    """Serve the index at PATH over HTTP (FastAPI; needs neardup[server]): POST /v1/documents,
    POST /v1/query, GET and DELETE /v1/documents/{id}, GET /v1/stats, GET /healthz; the
    OpenAPI spec is at /openapi.json."""
    from neardup.server import load_api_keys, serve

    keys = load_api_keys(api_key_file)
    serve(
        path,
        host=host,
        port=port,
        api_keys=keys,
        require_auth=auth,
        max_body_bytes=int(max_body_mb * (1 << 20)),
        max_batch=max_batch,
    )


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neardup`` command.

    SIGTERM is handled like Ctrl-C, so a killed run also removes its temporary files."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="neardup", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("neardup: interrupted; no output was written", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("neardup: interrupted; no output was written", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except NeardupError as exc:
        click.echo(f"neardup: error: {exc.message}", err=True)
        if exc.remedy:
            click.echo(f"  -> {exc.remedy}", err=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def run() -> None:
    """Console-script wrapper around :func:`main`."""
    sys.exit(main())
