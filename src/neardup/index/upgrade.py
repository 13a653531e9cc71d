"""Upgrading an index file made by an earlier version of the schema, in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neardup.index.bands import BandRuns
from neardup.index.plan import exact_keys
from neardup.index.store import SCHEMA, SCHEMA_VERSION, connect


def upgrade(path: Path) -> None:
    """Turn a schema-1 index (a ``bands`` B-tree, an index of exact hashes) into schema 2 (band
    runs holding band and exact keys), in one transaction; a crash leaves the schema-1 file as
    it was."""
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or version[0] != "1":  # another process upgraded it meanwhile
            conn.execute("ROLLBACK")
            return
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        keys, ns = [], []
        cur = conn.execute("SELECT key, n FROM bands")
        while chunk := cur.fetchmany(1 << 20):
            pairs = np.array(chunk, dtype=np.int64)
            keys.append(pairs[:, 0])
            ns.append(pairs[:, 1])
        rows = conn.execute("SELECT n, exact FROM docs WHERE length(shingles) > 0").fetchall()
        if rows:
            ns.append(np.array([n for n, _ in rows], dtype=np.int64))
            exact = np.frombuffer(b"".join(e for _, e in rows), dtype=np.uint64).reshape(-1, 2)
            keys.append(exact_keys(exact).view(np.int64))
        if keys:
            BandRuns().append(conn, np.concatenate(keys), np.concatenate(ns))
        conn.execute("DROP TABLE bands")
        conn.execute("DROP INDEX IF EXISTS docs_exact")
        top = conn.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM docs").fetchone()[0]
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('next_n', ?)", (str(top),))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
