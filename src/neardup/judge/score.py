"""``neardup.evaluate``: a dedup result (a finished output folder, or a run made here) scored
against labels given by people (see :mod:`neardup.judge.evaluate` for the measures)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neardup.config import DedupConfig
from neardup.errors import ConfigError, InputError
from neardup.judge.evaluate import (
    cluster_scores,
    explain_command,
    output_ids,
    pair_scores,
    read_clusters,
    read_labels,
)


def _check_ids(labelled: set[str], present: set[str] | None, where: str) -> None:
    if present is None:
        return
    missing = sorted(labelled - present)
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise InputError(
            f"{len(missing):,} labelled ids are not documents of {where}: {shown}",
            remedy="score the labels against the corpus they were drawn from (and its --id-field)",
        )


def evaluate(
    labels: str | Path,
    *,
    output_dir: str | Path | None = None,
    corpus: str | Path | Sequence[str | Path] | None = None,
    config: DedupConfig | None = None,
    cutoff: float | None = None,
    split: str = "all",
    progress: bool | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Score a dedup result against ``labels`` (pairs or clusters; see
    :mod:`neardup.judge.evaluate`).

    The result is ``output_dir`` (the folder of a finished ``neardup dedup``), or a run of
    :func:`neardup.dedup` over ``corpus`` with ``config``/``overrides`` made in a temporary
    folder. ``split`` (``all``, ``tune``, ``heldout``) keeps one half of the pair labels;
    ``cutoff``: grades at or above it count as duplicates.

    Returns a dict: ``labels`` (kind, labelled, unlabelled, other_split), ``pairs`` (overall,
    by_kind, by_split, by_stratum, by_source: tp, fp, fn, tn, precision, recall, f1) and
    ``disagreements`` (each with the ``explain`` command line), or ``clusters`` (ari and pair
    counts) for cluster labels; ``parameters`` of the run scored."""
    if (output_dir is None) == (corpus is None):
        raise ConfigError(
            "give either an output folder or a corpus to run dedup on",
            remedy="pass --output-dir DIR (a finished run) or --corpus FILE (run it here)",
        )
    if output_dir is not None and (config is not None or overrides):
        raise ConfigError(
            "dedup options apply to a run made here, not to an output folder",
            remedy="drop the dedup options, or pass --corpus instead of --output-dir",
        )
    lab = read_labels(labels, cutoff=cutoff, split=split)
    if corpus is not None:
        from neardup.api.run import dedup

        paths = [corpus] if isinstance(corpus, str | Path) else list(corpus)
        cfg = config or DedupConfig()
        if overrides:
            cfg = cfg.with_(**overrides)
        with tempfile.TemporaryDirectory(prefix="neardup-evaluate-") as tmp:
            out = Path(tmp) / "out"
            dedup(paths, out, cfg, progress=progress)
            member_of, stats = read_clusters(out)
            present = output_ids(stats)
        corpus_names = [str(p) for p in paths]
        where = ", ".join(corpus_names)
    else:
        assert output_dir is not None  # one of the two, checked above
        member_of, stats = read_clusters(output_dir)
        present = output_ids(stats)
        corpus_names = [str(i["path"]) for i in stats.get("inputs", [])]
        where = f"the run in {output_dir}"
    labelled = (
        {x for a, b, _, _ in lab.pairs for x in (a, b)}
        if lab.kind == "pairs"
        else set(lab.clusters)
    )
    _check_ids(labelled, present, where)
    result: dict[str, Any] = {
        "labels": {
            "file": str(labels),
            "kind": lab.kind,
            "labelled": len(lab.pairs) if lab.kind == "pairs" else len(lab.clusters),
            "unlabelled": lab.unlabelled,
            "other_split": lab.other_split,
            "split": split,
            "cutoff": cutoff,
        },
        "parameters": stats.get("parameters", {}),
    }
    if lab.kind == "clusters":
        result["clusters"] = cluster_scores(lab.clusters, member_of)
        return result
    scores, wrong = pair_scores(lab.pairs, member_of)
    for w in wrong:
        w["explain"] = explain_command(w["id_a"], w["id_b"], corpus_names, stats)
    result["pairs"] = scores
    result["disagreements"] = wrong
    return result
