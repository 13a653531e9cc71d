"""neardup, rensa and datasketch side by side at chosen corpus sizes: wall, CPU, peak RSS, ratios.

Every run is a fresh process (``peers.py``'s child runner: the peer's own pipeline, with the
post-filters of the LSH peers left out), and the peers alternate within each round (the order
rotates from round to round), so a noisy machine slows all of them alike. For each size the
table gives the median of the rounds, and the ratio of each peer's median wall time to
neardup's (> 1: neardup is faster).

* **wall**: for neardup the ``neardup dedup`` process, from spawn to exit (reading, writing the
  outputs included); for rensa and datasketch from spawn to the end of candidate generation
  (they write nothing).
* **CPU**: user + system seconds of the peer's process tree over the same span.
* **peak RSS**: as ``peers.py`` measures it (the larger of the sampled tree PSS and the largest
  process's high-water mark).
* **recall / precision**: against ``ground_truth.py``'s exact pairs, for sizes up to
  ``--score-max`` (the exact all-pairs join needs ~5 GB at 100k documents); neardup's pairs
  are the pairs within its clusters, the others' their LSH candidates.

Usage::

    python bench/speed.py --docs 50000,100000,1000000 --repeat 3
    python bench/speed.py --docs 100000 --peers neardup,rensa --repeat 5

Corpora are ``bench/data/corpus-<N>-s<seed>.jsonl``, made with ``make_corpus.py`` when missing.
Results: ``bench/results/speed-<sizes>-<stamp>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from peers import _versions, neardup_available, pack, run_peer, score
from shingles import iter_lines, loads

BENCH_DIR = Path(__file__).resolve().parent
PEERS = ("neardup", "rensa", "datasketch")


def corpus_path(docs: int, seed: int, data_dir: Path) -> Path:
    """The generated corpus of ``docs`` documents, made once."""
    path = data_dir / f"corpus-{docs}-s{seed}.jsonl"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            str(BENCH_DIR / "make_corpus.py"),
            "--docs",
            str(docs),
            "--seed",
            str(seed),
            "--out",
            str(path),
            "--truth",
            str(path.with_name(path.name.replace(".jsonl", ".truth.jsonl"))),
        ]
        print(f"[corpus] {' '.join(cmd)}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
    return path


def truth_of(corpus: Path, threshold: float, ngram: int) -> tuple[Any, Any, dict[str, int]]:
    """Exact pairs (packed, sorted), their Jaccard, and the corpus's id → row index."""
    import numpy as np
    from ground_truth import ensure_pairs

    index = {str(loads(line)["id"]): i for i, line in enumerate(iter_lines(corpus))}
    path, _ = ensure_pairs(corpus, threshold, ngram)
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    pairs = np.array([pack(index[r["a"]], index[r["b"]]) for r in rows], dtype=np.uint64)
    jac = np.array([r["jaccard"] for r in rows], dtype=np.float64)
    order = np.argsort(pairs)
    return pairs[order], jac[order], index


