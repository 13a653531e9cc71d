"""Choose neardup's decision rule by the hand-labelled pairs in ``bench/labels/``.

Every candidate rule (:mod:`rules`: word n-gram size, Jaccard threshold, containment,
boilerplate stripping, and on Reuters a date window) is one dedup run per corpus, scored with
:func:`neardup.evaluate` on the ``tune`` half only. For each selection in :data:`SELECTIONS`
(all three corpora, the two news corpora, each corpus; with or without the window) a rule
qualifies when its tune precision pooled over those corpora is at least 0.97, and the one with
the highest pooled recall is chosen. The chosen rules and the old default (word 5-grams,
Jaccard >= 0.8, no containment) are then scored on the ``heldout`` half, which played no part in
the choice; so is ``--method semantic`` at its defaults with ``--semantic``.

Runs are cached under ``bench/data/labels-cache/`` (only ``clusters.jsonl`` and ``stats.json``
are kept, plus a summary of the removals), so a second invocation only re-scores. Nothing here
is timed. Usage::

    .venv/bin/python bench/labels/choose.py                     # the whole grid
    .venv/bin/python bench/labels/choose.py --quick --semantic  # boilerplate without containment

Outputs: ``bench/results/labels-choose.json`` and ``bench/results/labels-choose.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import orjson
from rules import (
    DUPLICATE_KINDS,
    MIN_PRECISION,
    OLD_DEFAULT,
    OTHER_KINDS,
    Rule,
    best,
    grid,
    over,
    prf,
)

import neardup
from neardup.timewindow import parse_time

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
LABELS = ROOT / "bench" / "labels"
CACHE = ROOT / "bench" / "data" / "labels-cache"
RESULTS = ROOT / "bench" / "results"
MODEL = ROOT.parent / "shared" / "models" / "potion-base-4m-int8"
WINDOW_SECONDS = 3.5 * 86400

CORPORA: dict[str, dict[str, Any]] = {
    "reuters": {
        "path": DATA / "reuters21578" / "docs.jsonl.gz",
        "options": {"text_field": "body", "on_error": "skip"},
        "dated": True,
    },
    "bbc": {"path": DATA / "bbc-news-fulltext" / "docs.jsonl.gz", "options": {}, "dated": False},
    "20ng": {
        "path": DATA / "20newsgroups-bydate" / "docs.jsonl.gz",
        "options": {},
        "dated": False,
    },
}


def _key(rule: Rule, dated: bool) -> str:
    o = rule.options(dated)
    return "-".join(f"{k}={o[k]}" for k in sorted(o)).replace(":", "_").replace("/", "_")


def _dates(path: Path) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    with gzip.open(path, "rb") as fh:
        for raw in fh:
            rec = orjson.loads(raw)
            d = rec.get("date")
            out[str(rec["id"])] = parse_time(d) if d else None
    return out


def run(corpus: str, rule: Rule, dates: dict[str, float | None] | None) -> Path:
    """The cached output folder of ``rule`` on ``corpus`` (made when missing)."""
    spec = CORPORA[corpus]
    folder = CACHE / corpus / _key(rule, spec["dated"])
    if (folder / "summary.json").is_file():
        return folder
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    cfg = neardup.DedupConfig(**spec["options"], **rule.options(spec["dated"]))
    print(f"  run {corpus}: {rule.name}", file=sys.stderr, flush=True)
    neardup.dedup([spec["path"]], tmp, cfg, progress=False)
    stats = orjson.loads((tmp / "stats.json").read_bytes())
    summary: dict[str, Any] = {"removed": 0, "far_from_keeper": 0}
    with gzip.open(tmp / "removed.jsonl.gz", "rb") as fh:
        for raw in fh:
            rec = orjson.loads(raw)
            summary["removed"] += 1
            if dates is not None:
                a, b = dates.get(str(rec["id"])), dates.get(str(rec["kept_id"]))
                if a is not None and b is not None and abs(a - b) > WINDOW_SECONDS:
                    summary["far_from_keeper"] += 1
    summary["window_rejected_pairs"] = stats.get("window_rejected_pairs")
    for name in ("kept.jsonl.gz", "removed.jsonl.gz"):  # big; evaluate needs clusters only
        (tmp / name).unlink(missing_ok=True)
    (tmp / "summary.json").write_text(json.dumps(summary))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def semantic(corpus: str) -> dict[str, Any]:
    """``--method semantic`` at its defaults on ``corpus``, scored on both halves (one point
    beside the grid, not part of the choice)."""
    spec = CORPORA[corpus]
    folder = CACHE / corpus / "method=semantic"
    if not (folder / "stats.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  run {corpus}: method semantic", file=sys.stderr, flush=True)
        cfg = neardup.DedupConfig(**spec["options"], method="semantic", model=str(MODEL))
        neardup.dedup([spec["path"]], folder, cfg, progress=False)
        for name in ("kept.jsonl.gz", "removed.jsonl.gz"):
            (folder / name).unlink(missing_ok=True)
    return {h: score(corpus, folder, h)["overall"] for h in ("tune", "heldout")}


def score(corpus: str, folder: Path, split: str) -> dict[str, Any]:
    r = neardup.evaluate(LABELS / f"{corpus}.jsonl", output_dir=folder, split=split)
    pairs = r["pairs"]
    return {
        "overall": pairs["overall"],
        "by_kind": pairs["by_kind"],
        "disagreements": [
            {k: d[k] for k in ("id_a", "id_b", "error", "kind", "reason", "jaccard")}
            for d in r["disagreements"]
        ],
    }


def pooled(per_corpus: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tot = [sum(per_corpus[c]["overall"][k] for c in per_corpus) for k in ("tp", "fp", "fn")]
    return prf(*tot)


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _kinds(per_corpus: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per label kind, pooled: duplicates found (tp of n) or non-duplicates joined (fp of n)."""
    out: dict[str, dict[str, int]] = {}
    for res in per_corpus.values():
        for kind, m in res["by_kind"].items():
            o = out.setdefault(kind, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
            for k in o:
                o[k] += m[k]
    return out


def _kind_cell(m: dict[str, int] | None, kind: str) -> str:
    if m is None:
        return "–"
    if kind in DUPLICATE_KINDS:
        n = m["tp"] + m["fn"]
        return f"{m['tp']}/{n} found" if n else "–"
    n = m["fp"] + m["tn"]
    return f"{m['fp']}/{n} joined" if n else "–"


def heldout(row: dict[str, Any]) -> dict[str, Any]:
    per = {c: score(c, f, "heldout") for c, f in row["folders"].items()}
    news = prf(*[sum(per[c]["overall"][k] for c in NEWS) for k in ("tp", "fp", "fn")])
    return {"per_corpus": per, "pooled": pooled(per), "news_pooled": news, "by_kind": _kinds(per)}


def reuters_templates(row: dict[str, Any]) -> dict[str, Any]:
    folder = row["folders"]["reuters"]
    res = score("reuters", folder, "all")
    summary = json.loads((folder / "summary.json").read_text())
    t = res["by_kind"].get("template", {"fp": 0, "tn": 0})
    return {
        "template_pairs_joined": t["fp"],
        "template_pairs": t["fp"] + t["tn"],
        "removed": summary["removed"],
        "removed_far_from_keeper": summary["far_from_keeper"],
        "window_rejected_pairs": summary["window_rejected_pairs"],
    }


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": row["rule"].name,
        "tune_pooled": row["tune_pooled"],
        "tune": {c: r["overall"] for c, r in row["tune"].items()},
    }


