"""A corpus with planted shared passages, and its ground truth, for passage-level dedup.

Base documents are real texts (BBC News, Reuters-21578, 20 Newsgroups bodies from
``/work/shared/data``), cleaned so that no two of them share a run of 20 words or an identical
line. Into them the generator plants, at known character offsets:

* ``quote``: a paragraph (60-250 words) of an earlier document A copied, unprefixed, into a later
  document B after an ``On <date> at <time>, <Name> wrote:`` line. A's paragraph is the first
  copy.
* ``quote_prefixed`` (neutral): the same with ``> `` before every (re-wrapped) line. Such text is
  reported on its own and counts neither as a copy to remove nor as text to keep.
* ``syndicated``: a 60-200 word block of real sentences inserted into 3-10 documents, as its own
  paragraph (75%) or appended inline to the end of a paragraph (25%).
* ``footer``: one of eight boilerplate paragraphs (55-95 words) at the end of ~10% of documents.
* hard negatives, which must be kept: ``hn_paraphrase`` (a paragraph of an earlier document with
  every 6th-9th word replaced, so no run of 10 identical words), ``hn_template`` (footer-, market-
  and weather-like paragraphs filled from large slot vocabularies, a slot at least every 8 words)
  and ``hn_numbers`` (an earnings table whose words are all fixed and only the figures differ).

For every planted passage the truth file lists every copy (document id, character start and end,
in Python ``str`` offsets into the document's text) and which copy is the first in input order:
that one must survive, every other one should be removed.

``--check`` verifies the claim exactly: every run of 50 words (``\\w+``, lower-cased) that
stands in two documents lies inside planted copies (adjacent copies, such as a block followed by
a footer, joined), give or take up to 19 words at its ends: base documents may share runs of up
to 19 words ("it has no intention of seeking control of the company." before the same footer).

Sizes of 1k to 1M documents: once the ~30k base documents are used up, they are reused
cyclically, and every reuse replaces one word in every 8-20 (at least one per line), so reuses
share no run of 20 words. Every document comes from its own seeded stream, so output is
byte-identical for a seed and size; documents and truth lines are written as they are made.

Usage::

    .venv/bin/python bench/passages/make_corpus.py --docs 10000 --seed 1 \\
        --out bench/data/passages/c10000.jsonl [--truth PATH] [--check]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import random
import re
import sys
import textwrap
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 1
POOL_VERSION = 4
DEFAULT_DATA_DIR = Path("/work/shared/data")
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[1] / "data" / "cache"
SOURCES = (
    ("bbc", "bbc-news-fulltext/docs.jsonl.gz"),
    ("reuters", "reuters21578/docs.jsonl.gz"),
    ("newsgroups", "20newsgroups-bydate/docs.jsonl.gz"),
)
#: Base documents (words) kept: shorter ones carry too little text, longer ones dominate.
MIN_BASE_WORDS, MAX_BASE_WORDS = 40, 1500
#: No two base documents share a run of this many words (nor an identical non-empty line).
UNIQUE_RUN = 20
#: Shorter lines are joined to the line before or dropped: a reuse's edits could make two short
#: lines identical by chance (which a line-level dedup would then rightly remove).
MIN_LINE_WORDS = 4
#: Planted passages are at least this long, clear of a 50-word threshold's edge.
MIN_PASSAGE_WORDS = 60
QUOTE_MAX_WORDS = 250
BLOCK_WORDS = (60, 200)

# Per-document rates (fractions of all documents).
QUOTE_RATE = 0.04  # documents that quote an earlier one
QUOTE_PREFIXED_SHARE = 0.3
BLOCK_RATE = 0.01  # syndicated blocks per document; each lands in 3-10 documents
BLOCK_COPIES = (3, 10)
BLOCK_INLINE_SHARE = 0.25
FOOTER_RATE = 0.10
PARAPHRASE_RATE = 0.03
TEMPLATE_RATE = 0.03
NUMBERS_RATE = 0.01
QUOTE_WINDOW = 5000  # a quoted document is at most this many documents earlier


def _words(s: str) -> tuple[str, ...]:
    return tuple(s.split())


WORD_RE = re.compile(r"\w+")
_PLAIN_WORD = re.compile(r"(?<![\w'’-])[A-Za-z]+(?![\w'’-])")  # not part of "can't", "e-mail"
_SENT_END = re.compile(r"(?<=[.!?])[\"')]?\s+(?=[\"'(]?[A-Z])")
_ABBREV = frozenset(_words("mr mrs ms dr st jr sr inc co corp ltd no vs gen gov sen rep prof"))

FOOTERS: tuple[str, ...] = (
    "This article is for general information only and does not constitute investment, legal or "
    "tax advice. Readers should seek independent professional advice before acting on any of the "
    "matters discussed here. The publisher accepts no liability for any loss arising from "
    "reliance on this material. Prices and figures quoted were correct at the time of writing "
    "but may have changed since, and past performance is not a reliable guide to future results.",
    "Sign up for our morning briefing to get the most important stories of the day delivered to "
    "your inbox before breakfast. The newsletter is free, you can unsubscribe at any time with a "
    "single click, and we will never share your address with advertisers or other third parties. "
    "Read our privacy notice to find out how we store and use the information you give us.",
    "All material on this site is protected by copyright and may not be reproduced, distributed, "
    "transmitted, cached or otherwise used, except with the prior written permission of the "
    "publisher. Short extracts may be quoted for the purposes of criticism or review, provided "
    "the source is acknowledged in full. Requests to republish should be sent to the rights and "
    "syndication desk, which answers within five working days.",
    "We welcome comments that add to the discussion, but we ask readers to keep them civil and on "
    "topic. Comments that contain personal attacks, offensive language, advertising or links to "
    "unrelated sites will be removed without notice. Moderators read every comment before it is "
    "published, so there may be a short delay before yours appears. Repeat offenders may have "
    "their accounts suspended.",
    "Our journalism is funded by readers like you. If you value independent reporting that holds "
    "the powerful to account, please consider supporting us with a monthly contribution of any "
    "size. Every contribution, however big or small, helps to keep our reporters in the field and "
    "our articles free for everyone to read, wherever they live and whatever they can afford to "
    "pay. It takes less than a minute to set up.",
    "We are committed to correcting errors promptly and transparently. If you believe that "
    "something in this article is inaccurate or misleading, please write to the readers' editor "
    "with the headline, the date of publication and a description of the problem. Significant "
    "corrections are noted at the foot of the article concerned and listed every week in the "
    "corrections and clarifications column of the print edition.",
    "This site uses cookies to remember your preferences, to measure how the site is used and to "
    "show you advertising that may be of interest. By continuing to browse you agree to our use "
    "of cookies as described in the cookie policy. You can change your cookie settings at any "
    "time through the privacy centre, although some parts of the site may not work properly "
    "without them.",
    "The opinions expressed in this message are those of the author alone and do not necessarily "
    "reflect the views of his employer, his university or any other organisation with which he "
    "may be associated. No warranty is given as to the accuracy or completeness of anything "
    "written above. Anyone relying on it does so entirely at their own risk. Please do not quote "
    "this message in full when you reply to it.",
)
FOOTER_WEIGHTS = (0.25, 0.18, 0.14, 0.12, 0.10, 0.08, 0.07, 0.06)

FIRST_NAMES = _words(
    "Jane John Maria David Aisha Tom Sofia Liam Chen Priya Lucas Emma Omar Hannah Mateo Grace "
    "Yuki Daniel Fatima Noah Elena Samuel Ingrid Kwame Olivia Rafael Nadia Peter Zoe Ahmed"
)
LAST_NAMES = _words(
    "Doe Smith Garcia Okafor Nguyen Patel Kowalski Rossi Haddad Johansson Murphy Tanaka Schmidt "
    "Moreau Silva Cohen Brennan Ivanova Mensah Larsen Fischer Ortega Walsh Khan Dubois Novak "
    "Reyes Baker Lindqvist Adeyemi"
)
CITIES = _words(
    "London Paris Berlin Madrid Rome Vienna Prague Warsaw Dublin Lisbon Oslo Stockholm Helsinki "
    "Athens Cairo Nairobi Lagos Mumbai Delhi Tokyo Osaka Seoul Sydney Auckland Toronto Chicago "
    "Boston Denver Houston Seattle Lima Bogota Santiago Istanbul Zurich Geneva Milan Munich "
    "Hamburg Lyon"
)
WEEKDAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = _words(
    "January February March April May June July August September October November December"
)
_SYL = _words(
    "ab ac ad al am an ar as at ba be bi bo ca ce ci co da de di do el en er es fa fe fi fo ga "
    "ge gi go ha he hi ho il in is ka ke ki ko la le li lo ma me mi mo na ne ni no ol on or pa "
    "pe pi po ra re ri ro sa se si so ta te ti to ul un ur va ve vi vo za ze zi zo"
)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def rng_for(seed: int, *parts: object) -> random.Random:
    """A private random stream for one purpose (string seeds are hashed with SHA-512)."""
    return random.Random(":".join([str(seed), *map(str, parts)]))


def nonspace(text: str) -> int:
    return len("".join(text.split()))


def n_words(text: str) -> int:
    return len(WORD_RE.findall(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of whitespace-normalised text, sparing a few common abbreviations."""
    out: list[str] = []
    start = 0
    for m in _SENT_END.finditer(text):
        last = text[start : m.start()].rsplit(" ", 1)[-1].rstrip(".!?\"')").lower()
        if last in _ABBREV or len(last) == 1:
            continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def replace_words(text: str, rng: random.Random, vocab: list[str], gap: tuple[int, int]) -> str:
    """Replace one word in every ``gap`` (uniform) words, and one among the first and the last
    three words of every line.

    Words are ``\\w+`` runs (numbers too), so no run of ``gap[1]`` words survives unchanged. A
    word gets a vocabulary word (never itself) with the capitalisation of its first letter; a
    number gets other digits; a word inside a contraction ("can't") is passed over for the next.
    Whitespace and punctuation are unchanged.
    """
    out_lines = []
    for line in text.split("\n"):
        words = list(WORD_RE.finditer(line))
        if not words:
            out_lines.append(line)
            continue
        pos = rng.randrange(min(len(words), 3))  # near both ends of the line, so shared
        chosen = []  # text next to it (a footer, a block) cannot extend a copy by many words
        while pos < len(words):
            chosen.append(pos)
            pos += rng.randint(*gap)
        if chosen[-1] < len(words) - 3:
            chosen.append(len(words) - 1 - rng.randrange(3))
        pieces, last = [], 0
        for k in chosen:
            while k < len(words) - 1 and _in_contraction(line, words[k]):
                k += 1
            m = words[k]
            if m.start() < last:
                continue
            pieces.append(line[last : m.start()])
            pieces.append(_replacement(m.group(), rng, vocab))
            last = m.end()
        pieces.append(line[last:])
        out_lines.append("".join(pieces))
    return "\n".join(out_lines)


