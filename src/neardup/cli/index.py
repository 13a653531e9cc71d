"""Commands over a persistent index: ``index create|add|query|remove|stats`` and ``serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from neardup.cli.base import cli, emit_json, fingerprint_options
from neardup.config import DedupConfig


@cli.group("index")
def index_group() -> None:
    """A persistent index: is a new document a duplicate of anything already stored?"""


@index_group.command("create")
@click.argument("path", type=click.Path(path_type=Path))
@fingerprint_options
def index_create(path: Path, **options: Any) -> None:
    """Create an index at PATH (one SQLite file; missing parent folders are created). Its
    parameters are stored in it and used for every later call."""
    from neardup.index import Index

    with Index.create(path, **{k: v for k, v in options.items() if v is not None}) as idx:
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
    "--skip-existing",
    is_flag=True,
    help="Skip documents whose id is already stored (resumes an interrupted add); skipped "
    "documents are written to neither -o output.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Also write kept.jsonl (new), removed.jsonl (duplicates) and stats.json into this "
    "folder, as dedup does (locked for the add, stats.json last).",
)
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id.  [default: id]")
@click.option("--batch-size", type=int, help="Documents per transaction.  [default: 1024]")
@click.option("--json", "as_json", is_flag=True, help="Print every result as JSON.")
@click.option("--progress/--no-progress", default=None, help="A progress bar on stderr.")
def index_add_cmd(
    path: Path,
    inputs: tuple[Path, ...],
    add_duplicates: bool,
    skip_existing: bool,
    output: Path | None,
    as_json: bool,
    progress: bool | None,
    **options: Any,
) -> None:
    """Add the documents of INPUTS to the index at PATH; report, for each, new or duplicate of
    an id with the similarity and reason.

    Each batch is one transaction: an interrupted add keeps the batches it committed and says
    how many; the same command with --skip-existing resumes it."""
    from neardup.api import index_add
    from neardup.api.ingest import IndexAddInterrupted
    from neardup.index import Index

    cfg = DedupConfig().with_(**{k: v for k, v in options.items() if v is not None})
    try:
        with Index.open(path) as idx:
            summary = index_add(
                idx,
                list(inputs),
                add_duplicates=add_duplicates,
                output=output,
                config=cfg,
                progress=progress,
                skip_existing=skip_existing,
            )
    except IndexAddInterrupted as exc:
        # said here, not by the generic handler: batches were committed, so "no output was
        # written" would be wrong
        click.echo(f"\nneardup: {exc}", err=True)
        raise SystemExit(130) from None
    if as_json:
        emit_json(summary)
        return
    for r in summary["results"]:
        if r["status"] == "new":
            click.echo(f"new        {r['id']}")
        elif r["status"] == "skipped":
            click.echo(f"skipped    {r['id']}  (already stored)")
        else:
            stored = " (stored)" if r["added"] else ""
            click.echo(
                f"duplicate  {r['id']}  of {r['kept_id']}  {r['reason']}, "
                f"J={r['similarity']:.3f}{stored}"
            )
    skipped = f", {summary['skipped']:,} skipped (already stored)" if skip_existing else ""
    click.echo(
        f"neardup: {summary['documents']:,} documents → {summary['new']:,} new, "
        f"{summary['duplicates']:,} duplicates{skipped} · index holds "
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
    rows: list[dict[str, Any]] = [
        {"query": q, "matches": [m.to_dict() for m in ms]}
        for (q, _), ms in zip(queries, found, strict=True)
    ]
    if as_json:
        emit_json(rows)
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
        emit_json(idx.stats())


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
@click.option(
    "--body-timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds a request body may take to arrive; a slower one gets 408 and its connection "
    "is closed.",
)
def serve_cmd(
    path: Path,
    host: str,
    port: int,
    api_key_file: Path | None,
    auth: bool | None,
    max_body_mb: float,
    max_batch: int,
    body_timeout: float,
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
        body_timeout_s=body_timeout,
    )
