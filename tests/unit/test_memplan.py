"""The memory plan: exact arithmetic, scaling, calibration against measured runs, validation."""

from __future__ import annotations

import math

import pytest

import neardup
from neardup.config import DedupConfig
from neardup.errors import ConfigError
from neardup.memplan import BYTES_PER_WORD, MB, human_bytes, memory_plan
from neardup.shingle_store import DEFAULT_BUDGET

GB = 1 << 30


def test_exported_from_the_package() -> None:
    assert neardup.memory_plan is memory_plan
    assert neardup.api.memory_plan is memory_plan
    assert "memory_plan" in neardup.__all__


def test_hand_computed_small_case() -> None:
    # 1,000 docs of 600 bytes: 100 words at 6 bytes a word; threshold 0.8 → 18 bands × 6 rows
    p = memory_plan(DedupConfig(), 1000, 600, duplicate_fraction=0.1)
    assert BYTES_PER_WORD == 6
    assert p["parameters"] == neardup.plan()
    assert (p["parameters"]["bands"], p["parameters"]["rows"]) == (18, 6)
    assert p["inputs"]["words_per_doc"] == 100
    assert p["per_document"] == {
        "signature_bytes": 512,
        "shingle_set_bytes": 400,
        "exact_hash_bytes": 16,
        "band_key_bytes": 144,
        "bookkeeping_bytes": 150,
        "resolve_bytes": 512 + 16 + 150 + 144 + 16 + 60,
        "spilled_bytes_per_shingle": 4,
    }
    loc = p["local"]
    assert loc["signature_bytes"] == 512_000
    assert loc["exact_bytes"] == 16_000
    assert loc["bookkeeping_bytes"] == 150_000
    assert loc["id_index_bytes"] == 90_000
    assert loc["shingle_bytes"] == loc["shingle_memory_bytes"] == 400_000
    assert loc["spill_bytes_on_disk"] == 0
    assert loc["band_key_bytes"] == 144_000
    assert loc["band_sort_bytes"] == 16_000
    assert loc["decision_bytes"] == 60_000
    assert loc["verify_set_bytes"] == 400_000  # all 1,000 documents' sets fit in one chunk
    assert loc["candidate_pairs"] == 200
    assert loc["candidate_pair_bytes"] == 3_200
    assert loc["baseline_bytes"] == 300 * MB
    held = 512_000 + 16_000 + 150_000
    assert loc["stage_peak_bytes"] == {
        "fingerprint": 300 * MB + held + 90_000 + 400_000,
        "resolve": 300 * MB + held + 60_000 + 3_200 + max(144_000 + 16_000, 400_000),
        "write": 300 * MB + 150_000 + 60_000 + 64 * MB,
    }
    assert loc["peak_stage"] == "write"
    assert loc["peak_bytes"] == max(loc["stage_peak_bytes"].values())

    sp = p["spark"]
    assert sp["partitions"] == 4  # max(4 × 1 executor, ⌈912 kB / 128 MB⌉ = 1)
    assert sp["fingerprint_table_bytes"] == 1000 * (512 + 400 + 16 + 600 + 100)
    assert sp["band_table_rows"] == 18_000
    assert sp["band_table_bytes"] == 18_000 * 20
    assert sp["candidate_pair_bytes"] == 3_200
    assert sp["fingerprint_bytes_per_partition"] == 1_628_000 // 4
    assert sp["band_shuffle_bytes_per_partition"] == 360_000 // 4
    assert sp["executor_memory_bytes"] == GB  # the 1 GB floor
    assert sp["executor_memory"] == "1g"
    assert sp["notes"] and all(isinstance(n, str) for n in sp["notes"])


def test_num_perm_and_bands_follow_the_config() -> None:
    cfg = DedupConfig(num_perm=64, bands=8, rows=8)
    p = memory_plan(cfg, 10, 60)
    assert p["per_document"]["signature_bytes"] == 256
    assert p["per_document"]["band_key_bytes"] == 64
    assert p["local"]["band_key_bytes"] == 640
    assert p["spark"]["band_table_rows"] == 80


def test_doubling_docs_doubles_the_tables() -> None:
    a = memory_plan(DedupConfig(), 50_000, 3000, executors=2, partitions=16)
    b = memory_plan(DedupConfig(), 100_000, 3000, executors=2, partitions=16)
    for key in (
        "signature_bytes",
        "exact_bytes",
        "bookkeeping_bytes",
        "shingle_bytes",
        "band_key_bytes",
        "band_sort_bytes",
        "candidate_pairs",
        "candidate_pair_bytes",
    ):
        assert b["local"][key] == 2 * a["local"][key], key
    for key in ("fingerprint_table_bytes", "band_table_rows", "band_table_bytes"):
        assert b["spark"][key] == 2 * a["spark"][key], key
    assert b["spark"]["band_shuffle_bytes_per_partition"] == pytest.approx(
        2 * a["spark"]["band_shuffle_bytes_per_partition"], abs=1
    )
    # the per-document sizes do not depend on the corpus size
    assert a["per_document"] == b["per_document"]