def run_once(peer: str, corpus: Path, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """One fresh-process run of ``peer`` on ``corpus``."""
    out = Path(tempfile.mkdtemp(prefix=f"{peer}-", dir=tmp))
    cfg = {
        "peer": peer,
        "corpus": str(corpus),
        "out": str(out),
        "threshold": args.threshold,
        "num_perm": args.num_perm,
        "ngram": args.ngram,
        "workers": args.workers,
        # neardup at its default (every core) unless told otherwise; the LSH peers' --workers
        # must not leak into it
        "neardup_workers": args.neardup_workers or os.cpu_count(),
        "rensa_bands": args.rensa_bands,
        "neardup_args": args.neardup_arg,
        "postfilters": False,
    }
    res = run_peer(cfg, args.timeout)
    res["out"] = str(out)
    shutil.rmtree(out / "neardup-out", ignore_errors=True)  # its pairs are in pairs.bin
    return res


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Medians (and ranges) of each peer's runs."""
    out: dict[str, dict[str, Any]] = {}
    for peer, rs in runs.items():
        if not rs:
            continue
        walls = [r["wall_s"] for r in rs]
        out[peer] = {
            "runs": len(rs),
            "wall_s": round(_median(walls), 3),
            "wall_min_s": min(walls),
            "wall_max_s": max(walls),
            "cpu_s": round(_median([r["cpu_s"] for r in rs]), 3),
            "peak_rss_mb": round(_median([r["peak_rss_bytes"] / 2**20 for r in rs]), 1),
        }
    nd = out.get("neardup")
    if nd is not None:
        for row in out.values():
            row["wall_ratio_peer_over_neardup"] = round(row["wall_s"] / nd["wall_s"], 2)
            row["cpu_ratio_peer_over_neardup"] = round(row["cpu_s"] / nd["cpu_s"], 2)
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| docs | peer | runs | wall s (median) | wall range s | CPU s | peak RSS MB "
        "| peer wall / neardup wall | peer CPU / neardup CPU | recall | precision |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        for peer, row in res["summary"].items():
            sc = res["scores"].get(peer) or {}
            rec = sc.get("recall")
            prec = sc.get("precision")
            lines.append(
                f"| {res['docs']:,} | {peer} | {row['runs']} | {row['wall_s']:.2f} "
                f"| {row['wall_min_s']:.2f}–{row['wall_max_s']:.2f} | {row['cpu_s']:.2f} "
                f"| {row['peak_rss_mb']:,.0f} "
                f"| {row.get('wall_ratio_peer_over_neardup', float('nan')):.2f} "
                f"| {row.get('cpu_ratio_peer_over_neardup', float('nan')):.2f} "
                f"| {'-' if rec is None else f'{rec:.4f}'} "
                f"| {'-' if prec is None else f'{prec:.4f}'} |"
            )
        for peer, why in res["skipped"].items():
            lines.append(f"| {res['docs']:,} | {peer} | 0 | skipped: {why} | | | | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", default="50000,100000", help="comma-separated corpus sizes")
    ap.add_argument("--repeat", type=int, default=3, help="rounds per size (median)")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--seed", type=int, default=1, help="corpus seed")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1, help="processes of the LSH peers")
    ap.add_argument("--neardup-workers", type=int, default=None, help="default: all cores")
    ap.add_argument("--rensa-bands", type=int, default=16)
    ap.add_argument("--neardup-arg", action="append", default=[])
    ap.add_argument(
        "--datasketch-max",
        type=int,
        default=100_000,
        help="skip datasketch above this many documents (≈ 1 ms per document on 2 cores)",
    )
    ap.add_argument("--score-max", type=int, default=100_000, help="score recall up to here")
    ap.add_argument("--timeout", type=float, default=7200.0)
    ap.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data")
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.docs.split(",") if x.strip()]
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    if "neardup" in peers:
        ok, why = neardup_available()
        if not ok:
            ap.error(why)

    import numpy as np

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="neardup-speed-") as tmp_name:
        tmp = Path(tmp_name)
        for docs in sizes:
            corpus = corpus_path(docs, args.seed, args.data_dir)
            skipped: dict[str, str] = {}
            active = []
            for peer in peers:
                if peer == "datasketch" and docs > args.datasketch_max:
                    skipped[peer] = f"above --datasketch-max {args.datasketch_max:,} documents"
                else:
                    active.append(peer)
            runs: dict[str, list[dict[str, Any]]] = {p: [] for p in active}
            pairs_of: dict[str, Path] = {}
            for rnd in range(args.repeat):
                k = rnd % max(1, len(active))
                for peer in active[k:] + active[:k]:
                    print(f"[{docs:,}] round {rnd + 1}: {peer} ...", file=sys.stderr, flush=True)
                    res = run_once(peer, corpus, args, tmp)
                    print(
                        f"      wall {res['wall_s']:.2f} s, CPU {res['cpu_s']:.2f} s, "
                        f"peak {res['peak_rss_bytes'] / 2**20:,.0f} MB",
                        file=sys.stderr,
                        flush=True,
                    )
                    pairs_of.setdefault(peer, Path(res["out"]) / "pairs.bin")
                    row = {k: v for k, v in res.items() if k != "summary"}
                    if res.get("summary"):  # neardup: its stage times and peaks
                        row["stages"] = res["summary"].get("stages")
                    runs[peer].append(row)
            scores: dict[str, Any] = {}
            if docs <= args.score_max:
                truth, truth_j, _ = truth_of(corpus, args.threshold, args.ngram)
                for peer, path in pairs_of.items():
                    pairs = np.fromfile(path, dtype=np.uint64)
                    scores[peer] = score(pairs, truth, truth_j, len(truth))
            results.append(
                {
                    "docs": docs,
                    "corpus": str(corpus),
                    "corpus_bytes": corpus.stat().st_size,
                    "summary": summarise(runs),
                    "scores": scores,
                    "skipped": skipped,
                    "runs": runs,
                }
            )
    table = markdown(results)
    print(table)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"speed-{'-'.join(str(s) for s in sizes)}-{stamp}"
    header = (
        f"neardup vs peers, {args.repeat} alternating rounds, medians; threshold "
        f"{args.threshold}, {args.num_perm} permutations, word {args.ngram}-grams; "
        f"{os.cpu_count()} CPUs, {platform.platform()}\n\n"
    )
    (args.results_dir / f"{name}.md").write_text(header + table + "\n", encoding="utf-8")
    payload = {
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "results": results,
        "table_markdown": table,
    }
    (args.results_dir / f"{name}.json").write_text(json.dumps(payload, indent=1))
    print(f"\nresults: {args.results_dir / name}.{{md,json}}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
