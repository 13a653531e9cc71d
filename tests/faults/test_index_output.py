"""``index add --output`` commits its results as ``dedup`` does: the folder is locked for the add,
a kill at any step leaves either no ``stats.json`` or one that describes exactly the files beside
it, and inputs inside the folder are refused."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import planted, read_records, write_jsonl
from test_commit import finish, hidden, neardup, visible

from neardup.api import ingest
from neardup.index import Index
from neardup.io import commit

# the steps an add passes through (it writes no clusters.jsonl)
STEPS = tuple(s for s in commit.STEPS if s != "renamed-clusters")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return planted(7, bases=40)


@pytest.fixture
def src(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", records)


@pytest.fixture
def ids(records: list[dict[str, Any]]) -> list[str]:
    return sorted(r["id"] for r in records)


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]) -> Path:
    """A complete earlier ``dedup`` result in the folder: Parquet, with clusters.jsonl."""
    base = tmp_path_factory.mktemp("previous")
    src = write_jsonl(base / "in.jsonl", records)
    out = base / "out"
    code, _, err = finish(neardup("dedup", src, "-o", out, "--output-format", "parquet"))
    assert code == 0, err
    return out


def new_index(path: Path) -> Path:
    Index.create(path).close()
    return path


def stored(db: Path) -> int:
    with Index.open(db) as idx:
        return len(idx)


def check_invariant(out: Path, ids: list[str]) -> str:
    """Either no ``stats.json`` ("none"), the earlier dedup result ("dedup") or the add's result
    ("add"): ``stats.json`` lists exactly the files beside it, whose records it counts, with every
    input id once across kept and removed."""
    if not (out / "stats.json").exists():
        return "none"
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    outputs = stats["outputs"]
    assert visible(out) == sorted(Path(p).name for p in outputs.values())
    kept = read_records(Path(outputs["kept"]))
    removed = read_records(Path(outputs["removed"]))
    assert sorted(str(r["id"]) for r in kept + removed) == ids
    if "index" not in stats:
        assert (len(kept), len(removed)) == (stats["kept"], stats["removed"])
        return "dedup"
    assert (len(kept), len(removed)) == (stats["new"], stats["duplicates"])
    assert visible(out) == ["kept.jsonl", "removed.jsonl", "stats.json"]
    return "add"


# -- kill -9 at every step of the commit ------------------------------------------------------
@pytest.mark.parametrize("step", STEPS)
def test_index_add_killed_at_each_commit_step(tmp_path, src, ids, previous, step) -> None:
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    assert check_invariant(out, ids) == "dedup"
    db = new_index(tmp_path / "i.db")
    proc = neardup(
        "index", "add", db, src, "-o", out, env={"NEARDUP_FAULT_POINT": f"commit:{step}"}
    )
    code, _, err = finish(proc)
    assert code == -signal.SIGKILL, err  # the add really died at that step

    held = check_invariant(out, ids)
    if step in ("start", "before-commit"):
        assert held == "dedup"  # the earlier result, untouched
    elif step == "committed":
        assert held == "add"
    else:
        assert held == "none"
    assert (stored(db) == 0) == (step == "start")  # from "before-commit" on, the add is done
    temporary = {
        "before-commit": ["kept.jsonl", "removed.jsonl"],
        "marker-removed": ["kept.jsonl", "removed.jsonl"],
        "before-rename": ["kept.jsonl", "removed.jsonl"],
        "renamed-kept": ["removed.jsonl"],
        "marker-written": ["stats.json"],
    }.get(step, [])
    left = [f".{name}.tmp-{proc.pid}" for name in temporary]
    assert hidden(out) == sorted([".neardup.lock", *left])

    # the next add clears what the dead one left, says so, and commits a complete result
    code, _, err = finish(neardup("index", "add", new_index(tmp_path / "j.db"), src, "-o", out))
    assert code == 0, err
    assert (f"left in {out} by runs that did not finish" in err) == bool(left)
    assert hidden(out) == []
    assert check_invariant(out, ids) == "add"


# -- two runs into one folder -----------------------------------------------------------------
def test_second_index_add_into_a_locked_folder_is_refused(tmp_path, src, ids, cli) -> None:
    out = tmp_path / "out"
    first_db, second_db = new_index(tmp_path / "a.db"), new_index(tmp_path / "b.db")
    first = neardup(
        "index",
        "add",
        first_db,
        src,
        "-o",
        out,
        env={"NEARDUP_FAULT_POINT": "commit:before-commit:sleep=60"},
    )
    try:
        deadline = time.monotonic() + 60
        while not out.exists() or not any(
            p.name.startswith(".removed.jsonl.tmp-") for p in out.iterdir()
        ):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first add did not start writing"
            time.sleep(0.05)
        holder = json.loads((out / ".neardup.lock").read_text(encoding="utf-8"))
        assert (holder["pid"], holder["host"]) == (first.pid, socket.gethostname())
        assert "index add" in holder["command"]

        refused = (
            f"neardup: error: output folder {out} is in use by another neardup run (pid "
            f"{first.pid} on {holder['host']}, since {holder['started']}: {holder['command']})\n"
            "  -> wait for that run to finish, or choose another --output folder\n"
        )
        assert cli("index", "add", second_db, src, "-o", out) == (4, "", refused)
        assert stored(second_db) == 0  # refused before anything was added
        assert cli("dedup", src, "-o", out, "--no-progress") == (4, "", refused)
        assert visible(out) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            first.send_signal(signal.SIGKILL)
        first.communicate()

    # the killed holder does not block; its temporary files are cleared
    code, _, err = cli("index", "add", second_db, src, "-o", out)
    assert code == 0, err
    assert "neardup: removed 2 temporary files (" in err
    assert hidden(out) == []
    assert check_invariant(out, ids) == "add"


# -- inputs inside the output folder ----------------------------------------------------------
def test_index_add_of_an_input_inside_the_output_folder_is_refused(tmp_path, src, cli) -> None:
    out = tmp_path / "out"
    assert cli("index", "add", new_index(tmp_path / "a.db"), src, "-o", out)[0] == 0
    kept = out / "kept.jsonl"
    before = kept.read_bytes()
    db = new_index(tmp_path / "b.db")
    assert cli("index", "add", db, kept, "-o", out) == (
        2,
        "",
        f"neardup: error: input {kept} is inside the output folder {out}; the run would "
        "overwrite or remove what it reads\n"
        "  -> choose another --output folder, or move the input out of it first\n",
    )
    assert stored(db) == 0
    assert kept.read_bytes() == before


def test_index_add_does_not_read_its_results_back_from_an_input_folder(tmp_path, cli) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_jsonl(docs / "a.jsonl", [{"id": "a", "text": "some words in a row here"}])
    out = docs / "out"
    assert cli("index", "add", new_index(tmp_path / "a.db"), docs, "-o", out)[0] == 0
    db = new_index(tmp_path / "b.db")
    code, _, err = cli("index", "add", db, docs, "-o", out)
    assert code == 2
    assert err.startswith(f"neardup: error: input {out / 'kept.jsonl'} is inside the output ")
    assert stored(db) == 0


# -- what an interrupt or a failure during the commit says -----------------------------------
def test_an_interrupt_during_the_commit_says_the_add_finished(
    tmp_path, src, ids, cli, capsys, monkeypatch
) -> None:
    real = ingest.write_marker

    def interrupted(folder: Path, stats: dict[str, Any]) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # held until the commit is done
        real(folder, stats)

    monkeypatch.setattr(ingest, "write_marker", interrupted)
    db, out = new_index(tmp_path / "i.db"), tmp_path / "out"
    with pytest.raises(SystemExit) as caught:
        cli("index", "add", db, src, "-o", out)
    assert caught.value.code == 130
    n = stored(db)
    assert capsys.readouterr().err == (
        f"\nneardup: interrupted after the add finished: {n:,} documents were added to {db} and "
        f"the results were written to {out}\n"
    )
    assert check_invariant(out, ids) == "add"


def test_a_full_disk_at_stats_json_says_the_add_finished(tmp_path, src, cli, monkeypatch) -> None:
    def full(folder: Path, _stats: dict[str, Any]) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "stats.json"))

    monkeypatch.setattr(ingest, "write_marker", full)
    db, out = new_index(tmp_path / "i.db"), tmp_path / "out"
    code, _, err = cli("index", "add", db, src, "-o", out)
    assert code == 4
    first, second = err.splitlines()
    assert first == (
        f"neardup: error: cannot write {out / 'stats.json'}: {os.strerror(errno.ENOSPC)}; the "
        f"add itself finished: {stored(db):,} documents were added to {db}"
    )
    assert second.startswith("  -> ")
    assert second.endswith(f" ({out} holds no complete result now: its stats.json was removed)")
    assert visible(out) == ["kept.jsonl", "removed.jsonl"]
