"""End-to-end runs on the shared corpora beside the repository (skipped when absent)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import read_clusters, read_records, read_stats

import neardup
from neardup.text.shingle import shingle_set
from neardup.verify import jaccard

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEEDS = SHARED / "seeds"
BBC = SHARED / "data" / "bbc-news-fulltext" / "docs.jsonl.gz"


def seed_files() -> list[Path]:
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not available")
    files = sorted(SEEDS.glob("*.txt"))
    if len(files) != 2:
        pytest.skip(f"expected two seed documents in {SEEDS}, found {len(files)}")
    return files


def test_seed_documents_are_near_duplicates_in_memory() -> None:
    files = seed_files()
    texts = [f.read_text(encoding="utf-8") for f in files]
    similarity = jaccard(shingle_set(texts[0]), shingle_set(texts[1]))
    assert 0.96 <= similarity <= 0.98
    [cluster] = neardup.find_duplicates([(f.name, t) for f, t in zip(files, texts, strict=True)])
    assert cluster.members == (files[0].name, files[1].name)
    assert cluster.kept_id == files[0].name
    assert cluster.reasons == {files[1].name: "near"}
    assert cluster.similarities[files[1].name] == pytest.approx(similarity, abs=1e-6)


def test_seed_folder_dedup(tmp_path: Path) -> None:
    files = seed_files()
    out = tmp_path / "out"
    result = neardup.dedup(SEEDS, out, workers=1)
    assert (result.kept, result.removed) == (1, 1)
    [cluster] = read_clusters(out)
    assert cluster["members"] == [files[0].name, files[1].name]
    [kept] = read_records(out / "kept.jsonl")
    [removed] = read_records(out / "removed.jsonl")
    assert kept == {"id": files[0].name, "text": files[0].read_text(encoding="utf-8")}
    assert removed["id"] == files[1].name
    assert removed["kept_id"] == files[0].name
    assert removed["reason"] == "near"
    assert 0.96 <= removed["similarity"] <= 0.98
    assert read_stats(out)["parameters"]["ngram"] == 5


def test_bbc_news_duplicates(tmp_path: Path) -> None:
    if not BBC.is_file():
        pytest.skip(f"{BBC} is not available")
    out = tmp_path / "out"
    result = neardup.dedup(BBC, out, workers=1)
    stats = result.stats
    assert stats["documents"] == 2225
    assert stats["kept"] + stats["removed"] == 2225
    # the README measures 103 groups of exact duplicates after normalisation
    assert stats["clusters"] >= 100
    assert stats["removed_exact"] >= 100
    removed = read_records(out / "removed.jsonl.gz")
    assert len(removed) == stats["removed"]
    assert all(r["similarity"] >= 0.8 for r in removed)
    # the README's near-duplicate example (J = 0.81) is found
    members = {tuple(c["members"]) for c in read_clusters(out)}
    assert ("politics/226", "politics/265") in members
    # every input id appears exactly once in kept ∪ removed
    with gzip.open(BBC, "rt", encoding="utf-8") as fh:
        ids = [json.loads(line)["id"] for line in fh]
    kept = read_records(out / "kept.jsonl.gz")
    assert sorted(r["id"] for r in kept + removed) == sorted(ids)
