"""Beyond the shingle budget, with too little disk for a spill, a JSONL corpus keeps no
shingle ids: verification reads the candidates' lines again, and the results are those of a
run that held every id in memory."""

from __future__ import annotations

import random

import pytest
from conftest import HARBOUR, NOTES, OBSERVATORY, ORCHARD, near, write_jsonl

import neardup
import neardup.io.ranges
import neardup.reread
import neardup.shingle_store
from neardup.reread import RereadTable

BASES = [HARBOUR, ORCHARD, OBSERVATORY]


def _corpus(n: int, seed: int) -> list[dict[str, object]]:
    """Unrelated documents with planted exact and near copies of three bases, shuffled."""
    rng = random.Random(seed)
    docs: list[str] = []
    for i in range(n):
        words = [rng.choice(NOTES[i % len(NOTES)].split()) for _ in range(40)]
        docs.append(" ".join(words) + f" item {i}")
    for base in BASES:
        docs += [base, base.upper(), near(base, "the", "a"), near(base, "and", "or")]
    rng.shuffle(docs)
    return [{"id": f"d{i}", "text": t} for i, t in enumerate(docs)]


@pytest.mark.parametrize(("name", "block_records"), [("in.jsonl", 1), ("in.jsonl.zst", 4096)])
def test_reread_equals_in_memory(tmp_path, monkeypatch, name, block_records) -> None:
    """``block_records=1``: blocks of 4 KiB, so records straddle many block boundaries in the
    reread and write passes."""
    src = write_jsonl(tmp_path / name, _corpus(200, 7))
    monkeypatch.setattr(neardup.reread, "BLOCK_RECORDS", block_records)
    monkeypatch.setattr(neardup.io.ranges, "BLOCK_RECORDS", block_records)
    neardup.dedup(src, tmp_path / "memory", workers=2)
    passes: list[int] = []
    read = RereadTable._read

    def counting(self, docs):  # type: ignore[no-untyped-def]
        passes.append(int(docs.size))
        return read(self, docs)

    monkeypatch.setattr(RereadTable, "_read", counting)
    monkeypatch.setattr(neardup.shingle_store, "DEFAULT_BUDGET", 4096)  # a few documents' ids
    monkeypatch.setattr(neardup.shingle_store, "disk_free", lambda _: 0)  # no room to spill
    result = neardup.dedup(src, tmp_path / "reread", workers=2)
    assert len(passes) == 1 and passes[0] >= 12  # one pass, the planted copies at least
    assert result.stats["shingles_spilled_to_disk"] is False
    ext = name.removeprefix("in.")
    for file in (f"kept.{ext}", f"removed.{ext}", "clusters.jsonl"):
        assert (tmp_path / "reread" / file).read_bytes() == (
            tmp_path / "memory" / file
        ).read_bytes(), file
    assert result.stats["removed"] == 9  # three bases, each with an exact and two near copies
