"""A corpus of real news articles with planted paraphrase clusters (what a lexical method misses).

Base documents are BBC News, Reuters-21578 and 20 Newsgroups texts from ``/work/shared/data``
(at least 80 words, one per distinct normalised text; 20 Newsgroups without header, quote and
signature lines), or with ``--paragraphs`` their paragraphs of at least 25 words (enough for
100,000 documents). A share of them (``--clusters``) get 1-3 variants,
each made by two different operations drawn from:

* ``reorder`` — the sentences of every paragraph in another order, and the paragraphs too;
* ``drop`` — about 15% of the sentences left out (never all of a paragraph's);
* ``add`` — one or two sentences from another base article inserted at random places;
* ``synonyms`` — common news words swapped for a synonym (about half of the occurrences).

Together they keep the meaning and most of the words but break word 5-grams, so the variants
have low Jaccard and high embedding cosine. Deterministic for a seed; documents are written in a
shuffled order. ``--truth`` gets one line per planted cluster: ``{"base", "variants", "ops"}``.

    .venv/bin/python bench/semantic/make_paraphrase.py --docs 10000 --clusters 1500 --seed 1 \\
        --out bench/data/semantic/para-10000.jsonl \\
        --truth bench/data/semantic/para-10000.truth.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

SYNONYMS = {
    "said": "stated", "says": "states", "big": "large", "large": "big", "rise": "increase",
    "rose": "climbed", "fell": "dropped", "fall": "decline", "company": "firm", "firm": "company",
    "government": "administration", "announced": "revealed", "expected": "anticipated",
    "major": "leading", "help": "assist", "buy": "purchase", "bought": "purchased",
    "sell": "offload", "sold": "offloaded", "shares": "stock", "profit": "earnings",
    "profits": "earnings", "increase": "rise", "decrease": "reduction", "begin": "start",
    "started": "began", "start": "begin", "end": "finish", "ended": "finished", "show": "reveal",
    "showed": "revealed", "shows": "reveals", "important": "significant", "new": "fresh",
    "people": "individuals", "told": "informed", "think": "believe", "thinks": "believes",
    "want": "wish", "wants": "wishes", "need": "require", "needs": "requires", "use": "employ",
    "used": "employed", "make": "create", "made": "created", "get": "obtain", "got": "obtained",
    "plan": "proposal", "plans": "proposals", "chief": "head", "month": "period",
    "country": "nation", "countries": "nations", "biggest": "largest", "quickly": "rapidly",
    "also": "additionally", "however": "nevertheless", "about": "around", "many": "numerous",
    "often": "frequently", "because": "since", "before": "prior to", "after": "following",
    "result": "outcome", "results": "outcomes", "problem": "issue", "problems": "issues",
    "win": "victory", "won": "secured", "lost": "forfeited", "game": "match", "film": "movie",
    "films": "movies", "market": "marketplace", "economy": "economic system", "job": "post",
    "jobs": "posts", "official": "spokesperson", "officials": "spokespeople", "key": "crucial",
    "early": "initial", "strong": "robust", "weak": "feeble", "record": "unprecedented",
}  # fmt: skip
OPS = ("reorder", "drop", "add", "synonyms")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def base_articles(limit: int, paragraphs_only: bool = False) -> list[str]:
    """BBC, Reuters and 20 Newsgroups texts of ≥ 80 words (with ``paragraphs_only``: their
    paragraphs of ≥ 40 words), one per distinct normalised text."""
    out, seen = [], set()
    min_words = 25 if paragraphs_only else 80
    for name, field in (
        ("bbc-news-fulltext", "text"),
        ("reuters21578", "body"),
        ("20newsgroups-bydate", "text"),
    ):
        with gzip.open(SHARED / name / "docs.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                text = rec.get(field) or ""
                if name == "reuters21578":  # re-flow the 1987 wire copy into paragraphs
                    text = "\n\n".join(
                        " ".join(p.split()) for p in re.split(r"\n\s{2,}|\n\n", text) if p.strip()
                    )
                if name == "20newsgroups-bydate":  # prose lines only: no headers, quotes
                    text = "\n".join(
                        t for t in text.split("\n") if not re.match(r"\s*(>|\||\w+:|--)", t)
                    )
                units = re.split(r"\n\s*\n", text) if paragraphs_only else [text]
                for unit in units:
                    key = " ".join(re.findall(r"\w+", unit.lower()))
                    if len(key.split()) < min_words or key in seen:
                        continue
                    seen.add(key)
                    out.append(" ".join(unit.split()) if paragraphs_only else unit.strip())
                    if len(out) == limit:
                        return out
    return out


def paragraphs(text: str) -> list[list[str]]:
    return [SENTENCE.split(p.strip()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def join(paras: list[list[str]]) -> str:
    return "\n\n".join(" ".join(s) for s in paras if s)


def variant(text: str, ops: list[str], rng: random.Random, donor: str) -> str:
    paras = paragraphs(text)
    for op in ops:
        if op == "reorder":
            for p in paras:
                rng.shuffle(p)
            rng.shuffle(paras)
        elif op == "drop":
            for p in paras:
                keep = [s for s in p if rng.random() >= 0.15]
                p[:] = keep or p[:1]
        elif op == "add":
            extra = [s for p in paragraphs(donor) for s in p]
            for s in rng.sample(extra, k=min(len(extra), rng.randint(1, 2))):
                p = paras[rng.randrange(len(paras))]
                p.insert(rng.randint(0, len(p)), s)
        elif op == "synonyms":

            def swap(m: re.Match[str]) -> str:
                w = m.group(0)
                new = SYNONYMS.get(w.lower())
                if new is None or rng.random() >= 0.5:
                    return w
                return new.capitalize() if w[0].isupper() else new

            paras = [[re.sub(r"[A-Za-z]+", swap, s) for s in p] for p in paras]
    return join(paras)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=10_000, help="documents in all")
    ap.add_argument("--clusters", type=int, default=1500, help="planted clusters")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument(
        "--paragraphs", action="store_true", help="paragraphs of ≥ 25 words as documents"
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = base_articles(args.docs, args.paragraphs)
    rng.shuffle(pool)
    docs: list[tuple[str, str]] = []
    truth = []
    planted = 0
    for k, text in enumerate(pool):
        docs.append((f"b{k}", text))
        if k < args.clusters:
            variants, ops_used = [], []
            for v in range(rng.randint(1, 3)):
                ops = rng.sample(OPS, 2)
                donor = pool[rng.randrange(len(pool))]
                vid = f"b{k}-v{v}"
                docs.append((vid, variant(text, ops, rng, donor)))
                variants.append(vid)
                ops_used.append(ops)
                planted += 1
            truth.append({"base": f"b{k}", "variants": variants, "ops": ops_used})
        if len(docs) >= args.docs:
            break
    docs = docs[: args.docs]
    present = {d for d, _ in docs}
    truth = [
        {**t, "variants": [v for v in t["variants"] if v in present]}
        for t in truth
        if t["base"] in present
    ]
    rng.shuffle(docs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for did, text in docs:
            fh.write(json.dumps({"id": did, "text": text}) + "\n")
    with open(args.truth, "w", encoding="utf-8") as fh:
        for t in truth:
            if t["variants"]:
                fh.write(json.dumps(t) + "\n")
    print(f"{len(docs):,} documents, {sum(len(t['variants']) for t in truth):,} planted variants")


if __name__ == "__main__":
    main()
