"""The in-memory entry point: neardup.find_duplicates, and neardup.plan."""

from __future__ import annotations

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
)

import neardup
from neardup.text.shingle import shingle_set
from neardup.verify import jaccard

J_HARBOUR = jaccard(shingle_set(HARBOUR), shingle_set(HARBOUR_NEAR))


def test_docstring_example() -> None:
    clusters = neardup.find_duplicates(["the same text here", "The same text, here!", "other"])
    assert [c.members for c in clusters] == [(0, 1)]
    c = clusters[0]
    assert c.kept_id == 0
    assert c.similarities == {1: 1.0}
    assert c.reasons == {1: "exact"}


def test_planted_exact_and_near_clusters() -> None:
    docs = [HARBOUR, ORCHARD, NOTES[0], HARBOUR_NEAR, OBSERVATORY, ORCHARD.upper(), WORKSHOP]
    clusters = neardup.find_duplicates(docs, workers=1)
    assert [c.members for c in clusters] == [(0, 3), (1, 5)]
    h, o = clusters
    assert h.cluster_id == 0 and o.cluster_id == 1
    assert h.kept_id == 0
    assert h.similarities == {3: round(J_HARBOUR, 6)}
    assert h.reasons == {3: "near"}
    assert h.min_similarity == h.max_similarity == round(J_HARBOUR, 6)
    assert o.kept_id == 1
    assert o.similarities == {5: 1.0}
    assert o.reasons == {5: "exact"}


def test_similarity_is_exact_jaccard_at_the_configured_ngram() -> None:
    for n in (2, 3, 5, 8):
        expected = jaccard(shingle_set(HARBOUR, ngram=n), shingle_set(HARBOUR_NEAR, ngram=n))
        [c] = neardup.find_duplicates([HARBOUR, HARBOUR_NEAR, ORCHARD, ORCHARD], ngram=n)[:1]
        assert c.similarities[1] == round(expected, 6)


def test_id_text_pairs_and_documents() -> None:
    pairs = [("x", HARBOUR), ("y", NOTES[1]), ("z", HARBOUR_NEAR)]
    [c] = neardup.find_duplicates(pairs)
    assert c.members == ("x", "z")
    assert c.kept_id == "x"
    docs = [neardup.Document("p", ORCHARD), neardup.Document("q", ORCHARD_NEAR, {"k": 1})]
    [c] = neardup.find_duplicates(docs)
    assert c.members == ("p", "q")


def test_clusters_are_ordered_by_first_member_and_transitive() -> None:
    # a chain: b differs from a in one place, c from b in another; all three join
    a = WORKSHOP
    b = near(a, "small workshop", "tiny workshop")
    c = near(b, "four hundred", "five hundred")
    docs = [("n0", NOTES[0]), ("o1", ORCHARD), ("c", c), ("a", a), ("o2", ORCHARD), ("b", b)]
    clusters = neardup.find_duplicates(docs)
    assert [cl.members for cl in clusters] == [("o1", "o2"), ("c", "a", "b")]
    assert [cl.cluster_id for cl in clusters] == [0, 1]
    assert clusters[1].kept_id == "c"
    assert set(clusters[1].similarities) == {"a", "b"}


@pytest.mark.parametrize(
    ("keep", "kept"),
    [("first", "short"), ("longest", "long"), ("shortest", "short"), ("none", None)],
)
def test_keep_policies(keep: str, kept: str | None) -> None:
    docs = [("short", HARBOUR), ("mid", HARBOUR + " !"), ("long", HARBOUR + " !!! ...")]
    [c] = neardup.find_duplicates(docs, keep=keep)
    assert c.members == ("short", "mid", "long")
    assert c.kept_id == kept
    removed = {"short", "mid", "long"} - {kept}
    assert set(c.similarities) == removed
    assert set(c.reasons.values()) == {"exact"}


def test_keep_none_similarity_of_first_member_is_its_best_match() -> None:
    [c] = neardup.find_duplicates([HARBOUR, HARBOUR_NEAR, HARBOUR], keep="none")
    assert c.kept_id is None
    assert c.similarities[0] == 1.0
    assert c.reasons[0] == "exact"
    assert c.similarities[1] == round(J_HARBOUR, 6)
    assert c.reasons[1] == "near"
    assert c.min_similarity == round(J_HARBOUR, 6)
    assert c.max_similarity == 1.0


def test_threshold_is_inclusive() -> None:
    # word 1-grams: 20 shared of 40 distinct words -> Jaccard exactly 0.5;
    # one band per slot makes the pair a candidate with certainty
    a = " ".join(f"w{i}" for i in range(30))
    b = " ".join(f"w{i}" for i in range(10, 40))
    common = dict(ngram=1, bands=128, rows=1)
    [c] = neardup.find_duplicates([a, b], threshold=0.5, **common)
    assert c.similarities == {1: 0.5}
    clusters = neardup.find_duplicates([a, b, NOTES[0], NOTES[0]], threshold=0.51, **common)
    assert [cl.members for cl in clusters] == [(2, 3)]


