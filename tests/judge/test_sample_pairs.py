"""sample-pairs: planted pairs land in their strata with exact measures, draws are seeded and
reproducible, the file is ready to label, and an existing file is never overwritten silently."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import HARBOUR, NOTES, OBSERVATORY, ORCHARD, WORKSHOP, write_jsonl

import neardup
from neardup.judge.sample import KINDS, STRATA, split_of
from neardup.text.shingle import shingle_set
from neardup.verify import jaccard


def _edit(text: str, every: int, seed: int) -> str:
    """Replace every ``every``-th word by another word (seeded)."""
    rng = random.Random(seed)
    words = text.split()
    for i in range(0, len(words), every):
        words[i] = rng.choice(["copper", "violet", "meadow", "lantern", "harvest"])
    return " ".join(words)


def _noise(text: str, rate: float, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(
        c if not c.isalpha() or rng.random() >= rate else rng.choice("xqzjk") for c in text
    )


DOCS = [
    {"id": "harbour", "text": HARBOUR},
    {"id": "harbour-copy", "text": HARBOUR + " The end."},  # J ≥ 0.9
    {"id": "orchard", "text": ORCHARD},
    {"id": "orchard-edited", "text": _edit(ORCHARD, 25, 1)},  # J in 0.5–0.8
    {"id": "observatory", "text": OBSERVATORY},
    {"id": "observatory-half", "text": " ".join(OBSERVATORY.split()[:45])},  # contained
    {"id": "workshop", "text": WORKSHOP},
    {"id": "workshop-ocr", "text": _noise(WORKSHOP, 0.04, 3)},  # char only
    *({"id": f"note-{i}", "text": t} for i, t in enumerate(NOTES)),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "docs.jsonl"
    write_jsonl(path, DOCS)
    return path


def _measures(a: str, b: str) -> tuple[float, float, float]:
    sa, sb = shingle_set(a), shingle_set(b)
    inter = len(set(sa.tolist()) & set(sb.tolist()))
    cont = inter / min(sa.size, sb.size)
    ca = shingle_set(a, mode="char")
    cb = shingle_set(b, mode="char")
    return jaccard(sa, sb), cont, jaccard(ca, cb)


def test_planted_pairs_in_their_strata_with_exact_measures(corpus: Path) -> None:
    result = neardup.sample_pairs(corpus, per_stratum=10, seed=7)
    got = {(p["id_a"], p["id_b"]): p for p in result.pairs}
    text = {d["id"]: d["text"] for d in DOCS}
    expect = {
        ("harbour", "harbour-copy"): "J0.9-1",
        ("observatory", "observatory-half"): "containment",
        ("workshop", "workshop-ocr"): "char",
    }
    for pair, stratum in expect.items():
        assert got[pair]["stratum"] == stratum, got[pair]
    edited = got[("orchard", "orchard-edited")]
    assert edited["stratum"] in ("J0.5-0.65", "J0.65-0.8")
    for (a, b), p in got.items():
        j, c, cj = _measures(text[a], text[b])
        assert p["jaccard"] == round(j, 4)
        assert p["containment"] == round(c, 4)
        assert p["char_jaccard"] == round(cj, 4)
        assert p["duplicate"] is None and p["kind"] is None and p["reason"] is None
        assert p["split"] == split_of(7, a, b)
        assert p["source"] == str(corpus)
        assert "text_a" not in p
    assert sum(result.drawn.values()) == len(result.pairs)
    assert set(result.drawn) == set(STRATA)


def test_draw_is_seeded_and_capped(corpus: Path) -> None:
    one = neardup.sample_pairs(corpus, per_stratum=1, seed=3)
    again = neardup.sample_pairs(corpus, per_stratum=1, seed=3, workers=1)
    assert one.pairs == again.pairs
    assert all(n <= 1 for n in one.drawn.values())
    bigger = neardup.sample_pairs(corpus, per_stratum=10, seed=3)
    # a larger draw extends a smaller one
    assert all(p in bigger.pairs for p in one.pairs)


def test_split_is_about_half() -> None:
    held = sum(split_of(0, f"a{i}", f"b{i}") == "heldout" for i in range(2000))
    assert 900 < held < 1100


def test_bad_per_stratum(corpus: Path) -> None:
    with pytest.raises(neardup.ConfigError, match="per_stratum"):
        neardup.sample_pairs(corpus, per_stratum=0)


def test_cli_writes_labelable_file_and_refuses_to_overwrite(
    corpus: Path, tmp_path: Path, cli: Any
) -> None:
    out = tmp_path / "pairs.jsonl"
    code, stdout, err = cli("sample-pairs", corpus, "-o", out, "--per-stratum", 2, "--with-text")
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["text_a"] and r["text_b"] for r in rows)
    assert list(rows[0])[:11] == [
        "id_a",
        "id_b",
        "source",
        "stratum",
        "jaccard",
        "containment",
        "char_jaccard",
        "duplicate",
        "kind",
        "reason",
        "split",
    ]
    assert "containment" in stdout and "char" in stdout
    before = out.read_bytes()
    code, _, err = cli("sample-pairs", corpus, "-o", out)
    assert code == 4
    assert f"{out} exists" in err and "--force" in err
    assert out.read_bytes() == before
    code, stdout, err = cli("sample-pairs", corpus, "-o", out, "--force", "--json")
    assert code == 0, err
    assert json.loads(stdout)["pairs"] == len(out.read_text().splitlines())


def test_cli_help_documents_format_and_kinds(cli: Any) -> None:
    code, stdout, _ = cli("sample-pairs", "--help")
    assert code == 0
    for word in (*KINDS, "heldout", "duplicate", "--per-stratum", "--with-text", "--seed"):
        assert word in stdout


def test_cli_fields_and_bad_record(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "docs.jsonl"
    rows = [{"key": d["id"], "body": d["text"]} for d in DOCS] + [{"key": "bad", "body": 3}]
    write_jsonl(path, rows)
    args = ["sample-pairs", path, "-o", tmp_path / "p.jsonl", "--text-field", "body"]
    args += ["--id-field", "key"]
    code, _, err = cli(*args)
    assert code == 3 and "body" in err
    code, _, err = cli(*args, "--on-error", "skip")
    assert code == 0, err
    ids = {json.loads(x)["id_a"] for x in (tmp_path / "p.jsonl").read_text().splitlines()}
    assert "harbour" in ids
