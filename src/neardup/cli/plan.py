"""``neardup plan``: the memory and disk a run over a corpus of a given size needs."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import click

from neardup.api import memory_plan
from neardup.cli.base import cli, emit_json, fingerprint_options
from neardup.config import DedupConfig
from neardup.memplan import human_bytes


@cli.command("plan")
@click.option("--docs", type=int, required=True, help="Documents in the corpus.")
@click.option("--avg-bytes", type=float, required=True, help="Mean bytes of text per document.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file.")
@fingerprint_options
@click.option("--executors", type=int, default=1, show_default=True, help="Spark executors.")
@click.option(
    "--partitions", type=int, help="Spark shuffle partitions.  [default: chosen from the sizes]"
)
@click.option(
    "--duplicate-fraction",
    type=float,
    default=0.1,
    show_default=True,
    help="Expected share of documents that are duplicates (sizes the candidate pairs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (sizes in bytes).")
def plan_cmd(
    docs: int,
    avg_bytes: float,
    config_file: Path | None,
    executors: int,
    partitions: int | None,
    duplicate_fraction: float,
    as_json: bool,
    **options: Any,
) -> None:
    """Estimate the memory and disk a dedup of DOCS documents of AVG-BYTES each needs: peak
    memory of a local run and what spills to disk, and for Spark the table sizes, partitions
    and executor memory. Nothing is read or run."""
    base = DedupConfig.from_toml(config_file) if config_file else DedupConfig()
    changes = {k: v for k, v in options.items() if v is not None}
    cfg = base.with_(**changes) if changes else base
    plan = memory_plan(
        cfg,
        docs,
        avg_bytes,
        executors=executors,
        partitions=partitions,
        duplicate_fraction=duplicate_fraction,
    )
    if as_json:
        emit_json(plan)
    else:
        click.echo(format_memory_plan(plan))


def _row(label: str, size: float, extra: str = "") -> str:
    return f"  {label:<42}{human_bytes(size):>9}" + (f"   {extra}" if extra else "")


def format_memory_plan(plan: dict[str, Any]) -> str:
    """The plan as a compact table for a terminal."""
    i, p, d, loc, sp = (plan[k] for k in ("inputs", "parameters", "per_document", "local", "spark"))
    bands, words = p["bands"], i["words_per_doc"]
    lines = [
        f"neardup plan: {i['docs']:,} documents × {i['avg_bytes']:,.0f} bytes "
        f"(≈ {words:,.0f} words at {i['bytes_per_word']:g} bytes a word) · threshold "
        f"{p['threshold']} · {p['num_perm']} permutations · {bands} bands × {p['rows']} rows",
        "",
        "per document",
        _row(f"signature ({p['num_perm']} × 4 B)", d["signature_bytes"]),
        _row(f"shingle set (≈ {words:,.0f} words × 4 B)", d["shingle_set_bytes"]),
        _row("exact hash (XXH3-128)", d["exact_hash_bytes"]),
        _row(f"band keys ({bands} × 8 B)", d["band_key_bytes"]),
        _row("bookkeeping (id, line, length…)", d["bookkeeping_bytes"]),
        "",
        _row("while candidates are found, per document", d["resolve_bytes"]),
        _row("spilled to disk, per shingle", d["spilled_bytes_per_shingle"]),
        "",
        "local run",
        _row("signatures", loc["signature_bytes"]),
        _row(
            "exact hashes + bookkeeping",
            loc["exact_bytes"] + loc["bookkeeping_bytes"],
            f"+ {human_bytes(loc['id_index_bytes'])} id index while scanning",
        ),
        _row(
            "shingle sets in memory",
            loc["shingle_memory_bytes"],
            f"of {human_bytes(loc['shingle_bytes'])}; "
            f"{human_bytes(loc['spill_bytes_on_disk'])} spilled to disk",
        ),
        _row(f"band keys ({bands} bands) + sort", loc["band_key_bytes"] + loc["band_sort_bytes"]),
        _row("clusters and decisions", loc["decision_bytes"]),
        _row("shingle sets being verified", loc["verify_set_bytes"]),
        _row(f"candidate pairs ({loc['candidate_pairs']:,})", loc["candidate_pair_bytes"]),
        _row("interpreter + numba baseline", loc["baseline_bytes"]),
        *(
            _row(f"stage {name}", size, "← peak" if name == loc["peak_stage"] else "")
            for name, size in loc["stage_peak_bytes"].items()
        ),
        _row("expected peak memory", loc["peak_bytes"]),
        *(
            [
                _row(
                    "without room to spill",
                    loc["peak_without_spill_bytes"],
                    f"candidates' sets read again: {human_bytes(loc['reread_set_bytes'])}",
                )
            ]
            if loc["reread_set_bytes"]
            else []
        ),
        "",
        f"Spark: {sp['executors']} executor{'s' if sp['executors'] != 1 else ''} × "
        f"{sp['cores_per_executor']} cores, "
        f"{sp['partitions']} partitions",
        _row(
            "fingerprint table (work folder)",
            sp["fingerprint_table_bytes"],
            f"{human_bytes(sp['fingerprint_bytes_per_partition'])} per partition",
        ),
        _row(
            f"band table ({sp['band_table_rows']:,} rows × 20 B)",
            sp["band_table_bytes"],
            f"{human_bytes(sp['band_shuffle_bytes_per_partition'])} per partition",
        ),
        _row("candidate pairs", sp["candidate_pair_bytes"]),
        _row(
            "executor memory",
            sp["executor_memory_bytes"],
            f"spark.executor.memory={sp['executor_memory']}",
        ),
    ]
    width = max(60, shutil.get_terminal_size((100, 20)).columns)
    for note in sp["notes"]:
        lines.append(textwrap.fill(note, width, initial_indent="  · ", subsequent_indent="    "))
    return "\n".join(lines)