def test_higher_threshold_drops_the_near_pair() -> None:
    docs = [HARBOUR, HARBOUR_NEAR, ORCHARD, ORCHARD]
    assert len(neardup.find_duplicates(docs, threshold=0.8)) == 2
    clusters = neardup.find_duplicates(docs, threshold=0.95)
    assert [c.members for c in clusters] == [(2, 3)]


def test_empty_documents_never_cluster() -> None:
    docs = ["", "   ", "?!", "", HARBOUR, HARBOUR]
    clusters = neardup.find_duplicates(docs)
    assert [c.members for c in clusters] == [(4, 5)]


def test_character_shingles_find_chinese_near_duplicates() -> None:
    edited = CHINESE.replace("非常好", "很好")
    clusters = neardup.find_duplicates([CHINESE, HARBOUR, edited], threshold=0.7)
    assert [c.members for c in clusters] == [(0, 2)]
    expected = jaccard(shingle_set(CHINESE), shingle_set(edited))
    assert clusters[0].similarities[2] == round(expected, 6)


def test_no_verify_uses_minhash_estimates() -> None:
    [c] = neardup.find_duplicates([HARBOUR, HARBOUR_NEAR, NOTES[0]], verify=False)
    assert c.members == (0, 1)
    est = c.similarities[1]
    assert abs(est - J_HARBOUR) < 0.15
    assert (est * 128) == pytest.approx(round(est * 128), abs=1e-3)


def test_config_object_and_overrides() -> None:
    cfg = neardup.DedupConfig(threshold=0.99)
    assert neardup.find_duplicates([HARBOUR, HARBOUR_NEAR, ORCHARD, ORCHARD], cfg) == (
        neardup.find_duplicates([HARBOUR, HARBOUR_NEAR, ORCHARD, ORCHARD], threshold=0.99)
    )
    clusters = neardup.find_duplicates(
        [HARBOUR, HARBOUR_NEAR, ORCHARD, ORCHARD], cfg, threshold=0.8
    )
    assert len(clusters) == 2


def test_empty_input() -> None:
    assert neardup.find_duplicates([]) == []


def test_documents_without_duplicates_give_no_clusters() -> None:
    assert neardup.find_duplicates([HARBOUR, ORCHARD, NOTES[0]]) == []


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(neardup.DuplicateIdError, match="id 'a' appears twice"):
        neardup.find_duplicates([("a", HARBOUR), ("b", ORCHARD), ("a", NOTES[0])])
    # ids are compared as strings
    with pytest.raises(neardup.DuplicateIdError, match="id '1' appears twice"):
        neardup.find_duplicates([(1, HARBOUR), ("1", ORCHARD)])


def test_bad_documents_are_rejected() -> None:
    with pytest.raises(neardup.ConfigError, match="document 1 is a int"):
        neardup.find_duplicates(["fine", 7])
    with pytest.raises(neardup.RecordTypeError) as info:
        neardup.find_duplicates([("a", "fine"), ("b", 12.5)])
    assert info.value.line == 2
    assert info.value.field == "text"
    assert "expected a string, got float" in str(info.value)


@pytest.mark.parametrize("keep", ["newest:date", "priority:score"])
def test_field_keeper_policies_need_files(keep: str) -> None:
    with pytest.raises(neardup.ConfigError, match=f"keeper policy '{keep}' needs records"):
        neardup.find_duplicates([HARBOUR, HARBOUR], keep=keep)


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        neardup.find_duplicates([HARBOUR, HARBOUR], threshhold=0.5)


def test_plan_reports_parameters() -> None:
    report = neardup.plan(threshold=0.8, num_perm=128, verify=False)
    assert (report["bands"], report["rows"], report["slots_used"]) == (9, 13, 117)
    probs = report["candidate_probability"]
    assert list(probs) == ["0.50", "0.60", "0.70", "0.75", "0.80", "0.85", "0.90", "0.95", "1.00"]
    assert probs["1.00"] == 1.0
    assert probs["0.80"] == round(neardup.candidate_probability(0.8, 9, 13), 6)
    verified = neardup.plan()
    assert verified["candidate_probability"]["0.80"] >= 0.995
    assert verified["verify"] is True


def test_similarities_are_measured_against_the_keeper() -> None:
    longer = HARBOUR_NEAR + " The harbour master wrote it all down in his log."
    docs = [("base", HARBOUR), ("long", longer), ("copy", HARBOUR.lower())]
    [c] = neardup.find_duplicates(docs, keep="longest")
    assert c.kept_id == "long"
    to_keeper = round(jaccard(shingle_set(HARBOUR), shingle_set(longer)), 6)
    assert c.similarities == {"base": to_keeper, "copy": to_keeper}
    assert c.reasons == {"base": "near", "copy": "near"}
    assert c.min_similarity == c.max_similarity == to_keeper
