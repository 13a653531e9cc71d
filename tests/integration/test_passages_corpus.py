"""``neardup passages`` on a real corpus beside the repository (skipped when absent): BBC News,
2,225 articles, about a hundred of them twice."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import read_records, read_stats

import neardup
from neardup.sharedtext.cuts import apply_cuts
from neardup.sharedtext.tokens import tokenize
from neardup.text.normalize import WORD, char_classes

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
BBC = SHARED / "data" / "bbc-news-fulltext" / "docs.jsonl.gz"


@pytest.fixture(scope="module")
def bbc() -> list[dict[str, Any]]:
    if not BBC.is_file():
        pytest.skip(f"{BBC} is not available")
    with gzip.open(BBC, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def run(bbc, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bbc") / "out"
    neardup.passages(BBC, out)
    return out


def words(text: str) -> list[str]:
    tb = tokenize([text])
    return [text[a:b].lower() for a, b in zip(tb.starts.tolist(), tb.ends.tolist(), strict=True)]


def test_bbc_counts(bbc, run) -> None:
    stats = read_stats(run)
    assert len(bbc) == 2225
    assert stats["documents"] == 2225 and stats["skipped_records"] == 0
    kept = read_records(run / "kept.jsonl.gz")
    removed = read_records(run / "removed.jsonl.gz")
    spans = read_records(run / "spans.jsonl")
    assert stats["kept"] + stats["removed"] == stats["documents"]
    assert (len(kept), len(removed), len(spans)) == (stats["kept"], stats["removed"], stats["cuts"])
    # every document exactly once, in input order within each file
    order = {d["id"]: i for i, d in enumerate(bbc)}
    assert sorted([r["id"] for r in kept] + [r["id"] for r in removed]) == sorted(order)
    assert [order[r["id"]] for r in kept] == sorted(order[r["id"]] for r in kept)
    assert stats["documents_with_cuts"] == len({s["id"] for s in spans})
    assert stats["words_cut"] == sum(s["words"] for s in spans)
    assert stats["characters_cut"] == sum(s["end"] - s["start"] for s in spans)
    # every later copy of an article is removed whole, all its words cut
    seen: set[str] = set()
    copies = set()
    for d in bbc:
        if d["text"] in seen:
            copies.add(d["id"])
        seen.add(d["text"])
    assert len(copies) == 98
    gone = {r["id"]: r for r in removed}
    assert copies <= set(gone)
    assert all(gone[x]["words_left"] == 0 and gone[x]["reason"] == "passages" for x in copies)


def test_bbc_cuts_are_word_exact_and_match_their_source(bbc, run) -> None:
    text = {d["id"]: d["text"] for d in bbc}
    order = {d["id"]: i for i, d in enumerate(bbc)}
    is_word = char_classes()
    spans = read_records(run / "spans.jsonl")
    assert len(spans) > 150
    by_doc: dict[str, list[tuple[int, int]]] = {}
    for s in spans:
        t = text[s["id"]]
        a, b = s["start"], s["end"]
        assert 0 <= a < b <= len(t)
        for x in (a, b):
            if 0 < x < len(t):
                assert not (is_word[ord(t[x - 1])] & WORD and is_word[ord(t[x])] & WORD), (s, x)
        assert order[s["source_id"]] < order[s["id"]]
        cut = words(t[a:b])
        assert len(cut) == s["words"]
        assert cut == words(text[s["source_id"]][s["source_start"] : s["source_end"]])
        by_doc.setdefault(s["id"], []).append((a, b))
    # kept texts are the originals with their spans removed
    for r in read_records(run / "kept.jsonl.gz"):
        assert r["text"] == apply_cuts(text[r["id"]], by_doc.get(r["id"], []))
        if r["id"] in by_doc:
            assert len(words(r["text"])) >= 10
    cut_words: dict[str, int] = {}
    for s in spans:
        cut_words[s["id"]] = cut_words.get(s["id"], 0) + s["words"]
    for r in read_records(run / "removed.jsonl.gz"):
        left = len(words(text[r["id"]])) - cut_words[r["id"]]
        assert r["words_left"] == left < 10
        assert left == len(words(apply_cuts(text[r["id"]], by_doc[r["id"]])))


def test_bbc_spans_are_byte_identical_across_runs(bbc, run, tmp_path) -> None:
    again = tmp_path / "again"
    result = neardup.passages(BBC, again, batch_size=500)
    assert (again / "spans.jsonl").read_bytes() == (run / "spans.jsonl").read_bytes()
    assert result.stats["cuts"] == read_stats(run)["cuts"]