ALL = tuple(CORPORA)
NEWS = ("reuters", "bbc")
SELECTIONS = {  # name: (corpora pooled, window on dated corpora)
    "all three corpora": (ALL, False),
    "all three corpora, window on Reuters": (ALL, True),
    "news (Reuters + BBC)": (NEWS, False),
    "news (Reuters + BBC), window on Reuters": (NEWS, True),
    "Reuters": (("reuters",), False),
    "Reuters, window": (("reuters",), True),
    "BBC": (("bbc",), False),
    "20NG": (("20ng",), False),
}


def write_report(rows: list[dict[str, Any]], sem: dict[str, dict[str, Any]]) -> None:
    by_rule = {r["rule"]: r for r in rows}
    chosen: dict[str, dict[str, Any] | None] = {}
    top_precision: dict[str, dict[str, Any]] = {}
    for name, (corpora, window) in SELECTIONS.items():
        pool = [r for r in rows if r["rule"].window == window]
        chosen[name] = best(pool, corpora)
        top = max(pool, key=lambda r: over(r, corpora)["precision"] or 0.0)
        top_precision[name] = {"rule": top["rule"].name, **over(top, corpora)}
    compare: dict[str, dict[str, Any]] = {"old default": by_rule[OLD_DEFAULT]}
    if Rule(window=True) in by_rule:
        compare["old default + window"] = by_rule[Rule(window=True)]
    for name in ("all three corpora", "all three corpora, window on Reuters"):
        if chosen[name] is not None:
            compare[f"chosen: {name}"] = chosen[name]  # type: ignore[assignment]
    news = chosen["news (Reuters + BBC), window on Reuters"]
    if news is not None:
        compare["news rule"] = news
        unwindowed = Rule(
            news["rule"].ngram,
            news["rule"].threshold,
            news["rule"].containment,
            news["rule"].boilerplate,
        )
        compare["news rule without window"] = by_rule[unwindowed]
    undated = chosen["news (Reuters + BBC)"]
    if undated is not None:
        compare["news rule, no dates"] = undated
    held = {name: heldout(r) for name, r in compare.items()}
    templ = {name: reuters_templates(r) for name, r in compare.items()}
    result = {
        "min_precision": MIN_PRECISION,
        "rule_space": "word n-gram Jaccard >= t, OR containment >= c when set",
        "chosen_on_tune": {
            n: ({"rule": r["rule"].name, **over(r, SELECTIONS[n][0])} if r else None)
            for n, r in chosen.items()
        },
        "highest_tune_precision": top_precision,
        "compared": {n: r["rule"].name for n, r in compare.items()},
        "compared_flags": {n: r["rule"].flags(True) for n, r in compare.items()},
        "heldout": held,
        "reuters_templates": templ,
        "semantic_defaults": sem,
        "tune_grid": [_row_json(r) for r in rows],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "labels-choose.json").write_text(json.dumps(result, indent=1, default=str))
    (RESULTS / "labels-choose.md").write_text(markdown(rows, result, compare, held, templ))
    print((RESULTS / "labels-choose.md").read_text())


