"""Boilerplate on real corpora: the seed widget planted in BBC articles, and Reuters' sign-off.

Skipped when ``../shared`` is absent."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

import neardup
from neardup.text.normalize import normalize

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEEDS = SHARED / "seeds"
BBC = SHARED / "data" / "bbc-news-fulltext" / "docs.jsonl.gz"
REUTERS = SHARED / "data" / "reuters21578" / "docs.jsonl.gz"
SEED_WITH_WIDGET = "000_4e97f072294f02cf.txt"
SEED_CLEAN = "001_0c9642bc1d2a5f0b.txt"
OTHER_WIDGETS = [
    "Related stories\nMarkets steady ahead of the rate decision\nShare this article",
    "More >",
]

pytestmark = pytest.mark.skipif(
    not (SEEDS.is_dir() and BBC.is_file()), reason="../shared/seeds or BBC corpus absent"
)


def _seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def _widget() -> str:
    """Lines 5–7 of the seed with the widget (the blank line after them is added on insert)."""
    return "\n".join(_seed(SEED_WITH_WIDGET).split("\n")[4:7])


def _insert(text: str, block: str, rng: random.Random) -> str:
    paras = text.split("\n\n")
    at = rng.randint(1, max(1, len(paras) - 1))
    return "\n\n".join([*paras[:at], block, *paras[at:]])


def _build(tmp_path: Path, *, with_clean_seed: bool) -> tuple[Path, dict[str, str]]:
    """BBC articles, 40 with the seed widget and 60 with other widgets, plus the seed(s).
    Returns the corpus path and the original text of every article."""
    rng = random.Random(7)
    with gzip.open(BBC, "rt", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh]
    originals = {d["id"]: d["text"] for d in docs}
    records = []
    for k, d in enumerate(docs):
        text = d["text"]
        if k % 20 == 3 and k < 800:  # 40 articles
            text = _insert(text, _widget(), rng)
        elif k % 20 in (5, 11) and k < 600:  # 60 articles
            text = _insert(text, OTHER_WIDGETS[(k // 20) % 2], rng)
        records.append({"id": d["id"], "text": text})
    records.insert(500, {"id": "seed-000", "text": _seed(SEED_WITH_WIDGET)})
    if with_clean_seed:
        records.insert(1500, {"id": "seed-001", "text": _seed(SEED_CLEAN)})
    path = tmp_path / "corpus.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path, originals


def _kept(out: Path) -> dict[str, str]:
    with open(out / "kept.jsonl", encoding="utf-8") as fh:
        return {r["id"]: r["text"] for r in map(json.loads, fh)}


def _line_articles(originals: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for text in originals.values():
        for line in {normalize(x) for x in text.split("\n")} - {""}:
            counts[line] = counts.get(line, 0) + 1
    return counts


def test_seed_widget_is_stripped_byte_for_byte(tmp_path: Path) -> None:
    corpus, originals = _build(tmp_path, with_clean_seed=False)
    result = neardup.dedup(corpus, tmp_path / "out", strip_boilerplate=True)
    kept = _kept(tmp_path / "out")
    assert kept["seed-000"] == _seed(SEED_CLEAN)
    lines = {row["line"] for row in result.stats["boilerplate"]["lines"]}
    assert set(_widget().split("\n")) <= lines
    assert {"Related stories", "Share this article", "More >"} <= lines
    # no line of an original article is stripped unless it stands in ≥ min_docs articles
    df = _line_articles(originals)
    min_docs = result.stats["boilerplate"]["parameters"]["min_docs"]
    changed = {}
    for doc_id, text in kept.items():
        if doc_id in originals and text != originals[doc_id]:
            lost = set(originals[doc_id].split("\n")) - set(text.split("\n"))
            changed[doc_id] = sorted(lost)
    print("original lines stripped:", changed)
    for doc_id, lost in changed.items():
        for line in lost:
            assert df.get(normalize(line), 0) >= min_docs, (doc_id, line)


def test_both_seeds_form_one_cluster_and_keep_the_clean_text(tmp_path: Path) -> None:
    corpus, _ = _build(tmp_path, with_clean_seed=True)
    neardup.dedup(corpus, tmp_path / "out", strip_boilerplate=True)
    kept = _kept(tmp_path / "out")
    assert kept["seed-000"] == _seed(SEED_CLEAN)
    assert "seed-001" not in kept
    with open(tmp_path / "out" / "clusters.jsonl", encoding="utf-8") as fh:
        clusters = [json.loads(line) for line in fh]
    seed_clusters = [c for c in clusters if "seed-000" in c["members"]]
    assert len(seed_clusters) == 1
    cluster = seed_clusters[0]
    assert cluster["members"] == ["seed-000", "seed-001"]
    assert cluster["kept_id"] == "seed-000"
    assert cluster["removed"] == [{"id": "seed-001", "similarity": 1.0, "reason": "exact"}]


@pytest.mark.skipif(not REUTERS.is_file(), reason="Reuters corpus absent")
def test_reuters_sign_off_is_boilerplate() -> None:
    report = neardup.find_boilerplate(REUTERS, top=5)
    top = report["lines"][0]
    assert top["line"] == "Reuter"
    assert top["clusters"] > 15000
    assert report["documents"] == 21578
