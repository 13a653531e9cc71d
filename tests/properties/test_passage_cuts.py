"""Properties of passage cuts on random texts with planted shared passages: Latin words with
combining marks and astral letters, Chinese and Japanese characters, Thai, punctuation, quotes
and brackets, tabs, line breaks and emoji."""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import neardup
from neardup.sharedtext.cuts import ABBREVIATIONS, apply_cuts, char_spans
from neardup.sharedtext.engine import SharedTextIndex
from neardup.sharedtext.tokens import tokenize
from neardup.text.normalize import LOWER, NOSPACE, WORD, char_classes

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüøåçñßαβγδπσωЖжзлфя0123456789"
ASTRAL_LETTERS = ("𝒜", "𐐀", "𝔅", "𠀋")  # 𠀋 is a CJK extension B ideograph
COMBINING = ("\u0301", "\u0308", "\u0327", "\u0303")
CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 4000)] + [chr(c) for c in range(0x3041, 0x3097)]
THAI = [chr(c) for c in range(0x0E01, 0x0E2F)] + ["\u0e31", "\u0e34", "\u0e35"]

# between two words of a segment
# (a sentence end inside a segment may open a segment or not, by the case of the next word)
INNER = (
    " ",
    " ",
    " ",
    "\t",
    ", ",
    " (",
    ") ",
    ' "',
    '" ',
    " — ",
    " 😀 ",
    "/",
    "-",
    "…",
    "'",
    "; ",
    ". ",
    "! ",
    "? ",
    ".\u00a0",
    "\n",
    '." ',
    ". (",
)
INNER_CJK = ("", "", "", "、", "，", " ", "「", "」")
# between two segments: every one opens a segment, whatever the words around it
BREAKS = (
    ".\n",
    "!\n",
    "\n\n",
    "。",
    "！",
    "？",
    ".\t\n",
    "\r\n\r\n",
    '."\n',
    ".\n\n",
    "\n  ",
    " 🎉\n\n",
    ":\n- ",
    "\n> ",
)
HEADS = ("", "", "  ", "\n", '"', "— ", "😀 ")
TAILS = ("", "", ".", ".\n", "！", "\n", " ")
_ASCII_SWAP = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)


def word(rng: random.Random) -> tuple[str, bool]:
    """A word and whether it is written without spaces (CJK, Thai)."""
    kind = rng.random()
    if kind < 0.25:
        return "".join(rng.choice(CJK) for _ in range(rng.randint(1, 3))), True
    if kind < 0.3:
        return "".join(rng.choice(THAI) for _ in range(rng.randint(1, 4))), True
    chars = [rng.choice(LETTERS) for _ in range(rng.randint(2, 7))]
    if rng.random() < 0.2:
        chars.insert(rng.randint(1, len(chars)), rng.choice(COMBINING))
    if rng.random() < 0.1:
        chars.insert(rng.randint(0, len(chars)), rng.choice(ASTRAL_LETTERS))
    if rng.random() < 0.05:
        chars.insert(rng.randint(1, len(chars)), "_")
    return "".join(chars), False


def segment(rng: random.Random, n_words: int) -> str:
    """``n_words`` words or more (a CJK word of three characters is three tokens), starting
    and ending with a word character."""
    out: list[str] = []
    prev_cjk = False
    for i in range(n_words):
        w, cjk = word(rng)
        if i:
            out.append(rng.choice(INNER_CJK) if cjk or prev_cjk else rng.choice(INNER))
        out.append(w)
        prev_cjk = cjk
    return "".join(out)


def tokens(text: str) -> list[str]:
    tb = tokenize([text])
    return [fold(text[a:b]) for a, b in zip(tb.starts.tolist(), tb.ends.tolist(), strict=True)]


def fold(w: str) -> str:
    """Lower-case code point by code point, as the token hashes do."""
    out = []
    for ch in w:
        low = ch.lower()
        out.append(low if ord(ch) < 0x10000 and len(low) == 1 else ch)
    return "".join(out)


