"""Containment: truncated and abridged copies found, quote-replies and stubs left alone."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from conftest import HARBOUR, OBSERVATORY, ORCHARD, WORKSHOP, read_records, read_stats, write_jsonl

import neardup
from neardup.errors import ConfigError
from neardup.sharedtext.containment import candidates
from neardup.text.quotes import has_quotes, own_text

ARTICLE = " ".join([HARBOUR, ORCHARD, OBSERVATORY, WORKSHOP])


def _words(text: str, n: int) -> str:
    return " ".join(text.split()[:n])


def _run(tmp_path: Path, records: list[dict[str, object]], **options: object) -> Path:
    src = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    neardup.dedup(src, out, **options)
    return out


def test_truncated_copy_is_removed_in_favour_of_the_full_article(tmp_path: Path) -> None:
    # the cut copy comes FIRST in the input: keep=first must still keep the full article
    cut = _words(ARTICLE, int(len(ARTICLE.split()) * 0.4))
    records = [{"id": "cut", "text": cut}, {"id": "full", "text": ARTICLE}]
    out = _run(tmp_path, records)
    assert read_stats(out)["removed"] == 0  # Jaccard alone misses it
    out = _run(tmp_path, records, containment=0.9)
    stats = read_stats(out)
    assert (stats["removed"], stats["removed_contained"]) == (1, 1)
    (removed,) = read_records(out / "removed.jsonl")
    assert (removed["id"], removed["kept_id"], removed["reason"]) == ("cut", "full", "contained")
    assert removed["containment"] == 1.0
    assert 0.3 < removed["containment_reverse"] < 0.5
    assert removed["similarity"] == removed["containment_reverse"]  # |A∩B|/|A∪B| = |A|/|B| here
    assert [r["id"] for r in read_records(out / "kept.jsonl")] == ["full"]


def test_paragraph_added_at_the_end_and_near_copies_keep_their_reasons(tmp_path: Path) -> None:
    rng = random.Random(1)
    added = " ".join(f"added{rng.randrange(10_000)}" for _ in range(120))
    longer = ARTICLE + "\n\n" + added
    records = [
        {"id": "first-take", "text": ARTICLE},
        {"id": "second-take", "text": longer},
        {"id": "other", "text": "An unrelated note about nothing in particular at all."},
    ]
    out = _run(tmp_path, records, containment=0.9, threshold=0.95)
    (removed,) = read_records(out / "removed.jsonl")
    assert (removed["id"], removed["kept_id"], removed["reason"]) == (
        "first-take",
        "second-take",
        "contained",
    )
    # at a threshold the pair reaches it is a near duplicate; the Jaccard reason wins
    out = _run(tmp_path, records, containment=0.9, threshold=0.7)
    (removed,) = read_records(out / "removed.jsonl")
    assert removed["reason"] == "near"


def test_a_stub_is_never_contained_by_accident(tmp_path: Path) -> None:
    stub = _words(HARBOUR, 15)  # 11 shingles, fewer than the minimum of 20
    out = _run(
        tmp_path, [{"id": "stub", "text": stub}, {"id": "a", "text": ARTICLE}], containment=0.9
    )
    assert read_stats(out)["removed"] == 0
    out = _run(
        tmp_path,
        [{"id": "stub", "text": stub}, {"id": "a", "text": ARTICLE}],
        containment=0.9,
        containment_min_shingles=5,
    )
    assert read_stats(out)["removed"] == 1


PARENT = "From: ann@example.org\nSubject: tides\n\n" + HARBOUR + "\n\n" + ORCHARD + "\n"


def _reply(parent_body: str) -> str:
    quoted = "\n".join("> " + line for line in parent_body.split("\n"))
    return (
        "From: bob@example.org\nSubject: Re: tides\n\n"
        "In article <1@example.org> ann@example.org writes:\n"
        + quoted
        + "\n\nI saw the same thing from the lighthouse, and the keeper agreed with me.\n\n"
        + WORKSHOP
        + "\n"
    )


def test_a_reply_quoting_its_whole_parent_does_not_remove_the_parent(tmp_path: Path) -> None:
    body = HARBOUR + "\n\n" + ORCHARD
    records = [{"id": "parent", "text": PARENT}, {"id": "reply", "text": _reply(body)}]
    out = _run(tmp_path, records, containment=0.9)
    assert read_stats(out)["removed"] == 0
    # counting quoted lines as the reply's own text makes the parent "contained": the rule matters
    out = _run(tmp_path, records, containment=0.9, containment_ignore_quotes=False)
    (removed,) = read_records(out / "removed.jsonl")
    assert (removed["id"], removed["reason"]) == ("parent", "contained")


def test_quoted_lines_and_attribution_headers_are_not_own_text() -> None:
    text = (
        "In article <x@y> joe@z.com writes:\n> quoted\n>> nested\n  | bar quote\n"
        "My own reply.\nJoe wrote:\nAnd more | of mine."
    )
    assert has_quotes(text)
    assert own_text(text) == "My own reply.\nAnd more | of mine."
    assert not has_quotes("Plain text, no quotes: a > b is maths inline.")


def test_prefix_filter_finds_every_pair_over_the_candidate_threshold() -> None:
    rng = np.random.default_rng(3)
    n = 60
    fp_doc = np.repeat(np.arange(n), 12)
    fp_hash = rng.integers(0, 80, size=fp_doc.size).astype(np.uint64)
    sizes = rng.integers(20, 200, size=n)
    got = {tuple(p) for p in candidates(fp_hash, fp_doc, sizes, 0.9).tolist()}
    sets = [set(fp_hash[fp_doc == d].tolist()) for d in range(n)]
    for a in range(n):
        for b in range(n):
            if a == b or not sets[a]:
                continue
            larger = sizes[b] > sizes[a] or (sizes[b] == sizes[a] and b < a)
            c = len(sets[a] & sets[b]) / len(sets[a])
            if larger and c >= 0.7:  # threshold 0.9 less the slack of 0.2
                assert (a, b) in got, (a, b, c)


def test_containment_must_be_a_fraction() -> None:
    with pytest.raises(ConfigError, match="containment must be a number in"):
        neardup.DedupConfig(containment=1.5)


def test_truncated_copies_of_random_articles_are_all_found(tmp_path: Path) -> None:
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(3000)]
    records = []
    for i in range(30):
        words = [rng.choice(vocab) for _ in range(rng.randint(150, 400))]
        records.append({"id": f"full-{i}", "text": " ".join(words)})
        cut = words[: int(len(words) * rng.uniform(0.2, 0.6))]
        records.append({"id": f"cut-{i}", "text": " ".join(cut)})
    out = _run(tmp_path, records, containment=0.9)
    removed = {r["id"]: r for r in read_records(out / "removed.jsonl")}
    assert sorted(removed) == sorted(f"cut-{i}" for i in range(30))
    assert all(r["kept_id"] == "full-" + r["id"][4:] for r in removed.values())


@pytest.mark.parametrize(
    "quoted",
    [
        "- {line}",  # a run of three lines opening with the same mark
        "+ {line}",
        "--> {line}",
        "{{ {line}",
    ],
)
def test_other_quoting_styles_and_carriage_returns_are_not_own_text(quoted: str) -> None:
    lines = ["first quoted line here", "second quoted line here", "third quoted line here"]
    text = "\r\n".join([*(quoted.format(line=line) for line in lines), "My own answer."])
    assert own_text(text) == "My own answer."


def test_a_double_dash_is_a_signature_only_before_a_short_tail() -> None:
    text = "Own line.\n--\nName\nPlace"
    assert own_text(text) == "Own line."
    long_tail = "Own line.\n--\n" + "\n".join(f"more text {i}" for i in range(12))
    assert own_text(long_tail) == long_tail


def _message(author: str, subject: str, body: str) -> str:
    return f"From: {author}\nSubject: {subject}\nLines: 9\n\n{body}\n"


def test_a_reply_by_another_author_never_contains_the_message_it_quotes(tmp_path: Path) -> None:
    # the reply pastes the parent without any quote mark the rules know
    parent = _message("ann@example.org (Ann)", "tides", HARBOUR)
    reply = _message(
        "bob@example.org (Bob)",
        "Re: tides",
        "Ann's note, as she sent it:\n\n"
        + HARBOUR
        + "\n\n> I agree with every word.\n\n"
        + WORKSHOP,
    )
    records = [{"id": "parent", "text": parent}, {"id": "reply", "text": reply}]
    out = _run(tmp_path, records, containment=0.9)
    assert read_stats(out)["removed"] == 0
    # the same author reposting a longer version: the first post is contained
    repost = _message("ann@example.org (Ann)", "tides again", HARBOUR + "\n\n" + WORKSHOP)
    records = [{"id": "parent", "text": parent}, {"id": "repost", "text": repost}]
    out = _run(tmp_path, records, containment=0.9)
    (removed,) = read_records(out / "removed.jsonl")
    assert (removed["id"], removed["kept_id"], removed["reason"]) == (
        "parent",
        "repost",
        "contained",
    )


def test_star_clustering_removes_contained_documents_too(tmp_path: Path) -> None:
    cut = _words(ARTICLE, int(len(ARTICLE.split()) * 0.4))
    records = [{"id": "cut", "text": cut}, {"id": "full", "text": ARTICLE}]
    out = _run(tmp_path, records, containment=0.9, clustering="star")
    (removed,) = read_records(out / "removed.jsonl")
    assert (removed["id"], removed["kept_id"], removed["reason"]) == ("cut", "full", "contained")
