"""neardup's semantic method beside semhash (same model, same threshold): pair precision and
recall against planted clusters or MSRP labels, wall time, peak RSS, agreement.

Each run is a fresh process (``--one``) that reads the JSONL corpus, deduplicates it and
reports its wall time (model load, reading and, for neardup, writing the outputs included),
its peak RSS (``ru_maxrss``) and its clusters. Runs alternate between the tools; times are
medians over ``--rounds``. Wrap the whole script in ``flock /tmp/neardup-bench.lock`` so timed
runs never overlap.

Scoring: a tool's predicted pairs are all pairs of documents in one of its clusters (the
links of each removed document to the one kept for it — neardup's ``kept_id``, semhash's
``duplicate_of`` — joined into clusters). With ``--truth`` (planted clusters,
:mod:`make_paraphrase`) the true pairs are the pairs within a planted cluster, and the links are
scored too: a removal is right when it and its kept document are in one planted cluster. With
``--msrp`` only MSRP's labelled pairs are scored (a labelled pair is predicted positive when
both sentences are in one cluster) and the predicted pairs outside them are counted apart.

    flock /tmp/neardup-bench.lock .venv/bin/python bench/semantic/peers.py \\
        bench/data/semantic/para-10000.jsonl --truth bench/data/semantic/para-10000.truth.jsonl \\
        --model ../shared/models/potion-base-4m-int8 --threshold 0.9 --rounds 3 \\
        --out bench/results/semantic-peers-para-10000.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = ("neardup", "semhash")


def clusters_of(links: list[tuple[str, str]]) -> list[list[str]]:
    """Connected groups of ``links`` (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def run_neardup(
    corpus: Path, model: str, threshold: float, workers: int | None
) -> list[tuple[str, str]]:
    import neardup

    with tempfile.TemporaryDirectory(prefix="sem-bench-") as out:
        neardup.dedup(
            corpus, out, method="semantic", model=model, threshold=threshold, workers=workers
        )
        with open(Path(out) / "removed.jsonl", encoding="utf-8") as fh:
            return [(str(r["id"]), str(r["kept_id"])) for r in map(json.loads, fh)]


def run_semhash(corpus: Path, model: str, threshold: float) -> list[tuple[str, str]]:
    from model2vec import StaticModel
    from semhash import SemHash

    with open(corpus, encoding="utf-8") as fh:
        records = [{"id": str(r["id"]), "text": r["text"]} for r in map(json.loads, fh)]
    sh = SemHash.from_records(records, columns=["text"], model=StaticModel.from_pretrained(model))
    result = sh.self_deduplicate(threshold=threshold)
    return [(d.record["id"], d.duplicate_of["id"]) for d in result.filtered]


def one(tool: str, corpus: Path, model: str, threshold: float, workers: int | None) -> dict:
    t = time.perf_counter()
    if tool == "neardup":
        links = run_neardup(corpus, model, threshold, workers)
    else:
        links = run_semhash(corpus, model, threshold)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"tool": tool, "wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1), "links": links}


def pairs(clusters: list[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) for c in clusters for a, b in itertools.combinations(sorted(c), 2)}


def truth_clusters(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8") as fh:
        return [[t["base"], *t["variants"]] for t in map(json.loads, fh)]


def score_links(links: list[tuple[str, str]], truth: list[list[str]]) -> dict:
    """Each removal's link to the document kept for it: true when both are in one planted
    cluster; and the planted duplicates (members beyond one per cluster) so removed."""
    where = {m: k for k, c in enumerate(truth) for m in c}
    good = sum(1 for a, b in links if a in where and where.get(b) == where[a])
    planted = sum(len(c) - 1 for c in truth)
    return {
        "removals": len(links),
        "removal_links_true": good,
        "removal_precision": round(good / len(links), 4) if links else None,
        "planted_duplicates": planted,
        "removal_recall": round(min(good, planted) / planted, 4) if planted else None,
    }


def score(pred: set, truth: set) -> dict:
    tp = len(pred & truth)
    return {
        "predicted_pairs": len(pred),
        "true_pairs": len(truth),
        "true_positives": tp,
        "precision": round(tp / len(pred), 4) if pred else None,
        "recall": round(tp / len(truth), 4) if truth else None,
    }


def score_labelled(clusters: list[list[str]], labelled: list[tuple[str, str, int]]) -> dict:
    where = {m: k for k, c in enumerate(clusters) for m in c}
    tp = fp = fn = 0
    for a, b, label in labelled:
        same = a in where and where.get(a) == where.get(b)
        tp += same and label == 1
        fp += same and label == 0
        fn += (not same) and label == 1
    keys = {tuple(sorted((a, b))) for a, b, _ in labelled}
    unlabelled = len(pairs(clusters) - keys)
    return {
        "labelled_pairs": len(labelled),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "predicted_pairs_unlabelled": unlabelled,
    }


def msrp_corpus(path: Path, out: Path) -> list[tuple[str, str, int]]:
    """MSRP's sentences as a corpus (one document per sentence id) and its labelled pairs."""
    import gzip

    texts: dict[str, str] = {}
    labelled = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for rec in map(json.loads, fh):
            a, b = str(rec["id_a"]), str(rec["id_b"])
            texts.setdefault(a, rec["text_a"])
            texts.setdefault(b, rec["text_b"])
            labelled.append((a, b, int(rec["label"])))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for i, t in texts.items():
            fh.write(json.dumps({"id": i, "text": t}) + "\n")
    return labelled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, nargs="?")
    ap.add_argument("--truth", type=Path)
    ap.add_argument("--msrp", type=Path, help="MSRP pairs.jsonl.gz: score its labelled pairs")
    ap.add_argument("--model", required=True)
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--one", choices=TOOLS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        json.dump(one(args.one, args.corpus, args.model, args.threshold, args.workers), sys.stdout)
        return
    labelled = None
    if args.msrp:
        args.corpus = Path("bench/data/semantic/msrp-sentences.jsonl")
        labelled = msrp_corpus(args.msrp, args.corpus)
    truth_groups = truth_clusters(args.truth) if args.truth else None
    truth = pairs(truth_groups) if truth_groups is not None else None
    runs: dict[str, list[dict]] = {t: [] for t in args.tools.split(",")}
    for r in range(args.rounds):
        for tool in runs:
            cmd = [sys.executable, __file__, str(args.corpus), "--one", tool, "--model", args.model,
                   "--threshold", str(args.threshold)]  # fmt: skip
            if args.workers:
                cmd += ["--workers", str(args.workers)]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            res["clusters"] = clusters_of([tuple(x) for x in res["links"]])
            runs[tool].append(res)
            print(f"round {r + 1} {tool}: {res['wall_s']:.2f} s, {res['peak_rss_mb']:.0f} MB, "
                  f"{len(res['clusters']):,} clusters", file=sys.stderr)  # fmt: skip
    report: dict = {
        "corpus": str(args.corpus), "model": args.model, "threshold": args.threshold,
        "rounds": args.rounds, "workers": args.workers, "tools": {},
    }  # fmt: skip
    final = {t: rs[-1]["clusters"] for t, rs in runs.items()}
    for tool, rs in runs.items():
        walls = [x["wall_s"] for x in rs]
        entry = {
            "wall_s_median": round(statistics.median(walls), 3),
            "wall_s": walls,
            "peak_rss_mb": max(x["peak_rss_mb"] for x in rs),
            "clusters": len(final[tool]),
            "removed": sum(len(c) - 1 for c in final[tool]),
            "same_clusters_every_round": all(
                sorted(map(tuple, x["clusters"])) == sorted(map(tuple, final[tool])) for x in rs
            ),
        }
        if truth is not None and truth_groups is not None:
            entry.update(score(pairs(final[tool]), truth))
            entry.update(score_links([tuple(x) for x in rs[-1]["links"]], truth_groups))
        if labelled is not None:
            entry.update(score_labelled(final[tool], labelled))
        report["tools"][tool] = entry
    if {"neardup", "semhash"} <= set(final):
        pn, ps = pairs(final["neardup"]), pairs(final["semhash"])
        report["agreement"] = {
            "pairs_both": len(pn & ps),
            "pairs_only_neardup": len(pn - ps),
            "pairs_only_semhash": len(ps - pn),
            "pair_jaccard": round(len(pn & ps) / len(pn | ps), 4) if pn | ps else 1.0,
        }
        report["wall_ratio_neardup_to_semhash"] = round(
            report["tools"]["neardup"]["wall_s_median"]
            / report["tools"]["semhash"]["wall_s_median"],
            3,
        )
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
