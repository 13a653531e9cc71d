"""DedupConfig: defaults, validation with remedies, round trips, TOML."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

import neardup
from neardup import ConfigError, DedupConfig, KeepPolicy
from neardup.errors import InputError


def test_defaults() -> None:
    cfg = DedupConfig()
    assert cfg.threshold == 0.8
    assert cfg.num_perm == 128
    assert cfg.ngram == 5
    assert cfg.char_ngram == 5
    assert cfg.shingle == "auto"
    assert cfg.seed == 42
    assert cfg.bands is None and cfg.rows is None
    assert cfg.verify is True
    assert cfg.keep == KeepPolicy("first", None)
    assert (cfg.text_field, cfg.id_field) == ("text", "id")
    assert cfg.on_error == "raise"
    assert cfg.batch_size == 1024
    assert cfg.output_format is None
    assert cfg.effective_workers >= 1


def test_frozen() -> None:
    cfg = DedupConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.threshold = 0.5  # type: ignore[misc]


def test_with_returns_validated_copy() -> None:
    cfg = DedupConfig()
    other = cfg.with_(threshold=0.9, keep="longest")
    assert other.threshold == 0.9
    assert other.keep == KeepPolicy("longest")
    assert cfg.threshold == 0.8
    with pytest.raises(ConfigError):
        cfg.with_(threshold=2.0)


def test_keep_given_as_string_is_parsed() -> None:
    assert DedupConfig(keep="newest:date").keep == KeepPolicy("newest", "date")


def test_workers_setting() -> None:
    assert DedupConfig(workers=3).effective_workers == 3


@pytest.mark.parametrize(
    ("kwargs", "message", "remedy_part"),
    [
        ({"threshold": 0}, "threshold must be in (0, 1], got 0", "0.8"),
        ({"threshold": 1.01}, "threshold must be in (0, 1], got 1.01", "0.8"),
        ({"threshold": float("nan")}, "threshold must be in (0, 1], got nan", "0.8"),
        ({"num_perm": 0}, "num_perm must be a positive integer, got 0", "--num-perm"),
        ({"num_perm": 64.0}, "num_perm must be a positive integer, got 64.0", "--num-perm"),
        ({"num_perm": True}, "num_perm must be a positive integer, got True", "--num-perm"),
        ({"num_perm": 2048}, "num_perm=2048 is more than 1024", "128 or 256"),
        ({"ngram": -1}, "ngram must be a positive integer, got -1", "--ngram"),
        ({"char_ngram": 0}, "char_ngram must be a positive integer, got 0", "--char-ngram"),
        ({"batch_size": 0}, "batch_size must be a positive integer, got 0", "--batch-size"),
        ({"max_bucket": 0}, "max_bucket must be a positive integer, got 0", "1 or more"),
        ({"shingle": "token"}, "shingle must be auto, word or char, got 'token'", "auto"),
        ({"on_error": "ignore"}, "on_error must be 'raise' or 'skip', got 'ignore'", "skip"),
        ({"bands": 4}, "bands and rows must be given together", "--bands and --rows"),
        ({"rows": 4}, "bands and rows must be given together", "--bands and --rows"),
        (
            {"bands": 20, "rows": 7},
            "bands × rows = 20×7 must be ≥ 1 and at most num_perm = 128",
            "",
        ),
        ({"bands": 0, "rows": 7}, "bands × rows = 0×7", "lower bands"),
        ({"workers": 0}, "workers must be a positive integer, got 0", "--workers"),
        ({"workers": 1.5}, "workers must be a positive integer, got 1.5", "--workers"),
        ({"output_format": "xml"}, "unknown output format 'xml'", "jsonl, jsonl.gz"),
        ({"text_field": ""}, "text_field and id_field must be non-empty", "field name"),
        ({"id_field": ""}, "text_field and id_field must be non-empty", "field name"),
        ({"keep": "random"}, "unknown keeper policy 'random'", "newest:FIELD"),
    ],
)
def test_validation_messages(kwargs, message: str, remedy_part: str) -> None:
    with pytest.raises(ConfigError) as info:
        DedupConfig(**kwargs)
    err = info.value
    assert err.message.startswith(message)
    assert err.remedy and remedy_part in err.remedy
    assert err.exit_code == 2
    assert isinstance(err, ValueError)


def test_bands_rows_accepted_when_they_fit() -> None:
    cfg = DedupConfig(bands=16, rows=8)
    assert (cfg.bands, cfg.rows) == (16, 8)
    assert neardup.plan(cfg)["slots_used"] == 128


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"threshold": "0.9"}, id="threshold-as-string"),
        pytest.param({"seed": -1}, id="negative-seed"),
        pytest.param({"verify": "false"}, id="verify-as-string"),
        pytest.param({"bands": 2.5, "rows": 2}, id="fractional-bands"),
    ],
)
def test_wrongly_typed_values_are_rejected(kwargs) -> None:
    with pytest.raises(ConfigError):
        DedupConfig(**kwargs)


def test_dict_round_trip() -> None:
    cfg = DedupConfig(threshold=0.7, keep="priority:score", bands=10, rows=5, workers=2)
    data = cfg.to_dict()
    assert data["keep"] == "priority:score"
    assert data["threshold"] == 0.7
    assert DedupConfig.from_dict(data) == cfg


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError) as info:
        DedupConfig.from_dict({"threshold": 0.9, "treshold": 0.8, "colour": 1})
    assert info.value.message == "unknown config key(s): colour, treshold"
    assert "threshold" in info.value.remedy


def test_from_toml(tmp_path: Path) -> None:
    top = tmp_path / "top.toml"
    top.write_text('threshold = 0.9\nkeep = "longest"\nngram = 3\n', encoding="utf-8")
    cfg = DedupConfig.from_toml(top)
    assert (cfg.threshold, str(cfg.keep), cfg.ngram) == (0.9, "longest", 3)
    section = tmp_path / "section.toml"
    section.write_text('[dedup]\nshingle = "char"\nnum_perm = 64\n', encoding="utf-8")
    cfg = DedupConfig.from_toml(section)
    assert (cfg.shingle, cfg.num_perm) == ("char", 64)


def test_from_toml_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        DedupConfig.from_toml(tmp_path / "missing.toml")
    assert "cannot read config file" in info.value.message
    assert "missing.toml" in info.value.message
    bad = tmp_path / "bad.toml"
    bad.write_text("threshold = = 0.9\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        DedupConfig.from_toml(bad)
    assert "invalid TOML" in info.value.message
    out_of_range = tmp_path / "range.toml"
    out_of_range.write_text("threshold = 3.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"threshold must be in \(0, 1\], got 3.0"):
        DedupConfig.from_toml(out_of_range)


def test_errors_survive_pickling() -> None:
    err = InputError("bad record", path="a.jsonl", line=3, field="text", remedy="fix it")
    assert str(err).splitlines()[0] == "a.jsonl, line 3, field 'text': bad record"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is InputError
    assert (back.path, back.line, back.field, back.remedy) == ("a.jsonl", 3, "text", "fix it")
    assert back.message == err.message
    assert back.exit_code == 3
