"""Method semantic end to end with the small Model2Vec model in ``../shared/models`` (skipped
when it or model2vec is absent; nothing here downloads a model): planted paraphrases found,
evidence as the lexical method gives it, order independence, exact and bucket searches agreeing,
the CLI and explain."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    HARBOUR,
    NOTES,
    OBSERVATORY,
    ORCHARD,
    WORKSHOP,
    read_clusters,
    read_records,
    read_stats,
    write_jsonl,
)

import neardup


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=\.) ", text)


def paraphrase(text: str, swaps: list[tuple[str, str]]) -> str:
    """Sentences in reverse order, some words swapped for synonyms: the same meaning in other
    word 5-grams (Jaccard far below 0.8)."""
    out = " ".join(reversed(sentences(text)))
    for old, new in swaps:
        assert old in out, old
        out = out.replace(old, new, 1)
    return out


HARBOUR_P = paraphrase(
    HARBOUR, [("noticed", "saw"), ("crowd", "throng"), ("strange", "odd"), ("pupils", "students")]
)
ORCHARD_P = paraphrase(ORCHARD, [("planted", "set out"), ("choosing", "picking")])
ORCHARD_CUT = " ".join(s for k, s in enumerate(sentences(ORCHARD)) if k != 1)  # one dropped


def records() -> list[dict[str, str]]:
    docs = [
        ("harbour", HARBOUR),
        ("orchard", ORCHARD),
        ("observatory", OBSERVATORY),
        ("harbour-paraphrase", HARBOUR_P),
        ("workshop", WORKSHOP),
        ("orchard-paraphrase", ORCHARD_P),
        ("orchard-cut", ORCHARD_CUT),
        ("harbour-copy", HARBOUR.upper()),
        *((f"note-{k}", t) for k, t in enumerate(NOTES)),
    ]
    return [{"id": i, "text": t} for i, t in docs]


def cosine(model: str, a: str, b: str) -> float:
    from neardup.semantic.embed import embed
    from neardup.text.normalize import normalize

    v = embed([normalize(a), normalize(b)], model).astype(np.float64)
    return float(v[0] @ v[1])


def test_lexical_method_misses_the_paraphrases() -> None:
    clusters = neardup.find_duplicates([(r["id"], r["text"]) for r in records()])
    assert [c.members for c in clusters] == [("harbour", "harbour-copy")]


def test_planted_paraphrases_are_found_with_their_cosine(model: str) -> None:
    clusters = neardup.find_duplicates(
        [(r["id"], r["text"]) for r in records()], method="semantic", model=model
    )
    assert [c.members for c in clusters] == [
        ("harbour", "harbour-paraphrase", "harbour-copy"),
        ("orchard", "orchard-paraphrase", "orchard-cut"),
    ]
    harbour, orchard = clusters
    assert harbour.kept_id == "harbour" and orchard.kept_id == "orchard"
    assert harbour.reasons == {"harbour-paraphrase": "semantic", "harbour-copy": "exact"}
    assert harbour.similarities["harbour-copy"] == 1.0
    for c, kept, gone in ((harbour, HARBOUR, HARBOUR_P), (orchard, ORCHARD, ORCHARD_P)):
        sim = c.similarities[f"{c.kept_id}-paraphrase"]
        assert sim == pytest.approx(cosine(model, kept, gone), abs=1e-6)
        assert sim >= 0.95
    assert orchard.similarities["orchard-cut"] == pytest.approx(
        cosine(model, ORCHARD, ORCHARD_CUT), abs=1e-6
    )


def test_keeper_policy_applies(model: str) -> None:
    clusters = neardup.find_duplicates(
        [(r["id"], r["text"]) for r in records()], method="semantic", model=model, keep="shortest"
    )
    assert [c.kept_id for c in clusters] == ["harbour-paraphrase", "orchard-cut"]


def run(tmp_path: Path, rows: list[dict[str, str]], name: str, **kw) -> Path:
    src = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    out = tmp_path / name
    neardup.dedup(src, out, method="semantic", model=kw.pop("model"), workers=1, **kw)
    return out


def test_dedup_outputs_and_stats(tmp_path: Path, model: str) -> None:
    out = run(tmp_path, records(), "out", model=model)
    removed = {r["id"]: r for r in read_records(out / "removed.jsonl")}
    assert set(removed) == {
        "harbour-paraphrase",
        "harbour-copy",
        "orchard-paraphrase",
        "orchard-cut",
    }
    assert removed["harbour-paraphrase"]["reason"] == "semantic"
    assert removed["harbour-paraphrase"]["kept_id"] == "harbour"
    assert removed["harbour-copy"]["reason"] == "exact"
    kept = [r["id"] for r in read_records(out / "kept.jsonl")]
    assert kept == [
        "harbour",
        "orchard",
        "observatory",
        "workshop",
        *(f"note-{k}" for k in range(4)),
    ]
    stats = read_stats(out)
    assert stats["removed"] == 4 and stats["removed_semantic"] == 3 and stats["removed_exact"] == 1
    assert stats["removed_near"] == 0
    p = stats["parameters"]
    assert p["method"] == "semantic" and p["threshold"] == 0.95 and p["model"] == model
    assert p["semantic"] == {"search": "exact", "buckets": 0, "probes": 0, "documents_at_cap": 0}
    assert stats["similarity_histogram"]["measure"] == "embedding cosine"
    clusters = read_clusters(out)
    assert [c["kept_id"] for c in clusters] == ["harbour", "orchard"]
    assert {r["reason"] for c in clusters for r in c["removed"]} == {"semantic", "exact"}


def test_input_order_and_search_do_not_change_the_result(tmp_path: Path, model: str) -> None:
    # keep=longest decides by length, not position (the exact copy is one character longer)
    rows = [r if r["id"] != "harbour-copy" else {**r, "text": r["text"] + "!"} for r in records()]
    # more distinct documents, so the bucket search has buckets to choose between
    rows += [
        {"id": f"s{k}", "text": s} for k, s in enumerate(sentences(OBSERVATORY + " " + WORKSHOP))
    ]
    base = run(tmp_path, rows, "base", model=model, keep="longest")
    shuffled = [rows[k] for k in np.random.default_rng(5).permutation(len(rows))]
    again = run(tmp_path, shuffled, "shuffled", model=model, keep="longest")
    buckets = run(
        tmp_path,
        rows,
        "buckets",
        model=model,
        keep="longest",
        semantic_search="buckets",
        semantic_probes=2,
    )
    assert read_stats(buckets)["parameters"]["semantic"]["search"] == "buckets"

    def decisions(out: Path) -> dict[str, tuple]:
        return {
            r["id"]: (r["kept_id"], r["reason"], r["similarity"])
            for r in read_records(out / "removed.jsonl")
        }

    first = decisions(base)
    assert len(first) == 4 and first["harbour"] == ("harbour-copy", "exact", 1.0)
    assert decisions(buckets) == first
    assert decisions(again) == first


def test_cli_dedup_and_explain(tmp_path: Path, cli, model: str) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", records())
    out = tmp_path / "out"
    code, stdout, err = cli("dedup", src, "-o", out, "--method", "semantic", "--model", model)
    assert code == 0, err
    assert "4 removed (1 exact, 0 near, 3 semantic)" in stdout
    assert "harbour-paraphrase (semantic, cos=" in stdout
    code, stdout, err = cli(
        "explain",
        "harbour",
        "harbour-paraphrase",
        "--corpus",
        src,
        "--method",
        "semantic",
        "--model",
        model,
        "--json",
    )
    assert code == 0, err
    exp = json.loads(stdout)
    assert exp["verdict"] == "semantic duplicate"
    assert exp["semantic"]["cosine"] == pytest.approx(cosine(model, HARBOUR, HARBOUR_P), abs=1e-6)
    assert exp["jaccard"] < 0.8
    code, stdout, _ = cli(
        "explain", "harbour", "workshop", "--corpus", src, "--method", "semantic", "--model", model
    )
    assert code == 0 and "verdict: not a duplicate — cosine" in stdout


def test_cli_bad_model_and_missing_model(tmp_path: Path, cli, model: str) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", records())
    code, _, err = cli(
        "dedup", src, "-o", tmp_path / "o", "--method", "semantic", "--model", tmp_path / "nope"
    )
    assert code == 2
    assert f"model folder {tmp_path / 'nope'} does not exist" in err
    assert not (tmp_path / "o" / "stats.json").exists()
    code, _, err = cli("dedup", src, "-o", tmp_path / "o", "--method", "semantic")
    assert code == 2 and "method semantic needs a model" in err
    code, _, err = cli("dedup", src, "-o", tmp_path / "o", "--model", model)
    assert code == 2 and "add --method semantic" in err


def test_report_names_the_cosine(tmp_path: Path, model: str) -> None:
    pytest.importorskip("matplotlib")
    src = write_jsonl(tmp_path / "in.jsonl", records())
    report = tmp_path / "report.html"
    neardup.dedup(src, tmp_path / "out", method="semantic", model=model, report=report)
    html = report.read_text(encoding="utf-8")
    assert "Similarity is the cosine of the embeddings" in html
    assert 'id="banding"' not in html  # no LSH banding under the semantic method


def test_a_reply_quoting_its_parent_is_not_a_copy(model: str) -> None:
    parent = f"From: ann@example.org\nSubject: Harbour\n\n{HARBOUR}\n"
    quoted = "\n".join("> " + s for s in sentences(HARBOUR))
    reply = (
        "From: bob@example.org\nSubject: Re: Harbour\n\n"
        f"ann@example.org writes:\n{quoted}\n\nI saw the same thing from the pier.\n"
    )
    docs = [("parent", parent), ("reply", reply)]
    assert neardup.find_duplicates(docs, method="semantic", model=model) == []
    counted = neardup.find_duplicates(
        docs, method="semantic", model=model, containment_ignore_quotes=False
    )
    assert [c.members for c in counted] == [("parent", "reply")]


def test_spark_run_with_a_missing_model_stops_before_any_work(tmp_path: Path, model: str) -> None:
    from neardup.errors import ConfigError

    src = write_jsonl(tmp_path / "in.jsonl", records())
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ConfigError, match="does not exist"):
        neardup.dedup(src, tmp_path / "o", method="semantic", model=missing, executor="spark")
    assert not (tmp_path / "o").exists()


def test_dry_run_describes_the_semantic_search(cli) -> None:
    code, out, err = cli("dedup", "--dry-run", "--method", "semantic", "--model", "any/model")
    assert code == 0, err
    assert out.startswith("method semantic  ·  cosine threshold 0.95  ·  model any/model")
    assert "bands ×" not in out
