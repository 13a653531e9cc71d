"""Noised copies of documents, as optical character recognition leaves them.

Each letter or digit of a text is, with probability ``rate``, replaced by a character that OCR
confuses it with (``rn`` for ``m`` excepted: one character in, one out) or, one time in three,
dropped. The generator is seeded per document (the seed and the document's id), so a copy is the
same however many documents are drawn or in which order.

    python bench/ocr/noise.py CORPUS.jsonl[.gz] -o bench/data/ocr/CORPUS-noisy.jsonl \\
        [--rate 0.03] [--docs 200] [--min-words 50] [--seed 0] [--text-field text]

writes the corpus unchanged followed by ``--docs`` noised copies of documents drawn at random
among those with at least ``--min-words`` words; a copy's id is ``noisy:<id>`` and it has a field
``noisy_of`` naming its original (the planted pairs a run should find).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

#: characters OCR mistakes for each other (both ways)
CONFUSIONS = [
    "il1|!",
    "oO0Qe",
    "aeo",
    "cea",
    "nmhu",
    "rn",
    "vuy",
    "S5s",
    "B8",
    "Z2z",
    "gq9",
    "tf",
    "EF",
    "CG",
    "DO",
    "PR",
    "bh6",
]
_LIKE: dict[str, str] = {}
for group in CONFUSIONS:
    for ch in group:
        _LIKE[ch] = _LIKE.get(ch, "") + group.replace(ch, "")


def noisy(text: str, rate: float, rng: random.Random) -> str:
    """``text`` with a fraction ``rate`` of its letters and digits substituted or dropped."""
    out = []
    for ch in text:
        if ch.isalnum() and rng.random() < rate:
            if rng.random() < 1 / 3:
                continue  # dropped
            like = _LIKE.get(ch) or "abcdefghijklmnopqrstuvwxyz"
            out.append(rng.choice(like))
        else:
            out.append(ch)
    return "".join(out)


def _open(path: Path) -> Any:
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--rate", type=float, default=0.03)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--min-words", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--id-field", default="id")
    args = ap.parse_args(argv)
    with _open(args.corpus) as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    words = re.compile(r"\w+")
    eligible = [
        r
        for r in records
        if isinstance(r.get(args.text_field), str)
        and len(words.findall(r[args.text_field])) >= args.min_words
    ]
    drawn = random.Random(args.seed).sample(eligible, min(args.docs, len(eligible)))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as out:
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        for r in drawn:
            rid = str(r[args.id_field])
            rng = random.Random(f"{args.seed}:{rid}")
            copy = dict(r)
            copy[args.id_field] = f"noisy:{rid}"
            copy["noisy_of"] = rid
            copy[args.text_field] = noisy(r[args.text_field], args.rate, rng)
            out.write(json.dumps(copy, ensure_ascii=False) + "\n")
    print(f"{len(records):,} documents and {len(drawn):,} noised copies -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
