"""keep=corrected[:FIELD]: a version marked as a correction wins, then the latest by FIELD,
then input order; deterministic; the four Reuters corrections are kept."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import HARBOUR, ORCHARD, write_jsonl

import neardup
from neardup.config import KeepPolicy, PassagesConfig
from neardup.keep import choose_keepers, is_correction, keeper_rank


def test_policy_parses() -> None:
    assert KeepPolicy.parse("corrected") == KeepPolicy("corrected", None)
    assert KeepPolicy.parse("corrected:date") == KeepPolicy("corrected", "date")
    assert str(KeepPolicy.parse("corrected:date")) == "corrected:date"
    with pytest.raises(neardup.ConfigError, match="passages"):
        PassagesConfig(keep="corrected")


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("CORRECTED - BANKAMERICA NEGOTIATING SALE OF UNITS", True),
        ("(CORRECTED) - MOBIL <MOB> TO UPGRADE REFINERY UNIT", True),
        ("(CORRECTED)-IVORY COAST CONFIRMS PRESENCE AT TALKS", True),
        ("CORRECTED-NETWORK VIDEO INC <NVID> 3RD QTR", True),
        ("Correction: an earlier version misstated the date\nbody", True),
        ("TRW <TRW> PROMISES TO CORRECT CONTRACT PRACTICES", False),
        ("UK EQUITIES SEEN DUE FOR DOWNWARD CORRECTION", False),
        ("The harbour master\nCORRECTED - not a headline", False),
        ("CORRECTION OF ERRORS IN THE LEDGER", False),
    ],
)
def test_is_correction(headline: str, expected: bool) -> None:
    assert is_correction(headline) is expected


def test_rank_and_keepers() -> None:
    # one cluster of five: a correction (undated), a correction dated late, plain ones
    values: list[Any] = [(False, 10.0), (True, float("nan")), (False, 30.0), (True, 20.0), None]
    policy = KeepPolicy("corrected", "date")
    lengths = np.ones(5, dtype=np.int64)
    ids = [str(i) for i in range(5)]
    rank = keeper_rank(policy, lengths, values, ids)
    # corrections first, latest first, undated after dated, then the plain ones by time
    assert rank.tolist() == [3, 1, 2, 0, 4]
    labels = np.zeros(5, dtype=np.int64)
    keepers = choose_keepers(policy, labels, np.array([0]), lengths, values, ids)
    assert keepers.tolist() == [3]
    # ties in input order
    same = [(True, 5.0), (True, 5.0)]
    two = choose_keepers(policy, np.zeros(2, np.int64), np.array([0]), np.ones(2), same, ids)
    assert two.tolist() == [0]


DOCS = [
    {"id": "story", "text": "LOCAL HARBOUR STORY\n\n" + HARBOUR, "date": "2024-03-01T09:00Z"},
    {"id": "resend", "text": "LOCAL HARBOUR STORY\n\n" + HARBOUR, "date": "2024-03-01T11:00Z"},
    {
        "id": "fixed",
        "text": "CORRECTED - LOCAL HARBOUR STORY\n\n" + HARBOUR.replace("Tuesday", "Monday"),
        "date": "2024-03-01T10:00Z",
    },
    {"id": "o1", "text": ORCHARD, "date": "2024-03-02"},
    {"id": "o2", "text": ORCHARD + " More.", "date": "2024-03-05"},
    {"id": "o3", "text": ORCHARD + " More!", "date": None},
]


def _kept(out: Path) -> set[str]:
    return {json.loads(x)["id"] for x in (out / "kept.jsonl").read_text().splitlines()}


def test_dedup_keeps_the_correction_then_the_latest(tmp_path: Path, cli: Any) -> None:
    corpus = write_jsonl(tmp_path / "docs.jsonl", DOCS)
    neardup.dedup(corpus, tmp_path / "first")
    assert _kept(tmp_path / "first") == {"story", "o1"}
    neardup.dedup(corpus, tmp_path / "c", keep="corrected")
    assert _kept(tmp_path / "c") == {"fixed", "o1"}  # no dates: the first
    code, _, err = cli("dedup", corpus, "-o", tmp_path / "cd", "--keep", "corrected:date")
    assert code == 0, err
    assert _kept(tmp_path / "cd") == {"fixed", "o2"}  # the latest; the undated one loses
    stats = json.loads((tmp_path / "cd" / "stats.json").read_text())
    assert stats["parameters"]["keep"] == "corrected:date"


def test_title_field_and_bad_date(tmp_path: Path, cli: Any) -> None:
    docs = [
        {"id": "a", "title": "HARBOUR", "body": HARBOUR, "date": "2024-03-01"},
        {"id": "b", "title": "(CORRECTED) - HARBOUR", "body": HARBOUR, "date": "2024-03-01"},
    ]
    corpus = write_jsonl(tmp_path / "t.jsonl", docs)
    neardup.dedup(corpus, tmp_path / "t", text_field="body", keep="corrected")
    assert {json.loads(x)["id"] for x in (tmp_path / "t/kept.jsonl").read_text().splitlines()} == {
        "b"
    }
    bad = write_jsonl(tmp_path / "bad.jsonl", [*docs, {"id": "c", "body": "x", "date": "later"}])
    args = ["dedup", bad, "-o", tmp_path / "b", "--text-field", "body"]
    code, _, err = cli(*args, "--keep", "corrected:date")
    assert code == 3 and "line 3" in err and "'date'" in err


SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REUTERS = SHARED / "data" / "reuters21578" / "docs.jsonl.gz"


@pytest.mark.skipif(not REUTERS.exists(), reason="shared corpora not available")
def test_reuters_corrections_are_kept(tmp_path: Path) -> None:
    """With --containment 0.9, keep=first removes four Reuters corrections in favour of the
    erroneous originals (5192, 8596, 10038, 16597); keep=corrected:date keeps all four."""

    def removed_corrections(out: Path) -> list[int]:
        found = []
        with gzip.open(out / "removed.jsonl.gz", "rt") as fh:
            for line in fh:
                r = json.loads(line)
                if is_correction(r["title"]):
                    found.append(r["id"])
        return sorted(found)

    neardup.dedup(REUTERS, tmp_path / "first", containment=0.9, progress=False)
    neardup.dedup(REUTERS, tmp_path / "c", containment=0.9, keep="corrected:date", progress=False)
    assert removed_corrections(tmp_path / "first") == [5192, 8596, 10038, 16597]
    assert removed_corrections(tmp_path / "c") == []
    with gzip.open(tmp_path / "c" / "kept.jsonl.gz", "rt") as fh:
        kept = {json.loads(line)["id"] for line in fh}
    assert {5192, 8596, 10038, 16597} <= kept
