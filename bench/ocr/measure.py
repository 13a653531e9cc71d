"""What character shingles find in OCR-noised text, and what they cost on clean text.

For each corpus: ``noise.py`` appends noised copies (3% of letters and digits substituted or
dropped) of documents drawn at random; every setting below dedups the noised corpus (recall:
the share of copies that end in their original's cluster) and the clean corpus (cost: the
documents removed beyond what the word 5-gram default removes, and a sample of them to read).

    python bench/ocr/measure.py [--docs 200] [--rate 0.03] [--out bench/results/ocr.json]

Corpora from ../shared/data (Reuters-21578, BBC News, 20 Newsgroups); generated files go to
bench/data/ocr/. Not timed (speed is not what is measured).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import neardup

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT.parent / "shared" / "data"
CORPORA = {
    "reuters": DATA / "reuters21578" / "docs.jsonl.gz",
    "bbc": DATA / "bbc-news-fulltext" / "docs.jsonl.gz",
    "20ng": DATA / "20newsgroups-bydate" / "docs.jsonl.gz",
}
SETTINGS: dict[str, dict[str, Any]] = {
    "word5@0.8 (default)": {},
    "char5@0.5": {"shingle": "char", "char_ngram": 5, "threshold": 0.5},
    "char5@0.6": {"shingle": "char", "char_ngram": 5, "threshold": 0.6},
    "char5@0.7": {"shingle": "char", "char_ngram": 5, "threshold": 0.7},
    "char4@0.6": {"shingle": "char", "char_ngram": 4, "threshold": 0.6},
    "char6@0.6": {"shingle": "char", "char_ngram": 6, "threshold": 0.6},
    "char5@0.75": {"shingle": "char", "char_ngram": 5, "threshold": 0.75},
    "char5@0.8": {"shingle": "char", "char_ngram": 5, "threshold": 0.8},
    "char6@0.7": {"shingle": "char", "char_ngram": 6, "threshold": 0.7},
    "char8@0.6": {"shingle": "char", "char_ngram": 8, "threshold": 0.6},
    "char7@0.5": {"shingle": "char", "char_ngram": 7, "threshold": 0.5},
}


def _clusters(out: Path) -> dict[str, int]:
    member_of = {}
    with open(out / "clusters.jsonl", "rb") as fh:
        for line in fh:
            c = json.loads(line)
            for m in c["members"]:
                member_of[str(m)] = c["cluster_id"]
    return member_of


def _removed(out: Path) -> dict[str, dict[str, Any]]:
    path = next(out.glob("removed.jsonl*"))
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return {str(r["id"]): r for r in map(json.loads, fh)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--rate", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ocr.json")
    ap.add_argument("--corpus", action="append", choices=sorted(CORPORA))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import noise

    work = ROOT / "bench" / "data" / "ocr"
    results: dict[str, Any] = {"rate": args.rate, "docs": args.docs, "seed": args.seed}
    for name in args.corpus or list(CORPORA):
        src = CORPORA[name]
        noisy_path = work / f"{name}-noisy.jsonl"
        noise.main(
            [
                str(src),
                "-o",
                str(noisy_path),
                "--rate",
                str(args.rate),
                "--docs",
                str(args.docs),
                "--seed",
                str(args.seed),
            ]
        )
        planted = {}
        with open(noisy_path, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if "noisy_of" in r:
                    planted[str(r["id"])] = str(r["noisy_of"])
        rows: dict[str, Any] = {}
        base_removed: set[str] = set()
        for label, options in SETTINGS.items():
            tag = label.split()[0].replace("@", "-")
            out_noisy = work / f"out-{name}-{tag}-noisy"
            neardup.dedup(noisy_path, out_noisy, progress=False, **options)
            member_of = _clusters(out_noisy)
            found = sum(
                1
                for copy, orig in planted.items()
                if copy in member_of and member_of[copy] == member_of.get(orig)
            )
            out_clean = work / f"out-{name}-{tag}-clean"
            res = neardup.dedup(src, out_clean, progress=False, **options)
            removed = _removed(out_clean)
            if not options:
                base_removed = set(removed)
            extra = sorted(set(removed) - base_removed)
            rows[label] = {
                "noisy_copies_found": found,
                "noisy_copies": len(planted),
                "recall": round(found / len(planted), 4) if planted else None,
                "clean_removed": res.removed,
                "clean_removed_beyond_default": len(extra),
                "default_removals_not_made": len(base_removed - set(removed)),
                "sample_beyond_default": [
                    {
                        "id": i,
                        "kept_id": removed[i]["kept_id"],
                        "similarity": removed[i]["similarity"],
                        "title": str(removed[i].get("title") or removed[i].get("text", ""))[:80],
                    }
                    for i in extra[:15]
                ],
            }
            print(
                f"{name:8} {label:22} found {found}/{len(planted)} · clean removed {res.removed}"
                f" (+{len(extra)} beyond the default)",
                flush=True,
            )
        results[name] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
