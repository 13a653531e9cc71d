"""The persistent incremental index: is this new document a duplicate of anything stored?

It uses the batch pipeline's normalisation, shingles, MinHash signatures and banding, and
verifies every candidate by its exact Jaccard similarity against the stored shingle set, so an
index answers exactly as ``neardup dedup`` would for the same parameters, which are fixed when
the index is created and stored in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from neardup.config import DedupConfig
from neardup.errors import (
    ConfigError,
    DuplicateIdError,
    InputError,
    OutputError,
    RecordTypeError,
)
from neardup.index.bands import BandRuns, unique
from neardup.index.plan import (
    Prepared,
    candidate_pairs,
    plan_add,
    prepare,
    verify,
)
from neardup.index.records import (
    AddResult,
    CommittedInterrupt,
    QueryMatch,
    as_item,
    stored_meta,
)
from neardup.index.store import (
    SCHEMA,
    SCHEMA_VERSION,
    connect,
    select_in,
    storage_errors,
)
from neardup.index.upgrade import upgrade
from neardup.params import parameter_report
from neardup.pipeline import StageParams
from neardup.resolve import choose_lsh

#: Page cache of connections that add documents, in KiB (SQLite's default is 2 MiB).
WRITER_CACHE_KIB = 256 * 1024
#: Log size (4 KiB pages) at which a writer copies the log into the file: 64 MiB.
WRITER_WAL_PAGES = 16_384

#: The parameters an index fixes at creation (everything that changes fingerprints or matches).
STORED = ("threshold", "num_perm", "ngram", "char_ngram", "shingle", "seed", "bands", "rows")


class _Committed(Exception):
    """Carries a batch's results out of :meth:`Index._write` when an interrupt arrived as its
    transaction committed (turned into :class:`CommittedInterrupt` by :meth:`Index._commit`)."""

    def __init__(self, results: dict[str, AddResult]) -> None:
        self.results = results
        super().__init__("committed")


def _in_order(ids: list[str], results: dict[str, AddResult]) -> list[AddResult]:
    """Results in the order of ``ids``; an id without one was skipped (already stored)."""
    return [results[r] if r in results else AddResult(r, "skipped", added=False) for r in ids]


class Index:
    """A persistent near-duplicate index in one SQLite file (see :mod:`neardup.index.store`).

    Safe to share between threads (each gets its own connection; writers take turns through
    SQLite's write lock) and between processes (``neardup serve`` and ``neardup index add`` on
    the same file)."""

    def __init__(self, path: Path, cfg: DedupConfig) -> None:
        self.path = path
        self.config = cfg
        self.lsh = choose_lsh(cfg)
        self._params = StageParams.from_config(cfg)
        self._bands = BandRuns()
        self._local = threading.local()
        self._all: list[Any] = []  # every thread's connection, closed by close()
        self._all_lock = threading.Lock()

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, path: str | os.PathLike[str], config: DedupConfig | None = None, **overrides: Any
    ) -> Index:
        """Create a new index file with fixed parameters; missing parent folders are created
        (as ``dedup --output`` does). A location that cannot be written (read-only, no
        permission, a full disk) raises :class:`~neardup.errors.OutputError` and leaves no
        file behind."""
        p = Path(path)
        if p.exists():
            raise ConfigError(
                f"{p} already exists",
                remedy="open it with `neardup index add`, or choose another path",
            )
        cfg = (
            (config or DedupConfig()).with_(**overrides) if overrides else (config or DedupConfig())
        )
        if cfg.method != "minhash":
            raise ConfigError(
                "the incremental index stores MinHash bands; method semantic is not indexed",
                remedy="create the index with method minhash, or run `neardup dedup --method "
                "semantic` over the whole corpus",
            )
        lsh = choose_lsh(cfg)
        cfg = cfg.with_(bands=lsh.bands, rows=lsh.rows)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the folder {p.parent} for index {p}: {exc.strerror}",
                remedy="choose a path in a writable location",
            ) from exc
        # built under a temporary name and linked into place: a crash leaves no half-made
        # index at PATH, and a file that appeared meanwhile is not overwritten
        tmp = p.with_name(f".{p.name}.creating-{os.getpid()}")
        try:
            with storage_errors(p, "create"):
                cls._build(tmp, p, cfg)
        finally:
            for leftover in tmp.parent.glob(tmp.name + "*"):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        return cls(p, cfg)

    @staticmethod
    def _build(tmp: Path, p: Path, cfg: DedupConfig) -> None:
        """Write a new index file at ``tmp`` and link it into place at ``p``."""
        conn = connect(tmp)
        try:
            conn.executescript(SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            stored = {k: getattr(cfg, k) for k in STORED}
            stored["verify"] = cfg.verify
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("schema_version", SCHEMA_VERSION),
                    ("config", json.dumps(stored)),
                    ("created_at", datetime.now(UTC).isoformat(timespec="seconds")),
                    ("next_n", "1"),
                ],
            )
            conn.execute("COMMIT")
            conn.close()  # the last connection folds the log into the file
            try:
                os.link(tmp, p)
            except FileExistsError as exc:
                raise ConfigError(
                    f"{p} already exists",
                    remedy="open it with `neardup index add`, or choose another path",
                ) from exc
            except OSError:  # a file system without hard links: rename (checked above)
                os.replace(tmp, p)
        finally:
            conn.close()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Index:
        """Open an existing index; its stored parameters apply to every call."""
        p = Path(path)
        if not p.is_file():
            raise InputError(
                "no such index", path=str(p), remedy="create it first: neardup index create PATH"
            )
        try:
            with storage_errors(p, "open"):  # read-only or forbidden: an OutputError
                conn = connect(p)
                try:
                    rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                finally:
                    conn.close()
        except OutputError:
            raise
        except Exception as exc:  # sqlite3.DatabaseError: not a database / no meta table
            raise InputError(
                f"not a neardup index ({exc})",
                path=str(p),
                remedy="pass a file made by `neardup index create`",
            ) from exc
        if rows.get("schema_version") == "1":
            with storage_errors(p, "upgrade"):
                upgrade(p)
        elif rows.get("schema_version") != SCHEMA_VERSION:
            raise InputError(
                f"index schema {rows.get('schema_version')!r} is not supported",
                path=str(p),
                remedy="rebuild the index with this neardup version",
            )
        return cls(p, DedupConfig(**json.loads(rows["config"])))

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with storage_errors(self.path, "open"):
                conn = self._local.conn = connect(self.path)
            with self._all_lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close the connections of every thread that used this index."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # -- lookups ------------------------------------------------------------------------------
    def _items(self, docs: Iterable[Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """Check a batch: ``(id, text, metadata)`` per document, ids distinct."""
        items = [as_item(d, k) for k, d in enumerate(docs)]
        seen: set[str] = set()
        for rid, _, _ in items:
            if rid in seen:
                raise DuplicateIdError(
                    f"id '{rid}' appears twice in one add",
                    field="id",
                    remedy="give every document its own id",
                )
            seen.add(rid)
        return items

    def _prepare(self, items: list[tuple[str, str, dict[str, Any]]]) -> Prepared:
        """Fingerprint checked documents; touches no database, so it may run in a thread."""
        return prepare(items, self._params, self.lsh, self.config.threshold)

    def _batch(
        self, docs: Iterable[Any], skip_existing: bool, conn: Any = None
    ) -> tuple[list[str], Prepared | None]:
        """The ids of a batch in order and the fingerprints of the documents to add: all of
        them, or with ``skip_existing`` those whose id ``conn`` does not hold (checked again
        when the batch is written); ``None`` when there are none."""
        items = self._items(docs)
        ids = [rid for rid, _, _ in items]
        if skip_existing and conn is not None:
            with storage_errors(self.path, "read"):
                taken = {t for (t,) in select_in(conn, "SELECT id FROM docs WHERE id IN ({})", ids)}
            items = [item for item in items if item[0] not in taken]
        return ids, self._prepare(items) if items else None

    def _candidates(
        self, conn: Any, prep: Prepared
    ) -> tuple[
        dict[int, list[tuple[int, str]]],
        tuple[np.ndarray, np.ndarray],
        dict[int, tuple[str, np.ndarray]],
    ]:
        """For the live documents of a batch: the ``(k, n)`` pairs that share a lookup key with
        a document ``n`` still stored; the ids and shingle sets of those ``n``; and, per ``k``, the
        stored documents with an equal exact hash (``[(n, id)]`` by number)."""
        found = self._bands.lookup(conn, prep.distinct_keys, distinct=True)
        pk, pn = candidate_pairs(prep.keys, prep.key_docs, *found)
        stored: dict[int, tuple[str, np.ndarray]] = {}
        exact_of: dict[int, bytes] = {}
        for n, rid, ex, blob in select_in(
            conn,
            "SELECT n, id, exact, shingles FROM docs WHERE n IN ({})",
            unique(pn).tolist(),
        ):
            stored[n] = (rid, np.frombuffer(blob, dtype=np.uint32))
            exact_of[n] = ex
        found_n = np.isin(pn, np.fromiter(stored, dtype=np.int64, count=len(stored)))
        pk, pn = pk[found_n], pn[found_n]  # removed documents leave keys until merged away
        same: dict[int, list[tuple[int, str]]] = {}
        for k, n in zip(pk.tolist(), pn.tolist(), strict=True):
            if exact_of[n] == prep.exact[k]:
                same.setdefault(k, []).append((n, stored[n][0]))
        for hits in same.values():
            hits.sort()
        return same, (pk, pn), stored

    # -- public operations --------------------------------------------------------------------
    def add(
        self, docs: Iterable[Any], *, add_duplicates: bool = False, skip_existing: bool = False
    ) -> list[AddResult]:
        """Add documents in one transaction. Each is ``new`` (stored) or a ``duplicate`` of a
        stored document (then not stored unless ``add_duplicates``). Documents earlier in the
        same call count as stored. An id already in the index raises
        :class:`~neardup.errors.DuplicateIdError` and nothing of the call is stored; with
        ``skip_existing`` such a document is left as stored (whatever its text) and reported
        ``skipped``, so an interrupted add can be run again. A full, read-only or forbidden
        disk raises :class:`~neardup.errors.OutputError`; nothing of the call is stored."""
        ids, prep = self._batch(docs, skip_existing, self._conn() if skip_existing else None)
        return self._commit(ids, prep, add_duplicates, skip_existing)

    def add_many(
        self,
        batches: Iterable[Iterable[Any]],
        *,
        add_duplicates: bool = False,
        skip_existing: bool = False,
    ) -> Iterator[list[AddResult]]:
        """Add batches, one transaction each, yielding each batch's results in order (as
        :meth:`add`). The next batch is read and fingerprinted in a second thread while the
        current one is written (the shingle and MinHash kernels and SQLite release the GIL);
        with ``skip_existing`` that thread leaves out the ids already stored, so a resumed add
        does not fingerprint them again."""
        it = iter(batches)
        reader = connect(self.path) if skip_existing else None

        def following() -> tuple[list[str], Prepared | None] | None:
            batch = next(it, None)
            return None if batch is None else self._batch(batch, skip_existing, reader)

        try:
            with ThreadPoolExecutor(1, thread_name_prefix="neardup-index") as pool:
                ahead = pool.submit(following)
                while (got := ahead.result()) is not None:
                    ahead = pool.submit(following)
                    yield self._commit(*got, add_duplicates, skip_existing)
        finally:
            if reader is not None:
                reader.close()

    def _commit(
        self, ids: list[str], prep: Prepared | None, add_duplicates: bool, skip_existing: bool
    ) -> list[AddResult]:
        """Write one batch in one transaction; results in the order of ``ids`` (a document of
        ``ids`` that ``prep`` lacks was skipped: its id is stored)."""
        try:
            with storage_errors(self.path, "add to"):
                results = self._write(prep, add_duplicates, skip_existing) if prep else {}
        except _Committed as late:
            raise CommittedInterrupt(_in_order(ids, late.results)) from late.__cause__
        return _in_order(ids, results)

    def _write(
        self, prep: Prepared, add_duplicates: bool, skip_existing: bool
    ) -> dict[str, AddResult]:
        conn = self._conn()
        if not getattr(self._local, "writer", False):
            # the id index of docs takes inserts at random places; and a checkpoint (copy of
            # the log into the file, then fsync) every WRITER_WAL_PAGES instead of SQLite's
            # 1,000 pages, which an add of 1,024 documents exceeds
            conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_WAL_PAGES}")
            self._local.writer = True
        now = datetime.now(UTC).isoformat(timespec="seconds")
        results: dict[str, AddResult] | None = None
        conn.execute("BEGIN IMMEDIATE")
        try:
            taken = {
                t
                for (t,) in select_in(
                    conn, "SELECT id FROM docs WHERE id IN ({})", [r for r, _, _ in prep.items]
                )
            }
            if taken and not skip_existing:
                first = next(r for r, _, _ in prep.items if r in taken)
                raise DuplicateIdError(
                    f"id '{first}' is already in the index",
                    field="id",
                    remedy="use a new id, remove the old document first, or skip stored ids"
                    " (--skip-existing)",
                )
            if taken:  # stored by another writer since the batch was checked
                rest = [item for item in prep.items if item[0] not in taken]
                if not rest:
                    conn.execute("COMMIT")
                    return {}
                prep = self._prepare(rest)
            same, pairs, stored = self._candidates(conn, prep)
            next_n = int(conn.execute("SELECT value FROM meta WHERE key = 'next_n'").fetchone()[0])
            decisions, rows = plan_add(
                prep,
                {prep.exact[k]: hits[0] for k, hits in same.items()},
                pairs,
                stored,
                self.config.threshold,
                add_duplicates,
                next_n,
            )
            conn.executemany(
                "INSERT INTO docs (n, id, text, meta, exact, signature, shingles, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        n,
                        prep.items[k][0],
                        prep.items[k][1],
                        prep.meta_json[k],
                        prep.exact[k],
                        prep.signatures[k],
                        prep.set_bytes[k],
                        now,
                    )
                    for n, k in rows
                ],
            )
            if rows:
                number = np.zeros(len(prep.items), dtype=np.int64)  # 0: not stored
                ns, ks = np.array(rows, dtype=np.int64).T
                number[ks] = ns
                at = number[prep.key_docs]
                kept = at > 0
                self._bands.append(conn, prep.keys[kept], at[kept], presorted=True)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'next_n'", (str(next_n + len(rows)),)
            )
            stored_ks = {k for _, k in rows}
            results = {
                rid: AddResult(rid, "new")
                if d is None
                else AddResult(rid, "duplicate", d.id, d.similarity, d.reason, added=k in stored_ks)
                for k, ((rid, _, _), d) in enumerate(zip(prep.items, decisions, strict=True))
            }
            conn.execute("COMMIT")
        except KeyboardInterrupt as exc:
            if results is not None and not conn.in_transaction:  # raised once COMMIT returned
                raise _Committed(results) from exc
            self._roll_back(conn)
            raise
        except BaseException:
            self._roll_back(conn)
            raise
        return results

    def _roll_back(self, conn: Any) -> None:
        """Undo this thread's open transaction after a failure. SQLite may have rolled back
        already (I/O error, full disk); a connection that cannot roll back is closed (which
        discards the transaction) and replaced on next use."""
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            with self._all_lock:
                self._all = [c for c in self._all if c is not conn]
            self._local.conn, self._local.writer = None, False
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def query(self, texts: Iterable[str], *, limit: int = 10) -> list[list[QueryMatch]]:
        """Stored documents that each text duplicates (verified), best first: exact copies,
        then near duplicates by similarity, ties to the earlier document. Changes nothing."""
        batch = list(texts)
        for k, t in enumerate(batch):
            if not isinstance(t, str):
                raise RecordTypeError(
                    f"query {k} is a {type(t).__name__}", remedy="send texts as strings"
                )
        if not batch:
            return []
        prep = prepare([(str(k), t, {}) for k, t in enumerate(batch)], self._params, self.lsh, None)
        conn = self._conn()
        conn.execute("BEGIN")  # one snapshot: runs, blocks and documents agree
        try:
            same, (pk, pn), stored = self._candidates(conn, prep)
        finally:
            conn.execute("COMMIT")
        sims = verify(prep, (pk, pn), stored)
        near: dict[int, list[tuple[int, float]]] = {}
        for k, n, s in zip(pk.tolist(), pn.tolist(), sims.tolist(), strict=True):
            if s >= self.config.threshold:
                near.setdefault(k, []).append((n, s))
        out: list[list[QueryMatch]] = []
        for k in range(len(batch)):
            if prep.offsets[k + 1] == prep.offsets[k]:  # empty: never a duplicate, as in dedup
                out.append([])
                continue
            exact = same.get(k, [])
            found = {n: (1.0, QueryMatch(rid, 1.0, "exact")) for n, rid in exact}
            for n, s in near.get(k, ()):
                if n not in found:
                    found[n] = (s, QueryMatch(stored[n][0], round(s, 6), "near"))
            ranked = sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))
            out.append([m for _, (_, m) in ranked[:limit]])
        return out

    def get(self, rid: str) -> dict[str, Any] | None:
        """The stored document with this id, or ``None``."""
        row = (
            self._conn()
            .execute("SELECT id, text, meta, added_at FROM docs WHERE id = ?", (str(rid),))
            .fetchone()
        )
        if row is None:
            return None
        return {
            "id": row[0],
            "text": row[1],
            "meta": stored_meta(row[2], row[0]),
            "added_at": row[3],
        }

    def remove(self, ids: Iterable[str]) -> int:
        """Remove documents by id (one transaction); returns how many were there. Their band
        entries are dropped by later merges; lookups skip them at once."""
        with storage_errors(self.path, "remove from"):
            return self._remove(self._conn(), ids)

    def _remove(self, conn: Any, ids: Iterable[str]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            gone = [
                n
                for (n,) in select_in(
                    conn, "SELECT n FROM docs WHERE id IN ({})", sorted({str(r) for r in ids})
                )
            ]
            conn.executemany("DELETE FROM docs WHERE n = ?", [(n,) for n in gone])
            self._bands.forget(conn, gone)
            conn.execute("COMMIT")
        except BaseException:
            self._roll_back(conn)
            raise
        return len(gone)

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the index file and empty it (after a bulk add, so the
        file holds everything and the log does not linger at its 64 MiB limit). Returns
        ``False`` when a reader kept part of the log in use; nothing is lost either way."""
        with storage_errors(self.path, "write the log into"):
            busy, _, _ = self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        """Document count, size on disk, band runs and the stored parameters."""
        size = sum(
            p.stat().st_size
            for p in self.path.parent.glob(self.path.name + "*")
            if p.name in (self.path.name, self.path.name + "-wal", self.path.name + "-shm")
        )
        n = len(self)
        return {
            "path": str(self.path),
            "documents": n,
            "bytes_on_disk": size,
            "bytes_per_document": round(size / n, 1) if n else None,
            **self._bands.summary(self._conn()),
            "parameters": parameter_report(self.config, self.lsh),
        }
