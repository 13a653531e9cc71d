"""LSH band buckets of a persistent index: a log-structured merge of sorted runs.

An add of ``m`` documents produces ``m · bands`` entries ``(key, n)`` with random 64-bit keys.
Inserting them into one B-tree touches one leaf page per entry once the tree outgrows the cache:
measured here (SQLite, WAL, 256 MiB cache, 18,432 entries per transaction, sorted), the cost per
entry rose from 4.3 µs over the first 1.8M entries to 12.8 µs between 3.6M and 5.4M, i.e. about
230 µs per document at a million documents, for the band table alone.

So the entries are kept as immutable sorted *runs*, as in the log-structured merge tree (O'Neil,
Cheng, Gawlick & O'Neil, 1996). Every add writes its entries as one new run; when a level holds
:data:`FANOUT` runs they are merged (a sequential numpy merge) into one run of the next level
(size-tiered compaction). An entry is rewritten about ``log_FANOUT(N / RUN0)`` times, always in
sequence.

A run is stored as blocks of :data:`BLOCK` entries (keys as int64, document numbers as uint32,
one 4 KiB page per block), plus the first key of every block (its fences) and a Bloom filter
(Bloom, 1970) of its keys with :data:`BLOOM_BITS` bits per entry and :data:`BLOOM_HASHES` hash
functions: false-positive rate ``(1 - e^{-k/b})^k`` ≈ 4.6 · 10⁻⁴ for ``b = 16, k = 11``. Almost
every key of a new document is in no run, so a lookup reads a block only where the filter says
the key may be, and the fences say which block. Fences and filters (about 2 bytes per entry)
are loaded once per process and run; runs never change, so caching them is safe.

Removed documents leave their entries behind; lookups drop them (their ``docs`` row is gone) and
merges filter them out through the ``band_deleted`` table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np

from neardup.index.store import select_in

#: Entries per block: 2 KiB of keys and 1 KiB of document numbers fit one 4 KiB page.
BLOCK = 256
#: Runs of one level merged into one run of the next level.
FANOUT = 8
#: Level ``l > 0`` holds runs of ``RUN0 · FANOUT^l`` entries or more (one block for ``RUN0``), so
#: the many small runs of one-document adds merge cheaply among themselves, and an add of 1,024
#: documents (18,432 entries) starts at level 2.
RUN0 = BLOCK
#: Bloom filter: bits per entry and hash functions (k = b · ln 2 rounded).
BLOOM_BITS = 16
BLOOM_HASHES = 11

_EMPTY = np.empty(0, dtype=np.int64)


@nb.njit(cache=True, nogil=True)
def bloom_build(keys: np.ndarray, nbits: int) -> np.ndarray:
    """A Bloom filter of ``nbits`` bits over uint64 ``keys``. The keys are already uniform
    hashes, so the ``k`` positions come from double hashing their halves (Kirsch &
    Mitzenmacher, 2006): ``h1 + i·h2 mod nbits``."""
    bits = np.zeros((nbits + 7) // 8, dtype=np.uint8)
    m = np.uint64(nbits)
    for x in range(keys.size):
        key = keys[x]
        h1 = key & np.uint64(0xFFFFFFFF)
        h2 = (key >> np.uint64(32)) | np.uint64(1)
        for i in range(BLOOM_HASHES):
            p = (h1 + np.uint64(i) * h2) % m
            bits[p >> np.uint64(3)] |= np.uint8(1) << np.uint8(p & np.uint64(7))
    return bits


@nb.njit(cache=True, nogil=True)
def bloom_probe(bits: np.ndarray, nbits: int, keys: np.ndarray) -> np.ndarray:
    """For each uint64 key: may it be in the set (``True``), or is it certainly not?"""
    out = np.empty(keys.size, dtype=np.bool_)
    m = np.uint64(nbits)
    for x in range(keys.size):
        key = keys[x]
        h1 = key & np.uint64(0xFFFFFFFF)
        h2 = (key >> np.uint64(32)) | np.uint64(1)
        hit = True
        for i in range(BLOOM_HASHES):
            p = (h1 + np.uint64(i) * h2) % m
            if (bits[p >> np.uint64(3)] >> np.uint8(p & np.uint64(7))) & np.uint8(1) == 0:
                hit = False
                break
        out[x] = hit
    return out


def unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an int64 array (sort and compare neighbours: faster than
    ``np.unique`` on the small arrays of one batch)."""
    a = np.sort(values)
    if a.size < 2:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _blocks_holding(fences: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The blocks of a run (by their first keys, ``fences``) that may hold each of ``keys``:
    the last block starting at or below the key, and, where blocks start with the key itself,
    every block from the one before the first of them (a key's entries may span blocks)."""
    hi = np.searchsorted(fences, keys, side="right") - 1
    lo = np.maximum(np.searchsorted(fences, keys, side="left") - 1, 0)
    ok = hi >= 0
    lo, hi = lo[ok], np.maximum(hi[ok], lo[ok])
    return unique(ranges(lo, hi - lo + 1))


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``starts[i], starts[i] + 1, …`` (``counts[i]`` values) for each ``i``, concatenated."""
    steps = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + steps


def level_of(entries: int) -> int:
    """The level of a run by its size: 0 below ``RUN0 · FANOUT``, then one per factor."""
    level, size = 0, RUN0 * FANOUT
    while entries >= size:
        level, size = level + 1, size * FANOUT
    return level


@dataclass(frozen=True, slots=True)
class Run:
    """What a lookup needs of one run, kept in memory: fences and Bloom filter."""

    run: int
    level: int
    entries: int
    first_block: int
    fences: np.ndarray
    bloom: np.ndarray

    @property
    def blocks(self) -> int:
        return -(-self.entries // BLOCK)

    @property
    def nbits(self) -> int:
        return self.bloom.size * 8


class BandRuns:
    """The band buckets of one index file; safe to share between threads."""

    def __init__(self) -> None:
        self._cache: dict[int, Run] = {}
        self._lock = threading.Lock()

    def runs(self, conn: Any) -> list[Run]:
        """The runs visible to ``conn``'s current transaction, oldest first."""
        rows = conn.execute(
            "SELECT run, level, entries, first_block FROM band_runs ORDER BY run"
        ).fetchall()
        with self._lock:
            cached = dict(self._cache)
        missing = [r for r in rows if r[0] not in cached]
        for run, level, entries, first, fences, bloom in select_in(
            conn,
            "SELECT run, level, entries, first_block, fences, bloom FROM band_runs"
            " WHERE run IN ({})",
            [r[0] for r in missing],
        ):
            cached[run] = Run(
                run,
                level,
                entries,
                first,
                np.frombuffer(fences, dtype=np.int64),
                np.frombuffer(bloom, dtype=np.uint8),
            )
        live = {r[0] for r in rows}
        with self._lock:
            self._cache = {k: v for k, v in cached.items() if k in live}
        return [cached[r[0]] for r in rows]

    def lookup(
        self, conn: Any, keys: np.ndarray, *, distinct: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every stored entry ``(key, n)`` whose key is in ``keys`` (int64; ``distinct``: they
        are sorted and distinct already), as two int64 arrays. Call inside a transaction, so
        runs and blocks come from one snapshot."""
        q = keys if distinct else unique(np.asarray(keys, dtype=np.int64))
        if q.size == 0:
            return _EMPTY, _EMPTY
        qu = q.view(np.uint64)
        blocks: list[np.ndarray] = []
        for run in self.runs(conn):
            maybe = q[bloom_probe(run.bloom, run.nbits, qu)]
            if maybe.size:
                blocks.append(run.first_block + _blocks_holding(run.fences, maybe))
        if not blocks:
            return _EMPTY, _EMPTY
        rows = select_in(
            conn,
            "SELECT keys, ns FROM band_blocks WHERE block IN ({})",
            unique(np.concatenate(blocks)).tolist(),
        )
        ks = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.int64)
        ns = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint32)
        at = np.minimum(np.searchsorted(q, ks), q.size - 1)
        hit = q[at] == ks
        return ks[hit], ns[hit].astype(np.int64)

    def append(
        self, conn: Any, keys: np.ndarray, ns: np.ndarray, *, presorted: bool = False
    ) -> None:
        """Store entries as a new run (``presorted``: ``keys`` are in order already), then
        merge full levels. Call inside the caller's write transaction, which makes the add and
        its merges one atomic change."""
        if keys.size == 0:
            return
        keys = np.asarray(keys, dtype=np.int64)
        ns = np.asarray(ns, dtype=np.int64)
        if int(ns.max()) >= 2**32:
            raise OverflowError("an index holds at most 2^32 - 1 documents")
        if not presorted:
            order = np.argsort(keys, kind="stable")
            keys, ns = keys[order], ns[order]
        self._write(conn, keys, ns.astype(np.uint32))
        self._compact(conn)

    def forget(self, conn: Any, ns: list[int]) -> None:
        """Mark removed documents, so merges drop their entries."""
        conn.executemany("INSERT OR IGNORE INTO band_deleted VALUES (?)", [(n,) for n in ns])

    # -- runs on disk ---------------------------------------------------------------------------
    def _write(self, conn: Any, keys: np.ndarray, ns: np.ndarray) -> None:
        first = conn.execute("SELECT COALESCE(MAX(block), 0) + 1 FROM band_blocks").fetchone()[0]
        count = -(-keys.size // BLOCK)
        conn.executemany(
            "INSERT INTO band_blocks VALUES (?, ?, ?)",
            (
                (
                    first + b,
                    keys[b * BLOCK : (b + 1) * BLOCK].tobytes(),
                    ns[b * BLOCK : (b + 1) * BLOCK].tobytes(),
                )
                for b in range(count)
            ),
        )
        nbits = max(64, -(-keys.size * BLOOM_BITS // 64) * 64)
        conn.execute(
            "INSERT INTO band_runs (level, entries, first_block, fences, bloom)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                level_of(keys.size),
                keys.size,
                first,
                keys[::BLOCK].tobytes(),
                bloom_build(keys.view(np.uint64), nbits).tobytes(),
            ),
        )

    def _compact(self, conn: Any) -> None:
        """Merge the runs of the lowest level that holds ``FANOUT`` of them; repeat."""
        while True:
            rows = conn.execute(
                "SELECT run, level, entries, first_block FROM band_runs ORDER BY level, run"
            ).fetchall()
            by_level: dict[int, list[tuple[Any, ...]]] = {}
            for row in rows:
                by_level.setdefault(row[1], []).append(row)
            full = [lv for lv, rs in sorted(by_level.items()) if len(rs) >= FANOUT]
            if not full:
                return
            merge = by_level[full[0]]
            self._merge(conn, merge, covers_all=len(merge) == len(rows))

    def _merge(self, conn: Any, runs: list[tuple[Any, ...]], covers_all: bool) -> None:
        keys, ns = [], []
        for _, _, entries, first in runs:
            last = first + -(-entries // BLOCK)
            for kb, nb_ in conn.execute(
                "SELECT keys, ns FROM band_blocks WHERE block >= ? AND block < ? ORDER BY block",
                (first, last),
            ):
                keys.append(kb)
                ns.append(nb_)
            conn.execute("DELETE FROM band_blocks WHERE block >= ? AND block < ?", (first, last))
        conn.executemany("DELETE FROM band_runs WHERE run = ?", [(r[0],) for r in runs])
        k = np.frombuffer(b"".join(keys), dtype=np.int64)
        n = np.frombuffer(b"".join(ns), dtype=np.uint32)
        gone = np.array([g for (g,) in conn.execute("SELECT n FROM band_deleted")], dtype=np.int64)
        if gone.size:
            alive = ~np.isin(n.astype(np.int64), gone)
            k, n = k[alive], n[alive]
            if covers_all:  # no other run holds entries of removed documents any more
                conn.execute("DELETE FROM band_deleted")
        order = np.argsort(k, kind="stable")  # timsort: merges the sorted runs it finds
        if k.size:
            self._write(conn, k[order], n[order])

    def summary(self, conn: Any) -> dict[str, Any]:
        """Runs per level and entries, for ``stats``."""
        levels: dict[str, int] = {}
        entries = 0
        for level, count, total in conn.execute(
            "SELECT level, COUNT(*), SUM(entries) FROM band_runs GROUP BY level ORDER BY level"
        ):
            levels[str(level)] = count
            entries += total
        return {"band_entries": entries, "band_runs_per_level": levels}
