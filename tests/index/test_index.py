"""The persistent index: answers, transactions, crash consistency, concurrent readers, CLI."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup.candidates.lsh import band_keys
from neardup.index import Index
from neardup.pipeline import fingerprint_texts

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


def _article(seed: int, n: int = 5) -> str:
    rng = np.random.default_rng(seed)
    return "\n\n".join(
        " ".join(f"i{seed}x{p}x{int(k)}" for k in rng.integers(0, 10**6, size=40)) + "."
        for p in range(n)
    )


def test_create_open_and_stored_parameters(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Index.create(path, threshold=0.7, num_perm=64).close()
    with Index.open(path) as idx:
        assert idx.config.threshold == 0.7
        assert idx.config.num_perm == 64
        assert (idx.config.bands, idx.config.rows) == (idx.lsh.bands, idx.lsh.rows)
        assert idx.stats()["documents"] == 0
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.db"]  # nothing left beside it
    with pytest.raises(neardup.ConfigError, match="already exists"):
        Index.create(path)
    with pytest.raises(neardup.InputError, match="no such index"):
        Index.open(tmp_path / "missing.db")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(neardup.InputError, match="not a neardup index"):
        Index.open(tmp_path / "junk.db")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds absent")
def test_seed_pair(tmp_path: Path) -> None:
    with Index.create(tmp_path / "s.db") as idx:
        idx.add([("000", (SEEDS / "000_4e97f072294f02cf.txt").read_text(encoding="utf-8"))])
        [matches] = idx.query([(SEEDS / "001_0c9642bc1d2a5f0b.txt").read_text(encoding="utf-8")])
    assert [m.id for m in matches] == ["000"]
    assert 0.96 <= matches[0].similarity <= 0.98
    assert matches[0].reason == "near"


def test_add_reports_and_stores(tmp_path: Path) -> None:
    a, b = _article(1), _article(2)
    near = a + "\n\nA closing line added by the second site."
    with Index.create(tmp_path / "x.db") as idx:
        first = idx.add([("a", a), {"id": "b", "text": b, "source": "wire"}])
        assert [r.status for r in first] == ["new", "new"]
        again = idx.add([("a2", a.upper()), ("n", near), ("c", _article(3)), ("c2", _article(3))])
        assert [(r.status, r.kept_id, r.reason) for r in again] == [
            ("duplicate", "a", "exact"),
            ("duplicate", "a", "near"),
            ("new", None, None),
            ("duplicate", "c", "exact"),  # earlier in the same call counts
        ]
        assert 0.8 <= again[1].similarity < 1.0
        assert len(idx) == 3
        assert idx.get("b") == {
            "id": "b",
            "text": b,
            "meta": {"source": "wire"},
            "added_at": idx.get("b")["added_at"],
        }
        kept = idx.add([("a3", a)], add_duplicates=True)
        assert kept[0].status == "duplicate" and kept[0].added
        assert len(idx) == 4
        with pytest.raises(neardup.DuplicateIdError, match="'b' is already"):
            idx.add([("d", _article(4)), ("b", _article(5))])
        assert idx.get("d") is None  # the whole call was rolled back
        assert idx.remove(["a", "a3", "nope"]) == 2
        assert idx.query([a, near]) == [[], []]  # its duplicates were reported, not stored
        assert [m.id for m in idx.query([_article(3)])[0]] == ["c"]
        assert idx.query(["", "   "]) == [[], []]


def test_crash_mid_add_leaves_a_consistent_index(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    Index.create(path).close()
    script = textwrap.dedent(
        f"""
        import numpy as np
        from neardup.index import Index
        idx = Index.open({str(path)!r})
        k = 0
        print("ready", flush=True)
        while True:
            batch = []
            for _ in range(200):
                rng = np.random.default_rng(k)
                words = rng.integers(0, 10**9, 300)
                batch.append((f"d{{k}}", " ".join(f"w{{int(x)}}" for x in words)))
                k += 1
            idx.add(batch)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    time.sleep(3.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    with Index.open(path) as idx:
        n = len(idx)
        bands = idx.lsh.bands
    assert n > 0 and n % 200 == 0  # only whole transactions survive
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = conn.execute(
        "SELECT length(exact), length(signature), length(shingles), length(text) FROM docs"
    )
    assert all(ex == 16 and sig == 4 * 128 and sh > 0 and t > 0 for ex, sig, sh, t in rows)
    runs = conn.execute("SELECT COALESCE(SUM(entries), 0) FROM band_runs").fetchone()[0]
    blocks = conn.execute("SELECT COALESCE(SUM(length(keys)), 0) / 8 FROM band_blocks")
    # one key per band and one for the exact hash; no run without its blocks, or the reverse
    assert runs == blocks.fetchone()[0] == n * (bands + 1)
    assert conn.execute("SELECT value FROM meta WHERE key = 'next_n'").fetchone() == (str(n + 1),)
    texts = [t for (t,) in conn.execute("SELECT text FROM docs ORDER BY n")]
    ids = [r for (r,) in conn.execute("SELECT id FROM docs ORDER BY n")]
    conn.close()
    with Index.open(path) as idx:  # every stored document is found through its band entries
        hits = idx.query([t + " one more word" for t in texts], limit=1)
    assert [(h[0].id, h[0].reason) for h in hits] == [(r, "near") for r in ids]


def test_readers_keep_working_during_writes(tmp_path: Path) -> None:
    path = tmp_path / "rw.db"
    Index.create(path).close()
    writer, reader = Index.open(path), Index.open(path)
    reader.add([("probe", _article(99))])
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for k in range(20):
                writer.add([(f"w{k}x{j}", _article(1000 + 50 * k + j)) for j in range(50)])
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    reads = 0
    while not done.is_set():
        assert reader.query([_article(99)])[0][0].id == "probe"
        reads += 1
    thread.join()
    assert not errors
    assert reads > 5
    assert len(reader) == 1001


def test_cli(tmp_path: Path, cli) -> None:
    db = tmp_path / "cli.db"
    corpus = tmp_path / "c.jsonl"
    docs = [{"id": f"d{k}", "text": _article(k)} for k in range(3)]
    docs.append({"id": "copy", "text": _article(1), "source": "mirror"})
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    assert cli("index", "create", db, "--threshold", "0.75")[0] == 0
    code, out, _ = cli("index", "add", db, corpus, "-o", tmp_path / "out")
    assert code == 0
    assert "duplicate  copy  of d1  exact, J=1.000" in out
    removed = [json.loads(x) for x in (tmp_path / "out" / "removed.jsonl").read_text().splitlines()]
    assert removed[0]["id"] == "copy" and removed[0]["kept_id"] == "d1"
    assert removed[0]["source"] == "mirror"
    code, out, _ = cli("index", "query", db, "--text", _article(2), "--json")
    assert json.loads(out)[0]["matches"][0]["id"] == "d2"
    code, out, _ = cli("index", "stats", db)
    stats = json.loads(out)
    assert stats["documents"] == 3 and stats["parameters"]["threshold"] == 0.75
    assert cli("index", "remove", db, "d2")[1].strip() == "removed 1 of 1"
    code, _, err = cli("index", "add", db, corpus)
    assert code == 3 and "'d0' is already in the index" in err
    code, _, err = cli("index", "query", tmp_path / "none.db", "--text", "x")
    assert code == 3 and "no such index" in err


def test_explain_two_ids_in_an_index(tmp_path: Path, cli) -> None:
    db = tmp_path / "e.db"
    with Index.create(db, threshold=0.7) as idx:
        base = _article(7)
        idx.add([("x", base), ("y", base + "\n\nOne more closing line.")], add_duplicates=True)
    code, out, err = cli("explain", "x", "y", "--index", db, "--json")
    assert code == 0, err
    exp = json.loads(out)
    assert exp["parameters"]["threshold"] == 0.7
    assert exp["verdict"] == "near duplicate"
    [block] = exp["diff"]
    assert block["kind"] == "only_in_b" and block["b"][0]["text"] == "One more closing line."
    code, _, err = cli("explain", "x", "zzz", "--index", db)
    assert code == 3 and "'zzz'" in err


def test_ties_go_to_the_earlier_document_and_numbers_are_never_reused(tmp_path: Path) -> None:
    base = _article(11)
    with Index.create(tmp_path / "t.db", threshold=0.7) as idx:
        # x and y differ from base by one final word each: J(base, x) == J(base, y)
        first = idx.add([("x", base + " xylophone"), ("y", base + " yodel")], add_duplicates=True)
        assert first[1].kept_id == "x" and first[1].added
        [res] = idx.add([("q", base)])
        assert (res.status, res.kept_id, res.reason) == ("duplicate", "x", "near")
        [matches] = idx.query([base])
        assert [m.id for m in matches] == ["x", "y"]
        assert matches[0].similarity == matches[1].similarity
        assert idx.remove(["y"]) == 1
        idx.add([("z", _article(12))])
        conn = sqlite3.connect(idx.path)
        assert conn.execute("SELECT id, n FROM docs ORDER BY n").fetchall() == [("x", 1), ("z", 3)]
        conn.close()
        idx.add([("y", base + " yodel")], add_duplicates=True)  # a removed id may come back
        assert [m.id for m in idx.query([base])[0]] == ["x", "y"]


def test_add_many_is_add_batch_by_batch(tmp_path: Path) -> None:
    docs = [(f"d{k}", _article(k % 7)) for k in range(40)]
    with Index.create(tmp_path / "a.db") as one, Index.create(tmp_path / "b.db") as many:
        expected = [one.add(docs[k : k + 6]) for k in range(0, 40, 6)]
        got = list(many.add_many(docs[k : k + 6] for k in range(0, 40, 6)))
        assert got == expected
        assert [r.status for batch in got for r in batch].count("new") == 7
        bad = [[("e1", _article(50))], [("e2", _article(51))], [("e3", 42)], [("e4", "x")]]
        with pytest.raises(neardup.RecordTypeError, match="document 'e3' has a int as text"):
            for _ in many.add_many(bad):
                pass
        assert (many.get("e2") is not None, many.get("e4")) == (True, None)


def test_a_schema_1_index_is_upgraded_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    docs = [(f"d{k}", _article(k)) for k in range(30)] + [("blank", "  ")]
    with Index.create(path) as idx:
        idx.add(docs)
        sigs = fingerprint_texts([t for _, t in docs[:30]], idx._params)[1]
        bands = idx.lsh.bands
        band = band_keys(sigs, np.arange(30), bands, idx.lsh.rows).view(np.int64)
    # the same documents in the schema-1 layout: a (key, n) B-tree of band keys only, an index
    # of exact hashes, no document counter
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        """
        DROP TABLE band_runs; DROP TABLE band_blocks; DROP TABLE band_deleted;
        DELETE FROM meta WHERE key = 'next_n';
        UPDATE meta SET value = '1' WHERE key = 'schema_version';
        CREATE TABLE bands (key INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (key, n)) WITHOUT ROWID;
        CREATE INDEX docs_exact ON docs (exact);
        """
    )
    band_rows = [(int(band[b, k]), k + 1) for k in range(30) for b in range(bands)]
    conn.executemany("INSERT INTO bands VALUES (?, ?)", band_rows)
    conn.close()
    with Index.open(path) as idx:
        assert idx.stats()["band_entries"] == 30 * (bands + 1)
        [res] = idx.add([("new", _article(3) + " and a last word")])
        assert (res.status, res.kept_id, res.reason) == ("duplicate", "d3", "near")
        [res] = idx.add([("copy", _article(4).upper())])
        assert (res.status, res.kept_id, res.reason) == ("duplicate", "d4", "exact")
        idx.add([("d31", _article(31))])
    conn = sqlite3.connect(path)
    tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "bands" not in tables and "docs_exact" not in tables and "band_runs" in tables
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    assert conn.execute("SELECT MAX(n) FROM docs").fetchone() == (32,)
    conn.close()


def test_index_add_of_files_folds_the_log_into_the_file(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    docs = [{"id": f"d{k}", "text": _article(k % 9)} for k in range(40)]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    with Index.create(tmp_path / "f.db") as idx:
        summary = neardup.index_add(
            idx, corpus, config=neardup.DedupConfig(batch_size=16), output=tmp_path / "out"
        )
        assert (summary["new"], summary["duplicates"]) == (9, 31)
        wal = tmp_path / "f.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0
    kept = [json.loads(x)["id"] for x in (tmp_path / "out" / "kept.jsonl").read_text().splitlines()]
    assert kept == [f"d{k}" for k in range(9)]