def is_word(ch: str) -> bool:
    return bool(char_classes()[ord(ch)] & WORD)


def gap_breaks(gap: str, before: str, after: str) -> bool:
    """Whether the characters between the words ``before`` and ``after`` open a segment: the
    rule of :mod:`neardup.sharedtext.cuts`, written again here."""
    if any(c in "\u3002\uff01\uff1f" for c in gap):
        return True
    if "\n" in gap:
        after_break = gap[gap.rindex("\n") + 1 :]
        if gap.count("\n") >= 2 or (after_break and after_break[0] in " \t-*•>|#+"):
            return True
        return any(c in ".!?" for c in gap)
    terminal = spaced = False
    for c in gap:
        if c in ".!?":
            terminal = True
        elif terminal and c in " \t\r\u00a0\u3000":
            spaced = True
    if not spaced:
        return False
    classes = char_classes()
    if classes[ord(after[0])] & LOWER:
        return False
    if len(before) == 1:
        return before.isdigit() or bool(classes[ord(before)] & NOSPACE)
    return fold(before) not in ABBREVIATIONS


def count(seq: list[str], sub: list[str]) -> int:
    n = len(sub)
    return sum(seq[i : i + n] == sub for i in range(len(seq) - n + 1))


@dataclass
class Corpus:
    texts: list[str]
    passages: list[str]
    holders: list[dict[int, int]]  # per passage: document -> copies
    min_words: int


@st.composite
def corpora(draw: Any) -> Corpus:
    # the words come from a seeded generator (hypothesis would shrink them to one repeated
    # word, which makes every filler a copy of the passages); the structure is drawn
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    min_words = draw(st.integers(2, 10))
    n_docs = draw(st.integers(2, 6))
    n_passages = draw(st.integers(1, 3))
    passages = [segment(rng, min_words + draw(st.integers(0, 4))) for _ in range(n_passages)]
    holders: list[dict[int, int]] = []
    items: list[list[tuple[str, int]]] = [[] for _ in range(n_docs)]
    for d in range(n_docs):
        items[d] = [("filler", draw(st.integers(1, 12))) for _ in range(draw(st.integers(0, 3)))]
    for p in range(n_passages):
        docs = draw(st.lists(st.integers(0, n_docs - 1), min_size=1, max_size=n_docs))
        copies: dict[int, int] = {}
        for d in docs:
            copies[d] = copies.get(d, 0) + 1
            items[d].insert(draw(st.integers(0, len(items[d]))), ("passage", p))
        holders.append(copies)
    texts = []
    for d in range(n_docs):
        parts = []
        for kind, value in items[d]:
            if kind == "filler":
                parts.append(segment(rng, value))
            else:
                text = passages[value]
                parts.append(text.translate(_ASCII_SWAP) if rng.random() < 0.3 else text)
        body = ""
        for i, part in enumerate(parts):
            body += (rng.choice(BREAKS) if i else "") + part
        texts.append(rng.choice(HEADS) + body + rng.choice(TAILS) if parts else rng.choice(HEADS))
    # no filler happens to hold a planted passage
    for passage, copies in zip(passages, holders, strict=True):
        want = tokens(passage)
        assume(all(count(tokens(t), want) == copies.get(d, 0) for d, t in enumerate(texts)))
    return Corpus(texts, passages, holders, min_words)


