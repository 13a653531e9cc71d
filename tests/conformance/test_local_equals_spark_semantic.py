"""Method semantic on both executors: planted paraphrases, an exact copy, a near-exact cut and
unrelated notes give the same kept, removed and clusters bytes and the same counts, histogram
and pair-search report on Spark as locally, with the default partitions and with many
partitions, the bucket search and components computed by Spark (skipped when the small
Model2Vec model in ``../shared/models`` or model2vec is absent)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import HARBOUR, NOTES, OBSERVATORY, ORCHARD, WORKSHOP

import neardup

pytestmark = pytest.mark.spark


def _paraphrase(text: str, swaps: list[tuple[str, str]]) -> str:
    """Sentences in reverse order with some words swapped: the meaning, not the 5-grams."""
    out = " ".join(reversed(re.split(r"(?<=\.) ", text)))
    for old, new in swaps:
        assert old in out, old
        out = out.replace(old, new, 1)
    return out


def _records() -> list[dict[str, Any]]:
    harbour_p = _paraphrase(HARBOUR, [("noticed", "saw"), ("crowd", "throng"), ("strange", "odd")])
    orchard_p = _paraphrase(ORCHARD, [("planted", "set out"), ("choosing", "picking")])
    orchard_cut = " ".join(s for k, s in enumerate(re.split(r"(?<=\.) ", ORCHARD)) if k != 1)
    docs = [
        ("note-0", NOTES[0]),
        ("harbour", HARBOUR),
        ("orchard", ORCHARD),
        ("empty", ""),
        ("observatory", OBSERVATORY),
        ("harbour-paraphrase", harbour_p),
        ("workshop", WORKSHOP),
        ("orchard-paraphrase", orchard_p),
        ("orchard-cut", orchard_cut),
        ("harbour-copy", HARBOUR.upper()),
        *((f"note-{k}", t) for k, t in enumerate(NOTES[1:], start=1)),
        ("harbour-again", harbour_p + " "),
    ]
    return [{"id": i, "text": t} for i, t in docs]


def _part_files(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("part-*")))


@pytest.mark.parametrize(
    ("partitions", "search"),
    [(None, "auto"), (12, "buckets")],
)
def test_semantic_same_on_both(spark, model, tmp_path, partitions, search):
    from neardup.executors.spark import SparkExecutor

    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in _records()))
    opts = {"method": "semantic", "model": model, "semantic_search": search}
    local = neardup.dedup(path, tmp_path / "local", workers=2, **opts)
    ex = (
        SparkExecutor(session=spark)
        if partitions is None
        else SparkExecutor(session=spark, partitions=partitions, split_bytes=2048, collect_edges=0)
    )
    dist = neardup.dedup(path, tmp_path / "spark", executor=ex, **opts)
    # the planted paraphrases and copies were found
    assert (local.stats["removed_semantic"], local.stats["removed_exact"]) == (4, 1)
    for key in (
        "documents",
        "kept",
        "removed",
        "removed_exact",
        "removed_near",
        "removed_semantic",
        "clusters",
        "largest_cluster",
        "documents_in_clusters",
        "candidate_pairs",
        "verified_pairs",
        "rejected_pairs",
        "exact_pairs",
        "empty_documents",
        "similarity_histogram",
    ):
        assert dist.stats[key] == local.stats[key], key
    assert dist.stats["parameters"]["semantic"] == local.stats["parameters"]["semantic"]
    assert dist.stats["parameters"]["semantic"]["search"] == (
        "exact" if search == "auto" else "buckets"
    )
    for which in ("kept", "removed", "clusters"):
        assert _part_files(Path(dist.outputs[which])) == Path(local.outputs[which]).read_bytes()
    removed = [json.loads(x) for x in Path(local.outputs["removed"]).read_text().splitlines()]
    assert {r["id"] for r in removed} == {
        "harbour-paraphrase",
        "harbour-copy",
        "harbour-again",
        "orchard-paraphrase",
        "orchard-cut",
    }
