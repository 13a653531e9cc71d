"""The persistent index when the disk or the user gets in the way: missing folders, a full or
read-only disk, an interrupted add and resuming it with ``--skip-existing``."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup.index import Index, store
from neardup.index import core as index_core


def _article(seed: int, n: int = 5) -> str:
    rng = np.random.default_rng(seed)
    return "\n\n".join(
        " ".join(f"i{seed}x{p}x{int(k)}" for k in rng.integers(0, 10**6, size=40)) + "."
        for p in range(n)
    )


def _corpus(path: Path, count: int, distinct: int = 150) -> list[dict[str, str]]:
    """``count`` documents of ``distinct`` articles: exact and near duplicates spread over the
    whole corpus."""
    docs = []
    for k in range(count):
        text = _article(k % distinct)
        if k % 3 == 1:
            text += f"\n\nA closing line from site {k}."
        docs.append({"id": f"d{k}", "text": text})
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return docs


def _rows(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT n, id FROM docs ORDER BY n").fetchall()
    finally:
        conn.close()


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def disk_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Connections the index opens get ``PRAGMA max_page_count`` = their file's pages plus
    ``room["pages"]`` (SQLite then fails writes with SQLITE_FULL, as on a full disk); no limit
    while ``room["pages"]`` is ``None``."""
    room: dict[str, int | None] = {"pages": None}
    real = store.connect

    def limited(path: Path) -> sqlite3.Connection:
        conn = real(path)
        if room["pages"] is not None:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages + room['pages']}")
        return conn

    monkeypatch.setattr(index_core, "connect", limited)
    yield room  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# index create: folders
# ---------------------------------------------------------------------------------------------
def test_create_makes_missing_parent_folders(tmp_path: Path, cli) -> None:
    db = tmp_path / "new" / "deeper" / "i.db"
    code, out, err = cli("index", "create", db)
    assert (code, err) == (0, "")
    assert out.startswith(f"created {db}: threshold 0.8")
    assert sorted(x.name for x in db.parent.iterdir()) == ["i.db"]
    with Index.open(db) as idx:
        assert len(idx) == 0


def test_create_where_the_folder_cannot_be_made_is_an_output_error(tmp_path: Path, cli) -> None:
    (tmp_path / "file").write_text("in the way", encoding="utf-8")
    db = tmp_path / "file" / "i.db"
    code, out, err = cli("index", "create", db)
    assert (code, out) == (4, "")
    assert err.splitlines() == [
        f"neardup: error: cannot create the folder {db.parent} for index {db}: File exists",
        "  -> choose a path in a writable location",
    ]


# ---------------------------------------------------------------------------------------------
# a full disk (SQLITE_FULL, injected through max_page_count)
# ---------------------------------------------------------------------------------------------
def test_create_on_a_full_disk_is_an_output_error_and_leaves_nothing(
    tmp_path: Path, disk_of: dict[str, int], cli
) -> None:
    disk_of["pages"] = 1
    db = tmp_path / "i.db"
    code, out, err = cli("index", "create", db)
    assert (code, out) == (4, "")
    assert err.splitlines()[0] == f"neardup: error: cannot create index {db}: the disk is full"
    assert err.splitlines()[1].startswith(f"  -> free space on the disk that holds {tmp_path}")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_rolls_the_add_back(tmp_path: Path, disk_of: dict[str, int]) -> None:
    db = tmp_path / "i.db"
    first = [(f"a{k}", _article(100 + k)) for k in range(5)]
    batch = [(f"b{k}", _article(200 + k)) for k in range(60)]
    with Index.create(db) as idx:
        idx.add(first)
    disk_of["pages"] = 8
    with Index.open(db) as idx:
        with pytest.raises(neardup.OutputError) as caught:
            idx.add(batch)
        assert caught.value.message == f"cannot add to index {db}: the disk is full"
        assert caught.value.exit_code == 4
        assert len(idx) == 5  # nothing of the failed batch
        assert [m.id for m in idx.query([_article(102)])[0]] == ["a2"]
    assert _integrity(db) == "ok"
    disk_of["pages"] = None
    with Index.open(db) as idx:  # the same batch goes in once there is room
        assert [r.status for r in idx.add(batch)] == ["new"] * 60
        assert len(idx) == 65
    assert _rows(db) == [(k + 1, f"a{k}") for k in range(5)] + [(k + 6, f"b{k}") for k in range(60)]


