"""How a run owns its output folder and commits its results there.

``stats.json`` marks a complete result: a reader that finds it finds beside it exactly the files
of the run it describes. A run keeps that true with this protocol:

1. **Lock.** An exclusive, non-blocking ``flock`` on ``OUT/.neardup.lock`` is held for the whole
   run; the file records the holder's pid, host, start time and command. A second run into the
   same folder is refused at once, naming the holder. The kernel releases the lock when its
   process dies, so a lock left by a killed run never blocks. The file is removed when the run
   ends (a dead run leaves it behind; the next run takes it over).
2. **Leftovers.** With the lock held, temporary files and folders of earlier runs that did not
   finish (``.neardup-work-*``, ``.neardup-staging-*``, ``.<result>.tmp-<pid>`` of a dead pid) are
   removed; nothing else in the folder is touched.
3. **Write.** Every result is written under a temporary name in ``OUT``.
4. **Commit.** Remove the old ``stats.json`` (and fsync the folder); remove the result files of
   an earlier run that this run does not produce (``kept.parquet`` when this run writes
   ``kept.jsonl``, Spark's ``kept/`` folders of part files after a local run, and the reverse)
   and the HTML reports in the folder (files whose title is ``neardup report``: they describe
   the earlier run; a run with ``--report`` there writes its own after the commit); rename every
   new file into place; write ``stats.json`` last (temporary file, fsync, rename, fsync of the
   folder).

A crash at any point leaves either no ``stats.json`` or a complete result. SIGINT and SIGTERM
are held during step 4 (it takes milliseconds) so that an interrupted run either changed
nothing or finished its commit.

Fault points, for tests only: ``NEARDUP_FAULT_POINT=commit:<step>`` kills the process with
SIGKILL when the commit reaches ``<step>`` (see :data:`STEPS`); ``commit:<step>:sleep`` sleeps
there for 60 seconds instead (``:sleep=<seconds>`` for another time).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from neardup.errors import ConfigError, OutputError, output_error

logger = logging.getLogger("neardup.output")

LOCK_NAME = ".neardup.lock"
MARKER = "stats.json"
RESULT_STEMS = ("kept", "removed")
RESULT_EXTENSIONS = ("jsonl", "jsonl.gz", "jsonl.zst", "csv", "parquet")
RESULT_FOLDERS = ("kept", "removed", "clusters", "spans")  # written by the Spark executor
REPORT_TITLE = b"<title>neardup report"  # how an HTML report (neardup.report.html) begins
WORK_PREFIX = ".neardup-work-"
STAGING_PREFIX = ".neardup-staging-"
_TMP_NAME = re.compile(r"^\.(?P<target>.+)\.tmp-(?P<pid>\d+)$")

# where a commit can be stopped by NEARDUP_FAULT_POINT, in the order they are reached
STEPS = (
    "start",  # the lock is held, nothing written yet
    "before-commit",  # every result is complete under its temporary name
    "marker-removed",  # the old stats.json is gone
    "before-rename",  # results of an earlier run that this run does not produce are gone too
    "renamed-kept",
    "renamed-removed",
    "renamed-clusters",
    "marker-written",  # stats.json is complete under its temporary name
    "committed",  # stats.json is in place
)


def result_names() -> set[str]:
    """Every file name a local run may write as a result (any output format)."""
    names = {f"{stem}.{ext}" for stem in RESULT_STEMS for ext in RESULT_EXTENSIONS}
    return names | {"clusters.jsonl", "spans.jsonl", MARKER}


# -- fault points (tests) -------------------------------------------------------------------------
def fault_point(step: str) -> None:
    """Stop here when ``NEARDUP_FAULT_POINT`` names this commit step (tests only)."""
    spec = os.environ.get("NEARDUP_FAULT_POINT")
    if not spec:
        return
    parts = spec.split(":")
    if len(parts) < 2 or parts[0] != "commit" or parts[1] != step:
        return
    action = parts[2] if len(parts) > 2 else "kill"
    if action.startswith("sleep"):
        _, _, seconds = action.partition("=")
        time.sleep(float(seconds or 60))
        return
    os.kill(os.getpid(), signal.SIGKILL)


# -- the lock -------------------------------------------------------------------------------------
class OutputLock:
    """An exclusive lock on an output folder for the duration of one run."""

    def __init__(self, folder: Path, fd: int | None) -> None:
        self.folder = folder
        self.path = folder / LOCK_NAME
        self._fd = fd

    @classmethod
    def acquire(cls, folder: Path, command: str | None = None) -> OutputLock:
        """Lock ``folder`` (it must exist) or raise :class:`OutputError` naming the holder."""
        path = folder / LOCK_NAME
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise output_error(exc, folder, doing="cannot write in output folder") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputError(
                        f"output folder {folder} is in use by another neardup run ({holder})",
                        remedy="wait for that run to finish, or choose another --output folder",
                    ) from exc
                # a file system without flock (some network mounts): run unlocked
                logger.warning("cannot lock %s (%s); running without a lock", path, exc.strerror)
                return cls(folder, None)
            # the holder before us may have removed the file between our open and our lock
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "command": command if command is not None else " ".join(sys.argv),
        }
        try:
            os.ftruncate(fd, 0)
            os.write(fd, orjson.dumps(info))
        except OSError as exc:
            os.close(fd)
            raise output_error(exc, folder, doing="cannot write in output folder") from exc
        return cls(folder, fd)

    def release(self) -> None:
        """Remove the lock file and release the lock (in that order, so that a run that
        opened the old file retries on a fresh one)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *_: Any) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        info = orjson.loads(os.pread(fd, 65536, 0))
        return f"pid {info['pid']} on {info['host']}, since {info['started']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "it has not yet said who it is"


