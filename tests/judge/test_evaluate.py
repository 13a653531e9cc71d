"""evaluate: hand-computed precision, recall, F1 and adjusted Rand index on a tiny fixture;
splits, kinds, unlabelled rows and grades; a real dedup run scored; bad labels rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import HARBOUR, NOTES, OBSERVATORY, ORCHARD, write_jsonl

import neardup
from neardup.judge import adjusted_rand_index


def _output(folder: Path, clusters: list[list[str]]) -> Path:
    """A dedup output folder holding only clusters.jsonl and stats.json."""
    folder.mkdir()
    with open(folder / "clusters.jsonl", "w") as fh:
        for i, members in enumerate(clusters):
            fh.write(json.dumps({"cluster_id": i, "members": members}) + "\n")
    stats = {"parameters": {"threshold": 0.8}, "inputs": [{"path": "docs.jsonl"}]}
    (folder / "stats.json").write_text(json.dumps(stats))
    return folder


def _labels(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# predicted: {a, b, c}, {d, e}; f and g alone
PREDICTED = [["a", "b", "c"], ["d", "e"]]
PAIRS = [
    {"id_a": "a", "id_b": "b", "duplicate": True, "kind": "re-send", "split": "tune"},  # TP
    {"id_a": "a", "id_b": "c", "duplicate": False, "kind": "template", "split": "tune"},  # FP
    {"id_a": "d", "id_b": "e", "duplicate": True, "kind": "re-send", "split": "heldout"},  # TP
    {"id_a": "f", "id_b": "g", "duplicate": True, "kind": "update", "split": "heldout"},  # FN
    {"id_a": "a", "id_b": "d", "duplicate": False, "kind": "unrelated", "split": "heldout"},  # TN
    {"id_a": "b", "id_b": "f", "duplicate": None, "kind": None, "split": "tune"},  # skipped
]


def test_pair_scores_by_hand(tmp_path: Path) -> None:
    out = _output(tmp_path / "out", PREDICTED)
    res = neardup.evaluate(_labels(tmp_path / "l.jsonl", PAIRS), output_dir=out)
    assert res["labels"]["labelled"] == 5 and res["labels"]["unlabelled"] == 1
    o = res["pairs"]["overall"]
    # TP 2, FP 1, FN 1, TN 1: P = 2/3, R = 2/3, F1 = 2/3
    assert (o["tp"], o["fp"], o["fn"], o["tn"]) == (2, 1, 1, 1)
    assert o["precision"] == pytest.approx(2 / 3)
    assert o["recall"] == pytest.approx(2 / 3)
    assert o["f1"] == pytest.approx(2 / 3)
    # heldout: (d,e) TP, (f,g) FN, (a,d) TN: P = 1, R = 1/2, F1 = 2/3
    h = res["pairs"]["by_split"]["heldout"]
    assert (h["precision"], h["recall"], h["f1"]) == (1.0, 0.5, pytest.approx(2 / 3))
    t = res["pairs"]["by_split"]["tune"]
    assert (t["tp"], t["fp"], t["fn"]) == (1, 1, 0)
    k = res["pairs"]["by_kind"]
    assert k["template"]["fp"] == 1 and k["template"]["precision"] == 0.0
    assert k["update"]["fn"] == 1 and k["update"]["recall"] == 0.0
    assert k["update"]["precision"] is None and k["update"]["f1"] == 0.0
    assert k["unrelated"]["precision"] is None  # no pair predicted
    wrong = {(w["id_a"], w["id_b"]): w for w in res["disagreements"]}
    assert set(wrong) == {("a", "c"), ("f", "g")}
    assert wrong[("a", "c")]["error"] == "false positive"
    assert wrong[("f", "g")]["explain"] == "neardup explain f g --corpus docs.jsonl"


def test_split_keeps_one_half(tmp_path: Path) -> None:
    out = _output(tmp_path / "out", PREDICTED)
    res = neardup.evaluate(_labels(tmp_path / "l.jsonl", PAIRS), output_dir=out, split="heldout")
    assert res["labels"]["labelled"] == 3 and res["labels"]["other_split"] == 2
    assert res["pairs"]["overall"]["recall"] == 0.5


def test_adjusted_rand_index_by_hand(tmp_path: Path) -> None:
    # labelled: X = {a, b, c, d}, Y = {e}, Z = {f, g}
    # predicted over a..g: {a, b, c}, {d, e}, {f}, {g}
    # contingency: X∩P0 = 3, X∩P1 = 1, Y∩P1 = 1, Z∩{f} = 1, Z∩{g} = 1
    #   Σ C(n_ij, 2) = C(3,2) = 3
    #   rows 4, 1, 2: Σ C(a_i, 2) = 6 + 0 + 1 = 7;  columns 3, 2, 1, 1: Σ C(b_j, 2) = 3 + 1 = 4
    #   n = 7, C(7, 2) = 21, E = 7 · 4 / 21 = 4/3
    #   ARI = (3 − 4/3) / (½ (7 + 4) − 4/3) = (5/3) / (25/6) = 0.4
    # pair counting: TP 3, FP 4 − 3 = 1, FN 7 − 3 = 4: P = 3/4, R = 3/7, F1 = 6/11
    truth = {"a": "X", "b": "X", "c": "X", "d": "X", "e": "Y", "f": "Z", "g": "Z"}
    rows = [{"id": i, "cluster": c} for i, c in truth.items()] + [{"id": "h", "cluster": None}]
    out = _output(tmp_path / "out", PREDICTED)
    res = neardup.evaluate(_labels(tmp_path / "c.jsonl", rows), output_dir=out)
    c = res["clusters"]
    assert c["ari"] == pytest.approx(0.4)
    assert c["pairs"]["precision"] == pytest.approx(3 / 4)
    assert c["pairs"]["recall"] == pytest.approx(3 / 7)
    assert c["pairs"]["f1"] == pytest.approx(6 / 11)
    assert res["labels"]["unlabelled"] == 1
    assert adjusted_rand_index([1, 1, 2], ["x", "x", "y"]) == 1.0
    assert adjusted_rand_index([1, 2, 3], [4, 5, 6]) == 1.0  # both all singletons


def test_graded_labels_need_a_cutoff(tmp_path: Path) -> None:
    out = _output(tmp_path / "out", PREDICTED)
    rows = [{"id_a": "a", "id_b": "b", "duplicate": 3}, {"id_a": "f", "id_b": "g", "duplicate": 1}]
    labels = _labels(tmp_path / "g.jsonl", rows)
    with pytest.raises(neardup.InputError, match="cut-off") as err:
        neardup.evaluate(labels, output_dir=out)
    assert "line 1" in str(err.value)
    res = neardup.evaluate(labels, output_dir=out, cutoff=2)
    o = res["pairs"]["overall"]
    assert (o["tp"], o["tn"]) == (1, 1)


def test_bad_labels(tmp_path: Path) -> None:
    out = _output(tmp_path / "out", PREDICTED)
    mixed = _labels(tmp_path / "m.jsonl", [PAIRS[0], {"id": "a", "cluster": 1}])
    with pytest.raises(neardup.InputError, match="line 2"):
        neardup.evaluate(mixed, output_dir=out)
    wrong = _labels(tmp_path / "w.jsonl", [{"id_a": "a", "id_b": "b", "duplicate": "yes"}])
    with pytest.raises(neardup.InputError, match="true, false"):
        neardup.evaluate(wrong, output_dir=out)
    with pytest.raises(neardup.ConfigError, match="either"):
        neardup.evaluate(wrong)
    good = _labels(tmp_path / "p.jsonl", PAIRS)
    with pytest.raises(neardup.InputError, match=r"stats\.json"):
        neardup.evaluate(good, output_dir=tmp_path)


DOCS = [
    {"id": "harbour", "text": HARBOUR},
    {"id": "harbour-copy", "text": HARBOUR + " The end."},
    {"id": "orchard", "text": ORCHARD},
    {"id": "observatory", "text": OBSERVATORY},
    {"id": "observatory-half", "text": " ".join(OBSERVATORY.split()[:45])},
    *({"id": f"note-{i}", "text": t} for i, t in enumerate(NOTES)),
]
RUN_LABELS = [
    {"id_a": "harbour", "id_b": "harbour-copy", "duplicate": True, "kind": "re-send"},
    {"id_a": "observatory", "id_b": "observatory-half", "duplicate": True, "kind": "truncation"},
    {"id_a": "harbour", "id_b": "orchard", "duplicate": False, "kind": "unrelated"},
]


def test_corpus_run_and_cli(tmp_path: Path, cli: Any) -> None:
    corpus = write_jsonl(tmp_path / "docs.jsonl", DOCS)
    labels = _labels(tmp_path / "l.jsonl", RUN_LABELS)
    res = neardup.evaluate(labels, corpus=corpus)
    assert res["pairs"]["overall"]["recall"] == 0.5
    assert res["pairs"]["by_kind"]["truncation"]["fn"] == 1
    res = neardup.evaluate(labels, corpus=corpus, containment=0.9)
    assert res["pairs"]["overall"]["recall"] == 1.0
    assert res["pairs"]["overall"]["precision"] == 1.0
    code, stdout, err = cli("evaluate", labels, "--corpus", corpus)
    assert code == 0, err
    assert "R 0.500" in stdout and "false negative: observatory ~ observatory-half" in stdout
    assert f"neardup explain observatory observatory-half --corpus {corpus}" in stdout
    code, stdout, err = cli("evaluate", labels, "--corpus", corpus, "--containment", 0.9, "--json")
    assert code == 0, err
    assert json.loads(stdout)["pairs"]["overall"]["f1"] == 1.0
    # a finished output folder
    out = tmp_path / "out"
    neardup.dedup(corpus, out)
    code, stdout, err = cli("evaluate", labels, "--output-dir", out)
    assert code == 0, err
    assert "R 0.500" in stdout
    code, _, err = cli("evaluate", labels, "--output-dir", out, "--threshold", 0.5)
    assert code == 2 and "--corpus" in err
    other = _labels(tmp_path / "o.jsonl", [{"id_a": "x1", "id_b": "harbour", "duplicate": True}])
    code, _, err = cli("evaluate", other, "--output-dir", out)
    assert code == 3 and "'x1'" in err and "not documents" in err
