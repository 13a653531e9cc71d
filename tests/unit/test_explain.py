"""`neardup explain`: the evidence for one pair, and the lines that differ."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup.params import format_parameter_report

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
WIDGET = ["Jane Doe", "Jane Doe writes about farming for the Valley Courier.", "More >"]


def _paragraphs(seed: int, n: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        " ".join(f"t{seed}x{p}x{int(k)}" for k in rng.integers(0, 10**6, size=40)).capitalize()
        + "."
        for p in range(n)
    ]


def _with_widget(seed: int) -> str:
    paras = _paragraphs(seed)
    return "\n\n".join([*paras[:2], "\n".join(WIDGET), *paras[2:]])


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds absent")
def test_seeds_differ_only_by_the_widget(cli) -> None:
    a = SEEDS / "000_4e97f072294f02cf.txt"
    b = SEEDS / "001_0c9642bc1d2a5f0b.txt"
    code, out, _ = cli("explain", a, b, "--json")
    assert code == 0
    exp = json.loads(out)
    assert exp["verdict"] == "near duplicate"
    assert 0.96 <= exp["jaccard"] <= 0.98
    assert exp["containment_b_in_a"] > exp["containment_a_in_b"]  # B is inside A
    assert exp["candidate"] is True
    [block] = exp["diff"]
    assert block["kind"] == "only_in_a"
    assert block["a_lines"] == [5, 7]
    assert [r["text"] for r in block["a"]] == [
        "Dmitri Trenin",
        "Trenin was director of the Carnegie Moscow Center from 2008 to early 2022.",
        "More >",
    ]
    code, human, _ = cli("explain", a, b)
    assert "only in A: 3 lines (lines 5–7 of A), after line 3 of B" in human
    assert "verdict: near duplicate" in human


def test_texts_and_the_shared_parameter_explanation() -> None:
    base = "\n\n".join(_paragraphs(1))
    exp = neardup.explain_texts(base, base.upper().replace(".", "!"))
    assert exp["verdict"] == "exact duplicate"
    assert exp["diff"] == []
    assert exp["parameters"] == neardup.plan()
    other = neardup.explain_texts(base, "\n\n".join(_paragraphs(2)), threshold=0.7)
    assert other["verdict"] == "not a duplicate"
    assert other["jaccard"] == 0.0
    assert other["parameters"]["threshold"] == 0.7
    empty = neardup.explain_texts("", base)
    assert empty["verdict"] == "not a duplicate"
    assert "empty" in empty["reason"]


def test_dry_run_and_explain_print_the_same_parameters(tmp_path: Path, cli) -> None:
    (tmp_path / "a.txt").write_text("\n\n".join(_paragraphs(3)), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n\n".join(_paragraphs(3)[:4]), encoding="utf-8")
    code, out, _ = cli("explain", tmp_path / "a.txt", tmp_path / "b.txt", "--threshold", "0.7")
    assert code == 0
    _, dry, _ = cli("dedup", "--dry-run", "--threshold", "0.7")
    assert dry.strip() in out
    assert format_parameter_report(neardup.plan(threshold=0.7)).strip() == dry.strip()


def test_corpus_ids_and_boilerplate(tmp_path: Path, cli) -> None:
    records = [{"id": f"d{s}", "text": _with_widget(s)} for s in range(11)]
    records.append({"id": "clean", "text": "\n\n".join(_paragraphs(0))})
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, out, err = cli("explain", "d0", "clean", "--corpus", corpus, "--json")
    assert code == 0, err
    exp = json.loads(out)
    assert exp["boilerplate_checked"] is True
    [block] = exp["diff"]
    assert [r["text"] for r in block["a"]] == WIDGET
    assert all(r["boilerplate_clusters"] == 11 for r in block["a"])  # d0..d10, once each
    code, _, err = cli("explain", "d0", "nope", "--corpus", corpus)
    assert code == 3
    assert "'nope'" in err


def test_unreadable_file(tmp_path: Path, cli) -> None:
    code, _, err = cli("explain", tmp_path / "missing.txt", tmp_path / "other.txt")
    assert code == 3
    assert "missing.txt" in err
