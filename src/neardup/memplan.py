"""How much memory and disk a run needs, before it runs (``neardup plan``).

Sizes are in bytes; the human forms use binary units (1 MB = 2^20 bytes), like ``peak_rss_mb``
in ``stats.json`` and the 512 MB shingle budget.
"""

from __future__ import annotations

import math
from typing import Any

from neardup.config import DedupConfig
from neardup.errors import ConfigError
from neardup.params import parameter_report
from neardup.resolve import choose_lsh
from neardup.shingle_store import DEFAULT_BUDGET

MB = 1 << 20
GB = 1 << 30

#: Bytes of text per word, the space included: ~6 for English news text (the bench corpus:
#: 3.7 KB articles with ~650 word 5-grams each).
BYTES_PER_WORD = 6.0
SLOT_BYTES = 4  # one uint32 MinHash slot
SHINGLE_ID_BYTES = 4  # one uint32 shingle id; about one shingle per word
EXACT_HASH_BYTES = 16  # XXH3-128 of the normalised text
BAND_KEY_BYTES = 8  # one uint64 key per band
BOOKKEEPING_BYTES = 100  # id, source, line, length, token count, mode
PAIR_BYTES = 16  # two int64 ordinals
BASELINE_BYTES = 300 * MB  # interpreter, numpy, numba and its compiled kernels, batches in flight
BAND_ROW_BYTES = 20  # Spark band table row: band int32, key int64, pos int64
TARGET_PARTITION_BYTES = 128 * MB
CORES_PER_EXECUTOR = 2
SHUFFLE_MEMORY_FACTOR = 4


def human_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KB"`` (binary units)."""
    value, units, k = float(n), ("B", "KB", "MB", "GB", "TB"), 0
    while abs(value) >= 1024 and k < len(units) - 1:
        value, k = value / 1024, k + 1
    digits = 0 if k == 0 or abs(value) >= 100 else 1
    return f"{value:.{digits}f} {units[k]}"


def _check(ok: bool, message: str, remedy: str) -> None:
    if not ok:
        raise ConfigError(message, remedy=remedy)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _validate(
    docs: int,
    avg_bytes: float,
    executors: int,
    partitions: int | None,
    duplicate_fraction: float,
) -> None:
    _check(
        _is_int(docs) and docs >= 1,
        f"--docs must be at least 1, got {docs!r}",
        "pass the number of documents in the corpus, e.g. --docs 1000000",
    )
    _check(
        _is_number(avg_bytes) and math.isfinite(avg_bytes) and avg_bytes > 0,
        f"--avg-bytes must be greater than 0, got {avg_bytes!r}",
        "pass the mean text size per document in bytes, e.g. --avg-bytes 3700",
    )
    _check(
        _is_int(executors) and executors >= 1,
        f"--executors must be at least 1, got {executors!r}",
        "pass the number of Spark executors, e.g. --executors 8",
    )
    _check(
        partitions is None or (_is_int(partitions) and partitions >= 1),
        f"--partitions must be at least 1, got {partitions!r}",
        "pass a number of shuffle partitions, or leave it out to have one chosen",
    )
    _check(
        _is_number(duplicate_fraction) and 0.0 <= duplicate_fraction <= 1.0,
        f"--duplicate-fraction must be between 0 and 1, got {duplicate_fraction!r}",
        "pass the expected share of duplicate documents, e.g. --duplicate-fraction 0.1",
    )


