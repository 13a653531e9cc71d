"""The index's decisions against a brute-force reference, for any batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neardup.index import Index
from neardup.pipeline import StageParams, fingerprint_texts


def _corpus(seed: int, n: int = 90) -> list[tuple[str, str]]:
    """Articles of 200 words and their copies: exact (case changed), one or two words
    replaced (Jaccard ≈ 0.95 and 0.90 on word 5-grams: LSH misses them with probability
    < 10⁻⁵), plus unrelated articles and empty texts."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{k}" for k in range(5000)]
    bases = [list(rng.choice(vocab, 200)) for _ in range(10)]
    docs = []
    for k in range(n):
        kind = rng.integers(0, 6)
        words = list(bases[rng.integers(0, len(bases))])
        if kind == 0:
            text = " ".join(words).upper()
        elif kind in (1, 2):
            for _ in range(int(kind)):
                words[rng.integers(0, len(words))] = f"edit{rng.integers(0, 10**6)}"
            text = " ".join(words)
        elif kind == 3:
            text = " ".join(rng.choice(vocab, 200))
        elif kind == 4:
            text = "" if k % 2 else "   \n  "
        else:
            text = " ".join(words)
        docs.append((f"d{k}", text))
    return docs


def _reference(docs: list[tuple[str, str]], idx: Index) -> list[tuple]:
    """Decide each document in order against every stored one, by exact hash, then by the
    highest Jaccard similarity of shingle sets (ties to the earlier document)."""
    params = StageParams.from_config(idx.config)
    exact, _, shingles, counts, _, _ = fingerprint_texts([t for _, t in docs], params)
    offs = np.concatenate([[0], np.cumsum(counts)])
    sets = [set(shingles[offs[k] : offs[k + 1]].tolist()) for k in range(len(docs))]
    stored: list[int] = []
    out = []
    for k, (rid, _) in enumerate(docs):
        decision = None
        if sets[k]:
            same = [s for s in stored if exact[s].tobytes() == exact[k].tobytes()]
            if same:
                decision = (docs[same[0]][0], 1.0, "exact")
            else:
                best = None
                for s in stored:
                    if sets[s]:
                        j = len(sets[k] & sets[s]) / len(sets[k] | sets[s])
                        if j >= idx.config.threshold and (best is None or j > best[1]):
                            best = (docs[s][0], j)
                if best is not None:
                    decision = (best[0], round(best[1], 6), "near")
        if decision is None:
            stored.append(k)
            out.append((rid, "new", None, None, None))
        else:
            out.append((rid, "duplicate", *decision))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decisions_equal_the_reference_for_every_batch_size(tmp_path: Path, seed: int) -> None:
    docs = _corpus(seed)
    answers = {}
    for size in (1, 7, len(docs)):
        with Index.create(tmp_path / f"i{size}.db") as idx:
            results = list(idx.add_many(docs[k : k + size] for k in range(0, 90, size)))
            answers[size] = [
                (r.id, r.status, r.kept_id, r.similarity, r.reason) for b in results for r in b
            ]
            expected = _reference(docs, idx)
    assert answers[1] == answers[7] == answers[len(docs)] == expected
    statuses = {s for _, s, *_ in expected}
    reasons = {r for *_, r in expected}
    assert statuses == {"new", "duplicate"} and reasons == {None, "exact", "near"}
