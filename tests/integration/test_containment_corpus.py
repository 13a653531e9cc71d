"""Containment on the shared corpora (skipped when ``../shared`` is absent)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import read_clusters, read_records, read_stats, write_jsonl

import neardup

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CLOUGH = SHARED / "clough-plagiarised-short-answers"
BBC = SHARED / "bbc-news-fulltext" / "docs.jsonl.gz"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def test_clough_cut_answers_are_found_and_independent_answers_are_not(tmp_path: Path) -> None:
    docs_path = _need(CLOUGH / "docs.jsonl")
    texts = {d["id"]: d["text"] for d in map(json.loads, docs_path.read_text().splitlines())}
    pairs = [json.loads(line) for line in (CLOUGH / "pairs.jsonl").read_text().splitlines()]
    # the rule on each answer and its source (either inside the other)
    found: Counter[str] = Counter()
    for p in pairs:
        rule = neardup.explain_texts(texts[p["id_a"]], texts[p["id_b"]], containment=0.5)
        verdict = rule["containment_rule"]["verdict"]
        found[p["category"]] += verdict.startswith(("A is contained", "B is contained"))
    # 2 of the 19 `cut` answers share no 5-gram with their source (the corpus README)
    assert found["cut"] >= 12
    assert found["non"] == 0
    # a run: no independent answer is removed, nor clustered with its task's source
    neardup.dedup(docs_path, tmp_path / "out", containment=0.5)
    cluster_of = {m: c["cluster_id"] for c in read_clusters(tmp_path / "out") for m in c["members"]}
    non = [p for p in pairs if p["category"] == "non"]
    assert not [p["id_a"] for p in non if p["id_a"] in cluster_of]


def test_truncated_bbc_articles_are_all_found(tmp_path: Path) -> None:
    with gzip.open(_need(BBC), "rt") as fh:
        docs = [json.loads(line) for line in fh][:300]
    records = list(docs)
    for d in docs[:40]:
        head = d["text"][: int(len(d["text"]) * 0.4)]
        records.append({"id": f"cut-{d['id']}", "text": head[: head.rfind(" ")]})
    src = write_jsonl(tmp_path / "in.jsonl", records)
    neardup.dedup(src, tmp_path / "plain")
    assert not any(
        r["id"].startswith("cut-") for r in read_records(tmp_path / "plain" / "removed.jsonl")
    )
    neardup.dedup(src, tmp_path / "out", containment=0.9)
    removed = {r["id"]: r for r in read_records(tmp_path / "out" / "removed.jsonl")}
    cut = {k: r for k, r in removed.items() if k.startswith("cut-")}
    assert len(cut) == 40
    assert all(r["reason"] == "contained" and r["kept_id"] == k[4:] for k, r in cut.items())
    stats = read_stats(tmp_path / "out")
    assert stats["kept"] == len(read_records(tmp_path / "out" / "kept.jsonl"))
    assert stats["kept"] + stats["removed"] == len(records)
