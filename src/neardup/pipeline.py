"""The plan of a dedup run: stage functions and the loop that feeds them.

Stages (each a pure function over a batch or over the corpus-level arrays):

* :func:`fingerprint_batch` — parse → normalise → shingle → exact hash + MinHash, per raw batch;
* :func:`neardup.resolve.resolve` — exact groups → LSH candidates → verification →
  union-find → keeper choice, over the gathered corpus.

:func:`scan` runs ``fingerprint_batch`` over every input through an executor and gathers the
results into :class:`Fingerprints`; memory holds signatures and shingle ids, never the texts.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neardup.config import DedupConfig
from neardup.errors import InputError
from neardup.executors.local import LocalExecutor
from neardup.fingerprint.exact import exact_hashes
from neardup.fingerprint.minhash import signatures as minhash_signatures
from neardup.heap import release_freed_memory, stack
from neardup.io import jsonl_scan
from neardup.io.sources import FieldSpec, Progress, RawBatch, Source, parse_batch
from neardup.sharedtext.containment import WINDOW as CONTAINMENT_WINDOW
from neardup.sharedtext.containment import own_set
from neardup.sharedtext.winnow import winnow_kernel
from neardup.shingle_store import ShingleStore, ShingleTable, spill_estimate
from neardup.text.boilerplate import (
    BoilerplateSet,
    BoilerplateTally,
    StrippedBatch,
    UnitCounter,
    batch_units,
    strip_batch,
)
from neardup.text.quotes import message_author, message_parts
from neardup.text.shingle import shingle_batch, shingle_buffer
from neardup.timewindow import parse_window

#: keeper policies that read a field of each record
KEEP_FIELD_KINDS = ("newest", "priority", "corrected")


# --------------------------------------------------------------------------------------------
# per-batch stage
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StageParams:
    """What :func:`fingerprint_batch` needs from the config (small and picklable)."""

    fields: FieldSpec
    ngram: int
    char_ngram: int
    shingle: str
    num_perm: int
    seed: int
    collect_units: bool = False  # first pass of boilerplate detection: count line units
    containment: int = 0  # > 0: winnow the shingles with this window for containment
    ignore_quotes: bool = True  # containment: quoted lines are not a message's own text
    boilerplate: BoilerplateSet | None = None  # second pass: strip these before fingerprinting
    embed_model: str | None = None  # method semantic: embed with this model, skip MinHash

    @classmethod
    def from_config(cls, cfg: DedupConfig, **extra: Any) -> StageParams:
        keep_field = cfg.keep.field if cfg.keep.kind in KEEP_FIELD_KINDS else None
        time_field = parse_window(cfg.window)[0] if cfg.window is not None else None
        return cls(
            FieldSpec(
                cfg.text_field,
                cfg.id_field,
                keep_field,
                time_field,
                corrections=cfg.keep.kind == "corrected",
            ),
            cfg.ngram,
            cfg.char_ngram,
            cfg.shingle,
            cfg.num_perm,
            cfg.seed,
            **{
                "containment": (
                    min(CONTAINMENT_WINDOW, cfg.containment_min_shingles)
                    if cfg.containment is not None
                    else 0
                ),
                "ignore_quotes": cfg.containment_ignore_quotes,
                "embed_model": cfg.model if cfg.method == "semantic" else None,
                **extra,
            },
        )


@dataclass(slots=True)
class BatchFingerprints:
    """Fingerprints of the good records of one batch, plus its bad records."""

    source: str
    ids: list[Any]
    lines: list[Any]
    keep_values: list[Any]
    lengths: np.ndarray
    exact: np.ndarray
    signatures: np.ndarray
    shingles: np.ndarray
    shingle_counts: np.ndarray
    modes: np.ndarray
    n_tokens: np.ndarray
    errors: list[InputError]
    invalid_utf8: int
    units: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    stripped: StrippedBatch | None = None
    contain: ContainmentBatch | None = None
    embeddings: np.ndarray | None = None  # method semantic: unit vectors, float32
    times: list[float] | None = None  # --window: seconds per record (NaN: no time)


@dataclass(slots=True)
class ContainmentBatch:
    """Containment fingerprints of a batch (rows of the batch in ``doc``), the lengths of the
    own shingle sequences, and the own and body sets of the documents where they differ from
    the whole text's."""

    hashes: np.ndarray
    doc: np.ndarray
    sizes: np.ndarray
    own: dict[int, np.ndarray]
    body: dict[int, np.ndarray]
    authors: np.ndarray  # message_author hashes (0: not a message)
    replies: np.ndarray  # bool: answers or quotes another message


