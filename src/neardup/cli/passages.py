"""``neardup passages``: cut passages that stand in several documents from all but one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from neardup.api.passages import passages
from neardup.cli.base import cli, emit_json, executor_from, spark_options
from neardup.config import OUTPUT_FORMATS, PassagesConfig


@cli.command("passages")
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    required=True,
    help="Folder for kept, removed, spans.jsonl and stats.json (locked for the run).",
)
@click.option(
    "--min-words",
    type=int,
    help="Shortest shared run of words that counts as a passage.  [default: 50]",
)
@click.option(
    "--min-words-left",
    type=int,
    help="A document left with fewer words after its cuts is removed whole.  [default: 10]",
)
@click.option(
    "--mode",
    type=click.Choice(["remove", "annotate"]),
    help="remove: cut the copies (default); annotate: change no text, write spans.jsonl only.",
)
@click.option(
    "--keep",
    help="Which copy keeps a passage: first|longest|shortest|newest:FIELD|priority:FIELD.  "
    "[default: first]",
)
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id (generated when absent).  [default: id]")
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    help="Stop at the first bad record (raise, default) or skip and count it.",
)
@click.option("--batch-size", type=int, help="Documents per batch.  [default: 1024]")
@click.option("--workers", type=int, help="Worker threads.  [default: all cores]")
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    help="Format of kept/removed (default: the input's).",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    help="Also write a self-contained HTML report (counts, cut lengths, top sources, documents "
    "with their cuts marked).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@spark_options(
    "Run on this machine, or on Apache Spark (needs neardup[spark] and Java 17+; writes "
    "folders of part files kept/, removed/, spans/)."
)
def passages_cmd(
    inputs: tuple[str, ...],
    output: str,
    as_json: bool,
    report: Path | None,
    executor: str,
    spark_master: str | None,
    partitions: int | None,
    spark_conf: tuple[str, ...],
    **options: Any,
) -> None:
    """Cut every passage of INPUTS (a run of at least --min-words words) that also stands in an
    earlier document under --keep; the first copy stays. Cuts snap to sentence, line or
    paragraph boundaries. Writes kept, removed (documents left too short), spans.jsonl (one line
    per cut: id, start, end, words, source_id, source_start, source_end) and stats.json."""
    cfg = PassagesConfig(**{k: v for k, v in options.items() if v is not None})
    runner = executor_from(executor, spark_master, partitions, spark_conf)
    result = passages(list(inputs), output, cfg, report=report, executor=runner)
    s = result.stats
    if as_json:
        emit_json(s)
        return
    click.echo(
        f"neardup: {s['documents']:,} documents · {s['documents_with_cuts']:,} lost passages "
        f"({s['cuts']:,} cuts, {s['words_cut']:,} words) · {s['removed']:,} removed whole · "
        f"{s['kept']:,} kept · {s['total_seconds']:.1f} s"
    )
    for row in s["top_sources"][:5]:
        click.echo(f"  source {row['id']}: {row['words']:,} words cut from later documents")
    click.echo(f"  results in {output}/")
    if report is not None:
        click.echo(f"  report: {result.outputs['report']}")
