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
from collections.abc import Callable

import numba as nb
import numpy as np

from neardup.errors import InputError
from neardup.io.sinks import Sink
from neardup.io.sources import Progress, Source

#: records per block read in the write pass (blocks of about 4 KiB × this many bytes)
BLOCK_RECORDS = 1024


@nb.njit(cache=True, nogil=True)
def line_table(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, ends, nonblank)`` of the lines of ``buf`` split at ``\\n`` (as
    ``bytes.split``: n newlines give n + 1 lines); ``ends`` exclude the newline; a line is
    blank when every byte is ASCII white space (what ``bytes.strip`` removes)."""
    n = buf.size
    count = 1
    for i in range(n):
        if buf[i] == 10:
            count += 1
    starts = np.empty(count, dtype=np.int64)
    ends = np.empty(count, dtype=np.int64)
    nonblank = np.zeros(count, dtype=np.bool_)
    k = 0
    start = 0
    seen = False
    for i in range(n):
        c = buf[i]
        if c == 10:
            starts[k] = start
            ends[k] = i
            nonblank[k] = seen
            k += 1
            start = i + 1
            seen = False
        elif not (c == 32 or (c >= 9 and c <= 13)):
            seen = True
    starts[k] = start
    ends[k] = n
    nonblank[k] = seen
    return starts, ends, nonblank


def _changed(src: Source, line: int | None) -> InputError:
    return InputError(
        "the input changed while neardup was reading it",
        path=src.name,
        line=line,
        remedy="do not modify inputs during a run; run again",
    )


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
    their decisions, ``skipped`` the (sorted) line numbers of records skipped as bad."""
    pos = 0  # next accepted record
    bom = codecs.BOM_UTF8
    for batch in src.batches(BLOCK_RECORDS, progress):
        for first, block in batch.items:
            if not block.endswith(b"\n"):  # the last line of a file without a final newline
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
                raise _changed(src, int(numbers[bad[0]]) if bad.size else None)
            gone = removed[pos : pos + m]
            _copy_kept(block, starts[rows[~gone]], ends[rows[~gone]] + 1, kept)
            for r in np.flatnonzero(gone).tolist():
                row = int(rows[r])
                write_removed(pos + r, block[starts[row] : ends[row]], int(numbers[r]))
            pos += m
    if pos != lines.size:
        raise _changed(src, None)


def _copy_kept(block: bytes, starts: np.ndarray, ends: np.ndarray, kept: Sink) -> None:
    """Write the byte ranges ``[starts[i], ends[i])`` of ``block``, runs of adjacent ranges in
    one piece."""
    if starts.size == 0:
        return
    breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1
    run_starts = starts[np.concatenate(([0], breaks))].tolist()
    run_ends = ends[np.concatenate((breaks - 1, [ends.size - 1]))].tolist()
    view = memoryview(block)
    if len(run_starts) == 1:
        kept.write_lines(view[run_starts[0] : run_ends[0]], int(starts.size))
        return
    data = b"".join(view[a:b] for a, b in zip(run_starts, run_ends, strict=True))
    kept.write_lines(data, int(starts.size))


__all__ = ["BLOCK_RECORDS", "copy_jsonl", "line_table"]
