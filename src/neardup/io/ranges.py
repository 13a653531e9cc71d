"""The write pass of a JSONL input: kept records copied as byte ranges of the input.

The scan has already decided every record, so writing the kept file needs no parsing: the input
is read again in large blocks of whole lines, one compiled pass over each block finds its line
boundaries, and every run of consecutive kept records goes to the output in one write (a block
of 4 MiB holds some 1,000 records of a news corpus and, with 10% of them removed, about a
hundred runs). Only removed records are decoded, to gain ``kept_id``, ``cluster_id``, ``similarity``
and ``reason``. The bytes written are those of the per-record path: each kept line as it stands
in the input (a byte order mark in front of line 1 dropped), ended by a newline.

The same block also checks that the input did not change since the scan: the non-blank lines
of each block, less the records skipped as bad, must be exactly the lines the scan accepted.
"""

from __future__ import annotations

import codecs
import contextlib
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

import numba as nb
import numpy as np

from neardup.io.sinks import InputEnded, Sink
from neardup.io.sources import Progress, Source, input_changed, newlines

#: records per block read in the write pass (blocks of about 4 KiB × this many bytes)
BLOCK_RECORDS = 1024


@nb.njit(cache=True, nogil=True)
def line_table(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, ends, nonblank)`` of the lines of ``buf`` split at ``\\n`` (as
    ``bytes.split``: n newlines give n + 1 lines); ``ends`` exclude the newline; a line is
    blank when every byte is ASCII white space (what ``bytes.strip`` removes).

    Three passes, each simple enough to run at memory speed: count the newlines (a reduction
    the compiler vectorises), note where they are (a branch taken once per line), then look
    at each line only up to its first byte that is not white space — the first byte of any
    JSON record."""
    n = buf.size
    count = newlines(buf) + 1
    starts = np.empty(count, dtype=np.int64)
    ends = np.empty(count, dtype=np.int64)
    nonblank = np.zeros(count, dtype=np.bool_)
    k = 0
    start = 0
    for i in range(n):
        if buf[i] == 10:
            starts[k] = start
            ends[k] = i
            k += 1
            start = i + 1
    starts[k] = start
    ends[k] = n
    for k in range(count):
        for i in range(starts[k], ends[k]):
            c = buf[i]
            if not (c == 32 or (c >= 9 and c <= 13)):
                nonblank[k] = True
                break
    return starts, ends, nonblank


def copy_jsonl(
    src: Source,
    lines: np.ndarray,
    removed: np.ndarray,
    skipped: np.ndarray,
    kept: Sink,
    write_removed: Callable[[int, bytes, int], None],
    progress: Progress | None = None,
) -> None:
    """Route the records of one JSONL source: kept lines are copied to ``kept`` as byte runs,
    each removed one is handed to ``write_removed(row, raw_line, line_number)``.

    ``lines`` are the line numbers of the source's accepted records in file order, ``removed``
    their decisions, ``skipped`` the (sorted) line numbers of records skipped as bad.

    Kept runs are copied by a second thread, block after block in order, while this one writes
    the block's removed records: the copy is system calls that release the GIL (most of the
    write pass of a large corpus is the kernel copying kept bytes), the removed records are
    Python. At most :data:`COPIES_AHEAD` blocks wait for the copier; an error there (a full
    disk) is raised here."""
    pos = 0  # next accepted record
    # a plain file's kept runs are copied by the kernel from a second descriptor of it; the
    # blocks follow each other, so a block starts where the ones before it end
    fd = os.open(src.path, os.O_RDONLY) if src.compression is None and not src.remote else -1
    offset = 0
    pending: deque[Future[None]] = deque()
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="neardup-copy") as copier:
            try:
                for batch in src.batches(BLOCK_RECORDS, progress):
                    for first, block in batch.items:
                        pos = _route_block(
                            src, first, block, fd, offset, pos, lines, removed, skipped, kept,
                            write_removed, copier, pending,
                        )  # fmt: skip
                        offset += len(block)
                while pending:
                    pending.popleft().result()
            except BaseException:
                for job in pending:
                    job.cancel()
                _finish_running(pending)
                raise
    except InputEnded as exc:  # truncated or rewritten since this pass read the block
        raise input_changed(src, None) from exc
    finally:
        if fd >= 0:
            os.close(fd)
    if pos != lines.size:
        raise input_changed(src, None)


def _finish_running(jobs: deque[Future[None]]) -> None:
    """Wait for a copy already under way (one block at most) before the descriptor it reads is
    closed. The run is ending with an error or an interrupt already; a further Ctrl-C or SIGTERM
    meanwhile is not let out of the wait (it would leave the copier running past the run)."""
    for job in jobs:
        while not job.done():
            with contextlib.suppress(KeyboardInterrupt):
                wait([job])


#: blocks whose kept runs may wait for the copier thread (each holds its block's bytes)
COPIES_AHEAD = 2


def _route_block(
    src: Source,
    first: int,
    block: bytes,
    fd: int,
    offset: int,
    pos: int,
    lines: np.ndarray,
    removed: np.ndarray,
    skipped: np.ndarray,
    kept: Sink,
    write_removed: Callable[[int, bytes, int], None],
    copier: ThreadPoolExecutor,
    pending: deque[Future[None]],
) -> int:
    """Route the lines of one block (starting at ``offset`` of the file ``fd``, or ``fd`` -1):
    its kept runs to the ``copier``, its removed lines to ``write_removed``; returns the next
    accepted record."""
    bom = codecs.BOM_UTF8
    whole = block.endswith(b"\n")
    if not whole:  # the last line of a file without a final newline: written with one
        block = block + b"\n"
    buf = np.frombuffer(block, dtype=np.uint8)
    starts, ends, nonblank = line_table(buf)
    if first == 1 and block.startswith(bom):
        starts[0] += len(bom)
        nonblank[0] = bool(block[starts[0] : ends[0]].strip())
    rows = np.flatnonzero(nonblank)
    numbers = rows + first
    if skipped.size:
        accepted = ~np.isin(numbers, skipped)
        rows, numbers = rows[accepted], numbers[accepted]
    m = rows.size
    if pos + m > lines.size or not np.array_equal(lines[pos : pos + m], numbers):
        bad = np.flatnonzero(lines[pos : pos + m] != numbers[: lines.size - pos])
        raise input_changed(src, int(numbers[bad[0]]) if bad.size else None)
    gone = removed[pos : pos + m]
    kept_rows = rows[~gone]
    if kept_rows.size:
        while len(pending) >= COPIES_AHEAD:
            pending.popleft().result()
        pending.append(
            copier.submit(
                _copy_kept,
                block,
                starts[kept_rows],
                ends[kept_rows] + 1,
                kept,
                fd if whole else -1,
                offset,
            )
        )
    for r in np.flatnonzero(gone).tolist():
        row = int(rows[r])
        write_removed(pos + r, block[starts[row] : ends[row]], int(numbers[r]))
    return pos + m


def _copy_kept(
    block: bytes, starts: np.ndarray, ends: np.ndarray, kept: Sink, fd: int = -1, offset: int = 0
) -> None:
    """Write the byte ranges ``[starts[i], ends[i])`` of ``block``, runs of adjacent ranges in
    one piece: copied by the kernel from the file ``fd`` (where ``block`` starts at
    ``offset``) when the sink can, else from ``block``."""
    if starts.size == 0:
        return
    breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1
    run_starts = starts[np.concatenate(([0], breaks))].tolist()
    run_ends = ends[np.concatenate((breaks - 1, [ends.size - 1]))].tolist()
    if fd >= 0:
        counts = np.diff(np.concatenate(([0], breaks, [starts.size]))).tolist()
        done = 0
        for a, b, n in zip(run_starts, run_ends, counts, strict=True):
            if not kept.copy_from(fd, offset + a, b - a, n):
                break
            done += 1
        else:
            return
        if done:  # the sink stopped copying part-way: the rest of the runs as bytes
            first = int(np.concatenate(([0], breaks))[done])
            _copy_kept(block, starts[first:], ends[first:], kept)
            return
    view = memoryview(block)
    if len(run_starts) == 1:
        kept.write_lines(view[run_starts[0] : run_ends[0]], int(starts.size))
        return
    data = b"".join(view[a:b] for a, b in zip(run_starts, run_ends, strict=True))
    kept.write_lines(data, int(starts.size))


__all__ = ["BLOCK_RECORDS", "copy_jsonl", "line_table"]
