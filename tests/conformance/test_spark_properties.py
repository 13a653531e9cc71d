"""Property-based conformance: for drawn corpora and partition counts, the Spark executor writes
the local executor's bytes and counts.

Corpora are drawn from groups of copies — exact copies, light edits (near duplicates), heavy
edits (candidates that fail verification), empty documents — with skewed group sizes, from no
document at all to one giant cluster; partition counts from 1 to 300, most of them far above
the number of clusters, so stages see empty partitions. Every keeper policy, both clusterings
and both similarity measures are drawn. One Spark session serves every example.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neardup

pytestmark = pytest.mark.spark

VOCAB = [f"w{i}" for i in range(400)]
#: what differs between two runs of the same decisions: timings, the engine, where files went
RUN_FIELDS = {
    "executor", "spark", "stages", "total_seconds", "peak_rss_mb", "outputs",
    "shingles_spilled_to_disk",
}  # fmt: skip


@st.composite
def corpora(draw: Any) -> list[dict[str, Any]]:
    """Records ``{"id", "text", "date", "rank"}`` in a drawn order."""
    seed = draw(st.integers(0, 2**16))
    rng = random.Random(seed)
    sizes = draw(
        st.one_of(
            st.just([]),
            st.lists(st.integers(1, 3), min_size=1, max_size=6),  # few copies each
            st.lists(st.just(1), min_size=1, max_size=6),  # no copies at all
            st.lists(st.integers(12, 30), min_size=1, max_size=1),  # one giant cluster
            st.tuples(st.integers(8, 20), st.lists(st.integers(1, 2), max_size=8)).map(
                lambda t: [t[0], *t[1]]  # skewed: one large group and small ones
            ),
        )
    )
    records: list[dict[str, Any]] = []
    for size in sizes:
        base = [rng.choice(VOCAB) for _ in range(rng.randint(25, 70))]
        for k in range(size):
            words = list(base)
            edit = draw(st.sampled_from(["same", "same", "light", "heavy"])) if k else "same"
            for _ in range({"same": 0, "light": 1, "heavy": len(words) // 3}[edit]):
                words[rng.randrange(len(words))] = rng.choice(VOCAB)
            records.append({"text": " ".join(words)})
    if draw(st.booleans()):
        records.append({"text": ""})
    rng.shuffle(records)
    for i, rec in enumerate(records):
        rec.update(id=f"d{i:03d}", date=f"2024-{rng.randint(1, 12):02d}-01", rank=rng.randint(0, 3))
    return records


def _joined(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("part-*")))


# each example is two runs and a dozen Spark jobs of up to 300 tasks: a bounded number in CI,
# more with NEARDUP_SPARK_EXAMPLES=N
@settings(max_examples=int(os.environ.get("NEARDUP_SPARK_EXAMPLES", "8")))
@given(
    records=corpora(),
    partitions=st.one_of(st.integers(1, 8), st.integers(9, 300), st.just(300)),
    keep=st.sampled_from(["first", "longest", "shortest", "newest:date", "priority:rank", "none"]),
    clustering=st.sampled_from(["components", "star"]),
    verify=st.booleans(),
)
def test_spark_equals_local(spark, tmp_path_factory, records, partitions, keep, clustering, verify):
    from neardup.executors.spark import SparkExecutor

    tmp = tmp_path_factory.mktemp("prop")
    path = tmp / "in.jsonl"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    cfg = dict(keep=keep, clustering=clustering, verify=verify, threshold=0.7)
    local = neardup.dedup(path, tmp / "local", **cfg)
    ex = SparkExecutor(session=spark, partitions=partitions, split_bytes=2048)
    dist = neardup.dedup(path, tmp / "spark", executor=ex, **cfg)
    compared = set(local.stats) - RUN_FIELDS
    assert {k: dist.stats[k] for k in compared} == {k: local.stats[k] for k in compared}
    assert "similarity_histogram" in compared and "errors" in compared
    for which in ("kept", "removed", "clusters"):
        assert _joined(tmp / "spark" / which) == (tmp / "local" / f"{which}.jsonl").read_bytes()
    assert local.stats["documents"] == len(records)
