"""Generate a synthetic-but-realistic news corpus with planted near-duplicate clusters.

Real sentences are taken from the corpora in ``/work/shared/data`` (BBC News, Reuters-21578 and
20 Newsgroups bodies, with header-, quote- and signature-looking lines skipped) and re-mixed into
articles: a title line, then paragraphs of 2-5 sentences separated by one blank line, with a
lognormal length distribution (median about 3 KB, long tail).

On top of the distinct base articles, near-duplicate clusters are planted: every cluster has a
base article and 1-4 variants, each made by one or two edit operations (exact copy, author-bio
widget, "Related stories" block, dropped or added paragraph, ~2% word edits, truncation,
syndication header).  About ``--dup-frac`` (default 12.5%) of the output documents are variants.

Every document is generated from its own seeded random stream, so the output is deterministic for
a seed and documents can be written one at a time in shuffled order (streaming, constant memory
apart from the sentence pool and the layout arrays).

Usage::

    python bench/make_corpus.py --docs 10000 --seed 1 --out bench/data/c10k.jsonl \
        --truth bench/data/c10k.truth.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import pickle
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

try:
    import orjson

    def _dumps(obj: object) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover - orjson is a project dependency

    def _dumps(obj: object) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")


DEFAULT_DATA_DIR = Path("/work/shared/data")
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / "data" / "cache"
POOL_VERSION = 4

SOURCES: tuple[str, ...] = (
    "bbc-news-fulltext/docs.jsonl.gz",
    "reuters21578/docs.jsonl.gz",
    "20newsgroups-bydate/docs.jsonl.gz",
)

OUTLETS: tuple[str, ...] = (
    "The Daily Ledger",
    "Northern Courier",
    "Metro Herald",
    "The Evening Standard Post",
    "Harbor City Times",
    "The Capital Gazette",
    "Valley Chronicle",
    "The Morning Wire",
    "Coastal Observer",
    "Riverside Tribune",
    "The National Record",
    "Westbrook Examiner",
)
AGENCIES: tuple[str, ...] = ("Reuters", "AP", "AFP", "Bloomberg", "PA Media", "dpa")
FIRST_NAMES: tuple[str, ...] = (
    "Jane", "John", "Maria", "David", "Aisha", "Tom", "Sofia", "Liam", "Chen", "Priya",
    "Lucas", "Emma", "Omar", "Hannah", "Mateo", "Grace", "Yuki", "Daniel", "Fatima", "Noah",
    "Elena", "Samuel", "Ingrid", "Kwame", "Olivia", "Rafael", "Nadia", "Peter", "Zoe", "Ahmed",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Doe", "Smith", "Garcia", "Okafor", "Nguyen", "Patel", "Kowalski", "Rossi", "Haddad",
    "Johansson", "Murphy", "Tanaka", "Schmidt", "Moreau", "Silva", "Cohen", "Brennan", "Ivanova",
    "Mensah", "Larsen", "Fischer", "Ortega", "Walsh", "Khan", "Dubois", "Novak", "Reyes", "Baker",
    "Lindqvist", "Adeyemi",
)  # fmt: skip
ROLES: tuple[str, ...] = (
    "correspondent",
    "senior reporter",
    "staff writer",
    "contributing editor",
    "news editor",
    "columnist",
)
BEATS: tuple[str, ...] = (
    "politics and public policy",
    "business and markets",
    "technology",
    "energy and climate",
    "sport",
    "arts and culture",
    "health and science",
    "international affairs",
)
MONTHS: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

#: Edit operations a variant can get, besides ``exact`` (which is always alone).
EDIT_OPS: tuple[str, ...] = (
    "bio_widget",
    "related_block",
    "drop_paragraph",
    "add_paragraph",
    "word_edits",
    "truncate",
    "syndication_header",
)
#: Order in which the chosen operations are applied (truncation before inserted blocks, so a
#: widget is not cut away again; the syndication header last, so it stays on top).
APPLY_ORDER: dict[str, int] = {
    "drop_paragraph": 0,
    "add_paragraph": 1,
    "word_edits": 2,
    "truncate": 3,
    "bio_widget": 4,
    "related_block": 5,
    "syndication_header": 6,
}
#: Share of base articles whose sentences come from each source of SOURCES (in that order).
SOURCE_WEIGHTS: tuple[float, ...] = (0.35, 0.40, 0.25)
CLUSTER_VARIANTS: tuple[int, ...] = (1, 2, 3, 4)
CLUSTER_WEIGHTS: tuple[float, ...] = (0.5, 0.25, 0.15, 0.10)

_HEADER_LINE = re.compile(r"^\s*[A-Za-z][\w.-]*:\s")
_ARTICLE_LINE = re.compile(r"\b(writes|wrote|In article|In message|says:)\b", re.IGNORECASE)
_SENT_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(]?[A-Z])")
_BAD_CHARS = re.compile(r"[@|<>_=*#~^\\{}\[\]\t]|://|\.\.\.|--")
_WORD = re.compile(r"[A-Za-z]+")
_ABBREVIATIONS: frozenset[str] = frozenset(
    """mr mrs ms dr st jr sr inc co corp ltd no vs gen gov sen rep prof jan feb mar apr jun jul
    aug sep sept oct nov dec mt ft u.s u.k e.g i.e etc fig""".split()  # noqa: SIM905
)


@dataclass
class SentencePool:
    """Distinct real sentences (in source order), titles and a substitution vocabulary."""

    sentences: list[str]
    titles: list[str]
    words: list[str]
    origin: list[int] = field(default_factory=list)  # start of each source in `sentences`
    title_origin: list[int] = field(default_factory=list)  # start of each source in `titles`


# ---------------------------------------------------------------------------------------------
# Sentence pool extraction
# ---------------------------------------------------------------------------------------------


def _clean_ws(text: str) -> str:
    """Collapse all whitespace runs to single spaces and strip."""
    return " ".join(text.split())


def split_sentences(paragraph: str) -> list[str]:
    """Split a whitespace-normalised paragraph into sentences, sparing common abbreviations."""
    out: list[str] = []
    start = 0
    for m in _SENT_BOUNDARY.finditer(paragraph):
        before = paragraph[start : m.start()].rstrip("\"')]")
        last = before.rsplit(" ", 1)[-1].rstrip(".!?").lower()
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        out.append(paragraph[start : m.end()].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def is_good_sentence(sentence: str) -> bool:
    """Keep prose-like sentences of 6-60 words; reject code, quotes, shouting and other junk."""
    words = sentence.split()
    if not 6 <= len(words) <= 60:
        return False
    first = sentence.lstrip("\"'(")
    if not first or not first[0].isupper():
        return False
    if sentence.rstrip("\"')")[-1:] not in (".", "!", "?"):
        return False
    if _BAD_CHARS.search(sentence):
        return False
    letters = sum(c.isalpha() for c in sentence)
    if letters + sentence.count(" ") < 0.8 * len(sentence):
        return False
    if sentence.count("(") != sentence.count(")") or sentence.count('"') % 2:
        return False
    upper = sum(c.isupper() for c in sentence)
    return upper <= 0.25 * letters


def _title_case(title: str) -> str:
    """Turn an ALL-CAPS wire headline into title case; leave mixed-case titles alone."""
    if title.isupper():
        return " ".join(w.capitalize() for w in title.split())
    return title


def _is_good_title(title: str) -> bool:
    n = len(title.split())
    return 3 <= n <= 14 and not _BAD_CHARS.search(title) and any(c.isalpha() for c in title)


def _bbc_paragraphs(rec: dict) -> tuple[str | None, list[str]]:
    text = rec.get("text") or ""
    title, _, body = text.partition("\n")
    return title.strip(), [_clean_ws(p) for p in re.split(r"\n\s*\n", body) if p.strip()]


def _reuters_paragraphs(rec: dict) -> tuple[str | None, list[str]]:
    body = re.sub(r"\s*Reuter\s*$", "", rec.get("body") or "")
    # Paragraphs start with an indented line; wrapped lines are joined back together.
    paras = [_clean_ws(p) for p in re.split(r"\n(?=\s)", body) if p.strip()]
    return _title_case((rec.get("title") or "").strip()), paras


def _newsgroup_paragraphs(rec: dict) -> tuple[str | None, list[str]]:
    text = rec.get("text") or ""
    header, _, body = text.partition("\n\n")
    title = None
    for line in header.splitlines():
        if line.lower().startswith("subject:"):
            title = re.sub(r"^(re:\s*)+", "", line[8:].strip(), flags=re.IGNORECASE)
    paras: list[str] = []
    current: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped in ("--", "-- ") or stripped.startswith("-----"):
            break  # signature or separator: the rest is not prose
        skip = (
            not stripped
            or line.startswith((" " * 4, "\t", ">", "|", ":", "}"))
            or _HEADER_LINE.match(line) is not None
            or _ARTICLE_LINE.search(line) is not None
            or "@" in line
        )
        if skip:
            if current:
                paras.append(_clean_ws(" ".join(current)))
                current = []
            continue
        current.append(stripped)
    if current:
        paras.append(_clean_ws(" ".join(current)))
    return title, paras


_PARSERS: dict[str, Callable[[dict], tuple[str | None, list[str]]]] = {
    "bbc-news-fulltext": _bbc_paragraphs,
    "reuters21578": _reuters_paragraphs,
    "20newsgroups-bydate": _newsgroup_paragraphs,
}


def _iter_records(path: Path) -> Iterator[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def build_pool(data_dir: Path) -> SentencePool:
    """Extract distinct sentences, titles and a vocabulary from the real corpora (slow path)."""
    sentences: list[str] = []
    titles: list[str] = []
    origin: list[int] = []
    title_origin: list[int] = []
    seen: set[str] = set()
    seen_titles: set[str] = set()
    for rel in SOURCES:
        path = data_dir / rel
        parser = _PARSERS[rel.split("/", 1)[0]]
        origin.append(len(sentences))
        title_origin.append(len(titles))
        for rec in _iter_records(path):
            title, paras = parser(rec)
            if title and _is_good_title(title):
                key = title.casefold()
                if key not in seen_titles:
                    seen_titles.add(key)
                    titles.append(title)
            for para in paras:
                for sent in split_sentences(para):
                    if not is_good_sentence(sent):
                        continue
                    key = " ".join(re.findall(r"\w+", sent.casefold()))
                    if key in seen:
                        continue
                    seen.add(key)
                    sentences.append(sent)
    vocab = sorted(
        {w for s in sentences[::7] for w in _WORD.findall(s) if 3 <= len(w) <= 12 and w.islower()}
    )
    return SentencePool(sentences, titles, vocab, origin, title_origin)


def load_pool(data_dir: Path, cache_dir: Path | None) -> SentencePool:
    """Load the sentence pool from cache, or build and cache it (keyed by source files)."""
    key_src = [f"v{POOL_VERSION}"]
    for rel in SOURCES:
        st = (data_dir / rel).stat()
        key_src.append(f"{(data_dir / rel).resolve()}:{st.st_size}:{st.st_mtime_ns}")
    key = hashlib.sha256("|".join(key_src).encode()).hexdigest()[:16]
    cache = cache_dir / f"sentence-pool-{key}.pkl" if cache_dir else None
    if cache is not None and cache.exists():
        with cache.open("rb") as fh:
            return SentencePool(**pickle.load(fh))  # plain dict: loadable from any module
    pool = build_pool(data_dir)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(asdict(pool), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    return pool


# ---------------------------------------------------------------------------------------------
# Article generation
# ---------------------------------------------------------------------------------------------


@dataclass
class Article:
    """An article being built: optional syndication header, title and paragraphs."""

    title: str
    paragraphs: list[str]
    source: str
    published: datetime
    header: str | None = None

    def text(self) -> str:
        parts = [self.header] if self.header else []
        parts.append(self.title)
        parts.extend(self.paragraphs)
        return "\n\n".join(parts)


_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class Generator:
    """Deterministic generator of base articles and their variants from a sentence pool."""

    def __init__(self, pool: SentencePool, seed: int, median_bytes: int, sigma: float) -> None:
        self.pool = pool
        self.seed = seed
        self.log_median = math.log(median_bytes)
        self.sigma = sigma

    def _rng(self, *parts: object) -> random.Random:
        # String seeds are hashed with SHA-512 by `random`, so streams are stable across runs.
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def _span(self, origins: list[int], total: int, family: int) -> tuple[int, int]:
        end = origins[family + 1] if family + 1 < len(origins) else total
        return origins[family], end

    def _sentences(self, rng: random.Random, family: int, count: int) -> list[str]:
        """Take ``count`` sentences of one source as runs of 1-4 consecutive pool sentences."""
        sents = self.pool.sentences
        lo, hi = self._span(self.pool.origin, len(sents), family)
        out: list[str] = []
        while len(out) < count:
            start = rng.randrange(lo, hi)
            run = min(rng.randint(1, 4), count - len(out), hi - start)
            out.extend(sents[start : start + run])
        return out

    def _paragraph(self, rng: random.Random, family: int) -> str:
        return " ".join(self._sentences(rng, family, rng.randint(2, 5)))

    def _family(self, k: int) -> int:
        """Source family (index into SOURCES) of base article ``k``."""
        return self._rng("family", k).choices(range(len(SOURCES)), SOURCE_WEIGHTS)[0]

    def base(self, k: int) -> Article:
        """Return base article ``k`` (same result every call)."""
        rng = self._rng("base", k)
        family = self._family(k)
        target = min(60_000, max(700, int(rng.lognormvariate(self.log_median, self.sigma))))
        lo, hi = self._span(self.pool.title_origin, len(self.pool.titles), family)
        title = self.pool.titles[rng.randrange(lo, hi)]
        paragraphs: list[str] = []
        size = len(title)
        while size < target or len(paragraphs) < 2:
            para = self._paragraph(rng, family)
            paragraphs.append(para)
            size += len(para) + 2
        published = _EPOCH + timedelta(seconds=rng.randrange(366 * 86400 - 7 * 86400))
        return Article(title, paragraphs, rng.choice(OUTLETS), published)

    @staticmethod
    def choose_ops(rng: random.Random) -> list[str]:
        """Pick the edit operations of one variant: ``exact`` alone, or one or two edits."""
        if rng.random() < 0.15:
            return ["exact"]
        ops = rng.sample(EDIT_OPS, 1 if rng.random() < 0.6 else 2)
        return sorted(ops, key=APPLY_ORDER.__getitem__)

    def _name(self, rng: random.Random) -> str:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

    def variant(self, k: int, j: int) -> tuple[Article, list[dict]]:
        """Return variant ``j`` (1-based) of base article ``k`` and the operations applied."""
        art = self.base(k)
        rng = self._rng("variant", k, j)
        paras = list(art.paragraphs)
        # A copy is re-published somewhere else, a little later.
        published = art.published + timedelta(seconds=rng.randrange(60, 5 * 86400))
        source = rng.choice(OUTLETS)
        header = None
        applied: list[dict] = []
        for op in self.choose_ops(rng):
            info: dict = {"op": op}
            if op == "drop_paragraph":
                idx = rng.randrange(len(paras))
                info["index"] = idx
                del paras[idx]
            elif op == "add_paragraph":
                idx = rng.randint(0, len(paras))
                info["index"] = idx
                paras.insert(idx, self._paragraph(rng, self._family(k)))
            elif op == "word_edits":
                paras, n_edits = self._word_edits(rng, paras, rate=0.02)
                info["edits"] = n_edits
            elif op == "truncate":
                frac = round(rng.uniform(0.10, 0.20), 3)
                info["fraction"] = frac
                paras = self._truncate(paras, frac)
            elif op == "bio_widget":
                name = self._name(rng)
                block = (
                    f"{name}\n{name} is a {rng.choice(ROLES)} for {source} covering "
                    f"{rng.choice(BEATS)}.\nMore >"
                )
                idx = rng.randint(1, len(paras))
                info["index"] = idx
                paras.insert(idx, block)
            elif op == "related_block":
                heads = rng.sample(self.pool.titles, 3)
                block = "Related stories\n" + "\n".join(heads) + "\nShare this article"
                idx = rng.randint(max(1, len(paras) // 2), len(paras))
                info["index"] = idx
                paras.insert(idx, block)
            elif op == "syndication_header":
                source = rng.choice(AGENCIES)
                header = (
                    f"By {self._name(rng)}, {source} | Updated {published.day} "
                    f"{MONTHS[published.month - 1]} {published.year}, "
                    f"{published.hour:02d}:{published.minute:02d} GMT"
                )
            applied.append(info)
        return Article(art.title, paras, source, published, header), applied

    def _word_edits(
        self, rng: random.Random, paras: list[str], rate: float
    ) -> tuple[list[str], int]:
        """Substitute (60%) or delete (40%) about ``rate`` of the words, at least one."""
        words = self.pool.words
        out: list[str] = []
        n_edits = 0
        for para in paras:
            toks = para.split(" ")
            new: list[str] = []
            for tok in toks:
                if rng.random() < rate:
                    n_edits += 1
                    if rng.random() < 0.6:
                        new.append(rng.choice(words))
                    continue
                new.append(tok)
            out.append(" ".join(new) if new else para)
        if n_edits == 0 and out:
            toks = out[0].split(" ")
            toks[rng.randrange(len(toks))] = rng.choice(words)
            out[0] = " ".join(toks)
            n_edits = 1
        return out, n_edits

    @staticmethod
    def _truncate(paras: list[str], frac: float) -> list[str]:
        """Cut the last ``frac`` of the body text, at a word boundary."""
        body = "\n\n".join(paras)
        cut = int(len(body) * (1.0 - frac))
        while cut > 0 and not body[cut].isspace():
            cut -= 1
        kept = body[:cut].rstrip()
        return [p for p in kept.split("\n\n") if p.strip()] or paras[:1]


# ---------------------------------------------------------------------------------------------
# Corpus layout and writing
# ---------------------------------------------------------------------------------------------


@dataclass
class Layout:
    """Which base article / variant sits at each output position."""

    base_of: np.ndarray  # int64[N]: base article index of each output position
    variant_of: np.ndarray  # int8[N]: 0 for a base article, j >= 1 for its j-th variant
    n_clusters: int
    n_bases: int


def plan_layout(n_docs: int, dup_frac: float, seed: int) -> Layout:
    """Decide cluster sizes and the deterministic shuffle of all output documents."""
    rng = random.Random(f"{seed}:layout")
    target_variants = round(n_docs * dup_frac)
    sizes: list[int] = []
    total = 0
    while total < target_variants:
        m = rng.choices(CLUSTER_VARIANTS, CLUSTER_WEIGHTS)[0]
        m = min(m, target_variants - total)
        sizes.append(m)
        total += m
    n_bases = n_docs - total
    if len(sizes) > n_bases:
        raise ValueError("dup-frac too high for this many documents")
    base_items = np.arange(n_bases, dtype=np.int64)
    var_base = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    var_j = np.concatenate([np.arange(1, m + 1) for m in sizes]) if sizes else np.zeros(0)
    base_of = np.concatenate([base_items, var_base])
    variant_of = np.concatenate([np.zeros(n_bases, dtype=np.int8), var_j.astype(np.int8)])
    perm = np.random.default_rng(seed).permutation(n_docs)
    return Layout(base_of[perm], variant_of[perm], len(sizes), n_bases)


def generate(
    n_docs: int,
    seed: int,
    out: Path,
    truth: Path | None,
    pool: SentencePool,
    dup_frac: float = 0.125,
    median_bytes: int = 3000,
    sigma: float = 0.55,
    progress: bool = True,
) -> dict:
    """Write the corpus (and optionally the planted-cluster truth); return summary statistics."""
    layout = plan_layout(n_docs, dup_frac, seed)
    gen = Generator(pool, seed, median_bytes, sigma)
    width = max(6, len(str(n_docs)))
    clusters: dict[int, dict] = {}
    sizes: list[int] = []
    t0 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("wb", buffering=1 << 20) as fh:
        for pos in range(n_docs):
            k = int(layout.base_of[pos])
            j = int(layout.variant_of[pos])
            doc_id = f"doc-{pos + 1:0{width}d}"
            if j == 0:
                art = gen.base(k)
                ops: list[dict] | None = None
            else:
                art, ops = gen.variant(k, j)
            text = art.text()
            sizes.append(len(text.encode("utf-8")))
            rec = {
                "id": doc_id,
                "text": text,
                "source": art.source,
                "published": art.published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            fh.write(_dumps(rec))
            fh.write(b"\n")
            if k < layout.n_clusters:
                entry = clusters.setdefault(k, {"base": None, "variants": []})
                if ops is None:
                    entry["base"] = doc_id
                else:
                    entry["variants"].append({"id": doc_id, "variant": j, "ops": ops})
            if progress and (pos + 1) % 50_000 == 0:
                rate = (pos + 1) / (time.perf_counter() - t0)
                print(f"  {pos + 1:,} docs ({rate:,.0f} docs/s)", file=sys.stderr)
    tmp.replace(out)
    if truth is not None:
        ttmp = truth.with_name(truth.name + ".tmp")
        with ttmp.open("wb") as fh:
            for c in sorted(clusters):
                entry = clusters[c]
                variants = sorted(entry["variants"], key=lambda v: v["variant"])
                members = [entry["base"]] + [v["id"] for v in variants]
                fh.write(
                    _dumps(
                        {
                            "cluster": c,
                            "base": entry["base"],
                            "members": members,
                            "variants": [{"id": v["id"], "ops": v["ops"]} for v in variants],
                        }
                    )
                )
                fh.write(b"\n")
        ttmp.replace(truth)
    arr = np.asarray(sizes)
    return {
        "docs": n_docs,
        "base_articles": layout.n_bases,
        "clusters": layout.n_clusters,
        "variants": int((layout.variant_of > 0).sum()),
        "bytes_total": int(arr.sum()),
        "bytes_median": int(np.median(arr)),
        "bytes_mean": round(float(arr.mean()), 1),
        "bytes_p99": int(np.percentile(arr, 99)),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, required=True, help="number of output documents")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True, help="output JSONL path")
    ap.add_argument("--truth", type=Path, help="planted-cluster truth JSONL path")
    ap.add_argument("--dup-frac", type=float, default=0.125, help="share of docs that are copies")
    ap.add_argument("--median-bytes", type=int, default=3000)
    ap.add_argument("--sigma", type=float, default=0.55, help="lognormal sigma of doc length")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    pool = load_pool(args.data_dir, args.cache_dir)
    if not args.quiet:
        print(
            f"sentence pool: {len(pool.sentences):,} sentences, {len(pool.titles):,} titles "
            f"({time.perf_counter() - t0:.1f}s)",
            file=sys.stderr,
        )
    stats = generate(
        args.docs,
        args.seed,
        args.out,
        args.truth,
        pool,
        dup_frac=args.dup_frac,
        median_bytes=args.median_bytes,
        sigma=args.sigma,
        progress=not args.quiet,
    )
    stats["total_seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