def containment_batch(
    texts: list[str], shingles: np.ndarray, counts: np.ndarray, params: StageParams
) -> ContainmentBatch:
    """Winnow each document's own shingle sequence for :mod:`neardup.sharedtext.containment`,
    and keep the sets of the documents whose own text or body (:mod:`neardup.text.quotes`)
    differs from the text, when the params say messages are read that way."""
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    own: dict[int, np.ndarray] = {}
    body: dict[int, np.ndarray] = {}
    if params.ignore_quotes:
        parts = [message_parts(t) for t in texts]
        changed = [i for i, (b, o) in enumerate(parts) if b != texts[i] or o != texts[i]]
    else:
        changed = []
    if changed:
        both = [parts[i][k] for i in changed for k in (0, 1)]
        sb = shingle_batch(
            both, ngram=params.ngram, char_ngram=params.char_ngram, mode=params.shingle
        )
        so = sb.shingle_offsets
        seqs = [shingles[offsets[i] : offsets[i + 1]] for i in range(len(texts))]
        for j, i in enumerate(changed):
            b, o = parts[i]
            if b != texts[i]:
                body[i] = own_set(sb.shingles[so[2 * j] : so[2 * j + 1]])
            if o != texts[i]:
                seqs[i] = sb.shingles[so[2 * j + 1] : so[2 * j + 2]]
                own[i] = own_set(seqs[i])
        counts = np.fromiter((q.size for q in seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        shingles = np.concatenate(seqs) if seqs else shingles[:0]
    h, _pos, d = winnow_kernel(shingles, offsets, params.containment)
    authors = np.zeros(len(texts), dtype=np.uint64)
    replies = np.zeros(len(texts), dtype=bool)
    if params.ignore_quotes:
        for i, t in enumerate(texts):
            authors[i], replies[i] = message_author(t)
    return ContainmentBatch(h, d, counts.astype(np.int64), own, body, authors, replies)


def fingerprint_texts(texts: list[str], params: StageParams) -> tuple[np.ndarray, ...]:
    """Normalise, shingle and fingerprint texts: ``(exact, signatures, shingles,
    shingle_counts, modes, n_tokens)``."""
    return _fingerprint_texts(texts, params)[:6]


def _fingerprint_texts(
    texts: list[str], params: StageParams
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None
]:
    """:func:`fingerprint_texts` plus, with ``params.embed_model``, the embeddings of the
    normalised texts (:mod:`neardup.semantic.embed`) in place of MinHash signatures (which are
    then ``(n, 0)``)."""
    sb = shingle_batch(texts, ngram=params.ngram, char_ngram=params.char_ngram, mode=params.shingle)
    exact = exact_hashes(sb.norm, sb.norm_offsets)
    counts = np.diff(sb.shingle_offsets)
    vectors = None
    if params.embed_model is not None:
        from neardup.semantic.embed import embed, embedding_texts

        own = embedding_texts(texts, sb.norm, sb.norm_offsets, params.ignore_quotes)
        vectors = embed(own, params.embed_model)
        sigs = np.zeros((len(texts), 0), dtype=np.uint32)
    else:
        sigs = minhash_signatures(sb.shingles, sb.shingle_offsets, params.num_perm, params.seed)
    return exact, sigs, sb.shingles, counts, sb.modes, sb.n_tokens, vectors


def fingerprint_batch(raw: RawBatch, params: StageParams) -> BatchFingerprints:
    """Stage function: parse a raw batch and fingerprint its documents."""
    if _scans(raw, params):
        fast = _fingerprint_scanned(raw, params)
        if fast is not None:
            return fast
    parsed = parse_batch(raw, params.fields)
    texts = parsed.texts
    units = stripped = None
    if params.boilerplate is not None:
        stripped = strip_batch(texts, params.boilerplate)
        texts = stripped.texts
    elif params.collect_units:
        units = batch_units(texts)
    exact, sigs, shingles, counts, modes, n_tokens, vectors = _fingerprint_texts(texts, params)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    contain = containment_batch(texts, shingles, counts, params) if params.containment else None
    return BatchFingerprints(
        raw.source,
        parsed.ids,
        parsed.lines,
        parsed.keep_values,
        lengths,
        exact,
        sigs,
        shingles,
        counts,
        modes,
        n_tokens,
        parsed.errors,
        parsed.invalid_utf8,
        units,
        stripped,
        contain,
        vectors,
        parsed.times if params.fields.time_field else None,
    )


def _scans(raw: RawBatch, params: StageParams) -> bool:
    """Whether a batch is read by :mod:`neardup.io.jsonl_scan`: JSONL, and a run that needs of
    each record only its text's fingerprints and its id (no boilerplate, containment,
    embeddings, keeper or time fields)."""
    return (
        jsonl_scan.applies(raw, params.fields)
        and params.boilerplate is None
        and not params.collect_units
        and not params.containment
        and params.embed_model is None
    )


def _fingerprint_scanned(raw: RawBatch, params: StageParams) -> BatchFingerprints | None:
    """:func:`fingerprint_batch` for the batches :func:`_scans` accepts: the JSON is read and
    the text folded in compiled code, so the batch holds the GIL only for the ids and the
    lines that need the general path. The fingerprints are those of the general path."""
    sc = jsonl_scan.scan_batch(raw, params.fields)
    if sc is None:
        return None
    sb = shingle_buffer(
        sc.buf,
        sc.offsets,
        sc.fold,
        ngram=params.ngram,
        char_ngram=params.char_ngram,
        mode=params.shingle,
    )
    sigs = minhash_signatures(sb.shingles, sb.shingle_offsets, params.num_perm, params.seed)
    return BatchFingerprints(
        raw.source,
        sc.ids,
        sc.lines,
        [None] * len(sc.ids),
        sc.lengths,
        exact_hashes(sb.norm, sb.norm_offsets),
        sigs,
        sb.shingles,
        np.diff(sb.shingle_offsets),
        sb.modes,
        sb.n_tokens,
        sc.errors,
        raw.invalid_utf8 + sc.invalid_utf8,
    )


# --------------------------------------------------------------------------------------------
# corpus-level accumulation
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Fingerprints:
    """Everything the corpus-level stages need, one row per accepted document."""

    ids: list[Any] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    lines: list[Any] = field(default_factory=list)
    keep_values: list[Any] = field(default_factory=list)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    exact: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.uint64))
    signatures: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint32))
    shingles: ShingleTable = field(default_factory=lambda: ShingleTable([], []))
    modes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    n_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    skipped: list[tuple[str, Any]] = field(default_factory=list)
    error_messages: list[str] = field(default_factory=list)
    invalid_utf8: int = 0
    shingles_spilled: bool = False
    shingles_reread: bool = False  # beyond the budget: verification reads the input again
    units: UnitCounter | None = None  # line units per document (boilerplate, first pass)
    removed_lines: dict[int, list[int]] = field(default_factory=dict)  # boilerplate stripped
    boilerplate: BoilerplateTally | None = None
    # containment fingerprints (hash, document), own shingle-sequence lengths, own sets of
    # documents with quoted lines
    contain_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    contain_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    own_sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    own_sets: dict[int, np.ndarray] = field(default_factory=dict)
    body_sets: dict[int, np.ndarray] = field(default_factory=dict)
    authors: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    replies: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    embeddings: np.ndarray | None = None  # method semantic: (n, dim) float32 unit vectors
    times: list[float] = field(default_factory=list)  # --window: seconds (NaN: no time)

    def __len__(self) -> int:
        return len(self.ids)

    def location(self, ordinal: int, source_names: list[str]) -> str:
        return f"{source_names[self.sources[ordinal]]}:{self.lines[ordinal]}"