def _in_contraction(line: str, m: re.Match) -> bool:
    return line[m.start() - 1 : m.start()] in ("'", "’") or line[m.end() : m.end() + 1] in (
        "'",
        "’",
    )


def _replacement(word: str, rng: random.Random, vocab: list[str]) -> str:
    if word.isdigit():
        new = word
        while new == word:
            new = "".join(rng.choice("0123456789") for _ in word)
        return new
    if not word.isalpha() or not word.isascii():
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in word)
    new = word
    while new.lower() == word.lower():
        new = rng.choice(vocab)
    return new[0].upper() + new[1:] if word[0].isupper() else new


def wrap_prefixed(paragraph: str, width: int = 72) -> str:
    """E-mail quoting: re-wrap long lines, then put ``> `` before every line."""
    lines: list[str] = []
    for line in paragraph.split("\n"):
        lines.extend(textwrap.wrap(line, width=width - 2) if len(line) > width - 2 else [line])
    return "\n".join("> " + ln for ln in lines)


# ---------------------------------------------------------------------------------------------
# Base pool: real documents, cleaned and made free of shared runs
# ---------------------------------------------------------------------------------------------


@dataclass
class Pool:
    docs: list[str]  # base documents (paragraphs separated by a blank line)
    origin: list[str]  # source name of each document
    vocab: list[str]  # replacement words
    segments: list[str] = field(default_factory=list)  # syndicated-block texts (donor sentences)
    para_words: list[list[int]] = field(default_factory=list)  # words of each base paragraph
    synthetic: bool = False


