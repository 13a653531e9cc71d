"""SQLite storage of a persistent index: one file, no server, WAL mode.

Tables
------
``meta``         the index's parameters (a :class:`~neardup.config.DedupConfig` as JSON), the
                 schema version and the next document number (numbers are never reused).
``docs``         one row per document: number ``n``, id, text, metadata (JSON), the 128-bit exact
                 hash, the MinHash signature and the sorted shingle-id set (what verification
                 needs), time added.
``band_runs``    the lookup keys (one per LSH band, one for the exact hash) as sorted runs (see
``band_blocks``  :mod:`neardup.index.bands`): level, size, fences and Bloom filter per run; the
``band_deleted`` entries ``(key, n)`` in blocks; removed document numbers, which merges drop.

Every write happens in one ``BEGIN IMMEDIATE`` transaction, so a crash or ``kill -9`` mid-add
leaves the index as it was before that add; WAL mode lets readers go on during a write, and a
read transaction sees one snapshot of all tables.

Schema 1 kept the band buckets in one ``bands (key, n)`` B-tree and exact hashes in an index of
``docs``; :func:`neardup.index.upgrade.upgrade` turns such a file into
schema 2 in one transaction the first time it is opened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    meta TEXT NOT NULL,
    exact BLOB NOT NULL,
    signature BLOB NOT NULL,
    shingles BLOB NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS band_runs (
    run INTEGER PRIMARY KEY AUTOINCREMENT,
    level INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    first_block INTEGER NOT NULL,
    fences BLOB NOT NULL,
    bloom BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS band_blocks (block INTEGER PRIMARY KEY, keys BLOB NOT NULL,
    ns BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS band_deleted (n INTEGER PRIMARY KEY);
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode that waits up to 60 s for another writer."""
    conn = sqlite3.connect(str(path), timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: consistent after any crash
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def select_in(
    conn: sqlite3.Connection, sql: str, values: list[Any], chunk: int = 900
) -> list[tuple]:
    """Rows of ``sql`` (with one ``IN ({})``) over ``values``, a chunk of parameters at a time
    (SQLite limits the number of parameters of one statement)."""
    rows: list[tuple] = []
    for lo in range(0, len(values), chunk):
        part = values[lo : lo + chunk]
        rows += conn.execute(sql.format(",".join("?" * len(part))), part).fetchall()
    return rows
