"""Containment (``--containment C``) under the Spark executor: the local run's bytes and counts.

The corpus is the planted-duplicate corpus with truncated copies (the first 30–70% of a
document), e-mail replies that quote a whole document and add a few lines of their own,
documents written as e-mails (a header block and a signature, which are not the body) and
replies by another author that paste such a message unquoted (a reply quotes, it does not
contain). The
Spark schedule finds candidates by the same prefix filtering (document frequencies counted per
fingerprint, probes chosen per document, pairs per fingerprint) and verifies them on the same
own sets; the first test checks those stages against the local kernel on random inputs without
Spark.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conftest import planted

import neardup
from neardup.sharedtext import containment as kernel
from neardup.stages import containment as stages
from neardup.stages.arrow import packed64

SPLIT_BYTES = 16 * 1024
#: stats.json fields that describe the machine or the executor rather than the result
UNSHARED = {
    "executor",
    "spark",
    "stages",
    "total_seconds",
    "peak_rss_mb",
    "outputs",
    "shingles_spilled_to_disk",
}


def _records(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i, rec in enumerate(planted(seed, bases=70)):
        words = rec["text"].split()
        if i % 4 == 0:  # an e-mail: header block and signature are not its body
            signature = f"-- \nPat Example {i % 7}, Example Society\nhttp://example.org/{i % 7}"
            head = f"From: pat{i % 7}@example.org\nSubject: note {i}\n\n"
            rec = dict(rec, text=f"{head}{rec['text']}\n{signature}")
            if i % 8 == 0:  # a reply by another author that pastes the message unquoted
                reply = f"From: sam{i}@example.net\nSubject: Re: note {i}\n\n{' '.join(words)}"
                out.append({"id": rec["id"] + "-re", "text": reply + "\n\nAgreed.", "date": "2025"})
        out.append(rec)
        if len(words) < 60:
            continue
        if rng.random() < 0.3:  # a truncated copy
            k = int(len(words) * rng.uniform(0.3, 0.7))
            out.append({"id": rec["id"] + "-cut", "text": " ".join(words[:k]), "date": "2023"})
        if rng.random() < 0.15:  # a reply quoting the whole document
            quoted = "\n".join("> " + " ".join(words[i : i + 10]) for i in range(0, len(words), 10))
            own = " ".join(rng.sample(words, 30))
            text = f"On Monday someone wrote:\n{quoted}\n\n{own} and thanks for the article"
            out.append({"id": rec["id"] + "-reply", "text": text, "date": "2025"})
    rng.shuffle(out)
    return out


def _spark_file(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("part-*")))


def _run_both(spark, tmp_path: Path, partitions: int, edges: int = 10**7, **cfg: Any):
    from neardup.executors.spark import SparkExecutor

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _records(3)))
    local = neardup.dedup(path, tmp_path / "local", **cfg)
    ex = SparkExecutor(
        session=spark, partitions=partitions, collect_edges=edges, split_bytes=SPLIT_BYTES
    )
    dist = neardup.dedup(path, tmp_path / "spark", executor=ex, **cfg)
    for which in ("kept", "removed", "clusters"):
        local_bytes = (tmp_path / "local" / f"{which}.jsonl").read_bytes()
        assert _spark_file(Path(dist.outputs[which])) == local_bytes, which
    shared = {k: v for k, v in local.stats.items() if k not in UNSHARED}
    assert {k: dist.stats[k] for k in shared} == shared
    text = (tmp_path / "local" / "removed.jsonl").read_text()
    removed = [json.loads(line) for line in text.splitlines()]
    return local.stats, removed


def test_prefix_filtering_stages_equal_the_local_kernel(monkeypatch):
    """Fingerprint rows → document frequencies → probes per document → pairs per hash, on
    random fingerprints split over several partitions, give the pairs of
    :func:`~neardup.sharedtext.containment.candidates` (minus the documents below the
    minimum size), including fingerprints over the postings limit."""
    monkeypatch.setattr(kernel, "MAX_POSTINGS", 6)
    rng = np.random.default_rng(7)
    for _ in range(150):
        n = int(rng.integers(1, 40))
        vocab = rng.integers(0, 2**64, int(rng.integers(2, 60)), dtype=np.uint64)
        docs = [vocab[rng.integers(0, vocab.size, int(rng.integers(0, 15)))] for _ in range(n)]
        sizes = rng.integers(0, 30, n).astype(np.int64)
        threshold = float(rng.choice([0.3, 0.5, 0.8, 0.9, 1.0]))
        low = int(rng.integers(0, 25))
        parts = int(rng.integers(1, 5))
        offsets = np.r_[0, np.cumsum([d.size for d in docs])]
        values = np.concatenate(docs).astype(np.uint64)
        pos = np.arange(n, dtype=np.int64) * 7 + 3
        batch = pa.RecordBatch.from_pydict(
            {"pos": pos, "contain": packed64(values, offsets), "own_size": sizes}
        )
        rows = pa.Table.from_batches(
            list(stages.fingerprint_rows_partition(iter([batch]))), stages.CONTAIN_FP_SCHEMA
        )
        _, inverse, df = np.unique(rows["hash"].to_numpy(), return_inverse=True, return_counts=True)
        rows = rows.append_column("df", pa.array(df[inverse]))
        probes = pa.Table.from_batches(
            [
                b
                for p in range(parts)
                for b in stages.prefix_partition(
                    iter(rows.filter(pa.array(rows["pos"].to_numpy() % parts == p)).to_batches()),
                    threshold,
                    low,
                )
            ],
            stages.CONTAIN_FP_SCHEMA,
        )
        holders = rows.select(["hash", "pos", "size"])
        both = pa.concat_tables(
            [
                holders.append_column("probe", pa.array(np.zeros(holders.num_rows, bool))),
                probes.append_column("probe", pa.array(np.ones(probes.num_rows, bool))),
            ]
        )
        found = set()
        for p in range(parts):
            part = both.filter(pa.array(both["hash"].to_numpy() % parts == p))
            order = np.lexsort(
                (part["pos"].to_numpy(), part["probe"].to_numpy(), part["hash"].to_numpy())
            )
            for b in stages.probe_pairs_partition(iter(part.take(order).to_batches())):
                found |= set(zip(b["a"].to_pylist(), b["b"].to_pylist(), strict=True))
        cand = kernel.candidates(
            values, np.repeat(np.arange(n), np.diff(offsets)), sizes, threshold
        )
        cand = cand[sizes[cand[:, 0]] >= low] if cand.size else cand
        assert found == {(int(pos[a]), int(pos[b])) for a, b in cand.tolist()}


@pytest.mark.spark
def test_truncated_copies_and_quote_replies(spark, tmp_path):
    stats, removed = _run_both(spark, tmp_path, 3, containment=0.8)
    assert stats["removed_contained"] > 5 and stats["containment_pairs"] > 0
    assert stats["removed_near"] > 0 and stats["removed_exact"] > 0
    cut = [r for r in removed if r["id"].endswith("-cut") and r["reason"] == "contained"]
    assert cut and all(r["containment"] >= 0.8 for r in cut)
    # a reply that quotes a document does not contain it: its own text is a few lines
    assert not [r for r in removed if str(r["kept_id"]).endswith("-reply")]


@pytest.mark.spark
def test_quotes_counted_longest_minhash_components_by_stars(spark, tmp_path):
    # quoted lines counted: a quoted document is now inside its reply, which keep=longest keeps
    stats, removed = _run_both(
        spark,
        tmp_path,
        5,
        edges=0,
        containment=0.7,
        containment_ignore_quotes=False,
        keep="longest",
        verify=False,
    )
    assert [r for r in removed if str(r["kept_id"]).endswith("-reply")]
    assert stats["removed_contained"] > 5


@pytest.mark.spark
def test_star_clustering_with_containment(spark, tmp_path):
    stats, removed = _run_both(spark, tmp_path, 9, containment=0.8, clustering="star")
    assert stats["removed_contained"] > 5
    assert all(r["containment"] >= 0.8 for r in removed if r["reason"] == "contained")