def _clean_newsgroups(text: str) -> str:
    _, _, body = text.partition("\n\n")
    lines = []
    for line in body.split("\n"):
        s = line.strip()
        if s in ("--", "-- ") or line.startswith("-- "):
            break  # signature
        if s[:1] in (">", "|", ":") or "@" in s:
            continue
        if re.search(r"\b(writes|wrote|says):\s*$", s) or s.lower().startswith("in article"):
            continue
        lines.append(line.rstrip())
    return "\n".join(lines)


def _clean_reuters(text: str) -> str:
    text = re.sub(r"\s*\bReuter\s*$", "", text.rstrip(), flags=re.IGNORECASE)
    text = text.replace("\n    ", "\n\n")  # indented paragraph starts -> blank-line paragraphs
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _normalise_paragraphs(text: str) -> str:
    text = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", text.strip("\n"))
    paras = [p.strip("\n") for p in text.split("\n\n")]
    return "\n\n".join(p for p in paras if p.strip())


def _join_short_lines(text: str) -> str:
    """Join a wrapped line of fewer than MIN_LINE_WORDS words onto the line before it."""
    out: list[str] = []
    for line in text.split("\n"):
        if out and out[-1].strip() and line.strip() and len(line.split()) < MIN_LINE_WORDS:
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def _read_source(path: Path, name: str) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            text = rec.get("text") or ""
            if name == "newsgroups":
                text = _clean_newsgroups(text)
            elif name == "reuters":
                text = _clean_reuters(text)
            yield _normalise_paragraphs(text)


def _run_hashes(token_ids: np.ndarray, k: int) -> np.ndarray:
    """Hashes of every run of ``k`` tokens (a polynomial hash mod 2**64, then mixed)."""
    n = len(token_ids) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        ids = token_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
        h = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            h = h * np.uint64(1_000_003) + ids[j : j + n]
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return h


