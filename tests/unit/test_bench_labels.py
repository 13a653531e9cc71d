"""The hand-labelled pairs in ``bench/labels/`` are well-formed: every line has the fields
``neardup sample-pairs`` writes, filled in (``duplicate`` a bool, ``kind`` one of the seven
label kinds and consistent with ``duplicate``, a one-line ``reason``), no pair is labelled twice,
and both halves (``tune``, ``heldout``) are present. ``neardup evaluate`` reads each file back,
whole and by half."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neardup.judge.evaluate import read_labels

LABELS = Path(__file__).resolve().parents[2] / "bench" / "labels"
FILES = sorted(LABELS.glob("*.jsonl"))
FIELDS = {
    "id_a",
    "id_b",
    "source",
    "stratum",
    "jaccard",
    "containment",
    "char_jaccard",
    "duplicate",
    "kind",
    "reason",
    "split",
}
DUPLICATE_KINDS = {"re-send", "correction", "update", "truncation"}
OTHER_KINDS = {"template", "quote-reply", "unrelated"}
STRATA = {"containment", "char", "J0.9-1", "J0.8-0.9", "J0.65-0.8", "J0.5-0.65", "J0.3-0.5"} | {
    "J0.1-0.3"
}


def test_the_three_corpora_are_labelled() -> None:
    assert [f.name for f in FILES] == ["20ng.jsonl", "bbc.jsonl", "reuters.jsonl"]


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_labels_are_well_formed(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows, f"{path} is empty"
    seen: set[frozenset[str]] = set()
    for n, r in enumerate(rows, 1):
        where = f"{path.name}:{n}"
        assert set(r) == FIELDS, where
        assert isinstance(r["id_a"], str) and isinstance(r["id_b"], str), where
        assert r["id_a"] != r["id_b"], where
        pair = frozenset((r["id_a"], r["id_b"]))
        assert pair not in seen, f"{where}: pair labelled twice"
        seen.add(pair)
        assert type(r["duplicate"]) is bool, where
        assert r["kind"] in (DUPLICATE_KINDS if r["duplicate"] else OTHER_KINDS), where
        assert isinstance(r["reason"], str) and r["reason"].strip(), where
        assert "\n" not in r["reason"], where
        assert r["split"] in ("tune", "heldout"), where
        assert r["stratum"] in STRATA, where
        for f in ("jaccard", "containment", "char_jaccard"):
            assert isinstance(r[f], int | float) and 0.0 <= r[f] <= 1.0, where
    splits = {r["split"] for r in rows}
    assert splits == {"tune", "heldout"}
    for split in splits:
        assert {r["duplicate"] for r in rows if r["split"] == split} == {True, False}, split


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_evaluate_reads_the_labels_back(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    whole = read_labels(path, cutoff=None, split="all")
    tune = read_labels(path, cutoff=None, split="tune")
    held = read_labels(path, cutoff=None, split="heldout")
    assert whole.kind == "pairs"
    assert whole.unlabelled == 0
    assert len(whole.pairs) == len(lines) == len(tune.pairs) + len(held.pairs)
    assert tune.other_split == len(held.pairs)
    rows = [json.loads(line) for line in lines]
    assert [(a, b, d) for a, b, d, _ in whole.pairs] == [
        (r["id_a"], r["id_b"], r["duplicate"]) for r in rows
    ]
