"""The conformance suite's Spark session (one per test session, ``local[2]``) and corpora.

The executors the tests build read inputs in 16 KiB splits, so every JSONL input is cut into
several splits and line numbers, generated ids and input order are checked across split
boundaries. The suite skips
when pyspark or a Java 17+ runtime is missing.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest


def _missing(reason: str) -> None:
    # CI sets NEARDUP_REQUIRE_SPARK=1: there, a missing runtime is a failure, not a skip
    if os.environ.get("NEARDUP_REQUIRE_SPARK") == "1":
        pytest.fail(f"the Spark conformance suite cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark():
    try:
        import pandas  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark and pandas are not installed (pip install 'neardup[spark]')")
    from neardup.executors.spark import java_version

    major = java_version()
    if major is None or major < 17:
        _missing("the Spark executor needs a Java 17+ runtime")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2, 4]")  # 2 threads, 4 tries per task
        .appName("neardup-conformance")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem")
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# planted-duplicate corpora, generated from a seed -------------------------------------------


def _words(rng: random.Random, n: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ter", "an", "su", "vo", "rip", "del", "or", "gun", "ez"]
    vocab = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(3000)}
    pool = sorted(vocab)
    return [rng.choice(pool) for _ in range(n)]


def _edit(rng: random.Random, words: list[str], fraction: float) -> list[str]:
    out = list(words)
    for _ in range(max(1, int(len(out) * fraction))):
        out[rng.randrange(len(out))] = "x" + str(rng.randrange(10**6))
    return out


def planted(seed: int, bases: int = 60, *, with_ids: bool = True) -> list[dict[str, Any]]:
    """Records ``{"id", "text", "date"}`` (no ``id`` when ``with_ids`` is false)."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for b in range(bases):
        words = _words(rng, rng.randint(40, 160))
        variants = [words]
        kind = b % 5
        if kind == 1:
            variants.append(list(words))  # exact copy
        elif kind == 2:
            variants += [_edit(rng, words, 0.02) for _ in range(rng.randint(1, 3))]
        elif kind == 3:
            chain = words
            for _ in range(3):
                chain = _edit(rng, chain, 0.03)
                variants.append(chain)
        elif kind == 4:
            variants.append(_edit(rng, words, 0.3))  # a candidate that fails verification
        for v in variants:
            rec = {"text": " ".join(v), "date": f"2024-{rng.randint(1, 12):02d}-01"}
            records.append(rec)
    rng.shuffle(records)
    records.insert(rng.randrange(len(records)), {"text": "", "date": "2024-01-01"})
    for i, rec in enumerate(records):
        if with_ids:
            rec["id"] = f"s{seed}-{i:04d}"
    return records


@pytest.fixture(scope="session")
def corpus():
    """``corpus(seed, bases=60, with_ids=True)``: a planted-duplicate corpus (see ``planted``)."""
    return planted