def test_a_full_disk_mid_index_add_says_what_was_committed(
    tmp_path: Path, disk_of: dict[str, int], cli
) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 400)
    db, once = tmp_path / "i.db", tmp_path / "once.db"
    assert cli("index", "create", db)[0] == 0
    assert cli("index", "create", once)[0] == 0
    assert cli("index", "add", once, corpus, "--batch-size", "8")[0] == 0
    disk_of["pages"] = 60
    code, out, err = cli("index", "add", db, corpus, "--batch-size", "8")
    disk_of["pages"] = None
    assert code == 4
    committed = len(_rows(db))
    assert 0 < committed < len(_rows(once))
    assert err.splitlines() == [
        f"neardup: error: cannot add to index {db}: the disk is full; {committed:,} documents "
        "of this add were committed before (batches are atomic)",
        f"  -> free space on the disk that holds {tmp_path} (a write needs room for the index's "
        "log beside it, up to 64 MiB), or move the index to a larger disk; then re-run with "
        "--skip-existing to add the rest",
    ]
    assert _integrity(db) == "ok"
    code, out, err = cli("index", "add", db, corpus, "--batch-size", "8", "--skip-existing")
    assert code == 0
    assert out.count("(already stored)") == committed
    assert _rows(db) == _rows(once)  # as if added once, without the failure


# ---------------------------------------------------------------------------------------------
# a read-only database or disk
# ---------------------------------------------------------------------------------------------
def test_a_read_only_database_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 20)
    db = tmp_path / "i.db"
    Index.create(db).close()
    real = store.connect

    def read_only(path: Path) -> sqlite3.Connection:
        real(path).close()  # the log files exist, as with a server holding the index open
        return sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )

    monkeypatch.setattr(index_core, "connect", read_only)
    code, out, err = cli("index", "add", db, corpus)
    assert (code, out) == (4, "")
    assert err.splitlines()[0] == (
        f"neardup: error: cannot add to index {db}: attempt to write a readonly database"
    )
    assert err.splitlines()[1].startswith(f"  -> make {tmp_path} and the index writable")
    monkeypatch.undo()
    assert _rows(db) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (needs root and permission to mount; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        )
    except OSError as exc:  # no mount command
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_tmpfs(small_disk: Path, tmp_path: Path, cli) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 2000, distinct=2000)
    db = small_disk / "i.db"
    assert cli("index", "create", db)[0] == 0
    code, _, err = cli("index", "add", db, corpus, "--batch-size", "16")
    assert code == 4
    lines = err.splitlines()
    assert lines[0].startswith(f"neardup: error: cannot add to index {db}: the disk is full; ")
    assert lines[0].endswith(
        f"{len(_rows(db)):,} documents of this add were committed before (batches are atomic)"
    )
    assert _integrity(db) == "ok"


def test_a_read_only_tmpfs(small_disk: Path, tmp_path: Path, cli) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 20)
    db = small_disk / "i.db"
    assert cli("index", "create", db)[0] == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, _, err = cli("index", "add", db, corpus)
    assert code == 4
    assert err.splitlines()[0] == (
        f"neardup: error: cannot open index {db}: the file system holding {small_disk} is read-only"
    )
    code, _, err = cli("index", "create", small_disk / "j.db")
    assert code == 4
    assert err.splitlines()[0] == (
        f"neardup: error: cannot create index {small_disk / 'j.db'}: the file system holding "
        f"{small_disk} is read-only"
    )


# ---------------------------------------------------------------------------------------------
# an interrupted add, and resuming it
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_add_says_what_it_committed(tmp_path: Path, sig: signal.Signals) -> None:
    corpus = tmp_path / "c.jsonl"
    rng = np.random.default_rng(5)
    with corpus.open("w", encoding="utf-8") as fh:
        for k in range(40_000):
            words = " ".join(f"w{int(x)}" for x in rng.integers(0, 10**6, 30))
            fh.write(json.dumps({"id": f"d{k}", "text": words}) + "\n")
    db = tmp_path / "i.db"
    Index.create(db).close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "neardup.cli", "index", "add", db, corpus, "--batch-size", "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not _rows(db):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the add did not start committing (exit {proc.returncode})")
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    committed = len(_rows(db))
    assert proc.returncode == 130
    assert 0 < committed < 40_000
    assert err.decode().strip() == (
        f"neardup: interrupted after committing {committed:,} documents to {db} (batches are "
        "atomic); re-run with --skip-existing to add the rest"
    )
    assert _integrity(db) == "ok"


