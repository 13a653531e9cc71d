"""Nothing lost, nothing mixed: a run killed, out of disk space or refused at any step leaves
either no ``stats.json`` or a ``stats.json`` that describes exactly the files beside it.

Runs are started as a user would start them (``python -m neardup.cli`` in a subprocess) when
the process is killed, and in-process when a fault is injected."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import planted, read_records, write_jsonl

from neardup.io import commit

HIDDEN_RESULTS_OF_A_RUN = (".neardup-work-", ".kept.", ".removed.", ".clusters.", ".stats.")


# -- helpers ----------------------------------------------------------------------------------
def neardup(*args: Any, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen:
    """``neardup ARGS`` in a subprocess, as a user runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "neardup.cli", *map(str, args)],
        env={**os.environ, "NEARDUP_FAULT_POINT": "", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def visible(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if not p.name.startswith("."))


def hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


def check_invariant(out: Path, ids: list[str]) -> str:
    """Either no ``stats.json``, or one whose counts match the files beside it, with every input
    id exactly once across kept and removed and no result file of another run. Returns which
    of the two held ("none" or the output format)."""
    if not (out / "stats.json").exists():
        return "none"
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    outputs = stats["outputs"]
    assert visible(out) == sorted(Path(p).name for p in outputs.values())
    kept = read_records(Path(outputs["kept"]))
    removed = read_records(Path(outputs["removed"]))
    clusters = read_records(Path(outputs["clusters"]))
    assert (len(kept), len(removed), len(clusters)) == (
        stats["kept"],
        stats["removed"],
        stats["clusters"],
    )
    assert sorted(str(r["id"]) for r in kept + removed) == sorted(ids)
    return stats["parameters"]["output_format"]


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
    """A complete earlier result of the same corpus: Parquet, threshold 0.5 (other counts)."""
    base = tmp_path_factory.mktemp("previous")
    src = write_jsonl(base / "in.jsonl", records)
    out = base / "out"
    code, _, err = finish(
        neardup("dedup", src, "-o", out, "--output-format", "parquet", "--threshold", "0.5")
    )
    assert code == 0, err
    return out


def copy_of(previous: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    return out


def param_format(out: Path) -> str:
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    return stats["parameters"]["output_format"]


# -- (a) kill -9 at every step of the commit ---------------------------------------------------
@pytest.mark.parametrize("step", commit.STEPS)
def test_killed_at_each_commit_step(tmp_path, src, ids, previous, step) -> None:
    out = copy_of(previous, tmp_path)
    assert param_format(out) == "parquet"
    code, _, err = finish(
        neardup(
            "dedup", src, "-o", out, "--no-progress", env={"NEARDUP_FAULT_POINT": f"commit:{step}"}
        )
    )
    assert code == -signal.SIGKILL, err  # the run really died at that step

    held = check_invariant(out, ids)
    before = {"start", "before-commit"}
    after = {"committed"}
    if step in before:
        assert held == "parquet"  # the previous result, untouched
    elif step in after:
        assert held == "jsonl"
    else:
        assert held == "none"

    # the next run clears what the dead one left, says so, and commits a complete result
    code, _, err = finish(neardup("dedup", src, "-o", out, "--no-progress"))
    assert code == 0, err
    leftovers = step != "start"  # from "before-commit" on, the work folder and files exist
    assert ("left in " + str(out) + " by runs that did not finish" in err) == leftovers
    assert hidden(out) == []
    assert check_invariant(out, ids) == "jsonl"


# -- (b) a full disk ---------------------------------------------------------------------------
class FullDisk(io.FileIO):
    """A file that holds ``budget`` bytes, then fails with ENOSPC like a full disk."""

    budget = 0

    def write(self, data: Any) -> int:
        n = len(memoryview(data))
        if n > FullDisk.budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        FullDisk.budget -= n
        return super().write(data)


def fill_disk_at(monkeypatch: pytest.MonkeyPatch, module: Any, prefix: str, budget: int) -> None:
    """Files whose name starts with ``prefix``, opened by ``module``, hold ``budget`` bytes,
    whether written through the file object or copied into by the kernel (copy_file_range)."""
    real_open = open
    real_copy = os.copy_file_range
    full: set[int] = set()  # descriptors of the files that fill up

    def fake_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if "w" in mode and Path(file).name.startswith(prefix):
            FullDisk.budget = budget
            raw = FullDisk(file, "w")
            full.add(raw.fileno())
            return io.BufferedWriter(raw, 256)
        return real_open(file, mode, *args, **kw)

    def fake_copy(src: int, dst: int, count: int, *args: Any, **kw: Any) -> int:
        if dst in full:
            if count > FullDisk.budget:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            FullDisk.budget -= count
        return real_copy(src, dst, count, *args, **kw)

    monkeypatch.setattr(module, "open", fake_open, raising=False)
    monkeypatch.setattr(os, "copy_file_range", fake_copy)


def test_full_disk_while_writing_kept(tmp_path, src, ids, previous, cli, monkeypatch) -> None:
    import neardup.io.sinks

    out = copy_of(previous, tmp_path)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fill_disk_at(monkeypatch, neardup.io.sinks, ".kept.jsonl.tmp-", 2000)
    code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    assert code == 4
    assert err == (
        f"neardup: error: cannot write in output folder {out}: No space left on device\n"
        "  -> free space on that disk, or choose an --output folder on another disk; then run "
        f"again ({out} was not changed)\n"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temporary file left
    assert check_invariant(out, ids) == "parquet"


def test_full_disk_at_stats_json(tmp_path, src, ids, previous, cli, monkeypatch) -> None:
    import neardup.io.sinks

    out = copy_of(previous, tmp_path)
    for module in (commit, neardup.io.sinks):  # wherever stats.json is written
        fill_disk_at(monkeypatch, module, ".stats.json.tmp-", 100)
    code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    assert check_invariant(out, ids) == "none"  # never the old stats.json beside new files
    assert code == 4
    assert err.startswith(f"neardup: error: cannot write in output folder {out}: No space left")
    assert f"({out} holds no complete result now: its stats.json was removed)" in err
    assert hidden(out) == []


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 256 KiB tmpfs (root only, where mounting works)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_full_disk_real(tmp_path, small_disk, cli) -> None:
    small = write_jsonl(tmp_path / "small.jsonl", planted(3, bases=4))
    out = small_disk / "out"
    code, _, err = cli("dedup", small, "-o", out, "--no-progress")
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    big = write_jsonl(tmp_path / "big.jsonl", planted(5, bases=400))
    assert big.stat().st_size > 3 * 256 * 1024
    code, _, err = cli("dedup", big, "-o", out, "--no-progress")
    assert code == 4
    assert err.startswith("neardup: error: cannot write ")
    assert ": No space left on device\n  -> free space on that disk" in err
    assert f"({out} was not changed)" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# -- (c) two runs into one folder -------------------------------------------------------------
def test_second_run_is_refused_and_a_dead_holder_does_not_block(tmp_path, src, ids, cli) -> None:
    out = tmp_path / "out"
    first = neardup(
        "dedup",
        src,
        "-o",
        out,
        "--no-progress",
        env={"NEARDUP_FAULT_POINT": "commit:before-commit:sleep=60"},
    )
    try:
        lock = out / ".neardup.lock"
        deadline = time.monotonic() + 60
        while not (out.exists() and any(p.name.startswith(".clusters") for p in out.iterdir())):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run did not reach its commit"
            time.sleep(0.05)
        holder = json.loads(lock.read_text(encoding="utf-8"))
        assert holder["pid"] == first.pid
        assert holder["host"] == socket.gethostname()
        assert "dedup" in holder["command"]

        code, _, err = cli("dedup", src, "-o", out, "--no-progress")
        assert code == 4
        assert err == (
            f"neardup: error: output folder {out} is in use by another neardup run (pid "
            f"{first.pid} on {holder['host']}, since {holder['started']}: {holder['command']})\n"
            "  -> wait for that run to finish, or choose another --output folder\n"
        )
        assert visible(out) == []  # the refused run wrote nothing
    finally:
        with contextlib.suppress(ProcessLookupError):
            first.send_signal(signal.SIGKILL)
        first.communicate()

    # the killed holder's lock does not block; its temporary files are cleared
    left = hidden(out)
    assert ".neardup.lock" in left
    assert any(n.startswith(".neardup-work-") for n in left)
    code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    assert code == 0, err
    assert f"neardup: removed {len(left) - 1} temporary files (" in err
    assert hidden(out) == []
    assert check_invariant(out, ids) == "jsonl"


def test_lock_file_replaced_by_a_new_one_is_not_shared(tmp_path) -> None:
    """A run that opened the lock file just before its holder removed it must not count
    itself as holding the lock: it takes a fresh file."""
    out = tmp_path / "out"
    out.mkdir()
    first = commit.OutputLock.acquire(out, "first")
    stale = os.open(out / ".neardup.lock", os.O_RDWR)  # opened before the holder releases
    first.release()
    second = commit.OutputLock.acquire(out, "second")
    try:
        import fcntl

        # the old file is free, but the lock that counts is the one on the file at the path
        fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(commit.OutputError, match=r"in use by another neardup run"):
            commit.OutputLock.acquire(out, "third")
    finally:
        os.close(stale)
        second.release()
    assert hidden(out) == []


# -- (d) an output folder that cannot be written ---------------------------------------------
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_output_folder(tmp_path, src, cli) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    finally:
        out.chmod(0o755)
    assert code == 4
    assert err == (
        f"neardup: error: cannot write in output folder {out}: Permission denied\n"
        "  -> make the folder writable for this user (chmod/chown), or choose another "
        "--output folder\n"
    )
    assert list(out.iterdir()) == []


def test_output_folder_without_write_permission(tmp_path, src, cli, monkeypatch) -> None:
    """As the test above, for root: creating anything in the folder fails with EACCES."""
    out = tmp_path / "out"
    out.mkdir()
    real_open, real_mkdir = os.open, os.mkdir

    def denied(path: Any) -> bool:
        return Path(os.fspath(path)).parent == out

    def fake_open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if denied(path) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *args, **kw)

    def fake_mkdir(path: Any, *args: Any, **kw: Any) -> None:
        if denied(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        real_mkdir(path, *args, **kw)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    assert code == 4
    assert err == (
        f"neardup: error: cannot write in output folder {out}: Permission denied\n"
        "  -> make the folder writable for this user (chmod/chown), or choose another "
        "--output folder\n"
    )
    assert list(out.iterdir()) == []


def test_read_only_file_system_during_the_renames(
    tmp_path, src, ids, previous, cli, monkeypatch
) -> None:
    out = copy_of(previous, tmp_path)
    real_replace = os.replace

    def fake_replace(a: Any, b: Any, *args: Any, **kw: Any) -> None:
        if Path(b).name == "removed.jsonl":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(a))
        real_replace(a, b, *args, **kw)

    monkeypatch.setattr(os, "replace", fake_replace)
    code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    assert code == 4
    tmp = out / f".removed.jsonl.tmp-{os.getpid()}"
    assert err == (
        f"neardup: error: cannot write {tmp}: Read-only file system\n"
        "  -> the file system is mounted read-only; choose a writable --output folder "
        f"({out} holds no complete result now: its stats.json was removed)\n"
    )
    assert hidden(out) == []
    assert check_invariant(out, ids) == "none"


# -- inputs inside the output folder ----------------------------------------------------------
def test_input_inside_the_output_folder_is_refused(tmp_path, src, cli) -> None:
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    assert code == 0, err
    kept = out / "kept.jsonl"
    before = kept.read_bytes()
    code, _, err = cli("dedup", kept, "-o", out, "--no-progress")
    assert code == 2
    assert err == (
        f"neardup: error: input {kept} is inside the output folder {out}; the run would "
        "overwrite or remove what it reads\n"
        "  -> choose another --output folder, or move the input out of it first\n"
    )
    assert kept.read_bytes() == before


def test_output_folder_reached_through_a_symlink(tmp_path, src, cli) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    code, _, err = cli("dedup", src, "-o", link, "--no-progress")
    assert code == 2
    assert f"neardup: error: input {src} is inside the output folder {link};" in err
    assert visible(tmp_path) == ["in.jsonl", "link"]


def test_output_folder_that_is_the_input_folder(tmp_path, cli) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("some words here", encoding="utf-8")
    code, _, err = cli("dedup", docs, "-o", docs, "--no-progress")
    assert code == 2
    assert f"input {docs} is inside the output folder {docs}" in err
    assert visible(docs) == ["a.txt"]


def test_results_of_a_run_inside_its_input_folder_are_not_read_back(tmp_path, cli) -> None:
    """A folder of shards with the output folder inside it: the second run would read the
    first run's kept/removed files as inputs."""
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "part-0.jsonl", planted(11, bases=5))
    out = data / "out"
    code, _, err = cli("dedup", data, "-o", out, "--no-progress")
    assert code == 0, err
    code, _, err = cli("dedup", data, "-o", out, "--no-progress")
    assert code == 2
    assert err.startswith(
        f"neardup: error: input {out / 'clusters.jsonl'} is inside the output folder {out};"
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_killed_run_not_yet_reaped_leaves_no_temporaries(tmp_path, src, cli) -> None:
    """A run killed a moment ago is a zombie until its parent reaps it: its temporary files
    are cleared by the next run all the same (it writes nothing more)."""

    out = tmp_path / "out"
    out.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits, stays a zombie: no wait
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stale = out / f".kept.jsonl.tmp-{child.pid}"
    stale.write_bytes(b"half a file")
    try:
        code, _, err = cli("dedup", src, "-o", out, "--no-progress")
    finally:
        child.wait()
    assert code == 0, err
    assert not stale.exists()
    assert "removed 1 temporary file" in err
