"""A plain stand-in for ``neardup passages`` (exact shared runs of words), for checking the bench.

Not neardup: a short reference used while the real command did not exist, and to sanity-check
the scoring (it should score close to 1 on recall and precision). Words are ``\\w+`` runs,
compared case-folded. Every run of ``--min-words`` words that also stands in an earlier document
(input order) is cut; overlapping runs merge. A cut runs from the start of its first word to the
end of its last word plus the punctuation attached to it, so it never splits a word; one space
or line break after it goes too. A document left with fewer than ``--min-words-left`` words is
removed whole. Writes the same files as ``neardup passages``: kept.jsonl, removed.jsonl,
spans.jsonl and stats.json.

Usage: ``python standin.py CORPUS.jsonl --output DIR [--min-words 50] [--min-words-left 20]``
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import _run_hashes

WORD = re.compile(r"\w+")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--min-words", type=int, default=50)
    ap.add_argument("--min-words-left", type=int, default=20)
    args = ap.parse_args()
    k = args.min_words
    t0 = time.perf_counter()
    records, words, hashes = [], [], []
    vocab: dict[str, int] = {}
    with args.corpus.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            ms = [(m.start(), m.end(), m.group().casefold()) for m in WORD.finditer(rec["text"])]
            toks = np.asarray([vocab.setdefault(w, len(vocab)) for _, _, w in ms], dtype=np.int64)
            records.append(rec)
            words.append(ms)
            hashes.append(_run_hashes(toks, k))
    # First document of every run hash.
    doc_of = np.concatenate([np.full(len(h), d, dtype=np.int64) for d, h in enumerate(hashes)])
    all_h = np.concatenate(hashes)
    uniq, inverse = np.unique(all_h, return_inverse=True)
    first_doc = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_doc, inverse, doc_of)
    copied = first_doc[inverse] < doc_of
    # Source of a run: the first document's first position with that hash.
    first_pos = {}
    offsets = np.cumsum([0] + [len(h) for h in hashes])
    args.output.mkdir(parents=True, exist_ok=True)
    n_cuts = words_cut = n_removed = 0
    with (
        (args.output / "kept.jsonl").open("w", encoding="utf-8") as fk,
        (args.output / "removed.jsonl").open("w", encoding="utf-8") as fr,
        (args.output / "spans.jsonl").open("w", encoding="utf-8") as fs,
    ):
        for d, rec in enumerate(records):
            lo, hi = offsets[d], offsets[d + 1]
            hit = np.flatnonzero(copied[lo:hi])
            text = rec["text"]
            if len(hit) == 0:
                fk.write(json.dumps(rec, ensure_ascii=False) + "\n")
                continue
            cover = np.zeros(len(words[d]) + 1, dtype=np.int64)
            np.add.at(cover, hit, 1)
            np.add.at(cover, hit + k, -1)
            covered = np.cumsum(cover)[:-1] > 0
            edges = np.flatnonzero(np.diff(np.concatenate([[0], covered.astype(np.int8), [0]])))
            cuts = []
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                start, end = words[d][a][0], words[d][b - 1][1]
                while end < len(text) and not text[end].isspace():
                    end += 1  # attached punctuation
                if end < len(text):
                    end += 1  # one separator
                src_doc = int(first_doc[inverse[lo + a]])
                if (src_doc, int(all_h[lo + a])) not in first_pos:
                    s_lo = offsets[src_doc]
                    r = int(np.flatnonzero(all_h[s_lo : offsets[src_doc + 1]] == all_h[lo + a])[0])
                    first_pos[(src_doc, int(all_h[lo + a]))] = r
                r = first_pos[(src_doc, int(all_h[lo + a]))]
                src_words = words[src_doc]
                cuts.append((start, end, int(b - a), records[src_doc]["id"], src_words[r][0]))
            pieces, last = [], 0
            for start, end, n, src_id, src_start in cuts:
                pieces.append(text[last:start])
                last = end
                fs.write(
                    json.dumps(
                        {
                            "id": rec["id"],
                            "start": start,
                            "end": end,
                            "words": n,
                            "source_id": src_id,
                            "source_start": src_start,
                        }
                    )
                    + "\n"
                )
                n_cuts += 1
                words_cut += n
            pieces.append(text[last:])
            new = "".join(pieces)
            if len(WORD.findall(new)) < args.min_words_left:
                fr.write(json.dumps({**rec, "reason": "passages"}, ensure_ascii=False) + "\n")
                n_removed += 1
            else:
                fk.write(json.dumps({**rec, "text": new}, ensure_ascii=False) + "\n")
    stats = {
        "documents": len(records),
        "cuts": n_cuts,
        "words_cut": words_cut,
        "removed": n_removed,
        "total_seconds": round(time.perf_counter() - t0, 3),
    }
    (args.output / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
