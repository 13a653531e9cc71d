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

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neardup.errors import NeardupError, OutputError

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
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (with one ``IN ({})``) over ``values``, a chunk of parameters at a time
    (SQLite limits the number of parameters of one statement)."""
    rows: list[tuple[Any, ...]] = []
    for lo in range(0, len(values), chunk):
        part = values[lo : lo + chunk]
        rows += conn.execute(sql.format(",".join("?" * len(part))), part).fetchall()
    return rows


#: SQLite's primary result codes that mean the storage, not the data, failed.
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 3, 8, 10, 13, 14
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DENIED_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def storage_error(exc: BaseException, path: Path, doing: str) -> OutputError | None:
    """The :class:`~neardup.errors.OutputError` for a storage failure while ``doing`` something
    to the index at ``path`` (``"add to"``, ``"create"``, ...): a full disk (SQLite's
    ``SQLITE_FULL``, ``ENOSPC``), a read-only or forbidden location (``SQLITE_READONLY``,
    ``SQLITE_PERM``, ``SQLITE_CANTOPEN``, ``EROFS``, ``EACCES``) or a disk I/O error; ``None``
    for anything else (a damaged file, a bug), which the caller re-raises as it is."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    number = exc.errno if isinstance(exc, OSError) and not isinstance(exc, NeardupError) else None
    folder = path.parent
    if primary == _SQLITE_FULL or number in _FULL_ERRNOS:
        return OutputError(
            f"cannot {doing} index {path}: the disk is full",
            remedy=f"free space on the disk that holds {folder} (a write needs room for the "
            "index's log beside it, up to 64 MiB), or move the index to a larger disk",
        )
    if primary in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN) or number in _DENIED_ERRNOS:
        reason = _unwritable(path) or (str(exc) if number is None else os.strerror(number).lower())
        return OutputError(
            f"cannot {doing} index {path}: {reason}",
            remedy=f"make {folder} and the index writable, or move the index to a writable "
            "folder (SQLite keeps -wal and -shm files beside the index, so its folder must be "
            "writable too)",
        )
    if primary == _SQLITE_IOERR:
        return OutputError(
            f"cannot {doing} index {path}: disk I/O error ({exc})",
            remedy=f"check the disk that holds {folder} (space, health, a network mount that "
            "went away); the index is as it was before the failed write",
        )
    return None


def _unwritable(path: Path) -> str | None:
    """Why ``path`` (or a file beside it) cannot be written, when the file system says so."""
    folder = path.parent
    if not folder.is_dir():
        return f"its folder {folder} does not exist"
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"the file system holding {folder} is read-only"
    except OSError:
        pass
    if not os.access(folder, os.W_OK):
        return f"no permission to write in {folder}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"no permission to write {path}"
    return None


@contextmanager
def storage_errors(path: Path, doing: str) -> Iterator[None]:
    """Turn storage failures in the block into :func:`storage_error`'s OutputError; everything
    else passes through unchanged."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        if isinstance(exc, NeardupError):
            raise
        mapped = storage_error(exc, path, doing)
        if mapped is None:
            raise
        raise mapped from exc
