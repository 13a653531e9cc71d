"""Scores of a dedup result against labels given by people.

Labels are JSONL, one of two kinds per file:

* **pairs** (as :func:`neardup.sample_pairs` writes them, once filled in): ``id_a``, ``id_b``,
  ``duplicate`` (true/false, or a grade compared with ``cutoff``), and optionally ``kind``,
  ``split``, ``stratum``, ``source``. A pair is *predicted* duplicate when both ids stand in
  the same output cluster. Precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)`` and
  ``F1 = 2PR / (P + R)`` (van Rijsbergen, *Information Retrieval*, 1979) over the labelled
  pairs, with breakdowns by ``kind``, ``split``, ``stratum`` and ``source``.
* **clusters**: ``id`` and ``cluster`` per line (a document with a cluster of its own is a
  singleton). The labelled partition is compared with the predicted one (output clusters, every
  other document a singleton) over the labelled documents by the adjusted Rand index (Hubert and
  Arabie, *Comparing partitions*, Journal of Classification 2, 1985)::

      ARI = (Σᵢⱼ C(nᵢⱼ,2) − E) / (½ [Σᵢ C(aᵢ,2) + Σⱼ C(bⱼ,2)] − E),
      E = Σᵢ C(aᵢ,2) · Σⱼ C(bⱼ,2) / C(n,2)

  (``nᵢⱼ`` the contingency table, ``aᵢ``/``bⱼ`` its row and column sums), 1 for identical
  partitions, about 0 for chance agreement; and pair precision and recall over all pairs of
  labelled documents (a pair is positive when both documents share a cluster).

Rows whose ``duplicate`` (or ``cluster``) is null are skipped and counted, so a half-labelled
file can be scored.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import Any

import orjson

from neardup.errors import ConfigError, InputError

SPLITS = ("all", "tune", "heldout")


@dataclass(frozen=True, slots=True)
class Labels:
    """Labelled pairs (``(id_a, id_b, duplicate, row)``) or labelled clusters (``id → label``),
    and how many rows had no label yet."""

    kind: str  # "pairs" or "clusters"
    pairs: list[tuple[str, str, bool, dict[str, Any]]]
    clusters: dict[str, str]
    unlabelled: int
    other_split: int


def _truth(value: Any, cutoff: float | None, path: str, line: int) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if cutoff is None:
            raise InputError(
                f"'duplicate' is a grade ({value!r}) but no cut-off was given",
                path=path,
                line=line,
                field="duplicate",
                remedy="pass --cutoff G (grades ≥ G count as duplicates)",
            )
        return float(value) >= cutoff
    raise InputError(
        f"'duplicate' must be true, false, a number or null, got {value!r}",
        path=path,
        line=line,
        field="duplicate",
        remedy="write true or false (or a numeric grade with --cutoff)",
    )


def read_labels(path: str | Path, *, cutoff: float | None = None, split: str = "all") -> Labels:
    """Read a labels file (module docstring); ``split`` keeps the pairs of one half only."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}", remedy="use heldout, tune or all")
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read labels: {exc.strerror}", path=name, remedy="check the path"
        ) from exc
    pairs: list[tuple[str, str, bool, dict[str, Any]]] = []
    clusters: dict[str, str] = {}
    kind = ""
    unlabelled = other = 0
    for line, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError(
                f"malformed JSON: {exc}", path=name, line=line, remedy="fix the line"
            ) from exc
        if not isinstance(row, dict):
            raise InputError(
                "expected a JSON object", path=name, line=line, remedy="one object per line"
            )
        this = "pairs" if "id_a" in row or "id_b" in row else "clusters" if "id" in row else ""
        if not this:
            raise InputError(
                "a label row needs id_a, id_b and duplicate (pairs) or id and cluster (clusters)",
                path=name,
                line=line,
                remedy="write labels as `neardup sample-pairs` does, or {'id', 'cluster'} rows",
            )
        if kind and this != kind:
            raise InputError(
                f"a {this[:-1]} row in a file of {kind}",
                path=name,
                line=line,
                remedy="keep pair labels and cluster labels in separate files",
            )
        kind = this
        if this == "clusters":
            if row.get("cluster") is None:
                unlabelled += 1
                continue
            clusters[str(row["id"])] = str(row["cluster"])
            continue
        for f in ("id_a", "id_b"):
            if row.get(f) is None:
                raise InputError(
                    f"missing {f}", path=name, line=line, field=f, remedy="give both ids"
                )
        if row.get("duplicate") is None:
            unlabelled += 1
            continue
        truth = _truth(row["duplicate"], cutoff, name, line)
        if split != "all" and row.get("split") != split:
            other += 1
            continue
        pairs.append((str(row["id_a"]), str(row["id_b"]), truth, row))
    return Labels(kind or "pairs", pairs, clusters, unlabelled, other)


def read_clusters(output_dir: str | Path) -> tuple[dict[str, int], dict[str, Any]]:
    """``id → cluster_id`` of the documents in clusters of a dedup output folder (its
    ``clusters.jsonl``, or Spark's ``clusters/`` part files), and its ``stats.json``."""
    out = Path(output_dir)
    stats_path = out / "stats.json"
    if not stats_path.is_file():
        raise InputError(
            f"{out} holds no complete dedup result (no stats.json)",
            path=str(out),
            remedy="pass the --output folder of a finished `neardup dedup` run",
        )
    stats = orjson.loads(stats_path.read_bytes())
    files = (
        sorted((out / "clusters").glob("part-*"))
        if (out / "clusters").is_dir()
        else [out / "clusters.jsonl"]
    )
    member_of: dict[str, int] = {}
    for f in files:
        with open(f, "rb") as fh:
            for raw in fh:
                if raw.strip():
                    c = orjson.loads(raw)
                    for m in c["members"]:
                        member_of[str(m)] = int(c["cluster_id"])
    return member_of, stats


