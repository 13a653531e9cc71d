"""``neardup plan``: the memory plan as a table or JSON; bad values exit 2 with a message."""

from __future__ import annotations

import json

import pytest

import neardup
from neardup.memplan import memory_plan


def test_json_has_every_section(cli) -> None:
    code, out, err = cli("plan", "--docs", "1000", "--avg-bytes", "600", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert set(plan) >= {"inputs", "parameters", "per_document", "local", "spark"}
    assert plan == memory_plan(neardup.DedupConfig(), 1000, 600.0)
    assert plan["local"]["signature_bytes"] == 1000 * 512
    assert plan["local"]["spill_bytes_on_disk"] == 0
    assert plan["spark"]["executor_memory"] == "1g"
    assert isinstance(plan["spark"]["notes"], list)


def test_fingerprint_and_spark_options_reach_the_plan(cli) -> None:
    code, out, err = cli(
        "plan",
        "--docs",
        "2000",
        "--avg-bytes",
        "1200",
        "--num-perm",
        "64",
        "--threshold",
        "0.9",
        "--executors",
        "3",
        "--partitions",
        "5",
        "--duplicate-fraction",
        "0.25",
        "--json",
    )
    assert code == 0, err
    plan = json.loads(out)
    cfg = neardup.DedupConfig(num_perm=64, threshold=0.9)
    assert plan == memory_plan(
        cfg, 2000, 1200.0, executors=3, partitions=5, duplicate_fraction=0.25
    )
    assert plan["parameters"]["num_perm"] == 64
    assert plan["parameters"]["threshold"] == 0.9
    assert plan["per_document"]["signature_bytes"] == 256
    assert plan["spark"]["executors"] == 3
    assert plan["spark"]["partitions"] == 5
    assert plan["local"]["candidate_pairs"] == 1000


def test_bands_and_rows_options(cli) -> None:
    code, out, _ = cli("plan", "--docs", "10", "--avg-bytes", "60", "--bands", "4", "--rows", "8")
    assert code == 0
    code, out, _ = cli(
        "plan", "--docs", "10", "--avg-bytes", "60", "--bands", "4", "--rows", "8", "--json"
    )
    plan = json.loads(out)
    assert (plan["parameters"]["bands"], plan["parameters"]["rows"]) == (4, 8)
    assert plan["spark"]["band_table_rows"] == 40


def test_text_table(cli) -> None:
    code, out, err = cli("plan", "--docs", "1000000", "--avg-bytes", "3700", "--executors", "4")
    assert code == 0, err
    assert err == ""
    assert out.startswith("neardup plan: 1,000,000 documents × 3,700 bytes")
    for heading in ("per document", "local run", "Spark: 4 executors × 2 cores, 23 partitions"):
        assert heading in out
    assert "expected peak memory" in out
    assert "spilled to disk" in out
    assert "spark.executor.memory=3g" in out
    assert "18 bands × 6 rows" in out
    peak_line = next(line for line in out.splitlines() if "expected peak memory" in line)
    assert peak_line.split()[-2:] == ["1.2", "GB"]
    assert "stage resolve" in out and "← peak" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--docs", "0", "--avg-bytes", "100"], "--docs must be at least 1"),
        (["--docs", "10", "--avg-bytes", "0"], "--avg-bytes must be greater than 0"),
        (["--docs", "10", "--avg-bytes", "-3"], "--avg-bytes must be greater than 0"),
        (
            ["--docs", "10", "--avg-bytes", "9", "--executors", "0"],
            "--executors must be at least 1",
        ),
        (
            ["--docs", "10", "--avg-bytes", "9", "--partitions", "0"],
            "--partitions must be at least 1",
        ),
        (
            ["--docs", "10", "--avg-bytes", "9", "--duplicate-fraction", "2"],
            "--duplicate-fraction must be between 0 and 1",
        ),
        (["--docs", "10", "--avg-bytes", "9", "--threshold", "1.5"], "threshold must be in (0, 1]"),
    ],
)
def test_bad_values_exit_2(cli, args: list[str], message: str) -> None:
    code, out, err = cli("plan", *args)
    assert code == 2
    assert out == ""
    assert err.startswith(f"neardup: error: {message}")
    assert "->" in err  # a remedy follows


@pytest.mark.parametrize(
    "args", [["--avg-bytes", "100"], ["--docs", "10"], ["--docs", "x", "--avg-bytes", "1"]]
)
def test_missing_or_malformed_options_are_usage_errors(cli, args: list[str]) -> None:
    code, out, err = cli("plan", *args)
    assert code == 2
    assert out == ""
    assert "--docs" in err or "--avg-bytes" in err


def test_listed_in_help(cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    assert "plan" in out
    code, out, _ = cli("plan", "--help")
    assert code == 0
    for option in ("--docs", "--avg-bytes", "--executors", "--partitions", "--num-perm", "--json"):
        assert option in out