def _rss_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(self_kb, child_kb) / 1024, 1)


class StageClock:
    """Wall time and peak RSS (MB, this process or its largest worker) per stage."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self._start = time.perf_counter()

    def record(self, name: str, started: float) -> None:
        self.stages[name] = {
            "seconds": round(time.perf_counter() - started, 4),
            "peak_rss_mb": _rss_mb(),
        }

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self._start, 4)


def scan(
    sources: list[Source],
    cfg: DedupConfig,
    executor: LocalExecutor,
    workdir: Path | None,
    progress: Progress | None = None,
    params: StageParams | None = None,
) -> Fingerprints:
    """Fingerprint every document of every source (one pass over the inputs)."""
    params = params or StageParams.from_config(cfg)

    def raw_batches() -> Iterator[RawBatch]:
        for src in sources:
            yield from src.batches(cfg.batch_size, progress)

    reread = (
        workdir is not None
        and all(s.format == "jsonl" for s in sources)
        and params.boilerplate is None
        and not params.collect_units
        and not params.containment
        and cfg.method == "minhash"
        and cfg.verify
    )
    estimate = sum(spill_estimate(s.size, s.compression is not None) for s in sources)
    store = ShingleStore(workdir, drop=reread, spill_estimate=estimate)
    try:
        fp = gather(
            executor.map(fingerprint_batch, raw_batches(), params),
            store,
            cfg,
            [s.name for s in sources],
        )
    except BaseException:
        store.close()
        raise
    if store.dropped:  # verification reads the candidates' lines again
        from neardup.reread import RereadTable

        fp.shingles = RereadTable(  # type: ignore[assignment]
            sources, np.asarray(fp.sources), np.asarray(fp.lines), params, fp.shingles.counts
        )
        fp.shingles_reread = True
    return fp


def _record_error(fp: Fingerprints, source: str, line: Any, err: InputError) -> None:
    fp.skipped.append((source, line))
    if len(fp.error_messages) < 20:
        fp.error_messages.append(str(err).splitlines()[0])


def _select(bf: BatchFingerprints, keep: np.ndarray) -> None:
    """Drop the rows of a batch whose ``keep`` is false (records skipped after fingerprinting)."""
    sel = np.flatnonzero(keep)
    starts = np.concatenate([[0], np.cumsum(bf.shingle_counts)])
    parts = [bf.shingles[starts[i] : starts[i + 1]] for i in sel]
    bf.shingles = np.concatenate(parts) if parts else np.zeros(0, np.uint32)
    bf.shingle_counts = bf.shingle_counts[sel]
    for name in ("lengths", "exact", "signatures", "modes", "n_tokens"):
        setattr(bf, name, getattr(bf, name)[sel])
    if bf.embeddings is not None:
        bf.embeddings = bf.embeddings[sel]


def _tally(fp: Fingerprints, bf: BatchFingerprints, keep: np.ndarray, first: int) -> None:
    """Record the boilerplate stripped from a batch's accepted documents."""
    tally = fp.boilerplate
    stripped = bf.stripped
    if tally is None or stripped is None:
        return
    ordinal_of = np.cumsum(keep) - 1 + first  # batch row -> corpus ordinal (accepted rows)
    for d, gone in enumerate(stripped.removed):
        if gone and keep[d]:
            fp.removed_lines[int(ordinal_of[d])] = gone
            tally.documents += 1
    for d, h, text, freq in stripped.examples:
        if keep[d]:
            tally.lines_stripped += 1
            tally.add(bf.ids[d], h, text, freq)
    tally.bytes_stripped += stripped.stripped_bytes


