"""SQLite storage of a persistent index: one file, no server, WAL mode.

Tables
------
``meta``  the index's parameters (a :class:`~neardup.config.DedupConfig` as JSON) and version.
``docs``  one row per document: id, text, metadata (JSON), the 128-bit exact hash, the MinHash
          signature and the sorted shingle-id set (what verification needs), time added.
``bands`` one row per (band key, document): the LSH buckets, looked up by key.

Every write happens in one ``BEGIN IMMEDIATE`` transaction, so a crash or ``kill -9`` mid-add
leaves the index as it was before that add; WAL mode lets readers go on during a write.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = "1"

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
CREATE INDEX IF NOT EXISTS docs_exact ON docs (exact);
CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (key, n)) WITHOUT ROWID;
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode that waits up to 60 s for another writer."""
    conn = sqlite3.connect(str(path), timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: consistent after any crash
    conn.execute("PRAGMA foreign_keys=ON")
    return conn