# -- leftovers of runs that did not finish --------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs here. A zombie (killed, not yet reaped by its parent:
    state ``Z`` in ``/proc/PID/stat`` on Linux) writes nothing more and counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _size(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.lstat().st_size


def remove_leftovers(folder: Path) -> tuple[int, int]:
    """Remove neardup's temporary files and folders left in ``folder`` by runs that died;
    returns ``(entries, bytes)`` removed. Call it with the folder's lock held."""
    ours = result_names()
    count = size = 0
    for entry in sorted(folder.iterdir()):
        name = entry.name
        tmp = _TMP_NAME.match(name)
        if name.startswith((WORK_PREFIX, STAGING_PREFIX)):
            pass
        elif tmp and tmp["target"] in ours and int(tmp["pid"]) != os.getpid():
            if _pid_alive(int(tmp["pid"])):
                continue  # a live process (another host's, or one that writes without the lock)
        else:
            continue
        with contextlib.suppress(OSError):
            n = _size(entry)
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            count += 1
            size += n
    if count:
        logger.info(
            "removed %d temporary file%s (%s) left in %s by runs that did not finish",
            count,
            "" if count == 1 else "s",
            _human(size),
            folder,
        )
    return count, size


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


# -- the commit -----------------------------------------------------------------------------------
def fsync_dir(folder: Path) -> None:
    """Make the renames and removals in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot fsync a folder; the renames still hold
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def remove_marker(folder: Path) -> None:
    """Remove the completion marker of an earlier run, durably."""
    with contextlib.suppress(FileNotFoundError):
        (folder / MARKER).unlink()
    fsync_dir(folder)
    fault_point("marker-removed")


def remove_stale_results(folder: Path, produced: Iterable[str]) -> None:
    """Remove the results of an earlier run that this run does not produce: result files of
    other formats, Spark's result folders (when they hold only part files) and HTML reports."""
    keep = set(produced)
    for path in sorted(folder.glob("*.html")):
        if _is_report(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for name in sorted(result_names() - keep - {MARKER}):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    for name in RESULT_FOLDERS:
        path = folder / name
        if name in keep or not path.is_dir() or path.is_symlink():
            continue
        if all(_is_part_file(p.name) for p in path.iterdir()):
            shutil.rmtree(path)
    fault_point("before-rename")


def _is_report(path: Path) -> bool:
    """Whether ``path`` is an HTML report neardup wrote (its title, near the start, says so)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            return REPORT_TITLE in fh.read(4096)
    except OSError:
        return False


def _is_part_file(name: str) -> bool:
    return name.startswith(("part-", ".part-", "_SUCCESS", "._SUCCESS"))


def write_marker(folder: Path, stats: dict[str, Any]) -> None:
    """Write ``stats.json`` last: temporary file, fsync, rename, fsync of the folder."""
    path = folder / MARKER
    tmp = folder / f".{MARKER}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(stats, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
            fh.flush()
            os.fsync(fh.fileno())
        fault_point("marker-written")
        os.replace(tmp, path)
        fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fault_point("committed")


class HeldSignals:
    """Hold SIGINT and SIGTERM while the body runs (main thread only); an interrupt that came
    meanwhile is raised as :class:`KeyboardInterrupt` afterwards, with ``after`` as the message
    the command line prints."""

    def __init__(self, after: str) -> None:
        self.after = after
        self.caught: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> HeldSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not None:  # None: set outside Python, left alone
                    self._previous[sig] = signal.signal(sig, self._hold)
        return self

    def _hold(self, signum: int, _frame: Any) -> None:
        self.caught.append(signum)

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self.caught and exc_type is None:
            interrupt = KeyboardInterrupt(f"signal {self.caught[0]}")
            interrupt.neardup_message = self.after  # type: ignore[attr-defined]
            raise interrupt


# -- inputs and outputs apart ---------------------------------------------------------------------
def check_inputs_outside(inputs: Iterable[str | os.PathLike[str]], output: Path) -> None:
    """Refuse an output folder that is, or contains, one of the inputs (symlinks resolved):
    the run would replace or remove what it reads."""
    out = Path(os.path.realpath(output))
    for p in inputs:
        if "://" in str(p):
            continue
        real = Path(os.path.realpath(p))
        if real == out or real.is_relative_to(out):
            raise ConfigError(
                f"input {p} is inside the output folder {output}; the run would overwrite or "
                "remove what it reads",
                remedy="choose another --output folder, or move the input out of it first",
            )


@contextlib.contextmanager
def owned_output(out: Path) -> Iterator[None]:
    """Create the output folder ``out`` (with its parents) and hold its lock for the run
    (:func:`locked_output`)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create output folder {out}: {exc.strerror}",
            remedy="choose a writable location with --output",
        ) from exc
    with locked_output(out):
        yield


@contextlib.contextmanager
def locked_output(folder: Path, command: str | None = None) -> Iterator[OutputLock]:
    """Lock ``folder`` for a run and clear the leftovers of dead runs from it."""
    lock = OutputLock.acquire(folder, command)
    try:
        remove_leftovers(folder)
        fault_point("start")
        yield lock
    finally:
        lock.release()