def _gather_containment(
    fp: Fingerprints,
    cb: ContainmentBatch,
    keep: np.ndarray,
    first: int,
    out: dict[str, list[np.ndarray]],
) -> None:
    """Add a batch's containment fingerprints under corpus ordinals (accepted rows only)."""
    ordinal_of = np.cumsum(keep) - 1 + first
    ok = keep[cb.doc]
    out["hash"].append(cb.hashes[ok])
    out["doc"].append(ordinal_of[cb.doc[ok]].astype(np.int64))
    out["sizes"].append(cb.sizes[keep])
    out["authors"].append(cb.authors[keep])
    out["replies"].append(cb.replies[keep])
    for row, own in cb.own.items():
        if keep[row]:
            fp.own_sets[int(ordinal_of[row])] = own
    for row, body in cb.body.items():
        if keep[row]:
            fp.body_sets[int(ordinal_of[row])] = body


def _add_unique(fp: Fingerprints, seen: dict[str, int], bf: BatchFingerprints, sidx: int) -> bool:
    """Add a batch's records to ``fp`` and their ids to ``seen`` at once when no id repeats
    (within the batch or with one seen before), and say so; otherwise change nothing, and the
    caller goes record by record. The whole-batch form keeps the loop in C: the gather loop
    holds the GIL that the fingerprint workers need."""
    n = len(bf.ids)
    first = len(fp.ids)
    new = dict(zip(map(str, bf.ids), range(first, first + n), strict=True))
    if len(new) != n or not seen.keys().isdisjoint(new):
        return False
    seen.update(new)
    fp.ids.extend(bf.ids)
    fp.sources.extend([sidx] * n)
    fp.lines.extend(bf.lines)
    fp.keep_values.extend(bf.keep_values)
    if bf.times is not None:
        fp.times.extend(bf.times)
    return True


