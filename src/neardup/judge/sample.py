"""Pairs for people to label, drawn across the whole range of similarity.

A threshold can only be chosen against human judgement if people see pairs on both sides of
it, and pairs that another rule would join. :func:`sample_pairs` finds candidate pairs with the
machinery of a dedup run, measures every candidate exactly, sorts them into *strata* and draws
up to ``per_stratum`` from each (stratified sampling: every stratum is represented whatever its
share of the corpus; Cochran, *Sampling Techniques*, 1977, ch. 5).

Candidates (never all pairs):

* word 5-gram MinHash with LSH banded low (2 rows × 64 bands: a pair of Jaccard ``s`` is a
  candidate with probability ``1 − (1 − s²)⁶⁴``: 0.47 at 0.1, 0.93 at 0.2, 0.998 at 0.3);
* containment by prefix filtering (:mod:`neardup.sharedtext.containment`) at ``CONTAIN_MIN``;
* character 5-gram MinHash banded 4 rows × 32 bands (0.87 at character Jaccard 0.5).

Measures, exact on every candidate (sorted shingle-id sets, :mod:`neardup.verify`):
``jaccard`` (word n-grams as dedup shingles them), ``containment`` ``|A ∩ B| / min(|A|, |B|)``
on the same sets (Broder 1997; quoted lines are not set apart here), ``char_jaccard`` (character
5-grams, separators skipped). Strata, first match wins:

1. ``containment``: containment ≥ ``CONTAIN_MIN``, word Jaccard < ``CONTAIN_WORD_MAX`` and the
   smaller document with at least ``min_shingles`` shingles — one document mostly inside a
   longer one (two documents of equal size with containment 0.8 have Jaccard 0.67, so the
   bound on Jaccard leaves only lopsided pairs here), what only ``--containment`` would join;
2. ``char``: character Jaccard ≥ ``CHAR_MIN`` and word Jaccard < ``CHAR_WORD_MAX`` — what only
   character shingles would join (noisy text, light rewording);
3. by word Jaccard: ``J0.9-1``, ``J0.8-0.9``, ``J0.65-0.8``, ``J0.5-0.65``, ``J0.3-0.5``,
   ``J0.1-0.3`` (lower bound included).

Within a stratum pairs are ordered by a seeded hash of the pair and the first ``per_stratum``
are drawn, so a draw is reproducible and a larger one extends a smaller one. Each pair's
``split`` (``tune`` or ``heldout``) is another seeded hash bit of the pair: half the labels are
never used to choose parameters.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from neardup.candidates.lsh import candidate_pairs
from neardup.config import DedupConfig
from neardup.errors import ConfigError
from neardup.executors.local import LocalExecutor
from neardup.io.sources import FieldSpec, Source, open_sources, parse_batch
from neardup.pipeline import Fingerprints, StageParams, scan
from neardup.sharedtext.containment import contained_pairs
from neardup.verify import exact_overlap, exact_similarity

#: Word-Jaccard strata: (name, lower bound included, upper bound excluded).
JACCARD_STRATA: tuple[tuple[str, float, float], ...] = (
    ("J0.9-1", 0.9, 2.0),
    ("J0.8-0.9", 0.8, 0.9),
    ("J0.65-0.8", 0.65, 0.8),
    ("J0.5-0.65", 0.5, 0.65),
    ("J0.3-0.5", 0.3, 0.5),
    ("J0.1-0.3", 0.1, 0.3),
)
STRATA: tuple[str, ...] = (*(s[0] for s in JACCARD_STRATA), "containment", "char")
#: The labels a person gives a pair (``kind``); see the README, "Judged by people".
KINDS: tuple[str, ...] = (
    "re-send",
    "correction",
    "update",
    "truncation",
    "template",
    "quote-reply",
    "unrelated",
)
CONTAIN_MIN = 0.8
CONTAIN_WORD_MAX = 0.5
CHAR_MIN = 0.5
CHAR_WORD_MAX = 0.5
CHAR_NGRAM = 5
#: Banding of the candidate searches (bands, rows).
WORD_BANDING = (64, 2)
CHAR_BANDING = (32, 4)


@dataclass(frozen=True, slots=True)
class SampleResult:
    """The drawn pairs (as written, one dict per line) and, per stratum, how many candidate
    pairs it held and how many were drawn."""

    pairs: list[dict[str, Any]]
    available: dict[str, int] = field(default_factory=dict)
    drawn: dict[str, int] = field(default_factory=dict)
    candidates: int = 0
    documents: int = 0


def pair_hash(seed: int, salt: str, id_a: str, id_b: str) -> int:
    """A 64-bit hash of a pair of ids under a seed (XXH64; ids joined with a NUL)."""
    return int(xxhash.xxh64_intdigest(f"{salt}\0{id_a}\0{id_b}".encode(), seed=seed & (2**64 - 1)))


def split_of(seed: int, id_a: str, id_b: str) -> str:
    """``heldout`` or ``tune``, half and half, by a seeded hash of the pair."""
    return "heldout" if pair_hash(seed, "split", id_a, id_b) & 1 else "tune"


def stratum_of(
    jaccard: float,
    containment: float,
    char_jaccard: float,
    smaller: int,
    *,
    min_shingles: int,
) -> str | None:
    """The stratum of a pair from its exact measures (module docstring), or None (J < 0.1)."""
    if containment >= CONTAIN_MIN and jaccard < CONTAIN_WORD_MAX and smaller >= min_shingles:
        return "containment"
    if char_jaccard >= CHAR_MIN and jaccard < CHAR_WORD_MAX:
        return "char"
    for name, lo, hi in JACCARD_STRATA:
        if lo <= jaccard < hi:
            return name
    return None


def _scan(sources: list[Source], cfg: DedupConfig, work: Path, *, char: bool) -> Fingerprints:
    if char:
        cfg = cfg.with_(shingle="char", char_ngram=CHAR_NGRAM, containment=None)
    else:
        cfg = cfg.with_(containment=CONTAIN_MIN)
    params = StageParams.from_config(cfg, ignore_quotes=False)
    with LocalExecutor(cfg.effective_workers) as executor:
        return scan(sources, cfg, executor, work, None, params)


def _union(*pair_sets: np.ndarray) -> np.ndarray:
    parts = [p.astype(np.int64).reshape(-1, 2) for p in pair_sets if p.size]
    if not parts:
        return np.zeros((0, 2), np.int64)
    both = np.concatenate(parts)
    both = np.sort(both, axis=1)
    both = both[both[:, 0] != both[:, 1]]
    return np.unique(both, axis=0)


def _texts(sources: list[Source], cfg: DedupConfig, want: set[str]) -> dict[str, str]:
    spec = FieldSpec(cfg.text_field, cfg.id_field)
    found: dict[str, str] = {}
    for src in sources:
        for raw in src.batches(cfg.batch_size):
            parsed = parse_batch(raw, spec)
            for rid, text in zip(parsed.ids, parsed.texts, strict=True):
                key = str(rid)
                if key in want and key not in found:
                    found[key] = text
            if len(found) == len(want):
                return found
    return found


def sample_pairs(
    inputs: str | Path | Sequence[str | Path],
    *,
    per_stratum: int = 25,
    seed: int = 0,
    with_text: bool = False,
    config: DedupConfig | None = None,
    **overrides: Any,
) -> SampleResult:
    """Draw up to ``per_stratum`` pairs from each stratum of the corpus ``inputs`` (see the
    module docstring), as dicts ready to be written one per line and labelled: ``id_a``,
    ``id_b`` (strings; ``id_a`` first in input order), ``source`` (the input of ``id_a``),
    ``stratum``, ``jaccard``, ``containment``, ``char_jaccard``, ``duplicate``, ``kind``,
    ``reason`` (null, for the labeller), ``split``; ``text_a`` and ``text_b`` with
    ``with_text``. ``overrides`` are :class:`DedupConfig` fields (``text_field``,
    ``id_field``, ``on_error``, ``threshold``, ``ngram`` …)."""
    cfg = config or DedupConfig()
    if overrides:
        cfg = cfg.with_(**overrides)
    if isinstance(per_stratum, bool) or not isinstance(per_stratum, int) or per_stratum < 1:
        raise ConfigError(
            f"per_stratum must be a positive integer, got {per_stratum!r}",
            remedy="pass --per-stratum 25 (or more)",
        )
    paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    if not paths:
        raise ConfigError("no inputs given", remedy="pass at least one corpus file or folder")
    sources = open_sources(paths)
    with tempfile.TemporaryDirectory(prefix="neardup-sample-") as tmp:
        word = _scan(sources, cfg, Path(tmp), char=False)
        char = _scan(sources, cfg, Path(tmp), char=True)
        n = len(word)
        members = np.arange(n, dtype=np.int64)
        has_words = np.flatnonzero(word.shingles.counts > 0)
        found_word = candidate_pairs(word.signatures, has_words, *WORD_BANDING)
        found_char = candidate_pairs(char.signatures, members, *CHAR_BANDING)
        contained = contained_pairs(
            word.shingles,
            word.contain_hash,
            word.contain_doc,
            word.own_sizes,
            threshold=CONTAIN_MIN,
            min_shingles=cfg.containment_min_shingles,
        )
        pairs = _union(found_word, found_char, contained.pairs)
        jac = exact_similarity(word.shingles, pairs)
        inter, size_a, size_b = exact_overlap(word.shingles, pairs)
        cjac = exact_similarity(char.shingles, pairs)
    smaller = np.minimum(size_a, size_b)
    cont = np.where(smaller > 0, inter / np.maximum(smaller, 1), 0.0)
    ids = [str(i) for i in word.ids]
    names = [s.name for s in sources]
    by_stratum: dict[str, list[tuple[int, int]]] = {s: [] for s in STRATA}
    for p in range(pairs.shape[0]):
        st = stratum_of(
            float(jac[p]),
            float(cont[p]),
            float(cjac[p]),
            int(smaller[p]),
            min_shingles=cfg.containment_min_shingles,
        )
        if st is not None:
            a, b = int(pairs[p, 0]), int(pairs[p, 1])
            by_stratum[st].append((pair_hash(seed, "draw", ids[a], ids[b]), p))
    rows: list[dict[str, Any]] = []
    drawn: dict[str, int] = {}
    for st in STRATA:
        chosen = sorted(by_stratum[st])[:per_stratum]
        drawn[st] = len(chosen)
        for _, p in chosen:
            a, b = int(pairs[p, 0]), int(pairs[p, 1])
            rows.append(
                {
                    "id_a": ids[a],
                    "id_b": ids[b],
                    "source": names[word.sources[a]],
                    "stratum": st,
                    "jaccard": round(float(jac[p]), 4),
                    "containment": round(float(cont[p]), 4),
                    "char_jaccard": round(float(cjac[p]), 4),
                    "duplicate": None,
                    "kind": None,
                    "reason": None,
                    "split": split_of(seed, ids[a], ids[b]),
                }
            )
    if with_text and rows:
        texts = _texts(sources, cfg, {r["id_a"] for r in rows} | {r["id_b"] for r in rows})
        for r in rows:
            r["text_a"] = texts.get(r["id_a"])
            r["text_b"] = texts.get(r["id_b"])
    return SampleResult(
        rows,
        {s: len(v) for s, v in by_stratum.items()},
        drawn,
        int(pairs.shape[0]),
        n,
    )
