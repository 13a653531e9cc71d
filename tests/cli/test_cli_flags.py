"""Every option of `neardup dedup`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import (
    CHINESE,
    HARBOUR,
    HARBOUR_NEAR,
    NOTES,
    OBSERVATORY,
    ORCHARD,
    ORCHARD_NEAR,
    WORKSHOP,
    near,
    read_clusters,
    read_records,
    read_stats,
    write_jsonl,
    write_parquet,
)

import neardup
from neardup.text.shingle import shingle_set
from neardup.verify import jaccard


def removed_of(out: Path, ext: str = "jsonl") -> dict[str, dict]:
    return {r["id"]: r for r in read_records(out / f"removed.{ext}")}


def test_text_field_and_id_field(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"uid": "x", "body": HARBOUR, "text": "decoy one"},
            {"uid": "y", "body": HARBOUR_NEAR, "text": "decoy two"},
            {"uid": "z", "body": ORCHARD, "text": "decoy one"},
        ],
    )
    code, _, err = cli(
        "dedup", src, "-o", tmp_path / "out", "--workers", "1",
        "--text-field", "body", "--id-field", "uid",
    )  # fmt: skip
    assert code == 0, err
    assert [c["members"] for c in read_clusters(tmp_path / "out")] == [["x", "y"]]
    stats = read_stats(tmp_path / "out")
    assert stats["parameters"]["text_field"] == "body"
    assert stats["parameters"]["id_field"] == "uid"


def test_threshold(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": HARBOUR},
            {"id": "b", "text": HARBOUR_NEAR},
            {"id": "c", "text": ORCHARD},
            {"id": "d", "text": ORCHARD},
        ],
    )
    code, _, err = cli("dedup", src, "-o", tmp_path / "lo", "--workers", "1", "--threshold", "0.85")
    assert code == 0, err
    assert set(removed_of(tmp_path / "lo")) == {"b", "d"}
    code, _, err = cli("dedup", src, "-o", tmp_path / "hi", "--workers", "1", "--threshold", "0.95")
    assert code == 0, err
    assert set(removed_of(tmp_path / "hi")) == {"d"}
    assert read_stats(tmp_path / "hi")["parameters"]["threshold"] == 0.95


@pytest.mark.parametrize("num_perm", ["32", "256"])
def test_num_perm(tmp_path, corpus_jsonl, cli, num_perm: str) -> None:
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--workers", "1",
                       "--num-perm", num_perm)  # fmt: skip
    assert code == 0, err
    p = read_stats(tmp_path / "out")["parameters"]
    assert p["num_perm"] == int(num_perm)
    assert p["bands"] * p["rows"] <= int(num_perm)
    assert set(removed_of(tmp_path / "out")) == {"h2", "o2"}


@pytest.mark.parametrize("n", [2, 3, 8])
def test_ngram(tmp_path, cli, n: int) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": HARBOUR}, {"id": "b", "text": HARBOUR_NEAR}],
    )
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1", "--ngram", str(n))
    assert code == 0, err
    expected = jaccard(shingle_set(HARBOUR, ngram=n), shingle_set(HARBOUR_NEAR, ngram=n))
    assert removed_of(tmp_path / "out")["b"]["similarity"] == round(expected, 6)
    assert read_stats(tmp_path / "out")["parameters"]["ngram"] == n


def test_char_ngram_and_auto_character_shingles(tmp_path, cli) -> None:
    edited = CHINESE.replace("非常好", "很好")
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "zh1", "text": CHINESE},
            {"id": "zh2", "text": edited},
            {"id": "en", "text": HARBOUR},
        ],
    )
    for n in (3, 4):
        out = tmp_path / f"out{n}"
        code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--threshold", "0.7",
                           "--char-ngram", str(n))  # fmt: skip
        assert code == 0, err
        expected = jaccard(shingle_set(CHINESE, char_ngram=n), shingle_set(edited, char_ngram=n))
        assert removed_of(out)["zh2"]["similarity"] == round(expected, 6)
        stats = read_stats(out)
        assert stats["character_shingled_documents"] == 2
        assert stats["parameters"]["char_ngram"] == n


def test_shingle_mode(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "zh", "text": CHINESE},
            {"id": "en1", "text": HARBOUR},
            {"id": "en2", "text": HARBOUR.upper()},
        ],
    )
    expected = {"auto": 1, "char": 3, "word": 0}
    for mode, n_char in expected.items():
        out = tmp_path / mode
        code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--shingle", mode)
        assert code == 0, err
        stats = read_stats(out)
        assert stats["character_shingled_documents"] == n_char
        assert stats["parameters"]["shingle"] == mode
        assert set(removed_of(out)) == {"en2"}


def test_seed(tmp_path, corpus_jsonl, cli) -> None:
    for seed in ("1", "12345"):
        out = tmp_path / seed
        code, _, err = cli("dedup", corpus_jsonl, "-o", out, "--workers", "1", "--seed", seed)
        assert code == 0, err
        assert read_stats(out)["parameters"]["seed"] == int(seed)
        assert set(removed_of(out)) == {"h2", "o2"}


def test_negative_seed_is_a_config_error(tmp_path, corpus_jsonl, cli) -> None:
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--workers", "1",
                       "--seed", "-1")  # fmt: skip
    assert code == 2
    assert "seed" in err


def test_bands_and_rows(tmp_path, corpus_jsonl, cli) -> None:
    out = tmp_path / "out"
    code, _, err = cli("dedup", corpus_jsonl, "-o", out, "--workers", "1",
                       "--bands", "32", "--rows", "4")  # fmt: skip
    assert code == 0, err
    p = read_stats(out)["parameters"]
    assert (p["bands"], p["rows"], p["slots_used"]) == (32, 4, 128)
    assert set(removed_of(out)) == {"h2", "o2"}
    # one band of all 128 slots: a pair at J ≈ 0.9 practically never becomes a candidate,
    # while exact copies are still found through their hash
    out = tmp_path / "strict"
    code, _, err = cli("dedup", corpus_jsonl, "-o", out, "--workers", "1",
                       "--bands", "1", "--rows", "128")  # fmt: skip
    assert code == 0, err
    assert set(removed_of(out)) == {"h2"}
    assert read_stats(out)["candidate_pairs"] == 0


def test_bands_without_rows_is_a_usage_error(tmp_path, corpus_jsonl, cli) -> None:
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--bands", "8")
    assert code == 2
    assert "bands and rows must be given together" in err
    assert not (tmp_path / "out").exists()


def test_verify_and_no_verify(tmp_path, cli) -> None:
    # near copies edited in their last words: Jaccard ≈ 0.98, so the 9 × 13 banding used
    # without verification finds them with near certainty
    edited = near(WORKSHOP, "winter storms.", "autumn gales.")
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "w1", "text": WORKSHOP},
            {"id": "h1", "text": HARBOUR},
            {"id": "w2", "text": edited},
            {"id": "h2", "text": HARBOUR.upper()},
        ],
    )
    exact = round(jaccard(shingle_set(WORKSHOP), shingle_set(edited)), 6)
    code, _, err = cli("dedup", src, "-o", tmp_path / "v", "--workers", "1", "--verify")
    assert code == 0, err
    assert removed_of(tmp_path / "v")["w2"]["similarity"] == exact
    assert read_stats(tmp_path / "v")["parameters"]["verify"] is True
    code, _, err = cli("dedup", src, "-o", tmp_path / "nv", "--workers", "1", "--no-verify")
    assert code == 0, err
    removed = removed_of(tmp_path / "nv")
    assert set(removed) == {"w2", "h2"}
    assert removed["h2"]["similarity"] == 1.0
    estimate = removed["w2"]["similarity"]
    assert abs(estimate - exact) < 0.1
    assert estimate * 128 == pytest.approx(round(estimate * 128), abs=1e-3)
    p = read_stats(tmp_path / "nv")["parameters"]
    assert p["verify"] is False
    assert (p["bands"], p["rows"]) == (9, 13)


def test_no_verify_finds_planted_copies(tmp_path, cli) -> None:
    records = [
        {"id": f"p{i}", "text": text}
        for i, text in enumerate((HARBOUR, ORCHARD, OBSERVATORY, WORKSHOP))
    ]
    records += [
        {"id": "c0", "text": near(HARBOUR, "back to work.", "back to the nets.")},
        {"id": "c1", "text": ORCHARD.upper()},
        {"id": "c2", "text": near(OBSERVATORY, "rest of the night.", "rest of the evening.")},
        {"id": "c3", "text": WORKSHOP + " Thank you!"},
        {"id": "n0", "text": NOTES[2]},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1", "--no-verify")
    assert code == 0, err
    clusters = read_clusters(tmp_path / "out")
    assert [c["members"] for c in clusters] == [
        ["p0", "c0"],
        ["p1", "c1"],
        ["p2", "c2"],
        ["p3", "c3"],
    ]
    assert all(c["min_similarity"] >= 0.8 for c in clusters)


@pytest.mark.parametrize(
    ("policy", "kept"),
    [
        ("first", "a"),
        ("longest", "c"),
        ("shortest", "b"),
        ("newest:published", "b"),
        ("priority:score", "c"),
    ],
)
def test_keep_policies(tmp_path, cli, policy: str, kept: str) -> None:
    records = [
        {"id": "a", "text": HARBOUR + " !", "published": "2020-05-01", "score": 2},
        {"id": "b", "text": HARBOUR, "published": "2021-01-31", "score": None},
        {"id": "c", "text": HARBOUR + " !!! ...", "published": None, "score": 7.5},
        {"id": "d", "text": ORCHARD, "published": "2030-01-01", "score": 100},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--keep", policy)
    assert code == 0, err
    [cluster] = read_clusters(out)
    assert cluster["kept_id"] == kept
    removed = removed_of(out)
    assert set(removed) == {"a", "b", "c"} - {kept}
    assert all(r["kept_id"] == kept for r in removed.values())
    assert [r["id"] for r in read_records(out / "kept.jsonl")] == sorted({kept, "d"})
    assert read_stats(out)["parameters"]["keep"] == policy


def test_keep_newest_with_parquet_timestamps(tmp_path, cli) -> None:
    from datetime import datetime

    records = [
        {"id": "a", "text": ORCHARD, "at": datetime(2021, 5, 1, 8, 0)},
        {"id": "b", "text": ORCHARD_NEAR, "at": datetime(2021, 5, 1, 9, 30)},
        {"id": "c", "text": ORCHARD.upper(), "at": None},
    ]
    src = write_parquet(tmp_path / "in.parquet", records)
    code, _, err = cli(
        "dedup", src, "-o", tmp_path / "out", "--workers", "1", "--keep", "newest:at"
    )
    assert code == 0, err
    assert [r["id"] for r in read_records(tmp_path / "out" / "kept.parquet")] == ["b"]


def test_keep_none_removes_every_member(tmp_path, corpus_jsonl, cli) -> None:
    out = tmp_path / "out"
    code, _, err = cli("dedup", corpus_jsonl, "-o", out, "--workers", "1", "--keep", "none")
    assert code == 0, err
    removed = removed_of(out)
    assert set(removed) == {"h1", "h2", "o1", "o2"}
    assert all(r["kept_id"] is None for r in removed.values())
    assert removed["h1"]["reason"] == removed["h2"]["reason"] == "exact"
    assert removed["o1"]["reason"] == removed["o2"]["reason"] == "near"
    assert removed["o1"]["similarity"] == removed["o2"]["similarity"] < 1.0
    assert [c["kept_id"] for c in read_clusters(out)] == [None, None]
    assert [r["id"] for r in read_records(out / "kept.jsonl")] == ["s1", "w1", "n1", "n2"]
    stats = read_stats(out)
    assert (stats["kept"], stats["removed"]) == (4, 4)


def test_keep_field_with_mixed_types_is_bad_input(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": HARBOUR, "v": 3}, {"id": "b", "text": HARBOUR, "v": "high"}],
    )
    code, _, err = cli(
        "dedup", src, "-o", tmp_path / "out", "--workers", "1", "--keep", "priority:v"
    )
    assert code == 3
    assert "field 'v'" in err and "different types" in err


@pytest.mark.parametrize("spec", ["newest", "oldest", "first:x"])
def test_bad_keep_is_a_usage_error(tmp_path, corpus_jsonl, cli, spec: str) -> None:
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--keep", spec)
    assert code == 2
    assert "keeper policy" in err
    assert "->" in err  # the remedy is printed


def test_workers_two_gives_the_same_result(tmp_path, cli) -> None:
    records = [
        {"id": f"r{i}", "text": text}
        for i, text in enumerate(
            [HARBOUR, ORCHARD, OBSERVATORY, WORKSHOP, *NOTES, HARBOUR_NEAR, ORCHARD.upper()] * 3
        )
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    for workers in ("1", "2"):
        code, _, err = cli("dedup", src, "-o", tmp_path / workers, "--workers", workers,
                           "--batch-size", "4")  # fmt: skip
        assert code == 0, err
    assert read_stats(tmp_path / "2")["parameters"]["workers"] == 2
    for name in ("kept.jsonl", "removed.jsonl", "clusters.jsonl"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
    assert len(read_clusters(tmp_path / "2")) == 8


def test_batch_size(tmp_path, corpus_jsonl, cli) -> None:
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "a", "--workers", "1",
                       "--batch-size", "1")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "b", "--workers", "1")
    assert code == 0, err
    for name in ("kept.jsonl", "removed.jsonl", "clusters.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_json_prints_the_stats(tmp_path, corpus_jsonl, cli) -> None:
    code, out, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--workers", "1", "--json")
    assert code == 0, err
    printed = json.loads(out)
    assert printed == read_stats(tmp_path / "out")
    assert (printed["documents"], printed["kept"], printed["removed"]) == (8, 6, 2)
    assert printed["outputs"]["kept"] == str(tmp_path / "out" / "kept.jsonl")


def test_dry_run_prints_parameters_and_writes_nothing(tmp_path, corpus_jsonl, cli) -> None:
    out = tmp_path / "out"
    code, text, err = cli("dedup", corpus_jsonl, "-o", out, "--dry-run", "--threshold", "0.7")
    assert code == 0, err
    assert not out.exists()
    p = neardup.lsh_params(0.7, 128, recall_at_threshold=0.995)
    assert f"{p.bands} bands × {p.rows} rows" in text
    for s in ("0.50", "0.60", "0.70", "0.75", "0.80", "0.85", "0.90", "0.95", "1.00"):
        prob = neardup.candidate_probability(float(s), p.bands, p.rows)
        assert f"J = {s}   {prob:8.4f}" in text


def test_dry_run_json(tmp_path, cli) -> None:
    code, text, err = cli("dedup", "--dry-run", "--json", "--no-verify", "--num-perm", "128")
    assert code == 0, err
    report = json.loads(text)
    assert (report["bands"], report["rows"]) == (9, 13)
    assert report["verify"] is False
    assert report["candidate_probability"]["0.80"] == round(
        neardup.candidate_probability(0.8, 9, 13), 6
    )


def test_config_file(tmp_path, corpus_jsonl, cli) -> None:
    cfg = tmp_path / "neardup.toml"
    cfg.write_text('[dedup]\nthreshold = 0.95\nkeep = "none"\nworkers = 1\n', encoding="utf-8")
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "a", "--config", cfg)
    assert code == 0, err
    assert set(removed_of(tmp_path / "a")) == {"h1", "h2"}  # o2 is below 0.95
    p = read_stats(tmp_path / "a")["parameters"]
    assert (p["threshold"], p["keep"]) == (0.95, "none")
    # options on the command line override the file
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "b", "--config", cfg,
                       "--threshold", "0.8", "--keep", "first")  # fmt: skip
    assert code == 0, err
    assert set(removed_of(tmp_path / "b")) == {"h2", "o2"}


def test_bad_config_file(tmp_path, corpus_jsonl, cli) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("treshold = 0.9\n", encoding="utf-8")
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--config", cfg)
    assert code == 2
    assert "unknown config key(s): treshold" in err
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--config",
                       tmp_path / "missing.toml")  # fmt: skip
    assert code == 2
    assert "cannot read config file" in err


def test_progress_bars_on_stderr(tmp_path, corpus_jsonl, cli) -> None:
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "a", "--workers", "1", "--progress")
    assert code == 0
    assert "fingerprint" in err
    code, _, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "b", "--workers", "1",
                       "--no-progress")  # fmt: skip
    assert code == 0
    assert err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "1.5"], "threshold must be in (0, 1], got 1.5"),
        (["--threshold", "0"], "threshold must be in (0, 1], got 0.0"),
        (["--num-perm", "0"], "num_perm must be a positive integer, got 0"),
        (["--num-perm", "4096"], "num_perm=4096 is more than 1024"),
        (["--ngram", "0"], "ngram must be a positive integer, got 0"),
        (["--char-ngram", "-2"], "char_ngram must be a positive integer, got -2"),
        (["--workers", "0"], "workers must be a positive integer, got 0"),
        (["--batch-size", "0"], "batch_size must be a positive integer, got 0"),
        (["--bands", "20", "--rows", "7"], "bands × rows = 20×7"),
        (["--shingle", "letters"], "Invalid value for '--shingle'"),
        (["--on-error", "ignore"], "Invalid value for '--on-error'"),
        (["--output-format", "xml"], "Invalid value for '--output-format'"),
        (["--threshold", "high"], "Invalid value for '--threshold'"),
        (["--bogus-flag"], "--bogus-flag"),
    ],
)
def test_bad_options_exit_2(tmp_path, corpus_jsonl, cli, args, message: str) -> None:
    out = tmp_path / "out"
    code, _, err = cli("dedup", corpus_jsonl, "-o", out, *args)
    assert code == 2
    assert message in err
    assert not out.exists()


def test_usage_errors(tmp_path, corpus_jsonl, cli) -> None:
    code, _, err = cli("dedup", corpus_jsonl)
    assert code == 2
    assert "--output DIR is required" in err
    code, _, err = cli("dedup", "-o", tmp_path / "out")
    assert code == 2
    assert "give at least one input file or folder" in err
    code, _, err = cli("frobnicate")
    assert code == 2
    assert "No such command 'frobnicate'" in err


def test_version(cli) -> None:
    code, out, _ = cli("--version")
    assert code == 0
    assert out.strip() == f"neardup, version {neardup.__version__}"