def memory_plan(
    config: DedupConfig,
    docs: int,
    avg_bytes: float,
    *,
    executors: int = 1,
    partitions: int | None = None,
    duplicate_fraction: float = 0.1,
) -> dict[str, Any]:
    """Expected memory and disk of a run over ``docs`` documents of ``avg_bytes`` bytes of text.

    Per document (``words = avg_bytes / BYTES_PER_WORD``, 6 bytes a word)::

        signature   = num_perm × 4          shingle set = 4 × words
        exact hash  = 16                    band keys   = bands × 8
        bookkeeping = 100                   candidate pairs = docs × duplicate_fraction × 2

    ``local`` (one machine; the sum of the terms, since memory freed between stages mostly stays
    with the process)::

        peak = 300 MB baseline
             + docs × signature × 2       pipeline.gather concatenates the batches' signatures
                                          while they are still held, so they exist twice
             + docs × (exact + bookkeeping)
             + min(docs × shingle set, 512 MB)   the rest spills to disk (spill_bytes_on_disk);
                                          verification then reads back ≤ 100k documents' sets
             + docs × bands × 8           candidates.lsh.band_keys keys every band at once
             + docs × 8 × 2               one band's keys sorted (order + sort buffer)
             + candidate pairs × 16

    Measured on the bench corpus (3.7 KB news articles): 1M documents peaked at 2.23 GB and
    100k at 640 MB; this gives 2.0 GB and 660 MB (defaults, duplicate_fraction 0.1).

    ``spark`` (``executors`` executors of 2 cores, ``partitions`` shuffle partitions, by default
    ``max(4 × executors, ⌈docs × (signature + shingle set) / 128 MB⌉)``)::

        fingerprint table = docs × (signature + shingle set + exact + avg_bytes + 100)
        band table        = docs × bands rows × 20 (band int32, key int64, pos int64)
        per partition     = table / partitions
        executor memory   = max(1 GB, 4 × largest per-partition size × 2 tasks), whole GB

    Raises :class:`~neardup.errors.ConfigError` naming the option for a value out of range.
    """
    _validate(docs, avg_bytes, executors, partitions, duplicate_fraction)
    lsh = choose_lsh(config)
    words = avg_bytes / BYTES_PER_WORD
    signature = config.num_perm * SLOT_BYTES
    shingle_set = SHINGLE_ID_BYTES * words
    band_keys = lsh.bands * BAND_KEY_BYTES
    pairs = round(docs * duplicate_fraction * 2)
    pair_bytes = pairs * PAIR_BYTES

    shingles = round(docs * shingle_set)
    in_memory = min(shingles, DEFAULT_BUDGET)
    local = {
        "baseline_bytes": BASELINE_BYTES,
        "signature_bytes": docs * signature,
        "signature_gather_copy_bytes": docs * signature,
        "exact_bytes": docs * EXACT_HASH_BYTES,
        "bookkeeping_bytes": docs * BOOKKEEPING_BYTES,
        "shingle_bytes": shingles,
        "shingle_memory_bytes": in_memory,
        "spill_bytes_on_disk": shingles - in_memory,
        "shingle_budget_bytes": DEFAULT_BUDGET,
        "band_key_bytes": docs * band_keys,
        "band_sort_bytes": docs * BAND_KEY_BYTES * 2,
        "candidate_pairs": pairs,
        "candidate_pair_bytes": pair_bytes,
    }
    local["peak_bytes"] = sum(
        local[k]
        for k in (
            "baseline_bytes",
            "signature_bytes",
            "signature_gather_copy_bytes",
            "exact_bytes",
            "bookkeeping_bytes",
            "shingle_memory_bytes",
            "band_key_bytes",
            "band_sort_bytes",
            "candidate_pair_bytes",
        )
    )
    return {
        "inputs": {
            "docs": docs,
            "avg_bytes": avg_bytes,
            "words_per_doc": round(words, 1),
            "bytes_per_word": BYTES_PER_WORD,
            "duplicate_fraction": duplicate_fraction,
        },
        "parameters": parameter_report(config, lsh),
        "per_document": {
            "signature_bytes": signature,
            "shingle_set_bytes": round(shingle_set, 1),
            "exact_hash_bytes": EXACT_HASH_BYTES,
            "band_key_bytes": band_keys,
            "bookkeeping_bytes": BOOKKEEPING_BYTES,
        },
        "local": local,
        "spark": _spark(
            docs, avg_bytes, signature, shingle_set, lsh.bands, pair_bytes, executors, partitions
        ),
    }


def _spark(
    docs: int,
    avg_bytes: float,
    signature: int,
    shingle_set: float,
    bands: int,
    pair_bytes: int,
    executors: int,
    partitions: int | None,
) -> dict[str, Any]:
    """The ``spark`` section of :func:`memory_plan`."""
    notes = []
    fingerprinted = docs * (signature + shingle_set)
    if partitions is None:
        partitions = max(executors * 4, math.ceil(fingerprinted / TARGET_PARTITION_BYTES))
        notes.append(
            f"{partitions} partitions = max(4 × {executors} executors, "
            f"{human_bytes(fingerprinted)} of signatures and shingle sets / 128 MB); set "
            f"spark.sql.shuffle.partitions={partitions}"
        )
    else:
        notes.append(f"{partitions} partitions, as given")
    per_doc = signature + shingle_set + EXACT_HASH_BYTES + avg_bytes + BOOKKEEPING_BYTES
    fingerprint_table = round(docs * per_doc)
    band_rows = docs * bands
    band_table = band_rows * BAND_ROW_BYTES
    band_part = math.ceil(band_table / partitions)
    fingerprint_part = math.ceil(fingerprint_table / partitions)
    largest = max(band_part, fingerprint_part)
    which = "fingerprint table" if fingerprint_part >= band_part else "band shuffle"
    wanted = SHUFFLE_MEMORY_FACTOR * largest * CORES_PER_EXECUTOR
    memory = max(GB, math.ceil(wanted / GB) * GB)
    notes += [
        f"largest partition: {human_bytes(largest)} ({which}); the band shuffle moves "
        f"{human_bytes(band_part)} per partition, and verification joins candidate pairs to "
        "the fingerprint table's shingle sets",
        f"executor memory = max(1 GB, {SHUFFLE_MEMORY_FACTOR} × {human_bytes(largest)} × "
        f"{CORES_PER_EXECUTOR} tasks = {human_bytes(wanted)}) in whole GB = {memory // GB} GB: "
        "a task holds its partition several times over (deserialised rows, sort buffer, Arrow "
        f"batches), and {CORES_PER_EXECUTOR} cores run {CORES_PER_EXECUTOR} tasks at once",
        f"the fingerprint table ({human_bytes(fingerprint_table)}) is written to the work "
        "folder; keep that much disk free there, plus the band table for shuffle spill",
    ]
    return {
        "executors": executors,
        "cores_per_executor": CORES_PER_EXECUTOR,
        "partitions": partitions,
        "fingerprint_table_bytes": fingerprint_table,
        "band_table_rows": band_rows,
        "band_table_bytes": band_table,
        "candidate_pair_bytes": pair_bytes,
        "band_shuffle_bytes_per_partition": band_part,
        "fingerprint_bytes_per_partition": fingerprint_part,
        "executor_memory_bytes": memory,
        "executor_memory": f"{memory // GB}g",
        "notes": notes,
    }
