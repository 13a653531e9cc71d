"""Commands that measure neardup against human judgement: ``sample-pairs`` and ``evaluate``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import orjson

from neardup.cli.base import cli, emit_json
from neardup.config import DedupConfig
from neardup.errors import OutputError
from neardup.judge.sample import (
    CHAR_MIN,
    CHAR_WORD_MAX,
    CONTAIN_MIN,
    CONTAIN_WORD_MAX,
    KINDS,
    STRATA,
    sample_pairs,
)


def write_jsonl(rows: list[dict[str, Any]], path: Path, force: bool) -> None:
    """Write rows one per line to ``path`` through a temporary file and a rename; an existing
    file (labels, perhaps) is refused unless ``force``."""
    if path.exists() and not force:
        raise OutputError(
            f"{path} exists; labels written into it would be lost",
            remedy="choose another -o file, or pass --force to overwrite it",
        )
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            for row in rows:
                fh.write(orjson.dumps(row) + b"\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(
            f"cannot write {path}: {exc.strerror or exc}",
            remedy="check that the folder exists and is writable",
        ) from exc


_SAMPLE_HELP = f"""Draw pairs of documents of INPUTS (one corpus, as dedup reads it) for a
person to label, stratified over similarity, into the JSONL file -o.

\b
Strata (first match wins; every measure exact, on the pair's shingle sets):
  containment  one document ≥ {CONTAIN_MIN} inside the other (word n-grams),
               word Jaccard < {CONTAIN_WORD_MAX}
  char         character 5-gram Jaccard ≥ {CHAR_MIN}, word Jaccard < {CHAR_WORD_MAX}
  J0.9-1 …     word n-gram Jaccard: {", ".join(STRATA[:3])},
               {", ".join(STRATA[3:6])}

\b
One pair per line, ready to fill in (ids only; --with-text adds text_a and text_b):
  {{"id_a", "id_b", "source", "stratum", "jaccard", "containment", "char_jaccard",
   "duplicate": null, "kind": null, "reason": null, "split": "tune"|"heldout"}}

\b
The labeller fills in:
  duplicate  true or false (or a grade, read with evaluate --cutoff)
  kind       {", ".join(KINDS[:4])},
             {", ".join(KINDS[4:])}
  reason     one line: why

"split" is a seeded hash of the pair: choose parameters on "tune" only and report on
"heldout". `neardup evaluate` reads the file back; lines whose "duplicate" is still null are
skipped and counted. See the README, "Judged by people"."""


@cli.command("sample-pairs", help=_SAMPLE_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="The JSONL to write."
)
@click.option(
    "--per-stratum", type=int, default=25, show_default=True, help="Pairs drawn per stratum."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the draw and the split."
)
@click.option("--with-text", is_flag=True, help="Embed text_a and text_b for the labeller.")
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id (generated when absent).  [default: id]")
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    help="Stop at the first bad record (raise, default) or skip it.",
)
@click.option("--workers", type=int, help="Worker threads.  [default: all cores]")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-stratum counts as JSON.")
def sample_pairs_cmd(
    inputs: tuple[Path, ...],
    output: Path,
    per_stratum: int,
    seed: int,
    with_text: bool,
    force: bool,
    as_json: bool,
    **options: Any,
) -> None:
    changes = {k: v for k, v in options.items() if v is not None}
    cfg = DedupConfig().with_(**changes) if changes else DedupConfig()
    if output.exists() and not force:  # before the work, not after it
        write_jsonl([], output, force)
    result = sample_pairs(
        list(inputs), per_stratum=per_stratum, seed=seed, with_text=with_text, config=cfg
    )
    write_jsonl(result.pairs, output, force)
    summary = {
        "documents": result.documents,
        "candidate_pairs": result.candidates,
        "pairs": len(result.pairs),
        "available": result.available,
        "drawn": result.drawn,
        "output": str(output),
    }
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"neardup: {result.documents:,} documents · {result.candidates:,} candidate pairs · "
        f"{len(result.pairs):,} drawn into {output}"
    )
    for st in STRATA:
        click.echo(f"  {st:<12} {result.drawn[st]:>5,} of {result.available[st]:>9,}")
