"""Shared fixtures: small hand-written texts and helpers to write and read corpora."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# numba kernels load (or compile) on first use, so no per-example deadline.
settings.register_profile(
    "neardup",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("neardup")

# --------------------------------------------------------------------------------------------
# texts: four unrelated paragraphs of about a hundred words each, plus short notes
# --------------------------------------------------------------------------------------------
HARBOUR = (
    "Early on Tuesday the harbour master noticed that the tide had not turned at the usual "
    "hour. Fishing boats waited beyond the breakwater while gulls circled over the empty quay. "
    "By noon a crowd had gathered along the sea wall, trading guesses about the moon, the wind "
    "and the strange green colour of the water. The schoolteacher brought her pupils to measure "
    "the height of the waves with a painted pole, and the baker handed out warm rolls to anyone "
    "who stayed to watch. When the water finally began to fall in the late afternoon, the boats "
    "came home in a long quiet line and the town went back to work."
)
ORCHARD = (
    "My grandmother planted the orchard behind the farmhouse in the spring after the war, "
    "choosing old varieties of apple that nobody in the valley grew any longer. She kept a "
    "notebook for every tree, recording the first blossom, the weight of each harvest and the "
    "names of the birds that nested in the branches. Some winters the frost split the bark and "
    "she wrapped the trunks in sacking soaked with clay. Today the notebooks fill a whole shelf "
    "in the kitchen, and visitors from the agricultural college come each autumn to taste the "
    "fruit and copy her careful drawings of the leaves."
)
OBSERVATORY = (
    "The amateur astronomy club meets on the first clear Friday of every month in a converted "
    "grain silo at the edge of the county. Members bring flasks of soup, folding chairs and "
    "telescopes of every size, from tiny refractors to a homemade reflector with a mirror ground "
    "by hand over three long winters. Newcomers are taught to find the bright planets first, "
    "then the double stars of the summer sky, and finally the faint smudges of distant "
    "galaxies. At midnight the chairman reads out the club log, and everyone argues cheerfully "
    "about whether the cloud on the horizon will spoil the rest of the night."
)
WORKSHOP = (
    "Behind the railway station there is a small workshop where volunteers repair bicycles "
    "donated by the public and give them to students who cannot afford one. The walls are "
    "covered with spanners hung on nails, and the floor is crowded with wheels, chains and "
    "saddles waiting for a second life. On Saturday mornings the oldest volunteer, a retired "
    "engineer, teaches teenagers how to true a wheel and adjust a derailleur without losing "
    "their patience. Last year the workshop handed out more than four hundred bicycles, and "
    "the town council finally agreed to pay for a new roof before the winter storms."
)
PARAGRAPHS = (HARBOUR, ORCHARD, OBSERVATORY, WORKSHOP)

NOTES = (
    "Remember to water the tomatoes before leaving for the weekend.",
    "The library closes early on public holidays and opens late on Mondays.",
    "Our neighbour's cat sleeps on the warm bonnet of the delivery van.",
    "A thunderstorm knocked out the power for two hours last night.",
)

CHINESE = (
    "今天早上我们去公园散步，看见很多老人在湖边打太极拳，孩子们在草地上放风筝，"
    "天气非常好，阳光照在水面上闪闪发光，大家都很开心。"
)
JAPANESE = (
    "昨日の夕方、駅前の小さな本屋で古い地図を見つけました。店主によると、"
    "その地図は百年前に作られたもので、町の昔の姿がよく分かるそうです。"
)
THAI = "วันนี้อากาศดีมาก เราจึงออกไปเดินเล่นที่สวนสาธารณะใกล้บ้านและนั่งดูนกบนต้นไม้"


def near(text: str, old: str, new: str) -> str:
    """``text`` with one phrase changed (a planted near-duplicate)."""
    assert old in text, old
    return text.replace(old, new, 1)


HARBOUR_NEAR = near(HARBOUR, "harbour master", "harbour keeper")
ORCHARD_NEAR = near(ORCHARD, "notebook for every tree", "notebook for each tree")


# --------------------------------------------------------------------------------------------
# file helpers
# --------------------------------------------------------------------------------------------
def jsonl_bytes(records: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    data = jsonl_bytes(records)
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".zst"):
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def decompressed(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    return data


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of an output file of any format."""
    name = path.name
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if name.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    return [json.loads(line) for line in decompressed(path).splitlines() if line.strip()]


def read_stats(out: Path) -> dict[str, Any]:
    return json.loads((out / "stats.json").read_text(encoding="utf-8"))


def read_clusters(out: Path) -> list[dict[str, Any]]:
    return read_records(out / "clusters.jsonl")


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------
@pytest.fixture
def corpus_records() -> list[dict[str, Any]]:
    """Eight records: an exact pair (differing in case and punctuation), a near pair, and
    four singletons. Every record carries an extra field that must survive untouched."""
    return [
        {"id": "h1", "text": HARBOUR, "source": "gazette", "n": 1},
        {"id": "o1", "text": ORCHARD, "source": "almanac", "n": 2},
        {"id": "h2", "text": HARBOUR.upper().replace(",", " ;"), "source": "wire", "n": 3},
        {"id": "s1", "text": OBSERVATORY, "source": "bulletin", "n": 4},
        {"id": "o2", "text": ORCHARD_NEAR, "source": "digest", "n": 5},
        {"id": "w1", "text": WORKSHOP, "source": "gazette", "n": 6},
        {"id": "n1", "text": NOTES[0], "source": "memo", "n": 7},
        {"id": "n2", "text": NOTES[1], "source": "memo", "n": 8},
    ]


@pytest.fixture
def corpus_jsonl(tmp_path: Path, corpus_records: list[dict[str, Any]]) -> Path:
    return write_jsonl(tmp_path / "corpus.jsonl", corpus_records)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``neardup.cli.main(argv)``; returns ``(exit_code, stdout, stderr)``."""
    from neardup.cli import main

    def run(*argv: Any) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


# --------------------------------------------------------------------------------------------
# the conformance suite (tests/conformance): one Spark session per test session, ``local[2]``
# with up to 4 tries per task, and planted-duplicate corpora generated from a seed. The tests
# build executors that read inputs in 16 KiB splits, so line numbers, generated ids and input
# order are checked across split boundaries. Without pyspark or a Java 17+ runtime the suite
# skips (fails when NEARDUP_REQUIRE_SPARK=1, as in CI).
# --------------------------------------------------------------------------------------------
def _missing(reason: str) -> None:
    # CI sets NEARDUP_REQUIRE_SPARK=1: there, a missing runtime is a failure, not a skip
    if os.environ.get("NEARDUP_REQUIRE_SPARK") == "1":
        pytest.fail(f"the Spark conformance suite cannot run: {reason}")
    pytest.skip(reason)


#: the small offline embedding model of ../shared (method semantic)
MODEL = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "potion-base-4m-int8"


@pytest.fixture(scope="session")
def model() -> str:
    """Path of the shared embedding model; the test is skipped without it or model2vec."""
    pytest.importorskip("model2vec")
    if not (MODEL / "model.safetensors").is_file():
        pytest.skip(f"{MODEL} is not available")
    return str(MODEL)


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

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers: the venv with neardup

    session = (
        SparkSession.builder.master("local[2, 4]")  # 2 threads, 4 tries per task
        .appName("neardup-conformance")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
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
