"""--preset ocr: character 5-grams at 0.7 find a copy with 3% recognition errors that word
5-grams miss; options given explicitly win over the preset; an unknown preset is refused."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import HARBOUR, OBSERVATORY, ORCHARD, write_jsonl

import neardup
from neardup.config import preset


def _ocr(text: str, rate: float, seed: int) -> str:
    rng = random.Random(seed)
    out = []
    for ch in text:
        if ch.isalnum() and rng.random() < rate:
            if rng.random() < 1 / 3:
                continue
            out.append(rng.choice("aeilnorst"))
        else:
            out.append(ch)
    return "".join(out)


DOCS = [
    {"id": "h", "text": HARBOUR},
    {"id": "h-scan", "text": _ocr(HARBOUR, 0.03, 1)},
    {"id": "o", "text": ORCHARD},
    {"id": "s", "text": OBSERVATORY},
]


def test_preset_finds_the_scanned_copy(tmp_path: Path, cli: Any) -> None:
    corpus = write_jsonl(tmp_path / "docs.jsonl", DOCS)
    plain = neardup.dedup(corpus, tmp_path / "plain")
    assert plain.removed == 0
    res = neardup.dedup(corpus, tmp_path / "ocr", **neardup.PRESETS["ocr"])
    assert res.removed == 1
    code, _, err = cli("dedup", corpus, "-o", tmp_path / "cli", "--preset", "ocr")
    assert code == 0, err
    stats = json.loads((tmp_path / "cli" / "stats.json").read_text())
    assert stats["removed"] == 1
    p = stats["parameters"]
    assert (p["shingle"], p["char_ngram"], p["threshold"]) == ("char", 5, 0.7)
    code, _, err = cli(
        "dedup", corpus, "-o", tmp_path / "cli2", "--preset", "ocr", "--threshold", "0.99"
    )
    assert code == 0, err
    stats = json.loads((tmp_path / "cli2" / "stats.json").read_text())
    assert stats["parameters"]["threshold"] == 0.99 and stats["removed"] == 0


def test_unknown_preset(cli: Any, tmp_path: Path) -> None:
    with pytest.raises(neardup.ConfigError, match="unknown preset"):
        preset("fax")
    code, _, err = cli("dedup", tmp_path / "x.jsonl", "-o", tmp_path / "o", "--preset", "fax")
    assert code == 2 and "fax" in err