def check_cuts(corpus: Corpus, cuts: list[dict[str, Any]]) -> None:
    texts = corpus.texts
    by_doc: dict[int, list[tuple[int, int]]] = {}
    for c in cuts:
        d, a, b = c["id"], c["start"], c["end"]
        text = texts[d]
        assert 0 <= a < b <= len(text)
        src = texts[c["source_id"]]
        assert c["source_id"] < d  # list order: the earlier document keeps the passage
        # never inside a word, and only where a segment opens (or at an end of the text)
        for x in (a, b):
            if 0 < x < len(text):
                assert not (is_word(text[x - 1]) and is_word(text[x])), (text, x)
                lo, hi = x, x
                while lo > 0 and not is_word(text[lo - 1]):
                    lo -= 1
                while hi < len(text) and not is_word(text[hi]):
                    hi += 1
                assert lo > 0 and hi < len(text), (text, x)
                tb = tokenize([text])
                i = int(np.searchsorted(tb.starts, hi))
                before = text[tb.starts[i - 1] : tb.ends[i - 1]]
                after = text[tb.starts[i] : tb.ends[i]]
                assert gap_breaks(text[lo:hi], before, after), (text, x, text[lo:hi])
        # the cut's words are the source span's words; the source span is word-exact
        cut_tokens = tokens(text[a:b])
        ss, se = c["source_start"], c["source_end"]
        assert is_word(src[ss]) and is_word(src[se - 1])
        assert cut_tokens == tokens(src[ss:se])
        assert len(cut_tokens) == c["words"] >= corpus.min_words
        by_doc.setdefault(d, []).append((a, b))
    # sorted by document, then start; disjoint within a document
    assert [(c["id"], c["start"]) for c in cuts] == sorted((c["id"], c["start"]) for c in cuts)
    for spans in by_doc.values():
        for (_, b), (a2, _) in pairwise(spans):
            assert b <= a2
    # apply_cuts removes exactly those characters
    kept = []
    for d, text in enumerate(texts):
        spans = by_doc.get(d, [])
        mask = np.ones(len(text), dtype=bool)
        for a, b in spans:
            mask[a:b] = False
        expected = "".join(ch for ch, m in zip(text, mask, strict=True) if m)
        assert apply_cuts(text, spans) == expected
        kept.append(tokens(expected))
    # exactly one document keeps each planted passage: its first holder, with every copy
    for passage, copies in zip(corpus.passages, corpus.holders, strict=True):
        want = tokens(passage)
        first = min(copies)
        for d in range(len(texts)):
            found = count(kept[d], want)
            assert found == (copies[first] if d == first else 0), (d, passage, copies)


@settings(max_examples=60)
@given(corpora())
def test_passage_cuts_on_random_texts(corpus: Corpus) -> None:
    cuts = neardup.find_passages(corpus.texts, min_words=corpus.min_words)
    check_cuts(corpus, cuts)
    assert neardup.find_passages(corpus.texts, min_words=corpus.min_words) == cuts


def engine_cuts(texts: list[str], min_words: int, folder: Any, batch: int, big: bool) -> list:
    index = SharedTextIndex(folder, min_words=min_words, expected_tokens=10**9 if big else 0)
    for i in range(0, len(texts), batch):
        index.add(texts[i : i + batch])
    index.finish()
    counts = index.token_counts()
    out = []
    for d, mine in index.cuts(np.arange(len(texts), dtype=np.int64)):
        tb = tokenize([texts[d]])
        spans = char_spans(
            texts[d], tb.starts, tb.ends, [(c.start, c.end) for c in mine], counts[d]
        )
        out.append((d, [(c.source, c.src_start, c.src_end) for c in mine], spans))
    return out


@settings(max_examples=25)
@given(corpora())
def test_cuts_are_the_same_for_any_batching_and_partitioning(corpus: Corpus) -> None:
    with tempfile.TemporaryDirectory() as work:
        one = engine_cuts(corpus.texts, corpus.min_words, f"{work}/one", len(corpus.texts), False)
        each = engine_cuts(corpus.texts, corpus.min_words, f"{work}/each", 1, True)
    assert one == each
    flat = [
        (d, a, b, src, ss, se)
        for d, sources, spans in one
        for (src, ss, se), (a, b) in zip(sources, spans, strict=True)
    ]
    got = neardup.find_passages(corpus.texts, min_words=corpus.min_words)
    assert flat == [
        (c["id"], c["start"], c["end"], c["source_id"], c["source_start"], c["source_end"])
        for c in got
    ]