def _add_each(
    fp: Fingerprints,
    seen: dict[str, int],
    bf: BatchFingerprints,
    sidx: int,
    keep: np.ndarray,
    names: list[str],
    cfg: DedupConfig,
) -> None:
    """Add a batch's records one by one: the first record of an id wins, a later one is an
    error (raised, or recorded and left out, ``keep[k]`` false)."""
    for k, (rid, line) in enumerate(zip(bf.ids, bf.lines, strict=True)):
        key = str(rid)
        prev = seen.get(key)
        if prev is not None:
            from neardup.stages.decide import duplicate_id_error  # stages import this module

            err = duplicate_id_error(key, fp.location(prev, names), bf.source, line, cfg.id_field)
            if cfg.on_error == "raise":
                raise err
            keep[k] = False
            _record_error(fp, bf.source, line, err)
            continue
        seen[key] = len(fp.ids)
        fp.ids.append(rid)
        fp.sources.append(sidx)
        fp.lines.append(line)
        fp.keep_values.append(bf.keep_values[k])
        if bf.times is not None:
            fp.times.append(bf.times[k])


#: batches between two hand-backs of freed heap pages while gathering: the workers' temporary
#: arrays leave holes between the batches' results that stay resident until trimmed (the
#: fingerprint pass of 1M documents peaked at 1.39 GB without, 1.01 GB with, for the same CPU)
TRIM_EVERY = 128


def gather(
    batches: Iterable[BatchFingerprints], store: ShingleStore, cfg: DedupConfig, names: list[str]
) -> Fingerprints:
    """Collect batch fingerprints in input order, enforcing unique ids and the error policy."""
    fp = Fingerprints()
    seen: dict[str, int] = {}
    source_index = {name: i for i, name in enumerate(names)}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("lengths", "exact", "signatures", "modes", "n_tokens")
    }
    contain: dict[str, list[np.ndarray]] = {
        "hash": [],
        "doc": [],
        "sizes": [],
        "authors": [],
        "replies": [],
    }
    vectors: list[np.ndarray] = []
    for bf in batches:
        if bf.units is not None:
            if fp.units is None:
                fp.units = UnitCounter()
            fp.units.append(*bf.units)
        if bf.stripped is not None and fp.boilerplate is None:
            fp.boilerplate = BoilerplateTally()
        first_ordinal = len(fp.ids)
        if bf.errors and cfg.on_error == "raise":
            raise bf.errors[0]
        for err in bf.errors:
            _record_error(fp, bf.source, err.line, err)
        fp.invalid_utf8 += bf.invalid_utf8
        keep = np.ones(len(bf.ids), dtype=bool)
        sidx = source_index[bf.source]
        if not _add_unique(fp, seen, bf, sidx):
            _add_each(fp, seen, bf, sidx, keep, names, cfg)
        if not keep.all():
            _select(bf, keep)
            if bf.units is not None and fp.units is not None:
                fp.units.select(keep, bf.units[2])
        if bf.stripped is not None and fp.boilerplate is not None:
            _tally(fp, bf, keep, first_ordinal)
        if bf.contain is not None:
            _gather_containment(fp, bf.contain, keep, first_ordinal, contain)
        store.append(bf.shingles, bf.shingle_counts)
        if bf.embeddings is not None:
            vectors.append(bf.embeddings)
        for name, chunks in parts.items():
            chunks.append(getattr(bf, name))
        if len(parts["lengths"]) % TRIM_EVERY == 0:
            release_freed_memory()
    empty = {
        "lengths": np.zeros(0, np.int64),
        "exact": np.zeros((0, 2), np.uint64),
        "signatures": np.zeros((0, cfg.num_perm), np.uint32),
        "modes": np.zeros(0, np.uint8),
        "n_tokens": np.zeros(0, np.int64),
    }
    for name, chunks in parts.items():
        setattr(fp, name, stack(chunks) if chunks else empty[name])
    if contain["hash"]:
        fp.contain_hash = np.concatenate(contain["hash"])
        fp.contain_doc = np.concatenate(contain["doc"])
        fp.own_sizes = np.concatenate(contain["sizes"])
        fp.authors = np.concatenate(contain["authors"])
        fp.replies = np.concatenate(contain["replies"])
    if vectors:
        fp.embeddings = np.concatenate(vectors)
    fp.shingles = store.finish()
    fp.shingles_spilled = store.spilled
    return fp
