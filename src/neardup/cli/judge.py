"""Commands that measure neardup against human judgement: ``sample-pairs`` and ``evaluate``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import orjson

from neardup.cli.base import cli, emit_json, fingerprint_options
from neardup.config import PRESETS, DedupConfig, preset
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


def _fmt(x: float | None) -> str:
    return "  –  " if x is None else f"{x:.3f}"


def _score_line(name: str, s: dict[str, Any]) -> str:
    return (
        f"  {name:<16} P {_fmt(s['precision'])}  R {_fmt(s['recall'])}  F1 {_fmt(s['f1'])}  "
        f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']}, tn {s['tn']}; {s['pairs']} pairs)"
    )


def format_evaluation(result: dict[str, Any], show: int) -> str:
    """The text report of :func:`neardup.evaluate`."""
    lab = result["labels"]
    p = result.get("parameters", {})
    head = (
        f"neardup: {lab['labelled']:,} labelled {lab['kind']} from {lab['file']}"
        + (f" (split {lab['split']}; {lab['other_split']:,} of the other half left out)")
        * (lab["split"] != "all")
        + f" · {lab['unlabelled']:,} unlabelled rows skipped"
    )
    lines = [head]
    if p:
        lines.append(
            f"  run: threshold {p.get('threshold')} · ngram {p.get('ngram')} · shingle "
            f"{p.get('shingle')} · containment {p.get('containment')} · clustering "
            f"{p.get('clustering')}"
        )
    if "clusters" in result:
        c = result["clusters"]
        lines.append(
            f"  adjusted Rand index {c['ari']:.4f} over {c['documents']:,} documents "
            f"({c['labelled_clusters']:,} labelled clusters, {c['predicted_clusters']:,} "
            "predicted)"
        )
        q = c["pairs"]
        lines.append(
            f"  pairs of documents: P {_fmt(q['precision'])}  R {_fmt(q['recall'])}  "
            f"F1 {_fmt(q['f1'])}  (tp {q['tp']}, fp {q['fp']}, fn {q['fn']})"
        )
        return "\n".join(lines)
    scores = result["pairs"]
    lines.append(_score_line("all", scores["overall"]))
    for key in ("split", "kind", "stratum", "source"):
        group = scores.get(f"by_{key}")
        if group:
            lines.append(f" by {key}:")
            lines.extend(_score_line(k, v) for k, v in group.items())
    wrong = result["disagreements"]
    if wrong:
        lines.append(f" {len(wrong):,} pairs disagree with their label:")
        for w in wrong[:show]:
            why = f" [{w['kind']}] {w['reason']}" if w.get("kind") or w.get("reason") else ""
            lines.append(f"  {w['error']}: {w['id_a']} ~ {w['id_b']}{why}")
            lines.append(f"    {w['explain']}")
        if len(wrong) > show:
            lines.append(f"  … {len(wrong) - show:,} more (--show N, or --json)")
    return "\n".join(lines)


@cli.command("evaluate")
@click.argument("labels", type=click.Path(path_type=Path))
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path),
    help="Score this finished dedup output folder (its clusters.jsonl).",
)
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Run dedup on this corpus (repeatable) in a temporary folder, with the options given, "
    "and score that.",
)
@click.option(
    "--cutoff", type=float, help="Graded labels: a grade at or above this is a duplicate."
)
@click.option(
    "--split",
    type=click.Choice(["all", "tune", "heldout"]),
    default="all",
    show_default=True,
    help="Score one half of the pair labels (choose parameters on tune, report heldout).",
)
@click.option("--show", type=int, default=20, show_default=True, help="Disagreeing pairs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print every score as JSON.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--text-field", help="Field holding the text.  [default: text]")
@click.option("--id-field", help="Field holding the id.  [default: id]")
@fingerprint_options
@click.option("--containment", type=float, help="Dedup --containment C.  [default: off]")
@click.option("--strip-boilerplate", is_flag=True, default=None, help="Dedup --strip-boilerplate.")
@click.option("--clustering", type=click.Choice(["components", "star"]), help="Dedup --clustering.")
@click.option("--window", metavar="FIELD:DURATION", help="Dedup --window.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="Dedup --preset.")
@click.option(
    "--on-error", type=click.Choice(["raise", "skip"]), help="Bad records: raise or skip."
)
@click.option("--workers", type=int, help="Worker threads.  [default: all cores]")
@click.option("--progress/--no-progress", default=None, help="Progress bars on stderr.")
def evaluate_cmd(
    labels: Path,
    output_dir: Path | None,
    corpus: tuple[Path, ...],
    cutoff: float | None,
    split: str,
    show: int,
    as_json: bool,
    config_file: Path | None,
    progress: bool | None,
    **options: Any,
) -> None:
    """Score a dedup result against LABELS given by people: pairs (id_a, id_b, duplicate — as
    `neardup sample-pairs` writes them, filled in) or clusters (id, cluster per line).

    The result is a finished output folder (--output-dir) or a dedup run made here on
    --corpus with the dedup options given. Pairs: precision, recall and F1 (a pair is predicted
    duplicate when both ids share an output cluster), by split, kind, stratum and source, and
    the pairs that disagree, each with its `neardup explain` command. Clusters: the adjusted
    Rand index (Hubert and Arabie 1985) and pair-counting P/R/F1. Rows not labelled yet
    (duplicate null) are skipped and counted."""
    from neardup.judge.score import evaluate

    name = options.pop("preset", None)
    changes = {k: v for k, v in options.items() if v is not None}
    if name is not None:
        changes = {**preset(name), **changes}
    if config_file is not None or changes:
        base = DedupConfig.from_toml(config_file) if config_file else DedupConfig()
        cfg: DedupConfig | None = base.with_(**changes) if changes else base
    else:
        cfg = None
    if output_dir is not None and corpus:
        raise click.UsageError("give --output-dir or --corpus, not both")
    result = evaluate(
        labels,
        output_dir=output_dir,
        corpus=list(corpus) or None,
        config=cfg,
        cutoff=cutoff,
        split=split,
        progress=progress,
    )
    if as_json:
        emit_json(result)
    else:
        click.echo(format_evaluation(result, show))