def output_ids(stats: dict[str, Any]) -> set[str] | None:
    """Ids of every document of a dedup output (kept and removed), or None when they cannot be
    read back (generated ids, outputs moved)."""
    from neardup.io.sources import FieldSpec, open_sources, parse_batch

    p = stats.get("parameters", {})
    outs = stats.get("outputs", {})
    paths = [outs[k] for k in ("kept", "removed") if k in outs]
    if not paths or not all(Path(x).exists() for x in paths):
        return None
    spec = FieldSpec(p.get("text_field", "text"), p.get("id_field", "id"))
    ids: set[str] = set()
    try:
        for src in open_sources(paths):
            for raw in src.batches(4096):
                ids.update(str(i) for i in parse_batch(raw, spec).ids)
    except InputError:
        return None
    return ids


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None  # = 2PR / (P + R)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f1}


def pair_scores(
    pairs: Iterable[tuple[str, str, bool, dict[str, Any]]], member_of: dict[str, int]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """P/R/F1 over labelled pairs (overall and by kind, split, stratum, source) and the pairs
    where the prediction disagrees with the label."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    wrong: list[dict[str, Any]] = []
    for a, b, truth, row in pairs:
        ca, cb = member_of.get(a), member_of.get(b)
        pred = ca is not None and ca == cb
        cell = 0 if truth and pred else 1 if pred else 2 if truth else 3  # tp, fp, fn, tn
        counts["all"]["all"][cell] += 1
        for key in ("kind", "split", "stratum", "source"):
            if row.get(key) is not None:
                counts[key][str(row[key])][cell] += 1
        if cell in (1, 2):
            wrong.append(
                {
                    "id_a": a,
                    "id_b": b,
                    "label": truth,
                    "predicted": pred,
                    "error": "false positive" if cell == 1 else "false negative",
                    **{k: row.get(k) for k in ("kind", "reason", "stratum", "jaccard")},
                }
            )

    def score(c: list[int]) -> dict[str, Any]:
        return {**_prf(c[0], c[1], c[2]), "tn": c[3], "pairs": sum(c)}

    out: dict[str, Any] = {"overall": score(counts["all"]["all"])}
    for key in ("kind", "split", "stratum", "source"):
        if counts[key]:
            out[f"by_{key}"] = {k: score(v) for k, v in sorted(counts[key].items())}
    return out, wrong


def adjusted_rand_index(truth: Sequence[Any], predicted: Sequence[Any]) -> float:
    """ARI of two labellings of the same items (Hubert and Arabie 1985; module docstring).
    Two trivial partitions that agree (all singletons, or one cluster) score 1."""
    if len(truth) != len(predicted):
        raise ValueError("labellings of different lengths")
    n = len(truth)
    table: dict[tuple[Any, Any], int] = defaultdict(int)
    rows: dict[Any, int] = defaultdict(int)
    cols: dict[Any, int] = defaultdict(int)
    for t, p in zip(truth, predicted, strict=True):
        table[(t, p)] += 1
        rows[t] += 1
        cols[p] += 1
    index = sum(comb(v, 2) for v in table.values())
    sum_a = sum(comb(v, 2) for v in rows.values())
    sum_b = sum(comb(v, 2) for v in cols.values())
    total = comb(n, 2)
    expected = sum_a * sum_b / total if total else 0.0
    top = 0.5 * (sum_a + sum_b) - expected
    if top == 0:
        return 1.0
    return (index - expected) / top


def cluster_scores(clusters: dict[str, str], member_of: dict[str, int]) -> dict[str, Any]:
    """ARI and pair-counting P/R/F1 of the predicted partition against labelled clusters."""
    ids = sorted(clusters)
    truth = [clusters[i] for i in ids]
    pred = [member_of.get(i, f"singleton:{i}") for i in ids]
    table: dict[tuple[Any, Any], int] = defaultdict(int)
    rows: dict[Any, int] = defaultdict(int)
    cols: dict[Any, int] = defaultdict(int)
    for t, p in zip(truth, pred, strict=True):
        table[(t, p)] += 1
        rows[t] += 1
        cols[p] += 1
    tp = sum(comb(v, 2) for v in table.values())
    fp = sum(comb(v, 2) for v in cols.values()) - tp
    fn = sum(comb(v, 2) for v in rows.values()) - tp
    return {
        "documents": len(ids),
        "labelled_clusters": len(rows),
        "predicted_clusters": len(cols),
        "ari": adjusted_rand_index(truth, pred),
        "pairs": _prf(tp, fp, fn),
    }


def explain_command(a: str, b: str, corpus: Sequence[str], stats: dict[str, Any]) -> str:
    """The ``neardup explain`` command line for a pair, with the run's fields."""
    p = stats.get("parameters", {})
    parts = ["neardup", "explain", a, b]
    for c in corpus:
        parts += ["--corpus", c]
    if p.get("text_field", "text") != "text":
        parts += ["--text-field", p["text_field"]]
    if p.get("id_field", "id") != "id":
        parts += ["--id-field", p["id_field"]]
    defaults = {"threshold": 0.8, "ngram": 5, "char_ngram": 5, "shingle": "auto"}
    for key, default in defaults.items():
        if p.get(key, default) != default:
            parts += [f"--{key.replace('_', '-')}", str(p[key])]
    if p.get("containment") is not None:
        parts += ["--containment", str(p["containment"])]
    return shlex.join(parts)