def build_pool(data_dir: Path) -> Pool:
    """Read, clean and de-duplicate the real documents (about 25 s)."""
    raw: list[tuple[str, str]] = []
    for name, rel in SOURCES:
        path = data_dir / rel
        if path.exists():
            raw.extend((name, t) for t in _read_source(path, name))
    if not raw:
        return synthetic_pool()
    # Drop every non-empty line that already stood in an earlier document.
    seen_lines: set[str] = set()
    docs: list[tuple[str, str]] = []
    for name, text in raw:
        lines: list[str] = []
        for line in _join_short_lines(text).split("\n"):
            key = " ".join(line.split()).lower()
            if key and (len(key.split()) < MIN_LINE_WORDS or not re.search(r"[a-z]{2}", key)):
                continue  # too short to stay unique once the document is reused with edits
            if key:
                if key in seen_lines:
                    continue
                seen_lines.add(key)
            lines.append(line)
        text = _normalise_paragraphs("\n".join(lines))
        letters = sum(c.isalpha() for c in text)
        if MIN_BASE_WORDS <= n_words(text) <= MAX_BASE_WORDS and letters >= 0.75 * nonspace(text):
            docs.append((name, text))  # prose: not a table of figures or uuencoded data
    # Drop every document that shares a run of UNIQUE_RUN words with an earlier one.
    vocab_ids: dict[str, int] = {}
    hashes, owners = [], []
    for d, (_, text) in enumerate(docs):
        toks = [vocab_ids.setdefault(w, len(vocab_ids)) for w in WORD_RE.findall(text.lower())]
        h = np.unique(_run_hashes(np.asarray(toks, dtype=np.int64), UNIQUE_RUN))
        hashes.append(h)
        owners.append(np.full(len(h), d, dtype=np.int32))
    all_h = np.concatenate(hashes)
    all_d = np.concatenate(owners)
    order = np.lexsort((all_d, all_h))
    all_h, all_d = all_h[order], all_d[order]
    dup = np.zeros(len(all_h), dtype=bool)
    dup[1:] = all_h[1:] == all_h[:-1]
    bad = set(np.unique(all_d[dup]).tolist())
    kept = [docs[d] for d in range(len(docs)) if d not in bad]
    # Replacement vocabulary: lower-case words of 3-12 letters seen at least 5 times in the
    # edited sources (BBC, Reuters), so no Usenet oddities.
    counts: dict[str, int] = defaultdict(int)
    for name, text in kept:
        if name != "newsgroups":
            for w in re.findall(r"\b[a-z]{3,12}\b", text):
                counts[w] += 1
    vocab = sorted(w for w, c in counts.items() if c >= 5)
    return Pool(docs=[t for _, t in kept], origin=[n for n, _ in kept], vocab=vocab)


def synthetic_pool(n_docs: int = 20000) -> Pool:
    """Fallback when the real corpora are absent: random words from a syllable vocabulary."""
    rng = random.Random("synthetic-pool")
    vocab = sorted(
        {"".join(rng.choice(_SYL) for _ in range(rng.randint(1, 4))) for _ in range(40000)}
    )
    docs = []
    for _ in range(n_docs):
        paras = []
        for _ in range(rng.randint(2, 8)):
            sents = []
            for _ in range(rng.randint(2, 6)):
                words = [rng.choice(vocab) for _ in range(rng.randint(8, 25))]
                sents.append(" ".join(words).capitalize() + ".")
            paras.append(" ".join(sents))
        docs.append("\n\n".join(paras))
    return Pool(docs=docs, origin=["synthetic"] * n_docs, vocab=vocab, synthetic=True)