def test_shingles_spill_beyond_the_budget() -> None:
    # 1M docs × 2,400 bytes of ids: 512 MB in memory, the rest on disk
    p = memory_plan(DedupConfig(), 1_000_000, 3600)
    loc = p["local"]
    assert loc["shingle_bytes"] == 2_400_000_000
    assert loc["shingle_memory_bytes"] == DEFAULT_BUDGET
    assert loc["spill_bytes_on_disk"] == 2_400_000_000 - DEFAULT_BUDGET
    # doubling the corpus adds spill, not shingle memory
    q = memory_plan(DedupConfig(), 2_000_000, 3600)["local"]
    assert q["shingle_memory_bytes"] == DEFAULT_BUDGET
    assert q["spill_bytes_on_disk"] == 4_800_000_000 - DEFAULT_BUDGET


@pytest.mark.parametrize(
    ("docs", "measured"),
    [(1_000_000, 1.53 * GB), (100_000, 643 * MB)],
)
def test_calibrated_against_measured_local_runs(docs: int, measured: float) -> None:
    """Measured peak RSS of local runs over generated news (bench/make_corpus.py, ~3.7 KB)."""
    peak = memory_plan(DedupConfig(), docs, 3700)["local"]["peak_bytes"]
    assert 0.7 * measured <= peak <= 1.3 * measured, (docs, peak / measured)


def test_default_partitions() -> None:
    # 1M docs: signatures + sets = 1M × (512 + 2,400) bytes → ⌈2.912e9 / 128 MB⌉ = 22
    p = memory_plan(DedupConfig(), 1_000_000, 3600, executors=2)
    assert p["spark"]["partitions"] == math.ceil(1_000_000 * 2912 / (128 * MB)) == 22
    # many executors: 4 partitions each
    assert memory_plan(DedupConfig(), 1_000_000, 3600, executors=10)["spark"]["partitions"] == 40
    # given partitions are used as they are
    assert memory_plan(DedupConfig(), 1000, 600, partitions=7)["spark"]["partitions"] == 7


def test_executor_memory_rounds_up_to_whole_gb() -> None:
    # fingerprint table 1M × (512 + 2,400 + 16 + 3,600 + 100) = 6.628e9 over 22 partitions
    p = memory_plan(DedupConfig(), 1_000_000, 3600, executors=2)["spark"]
    per_part = math.ceil(6_628_000_000 / 22)
    assert p["fingerprint_bytes_per_partition"] == per_part
    wanted = 4 * per_part * 2
    assert p["executor_memory_bytes"] == math.ceil(wanted / GB) * GB == 3 * GB
    assert p["executor_memory"] == "3g"
    # fewer partitions → bigger partitions → more memory
    q = memory_plan(DedupConfig(), 1_000_000, 3600, partitions=4)["spark"]
    assert q["executor_memory_bytes"] == math.ceil(4 * (6_628_000_000 / 4) * 2 / GB) * GB


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"docs": 0}, "--docs must be at least 1"),
        ({"docs": -5}, "--docs must be at least 1"),
        ({"docs": 1.5}, "--docs must be at least 1"),
        ({"avg_bytes": 0}, "--avg-bytes must be greater than 0"),
        ({"avg_bytes": -1.0}, "--avg-bytes must be greater than 0"),
        ({"avg_bytes": float("nan")}, "--avg-bytes must be greater than 0"),
        ({"executors": 0}, "--executors must be at least 1"),
        ({"partitions": 0}, "--partitions must be at least 1"),
        ({"duplicate_fraction": -0.1}, "--duplicate-fraction must be between 0 and 1"),
        ({"duplicate_fraction": 1.5}, "--duplicate-fraction must be between 0 and 1"),
    ],
)
def test_bad_values_are_rejected(kwargs: dict, message: str) -> None:
    args = {"docs": 100, "avg_bytes": 1000.0} | kwargs
    docs, avg = args.pop("docs"), args.pop("avg_bytes")
    with pytest.raises(ConfigError) as info:
        memory_plan(DedupConfig(), docs, avg, **args)
    assert info.value.message.startswith(message)
    assert info.value.remedy


def test_edge_values_are_accepted() -> None:
    p = memory_plan(DedupConfig(), 1, 1, duplicate_fraction=0.0, partitions=1)
    assert p["local"]["candidate_pairs"] == 0
    assert memory_plan(DedupConfig(), 1, 1, duplicate_fraction=1.0)["local"]["candidate_pairs"] == 2


def test_human_bytes() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KB"
    assert human_bytes(512 * MB) == "512 MB"
    assert human_bytes(int(1.2 * GB)) == "1.2 GB"
