"""Recall of the k-means bucket search against the exact all-pairs search, on real embeddings.

Embeds a JSONL corpus with neardup's own embedding (:mod:`neardup.semantic.embed`; cached as
``.npy`` beside the corpus under ``bench/data/``), keeps one document per exact hash as a run
does, then finds the pairs with cosine ≥ threshold by the exact search and by the bucket search
at several probe counts. Recall = bucket pairs ∩ exact pairs / exact pairs (the bucket search
verifies every candidate, so its precision against the exact search is 1 by construction).

    .venv/bin/python bench/semantic/search_recall.py bench/data/corpus-100000-s1.jsonl \\
        --model ../shared/models/potion-base-4m-int8 --threshold 0.9 --probes 2,4,8,16 \\
        --out bench/results/semantic-search-recall-100000.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from neardup.config import DedupConfig
from neardup.io.sources import open_sources
from neardup.pipeline import StageParams, fingerprint_batch
from neardup.semantic.search import search
from neardup.stages.decide import eligible, exact_groups


def embed_corpus(path: Path, model: str, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors, exact hashes and shingle counts of every document (cached)."""
    if cache.exists():
        z = np.load(cache)
        return z["vectors"], z["exact"], z["counts"]
    cfg = DedupConfig(method="semantic", model=model)
    params = StageParams.from_config(cfg)
    vecs, exact, counts = [], [], []
    for src in open_sources([path]):
        for raw in src.batches(1024, None):
            bf = fingerprint_batch(raw, params)
            assert bf.embeddings is not None
            vecs.append(bf.embeddings)
            exact.append(bf.exact)
            counts.append(bf.shingle_counts)
    out = np.concatenate(vecs), np.concatenate(exact), np.concatenate(counts)
    np.savez(cache, vectors=out[0], exact=out[1], counts=out[2])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--probes", default="2,4,8,16")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    cache = Path("bench/data") / (args.corpus.name.split(".")[0] + ".semantic.npz")
    t = time.perf_counter()
    vectors, exact, counts = embed_corpus(args.corpus, args.model, cache)
    embed_s = time.perf_counter() - t
    ok = eligible(counts) & vectors.any(axis=1)
    _, reps = exact_groups(exact, ok)
    print(
        f"{len(vectors):,} documents, {reps.size:,} distinct; embedding {embed_s:.1f} s",
        file=sys.stderr,
    )
    t = time.perf_counter()
    ref = search(vectors, reps, exact, args.threshold, mode="exact")
    exact_s = time.perf_counter() - t
    truth = {tuple(p) for p in ref.pairs.tolist()}
    print(f"exact: {len(truth):,} pairs in {exact_s:.1f} s", file=sys.stderr)
    rows = []
    for p in [int(x) for x in args.probes.split(",")]:
        t = time.perf_counter()
        got = search(vectors, reps, exact, args.threshold, mode="buckets", probes=p)
        secs = time.perf_counter() - t
        found = {tuple(q) for q in got.pairs.tolist()}
        recall = len(found & truth) / len(truth) if truth else 1.0
        rows.append(
            {
                "probes": p,
                "buckets": got.buckets,
                "pairs": len(found),
                "recall": round(recall, 5),
                "seconds": round(secs, 2),
                "extra_pairs": len(found - truth),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    result = {
        "corpus": str(args.corpus),
        "documents": len(vectors),
        "distinct": int(reps.size),
        "model": args.model,
        "threshold": args.threshold,
        "exact_pairs": len(truth),
        "exact_seconds": round(exact_s, 2),
        "buckets": rows,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
