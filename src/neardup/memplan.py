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
#: id, source, line and keeper value (Python lists: 129 B a document measured at 1M documents
#: with 11-character string ids), length, token count and mode
BOOKKEEPING_BYTES = 150
ROW_BOOKKEEPING_BYTES = 100  # id, position, length, mode and keeper columns of a Spark row
ID_INDEX_BYTES = 90  # the id → ordinal dict that finds repeated ids, while the scan runs
DECISION_BYTES = 60  # labels, roots, keepers, similarity, reason, removed, union-find parents
PAIR_BYTES = 16  # two int64 ordinals
VERIFY_DOCS = 100_000  # documents whose shingle sets verification holds at once (≤ 2 × 50k pairs)
WRITE_BUFFER_BYTES = 64 * MB  # a 16 MiB input block, its line table and the kept runs joined
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

    ``local`` (one machine): the peak of the three stages, each the sum of what it holds::

        fingerprint = 300 MB baseline + scanned × (signature + exact + bookkeeping + 90 B
                      id index) + the shingle ids held: all of them up to the 512 MB budget;
                      when they outgrow it, they all go to disk (the peak is then the larger
                      of the moment of the spill and the end of the scan)
        resolve     = 300 MB baseline
                    + docs × (signature + exact + bookkeeping)
                    + docs × 60                  clusters and decisions
                    + candidate pairs × 16
                    + the larger of docs × (bands × 8 + 16)   every band's keys at once, one
                                                              band sorted (candidates), and
                      min(docs, 100k) × shingle set           the sets verification holds
        write       = 300 MB baseline + docs × (bookkeeping + 60) + 64 MB of blocks

    Without room on disk for the spill, the ids are read again for the candidates
    (:mod:`neardup.reread`): no spill, and the resolve stage also holds about one shingle set
    per candidate pair (``peak_without_spill_bytes``).

    So a document costs ``signature + exact + bookkeeping + bands × 8 + 76`` bytes (898 B at
    128 permutations and 18 bands) while candidates are found, and a shingle 4 bytes on disk beyond
    the 512 MB budget. Measured on the bench corpus (3.7 KB news articles, ~640 shingles a
    document): 100k documents peaked at 643 MB (the model: 607 MB), 1M at 1.53 GB (1.21 GB).

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
    held = docs * (signature + EXACT_HASH_BYTES + BOOKKEEPING_BYTES)
    verify = round(min(docs, VERIFY_DOCS) * shingle_set)
    scanned = signature + EXACT_HASH_BYTES + BOOKKEEPING_BYTES + ID_INDEX_BYTES  # per document
    if shingles > DEFAULT_BUDGET:  # the in-memory ids go to disk when the budget fills up
        at_spill = DEFAULT_BUDGET / shingle_set  # documents scanned by then
        scan = max(round(at_spill * scanned) + DEFAULT_BUDGET, docs * scanned)
    else:
        scan = docs * scanned + shingles
    stages = {
        "fingerprint": BASELINE_BYTES + scan,
        # the band keys are gone before verification starts
        "resolve": BASELINE_BYTES
        + held
        + docs * DECISION_BYTES
        + pair_bytes
        + max(docs * (band_keys + 2 * BAND_KEY_BYTES), verify),
        "write": BASELINE_BYTES + docs * (BOOKKEEPING_BYTES + DECISION_BYTES) + WRITE_BUFFER_BYTES,
    }
    # with too little disk for the spill, verification holds the candidates' sets instead
    # (neardup.reread): about one document per candidate pair
    reread = round(min(docs, pairs) * shingle_set) if shingles > DEFAULT_BUDGET else 0
    local = {
        "baseline_bytes": BASELINE_BYTES,
        "signature_bytes": docs * signature,
        "exact_bytes": docs * EXACT_HASH_BYTES,
        "bookkeeping_bytes": docs * BOOKKEEPING_BYTES,
        "id_index_bytes": docs * ID_INDEX_BYTES,
        "shingle_bytes": shingles,
        "shingle_memory_bytes": in_memory,
        "spill_bytes_on_disk": shingles - in_memory,
        "shingle_budget_bytes": DEFAULT_BUDGET,
        "band_key_bytes": docs * band_keys,
        "band_sort_bytes": docs * BAND_KEY_BYTES * 2,
        "decision_bytes": docs * DECISION_BYTES,
        "verify_set_bytes": verify,
        "candidate_pairs": pairs,
        "candidate_pair_bytes": pair_bytes,
        "stage_peak_bytes": stages,
        "peak_stage": max(stages, key=lambda k: stages[k]),
        "peak_bytes": max(stages.values()),
        "reread_set_bytes": reread,
        "peak_without_spill_bytes": max(
            *stages.values(),
            BASELINE_BYTES + held + docs * DECISION_BYTES + pair_bytes + verify + reread,
        ),
    }
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
            "resolve_bytes": signature
            + EXACT_HASH_BYTES
            + BOOKKEEPING_BYTES
            + band_keys
            + 2 * BAND_KEY_BYTES
            + DECISION_BYTES,
            "spilled_bytes_per_shingle": SHINGLE_ID_BYTES,
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
    per_doc = signature + shingle_set + EXACT_HASH_BYTES + avg_bytes + ROW_BOOKKEEPING_BYTES
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