def finish_pool(pool: Pool, seed: int) -> Pool:
    """Shuffle, set aside block donors and cut their sentences into 60-200 word segments."""
    rng = rng_for(seed, "pool")
    order = list(range(len(pool.docs)))
    rng.shuffle(order)
    n_donors = max(50, min(2000, len(order) // 12))
    donors, bases = order[:n_donors], order[n_donors:]
    segments: list[str] = []
    for d in donors:
        body = pool.docs[d].split("\n\n", 1)[-1]  # not the title
        sents = split_sentences(" ".join(body.split()))
        cur: list[str] = []
        target = rng.randint(*BLOCK_WORDS)
        for s in sents:
            cur.append(s)
            words = n_words(" ".join(cur))
            if words >= target:
                if words <= BLOCK_WORDS[1]:
                    segments.append(" ".join(cur))
                cur = []
                target = rng.randint(*BLOCK_WORDS)
    docs = [pool.docs[i] for i in bases]
    return Pool(
        docs=docs,
        origin=[pool.origin[i] for i in bases],
        vocab=pool.vocab,
        segments=segments,
        para_words=[[n_words(p) for p in d.split("\n\n")] for d in docs],
        synthetic=pool.synthetic,
    )


def load_pool(data_dir: Path, cache_dir: Path, seed: int) -> Pool:
    stamp = [str(POOL_VERSION)]
    for _, rel in SOURCES:
        p = data_dir / rel
        stamp.append(f"{rel}:{p.stat().st_size}:{int(p.stat().st_mtime)}" if p.exists() else rel)
    key = hashlib.sha1("|".join(stamp).encode()).hexdigest()[:16]
    cache = cache_dir / f"passages-pool-{key}.pkl"
    if cache.exists():
        with cache.open("rb") as f:
            pool = pickle.load(f)
    else:
        pool = build_pool(data_dir)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(pool, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    return finish_pool(pool, seed)


# ---------------------------------------------------------------------------------------------
# The plan: which document gets which planted text (decided up front, small arrays)
# ---------------------------------------------------------------------------------------------


@dataclass
class Plan:
    n: int
    seed: int
    base_of: np.ndarray  # base document of each output document
    quote_src: dict[int, int]  # destination -> source document
    quote_prefixed: set[int]  # destinations that quote with "> "
    quote_sources: set[int]
    para_src: dict[int, int]  # paraphrase destination -> source document
    blocks_in: dict[int, list[int]]  # document -> syndicated blocks it carries
    block_first: dict[int, int]  # block -> first document carrying it
    footer_of: np.ndarray  # footer index or -1
    footer_first: dict[int, int]
    template_of: dict[int, int]  # document -> template kind of its hard negative
    numbers_in: set[int]


def suitable_paragraphs(words: list[int]) -> list[int]:
    return [k for k, w in enumerate(words) if k > 0 and MIN_PASSAGE_WORDS <= w <= QUOTE_MAX_WORDS]


def make_plan(pool: Pool, n: int, seed: int) -> Plan:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20240601]))
    p = len(pool.docs)
    base_of = np.concatenate([rng.permutation(p) for _ in range(n // p + 1)])[:n]
    has_para = np.array([bool(suitable_paragraphs(w)) for w in pool.para_words])
    ok_src = has_para[base_of]

    def pick_sources(rate: float, salt: int) -> dict[int, int]:
        out: dict[int, int] = {}
        r = np.random.default_rng(np.random.SeedSequence([seed, salt]))
        for i in np.flatnonzero(r.random(n) < rate):
            i = int(i)
            if i == 0:
                continue
            lo = max(0, i - QUOTE_WINDOW)
            cand = r.integers(lo, i, size=8)
            good = [int(c) for c in cand if ok_src[c]]
            if good:
                out[i] = good[0]
        return out

    quote_src = pick_sources(QUOTE_RATE, 1)
    pr = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    quote_prefixed = {i for i in sorted(quote_src) if pr.random() < QUOTE_PREFIXED_SHARE}
    para_src = pick_sources(PARAPHRASE_RATE, 3)
    # Syndicated blocks.
    br = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    blocks_in: dict[int, list[int]] = defaultdict(list)
    block_first: dict[int, int] = {}
    for b in range(max(1, round(n * BLOCK_RATE))):
        m = int(br.integers(BLOCK_COPIES[0], BLOCK_COPIES[1] + 1))
        docs = np.sort(br.choice(n, size=min(m, n), replace=False))
        block_first[b] = int(docs[0])
        for d in docs:
            blocks_in[int(d)].append(b)
    fr = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    has_footer = fr.random(n) < FOOTER_RATE
    which = fr.choice(len(FOOTERS), size=n, p=np.asarray(FOOTER_WEIGHTS) / sum(FOOTER_WEIGHTS))
    footer_of = np.where(has_footer, which, -1)
    footer_first = {}
    for f in range(len(FOOTERS)):
        hits = np.flatnonzero(footer_of == f)
        if len(hits):
            footer_first[f] = int(hits[0])
    tr = np.random.default_rng(np.random.SeedSequence([seed, 6]))
    template_of = {
        int(i): int(tr.integers(0, 3)) for i in np.flatnonzero(tr.random(n) < TEMPLATE_RATE)
    }
    nr = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    numbers_in = {int(i) for i in np.flatnonzero(nr.random(n) < NUMBERS_RATE)}
    return Plan(
        n=n,
        seed=seed,
        base_of=base_of,
        quote_src=quote_src,
        quote_prefixed=quote_prefixed,
        quote_sources=set(quote_src.values()),
        para_src=para_src,
        blocks_in=dict(blocks_in),
        block_first=block_first,
        footer_of=footer_of,
        footer_first=footer_first,
        template_of=template_of,
        numbers_in=numbers_in,
    )


# ---------------------------------------------------------------------------------------------
# Texts of one document
# ---------------------------------------------------------------------------------------------


def doc_id(i: int) -> str:
    return f"p{i:07d}"


def base_text(pool: Pool, plan: Plan, i: int) -> str:
    """Base text of output document ``i``: the real text, or a reuse with words replaced."""
    b = int(plan.base_of[i])
    text = pool.docs[b]
    if i >= len(pool.docs):  # a reuse: break every run of 20 shared words
        text = replace_words(text, rng_for(plan.seed, "reuse", i), pool.vocab, (8, 20))
    return text


def chosen_paragraph(pool: Pool, plan: Plan, j: int, purpose: str) -> tuple[int, str]:
    """The paragraph of document ``j`` that is quoted or paraphrased (a function of ``j``)."""
    b = int(plan.base_of[j])
    cand = suitable_paragraphs(pool.para_words[b])
    k = rng_for(plan.seed, purpose, j).choice(cand)
    return k, base_text(pool, plan, j).split("\n\n")[k]


def block_text(pool: Pool, plan: Plan, b: int) -> str:
    segs = pool.segments
    text = segs[b % len(segs)]
    if b >= len(segs):
        text = replace_words(text, rng_for(plan.seed, "block", b), pool.vocab, (8, 20))
    return text


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _company(rng: random.Random) -> str:
    stem = "".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{stem} {rng.choice(('Holdings', 'Group', 'Industries', 'Systems', 'Corp'))}"


def template_text(kind: int, rng: random.Random, vocab: list[str]) -> str:
    """A hard negative: same template and topic words, different wording in every sentence."""
    v = lambda: rng.choice(vocab)  # noqa: E731
    city, city2 = rng.choice(CITIES), rng.choice(CITIES)
    if kind == 0:  # looks like a footer
        return (
            f"This {v()} report was prepared by {_name(rng)} of the {city} {v()} desk. "
            f"Additional reporting by {_name(rng)} in {city2}, editing by {_name(rng)}. "
            f"Readers in {rng.choice(CITIES)} can contact the {v()} team about {v()} issues, "
            f"and {_name(rng)} answers questions on {v()} matters. "
            f"Material from {_company(rng)} was used with {v()} permission, "
            f"and figures from {_company(rng)} were checked by {_name(rng)}. "
            f"The {v()} edition of this {v()} appears every {rng.choice(WEEKDAYS)} "
            f"with notes by {_name(rng)} and {v()} pictures from {rng.choice(CITIES)}."
        )
    if kind == 1:  # market report
        return (
            f"Shares of {_company(rng)} rose {rng.randint(1, 99)} percent in {city} "
            f"on {rng.choice(WEEKDAYS)} after {_name(rng)} said {v()} demand was strong. "
            f"Rival {_company(rng)} fell {rng.randint(1, 99)} percent as {_name(rng)} "
            f"warned of {v()} costs. "
            f"Traders in {city2} said the {v()} sector was {v()} ahead of results "
            f"from {_company(rng)}. "
            f"Analyst {_name(rng)} of {_company(rng)} expects {v()} margins "
            f"in {rng.choice(MONTHS)}, while {_name(rng)} sees {v()} risks "
            f"for {_company(rng)} in {rng.choice(CITIES)}."
        )
    return (  # weather
        f"Forecasters in {city} expect {v()} showers on {rng.choice(WEEKDAYS)} "
        f"and {v()} winds across {city2}. "
        f"{_name(rng)} of the {rng.choice(CITIES)} weather office said {v()} "
        f"temperatures would reach {rng.randint(5, 35)} degrees. "
        f"Drivers near {rng.choice(CITIES)} were told to expect {v()} delays, "
        f"and {_name(rng)} warned of {v()} flooding. "
        f"The outlook for {rng.choice(MONTHS)} remains {v()} in {rng.choice(CITIES)}, "
        f"according to {_name(rng)} and the {v()} service."
    )


def numbers_text(rng: random.Random) -> str:
    """A hard negative whose words are all fixed: only the figures differ between copies."""

    def n(lo: int, hi: int) -> str:
        return f"{rng.randint(lo, hi)}.{rng.randint(0, 99):02d}"

    return (
        f"Shr profit {n(0, 9)} dlrs vs profit {n(0, 9)} dlrs. "
        f"Net profit {n(1, 900)} mln vs profit {n(1, 900)} mln. "
        f"Revs {n(10, 9000)} mln vs {n(10, 9000)} mln. "
        f"Nine mths shr profit {n(0, 9)} dlrs vs profit {n(0, 9)} dlrs. "
        f"Nine mths net profit {n(1, 900)} mln vs profit {n(1, 900)} mln. "
        f"Nine mths revs {n(10, 9000)} mln vs {n(10, 9000)} mln. "
        f"Avg shrs {n(1, 500)} mln vs {n(1, 500)} mln. "
        f"Note: the quarter includes a one-time gain of {n(1, 90)} mln dlrs, "
        f"or {n(0, 2)} dlrs a share."
    )


@dataclass
class Piece:
    """A paragraph of a document under construction, with the planted spans inside it."""

    text: str
    marks: list[tuple[int, int, dict]] = field(default_factory=list)  # (start, end, truth)

    def whole(self, truth: dict) -> Piece:
        self.marks.append((0, len(self.text), truth))
        return self


def build_document(pool: Pool, plan: Plan, i: int) -> tuple[str, list[dict]]:
    rng = rng_for(plan.seed, "doc", i)
    did = doc_id(i)
    paras = [Piece(p) for p in base_text(pool, plan, i).split("\n\n")]
    if i in plan.quote_sources:  # our own paragraph is the first copy of a quoted passage
        k, text = chosen_paragraph(pool, plan, i, "quote")
        assert paras[k].text == text
        paras[k].marks.append((0, len(text), {"kind": "quote", "passage": f"q{i}", "first": True}))
    inserts: list[list[Piece]] = []  # each: consecutive paragraphs inserted at one boundary
    inline: list[Piece] = []  # appended to the end of a paragraph
    if i in plan.quote_src:
        j = plan.quote_src[i]
        _, text = chosen_paragraph(pool, plan, j, "quote")
        when = f"{rng.randint(1, 28)} {rng.choice(MONTHS)} at {rng.randint(0, 23):02d}:"
        when += f"{rng.randint(0, 59):02d}"  # varied, so attribution lines rarely repeat
        head = Piece(f"On {when}, {_name(rng)} wrote:")
        if i in plan.quote_prefixed:
            body = Piece(wrap_prefixed(text)).whole({"kind": "quote_prefixed", "passage": f"q{j}"})
        else:
            body = Piece(text).whole({"kind": "quote", "passage": f"q{j}", "first": False})
        inserts.append([head, body])
    for b in plan.blocks_in.get(i, []):
        truth = {"kind": "syndicated", "passage": f"s{b}", "first": plan.block_first[b] == i}
        piece = Piece(block_text(pool, plan, b)).whole(truth)
        if rng.random() < BLOCK_INLINE_SHARE:
            truth["form"] = "inline"
            inline.append(piece)
        else:
            truth["form"] = "paragraph"
            inserts.append([piece])
    if i in plan.para_src:
        j = plan.para_src[i]
        _, text = chosen_paragraph(pool, plan, j, "paraphrase")
        para = replace_words(text, rng_for(plan.seed, "paraphrase", i), pool.vocab, (6, 9))
        inserts.append([Piece(para).whole({"kind": "hn_paraphrase", "source_id": doc_id(j)})])
    if i in plan.template_of:
        kind = plan.template_of[i]
        text = template_text(kind, rng_for(plan.seed, "template", i), pool.vocab)
        inserts.append([Piece(text).whole({"kind": "hn_template", "template": kind})])
    if i in plan.numbers_in:
        text = numbers_text(rng_for(plan.seed, "numbers", i))
        inserts.append([Piece(text).whole({"kind": "hn_numbers"})])
    # Insert blocks at paragraph boundaries after the title (never between two inserts).
    slots: dict[int, list[Piece]] = defaultdict(list)
    for group in inserts:
        slots[rng.randint(1, len(paras))].extend(group)
    for piece in inline:  # appended, after one space, to a paragraph other than the title
        k = rng.randint(1, len(paras) - 1) if len(paras) > 1 else 0
        host = paras[k]
        off = len(host.text) + 1
        host.text = host.text + " " + piece.text
        host.marks.extend((s + off, e + off, t) for s, e, t in piece.marks)
    out: list[Piece] = []
    for k, p in enumerate(paras):
        out.extend(slots.get(k, []))
        out.append(p)
    out.extend(slots.get(len(paras), []))
    f = int(plan.footer_of[i])
    if f >= 0:
        truth = {"kind": "footer", "passage": f"f{f}", "first": plan.footer_first[f] == i}
        out.append(Piece(FOOTERS[f]).whole(truth))
    # Join with blank lines and turn the marks into document offsets.
    texts, truth_lines, pos = [], [], 0
    for p in out:
        for s, e, t in p.marks:
            truth_lines.append({**t, "id": did, "start": pos + s, "end": pos + e})
        texts.append(p.text)
        pos += len(p.text) + 2
    return "\n\n".join(texts), truth_lines


# ---------------------------------------------------------------------------------------------
# Check: every run of 50 words shared by two documents lies inside planted copies
# ---------------------------------------------------------------------------------------------


def check_corpus(corpus: Path, truth: Path, k: int = 50, slack: int = UNIQUE_RUN - 1) -> dict:
    """Exact check of the claim that the only shared runs of ``k`` words are planted ones."""
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with truth.open(encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)
            if t["kind"] in ("quote", "quote_prefixed", "syndicated", "footer"):
                spans[t["id"]].append((t["start"], t["end"]))
    vocab: dict[str, int] = {}
    ids, texts, hashes, starts, ends = [], [], [], [], []
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            texts.append(rec["text"])
            ms = list(WORD_RE.finditer(rec["text"].lower()))
            toks = np.asarray([vocab.setdefault(m.group(), len(vocab)) for m in ms], dtype=np.int64)
            h = _run_hashes(toks, k)
            ids.append(rec["id"])
            hashes.append(h)
            starts.append(np.asarray([m.start() for m in ms[: len(h)]], dtype=np.int64))
            ends.append(np.asarray([m.end() for m in ms[k - 1 :]], dtype=np.int64))
    for d, did in enumerate(ids):  # copies next to each other (a block, then a footer) join
        merged: list[tuple[int, int]] = []
        for a, b in sorted(spans.get(did, ())):
            if merged and n_words(texts[d][merged[-1][1] : a]) <= slack:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        spans[did] = merged
    doc_of = np.concatenate([np.full(len(h), d, dtype=np.int64) for d, h in enumerate(hashes)])
    all_h = np.concatenate(hashes)
    order = np.argsort(all_h, kind="stable")
    sh, sd = all_h[order], doc_of[order]
    first = np.ones(len(sh), dtype=bool)
    first[1:] = sh[1:] != sh[:-1]
    group = np.cumsum(first) - 1
    min_doc = np.minimum.reduceat(sd, np.flatnonzero(first))
    max_doc = np.maximum.reduceat(sd, np.flatnonzero(first))
    shared = (min_doc != max_doc)[group]
    offsets = np.cumsum([0] + [len(h) for h in hashes])
    bad, total = [], 0
    for idx in order[shared]:
        total += 1
        d = int(np.searchsorted(offsets, idx, side="right") - 1)
        r = int(idx - offsets[d])
        s, e = int(starts[d][r]), int(ends[d][r])
        text = texts[d]
        # A run may reach past a copy where the neighbouring words agree ("said." before a
        # footer, "wrote:" before a quote); base documents share no run of UNIQUE_RUN words.
        if not any(
            n_words(text[s:a]) <= slack and n_words(text[b:e]) <= slack
            for a, b in spans.get(ids[d], ())
            if s < b and a < e
        ):
            bad.append((ids[d], s, e))
    return {"shared_runs": total, "outside_planted": len(bad), "examples": bad[:5]}


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def generate(pool: Pool, n: int, seed: int, out: Path, truth_path: Path) -> dict:
    plan = make_plan(pool, n, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = defaultdict(int)
    chars = 0
    tmp_out, tmp_truth = (
        out.with_name(out.name + ".tmp"),
        truth_path.with_name(truth_path.name + ".tmp"),
    )
    with tmp_out.open("w", encoding="utf-8") as fo, tmp_truth.open("w", encoding="utf-8") as ft:
        for i in range(n):
            text, truth = build_document(pool, plan, i)
            chars += len(text)
            fo.write(json.dumps({"id": doc_id(i), "text": text}, ensure_ascii=False) + "\n")
            for t in truth:
                counts[t["kind"]] += 1
                ft.write(json.dumps(t, ensure_ascii=False) + "\n")
    tmp_out.replace(out)
    tmp_truth.replace(truth_path)
    return {"chars": chars, "copies": dict(sorted(counts.items()))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--truth", type=Path, help="default: OUT with .truth.jsonl")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    ap.add_argument("--check", action="store_true", help="verify that only planted runs are shared")
    args = ap.parse_args(argv)
    truth = args.truth or args.out.with_name(args.out.name.removesuffix(".jsonl") + ".truth.jsonl")
    t0 = time.perf_counter()
    pool = load_pool(args.data_dir, args.cache_dir, args.seed)
    t1 = time.perf_counter()
    info = generate(pool, args.docs, args.seed, args.out, truth)
    t2 = time.perf_counter()
    meta = {
        "generator_version": GENERATOR_VERSION,
        "docs": args.docs,
        "seed": args.seed,
        "base_documents": len(pool.docs),
        "block_segments": len(pool.segments),
        "synthetic": pool.synthetic,
        **info,
        "seconds": {"pool": round(t1 - t0, 2), "write": round(t2 - t1, 2)},
    }
    if args.check:
        meta["check"] = check_corpus(args.out, truth)
    meta_path = args.out.with_name(args.out.name.removesuffix(".jsonl") + ".meta.json")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(meta, indent=2))
    return 0 if not meta.get("check") or not meta["check"]["outside_planted"] else 1


if __name__ == "__main__":
    sys.exit(main())