def markdown(
    rows: list[dict[str, Any]],
    result: dict[str, Any],
    compare: dict[str, dict[str, Any]],
    held: dict[str, dict[str, Any]],
    templ: dict[str, dict[str, Any]],
) -> str:
    out = ["# Decision rule chosen by hand-labelled pairs", ""]
    out.append(
        "Made by `bench/labels/choose.py`: one dedup run per rule and corpus, scored with "
        "`neardup.evaluate` on the tune half. A rule qualifies when its tune precision, pooled "
        f"over the corpora named, is at least {MIN_PRECISION}; the qualifying rule with the "
        "highest pooled recall is chosen. P/R are over the labelled (stratified) pairs."
    )
    out.append("")
    out.append("| chosen on tune, pooled over | rule | P | R | highest P reached (rule) |")
    out.append("|---|---|---|---|---|")
    for n, ch in result["chosen_on_tune"].items():
        top = result["highest_tune_precision"][n]
        cells = (
            [f"**{ch['rule']}**", _f(ch["precision"]), _f(ch["recall"])]
            if ch
            else ["none qualifies", "–", "–"]
        )
        out.append(f"| {n} | " + " | ".join(cells) + f" | {_f(top['precision'])} ({top['rule']}) |")
    out.append("")
    out.append("## Tune half: the rules with the highest news recall at P >= 0.97, and others")
    out.append("")
    out.append("| rule | all P / R | news P / R | Reuters P / R | BBC P / R | 20NG P / R |")
    out.append("|---|---|---|---|---|---|")

    def ok(r: dict[str, Any]) -> bool:
        return (over(r, NEWS)["precision"] or 0.0) >= MIN_PRECISION

    ranked = sorted(rows, key=lambda r: (-ok(r), -(over(r, NEWS)["recall"] or 0.0)))
    shown = ranked[:12] + [r for r in rows if r["rule"] in (OLD_DEFAULT, Rule(window=True))]
    shown += sorted(rows, key=lambda r: -(over(r, ALL)["precision"] or 0.0))[:3]
    seen: set[Rule] = set()
    for r in shown:
        if r["rule"] in seen:
            continue
        seen.add(r["rule"])
        scores = [over(r, cs) for cs in (ALL, NEWS, ("reuters",), ("bbc",), ("20ng",))]
        out.append(
            f"| {r['rule'].name} | "
            + " | ".join(f"{_f(x['precision'])} / {_f(x['recall'])}" for x in scores)
            + " |"
        )
    out.append("")
    out.append("## Held-out half: old default vs the rules chosen")
    out.append("")
    names = list(compare)
    out.append("| corpus | " + " | ".join(f"{n}: P / R / F1" for n in names) + " |")
    out.append("|---|" + "---|" * len(names))
    for c in [*CORPORA, "news (Reuters + BBC)", "all three"]:
        cells = []
        for n in names:
            m = (
                held[n]["news_pooled"]
                if c.startswith("news")
                else held[n]["pooled"]
                if c == "all three"
                else held[n]["per_corpus"][c]["overall"]
            )
            cells.append(f"{_f(m['precision'])} / {_f(m['recall'])} / {_f(m['f1'])}")
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Per label kind (held-out, pooled; duplicates found, or non-duplicates joined):")
    out.append("")
    out.append("| kind | " + " | ".join(names) + " |")
    out.append("|---|" + "---|" * len(names))
    for kind in (*DUPLICATE_KINDS, *OTHER_KINDS):
        out.append(
            f"| {kind} | "
            + " | ".join(_kind_cell(held[n]["by_kind"].get(kind), kind) for n in names)
            + " |"
        )
    out.append("")
    out.append("Per corpus and kind (held-out):")
    out.append("")
    out.append("| corpus | kind | " + " | ".join(names) + " |")
    out.append("|---|---|" + "---|" * len(names))
    for c in CORPORA:
        for kind in (*DUPLICATE_KINDS, *OTHER_KINDS):
            cells = [_kind_cell(held[n]["per_corpus"][c]["by_kind"].get(kind), kind) for n in names]
            if all(x == "–" for x in cells):
                continue
            out.append(f"| {c} | {kind} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("## Reuters templates")
    out.append("")
    out.append(
        "Labelled template pairs (both halves) joined, and a full run's removals lying "
        "more than 3.5 days from their keeper (almost all templates of other days):"
    )
    out.append("")
    out.append("| rule | flags | template pairs joined | removed | removed > 3.5 d from keeper |")
    out.append("|---|---|---|---|---|")
    for n in names:
        t = templ[n]
        out.append(
            f"| {n} | `{compare[n]['rule'].flags(True)}` | "
            f"{t['template_pairs_joined']}/{t['template_pairs']} | {t['removed']} | "
            f"{t['removed_far_from_keeper']} |"
        )
    out.append("")
    sem = result["semantic_defaults"]
    if sem:
        out.append("## `--method semantic` at its defaults (beside the grid, not chosen from)")
        out.append("")
        out.append("| corpus | tune P / R | held-out P / R |")
        out.append("|---|---|---|")
        for c, h in sem.items():
            out.append(
                f"| {c} | "
                + " | ".join(f"{_f(h[x]['precision'])} / {_f(h[x]['recall'])}" for x in h)
                + " |"
            )
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="boilerplate only without containment")
    ap.add_argument("--semantic", action="store_true", help="also score --method semantic")
    args = ap.parse_args()
    missing = [c for c, s in CORPORA.items() if not s["path"].is_file()]
    if missing:
        sys.exit(f"corpora not found under {DATA}: {', '.join(missing)}")
    dates = _dates(CORPORA["reuters"]["path"])
    rules = grid(args.quick)
    rows: list[dict[str, Any]] = []
    for rule in rules:
        folders = {
            c: run(c, rule, dates if c == "reuters" else None)
            for c in CORPORA
            if not (rule.window and not CORPORA[c]["dated"])
        }
        if rule.window:  # the window only changes dated corpora; the others reuse their run
            for c in CORPORA:
                if c not in folders:
                    plain = Rule(rule.ngram, rule.threshold, rule.containment, rule.boilerplate)
                    folders[c] = run(c, plain, None)
        tune = {c: score(c, f, "tune") for c, f in folders.items()}
        rows.append(
            {
                "rule": rule,
                "folders": folders,
                "tune": tune,
                "tune_pooled": pooled(tune),
            }
        )
    sem = {c: semantic(c) for c in CORPORA} if args.semantic and MODEL.is_dir() else {}
    write_report(rows, sem)


if __name__ == "__main__":
    main()