def test_skip_existing_resumes_as_one_uninterrupted_add(tmp_path: Path) -> None:
    corpus, half = tmp_path / "all.jsonl", tmp_path / "half.jsonl"
    docs = _corpus(corpus, 50, distinct=11)
    half.write_text("".join(json.dumps(d) + "\n" for d in docs[:23]), encoding="utf-8")
    cfg = neardup.DedupConfig(batch_size=16)
    with Index.create(tmp_path / "once.db") as once:
        whole = neardup.index_add(once, corpus, config=cfg)
    with Index.create(tmp_path / "twice.db") as twice:
        first = neardup.index_add(twice, half, config=cfg)
        rest = neardup.index_add(twice, corpus, config=cfg, skip_existing=True)
    assert first["results"] == whole["results"][:23]
    stored_first = [r["id"] for r in first["results"] if r["added"]]
    skipped = [r["id"] for r in rest["results"] if r["status"] == "skipped"]
    assert skipped == stored_first
    assert [r for r in rest["results"] if r["status"] != "skipped"] == [
        r for r in whole["results"] if r["id"] not in set(stored_first)
    ]
    assert (rest["documents"], rest["skipped"], rest["stored"]) == (
        50,
        len(stored_first),
        whole["stored"] - len(stored_first),
    )
    assert rest["index"]["documents"] == whole["index"]["documents"]
    assert _rows(tmp_path / "twice.db") == _rows(tmp_path / "once.db")


def test_skip_existing_in_one_add_and_on_the_command_line(tmp_path: Path, cli) -> None:
    db = tmp_path / "i.db"
    with Index.create(db) as idx:
        idx.add([("a", _article(1))])
        with pytest.raises(neardup.DuplicateIdError, match="'a' is already in the index"):
            idx.add([("b", _article(2)), ("a", _article(3))])
        got = idx.add([("b", _article(2)), ("a", _article(3))], skip_existing=True)
        assert [r.to_dict() for r in got] == [
            {
                "id": "b",
                "status": "new",
                "kept_id": None,
                "similarity": None,
                "reason": None,
                "added": True,
            },
            {
                "id": "a",
                "status": "skipped",
                "kept_id": None,
                "similarity": None,
                "reason": None,
                "added": False,
            },
        ]
        assert idx.get("a")["text"] == _article(1)  # the stored document is left as it was
        assert idx.add([], skip_existing=True) == idx.add([]) == []
        assert idx.add([("a", "x"), ("b", "y")], skip_existing=True) == [
            neardup.AddResult("a", "skipped", added=False),
            neardup.AddResult("b", "skipped", added=False),
        ]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": i, "text": t}) + "\n"
            for i, t in [("a", _article(1)), ("c", _article(4)), ("d", _article(4))]
        ),
        encoding="utf-8",
    )
    code, out, err = cli("index", "add", db, corpus, "--skip-existing", "-o", tmp_path / "out")
    assert code == 0
    assert out.splitlines() == [
        "skipped    a  (already stored)",
        "new        c",
        "duplicate  d  of c  exact, J=1.000",
    ]
    assert err.startswith(
        "neardup: 3 documents → 1 new, 1 duplicates, 1 skipped (already stored) · index holds 3"
    )
    kept = (tmp_path / "out" / "kept.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in kept] == ["c"]


@pytest.mark.parametrize(("before", "committed"), [(0, 0), (10, 8)])
def test_an_interrupt_while_reading_inputs_counts_whole_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: int, committed: int
) -> None:
    from neardup.api import ingest

    def interrupted(_inputs: object, _cfg: object) -> Iterator[dict[str, str]]:
        for k in range(before):
            yield {"id": f"d{k}", "text": _article(k)}
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "iter_documents", interrupted)
    db, out = tmp_path / "i.db", tmp_path / "out"
    with Index.create(db) as idx:
        with pytest.raises(ingest.IndexAddInterrupted) as caught:
            neardup.index_add(idx, "x.jsonl", config=neardup.DedupConfig(batch_size=4), output=out)
        assert len(idx) == committed
    assert caught.value.committed == committed
    assert str(caught.value) == (
        (
            f"interrupted after committing {committed} documents to {db} (batches are atomic); "
            "re-run with --skip-existing to add the rest"
            if committed
            else f"interrupted; no documents were added to {db}"
        )
        + f"; nothing was written to {out}"
    )
    assert not (out / "kept.jsonl").exists()
