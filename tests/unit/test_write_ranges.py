"""The byte-range write pass of JSONL inputs: the bytes the per-record path wrote, odd lines
included, and a changed input refused."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import HARBOUR, HARBOUR_NEAR, NOTES, ORCHARD, read_records

import neardup
from neardup.errors import InputError
from neardup.io.ranges import copy_jsonl, line_table
from neardup.io.sinks import open_sink
from neardup.io.sources import Source


def _line(rec: dict[str, object]) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode()


def _keep_all(src, lines: list[int], sink) -> None:
    """The byte-range write pass of ``src`` with ``lines`` accepted, none removed or skipped."""
    copy_jsonl(
        Source(src),
        np.array(lines),
        np.zeros(len(lines), dtype=bool),
        np.zeros(0, np.int64),
        sink,
        lambda *_: None,
    )


def test_line_table_splits_like_bytes_split() -> None:
    data = b'{"a": 1}\n  \t\r\n\n{"b": 2}\r\nlast'
    starts, ends, nonblank = line_table(np.frombuffer(data, np.uint8))
    parts = data.split(b"\n")
    assert [data[s:e] for s, e in zip(starts, ends, strict=True)] == parts
    assert nonblank.tolist() == [bool(p.strip()) for p in parts]
    starts, ends, nonblank = line_table(np.frombuffer(b"x\n", np.uint8))
    assert (starts.tolist(), ends.tolist(), nonblank.tolist()) == ([0, 2], [1, 2], [True, False])


def test_kept_lines_are_copied_as_they_stand(tmp_path) -> None:
    """BOM on line 1, blank and white-space lines, CRLF endings, a skipped bad record and a
    last line without a newline: kept is the accepted lines, unchanged, each ended by \\n."""
    lines = [
        b"\xef\xbb\xbf" + _line({"id": "a", "text": HARBOUR}),
        b"",
        _line({"id": "b", "text": ORCHARD}) + b"\r",
        b"   \t",
        b"{not json",
        _line({"id": "c", "text": HARBOUR_NEAR}),
        _line({"id": "d", "text": "caf\u00e9 " + NOTES[0]}),
        _line({"id": "e", "text": HARBOUR}),
        _line({"id": "f", "text": NOTES[1]}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines))  # no final newline
    out = tmp_path / "out"
    result = neardup.dedup(src, out, on_error="skip", workers=1)
    assert result.stats["skipped_records"] == 1
    removed = {r["id"] for r in read_records(out / "removed.jsonl")}
    assert removed == {"c", "e"}
    expected = [lines[0][3:], lines[2], lines[6], lines[8]]
    assert (out / "kept.jsonl").read_bytes() == b"".join(x + b"\n" for x in expected)
    [cluster] = [json.loads(x) for x in (out / "clusters.jsonl").read_text().splitlines()]
    assert cluster["members"] == ["a", "c", "e"]


def test_compressed_input_and_several_sources(tmp_path) -> None:
    first = tmp_path / "a.jsonl.gz"
    second = tmp_path / "b.jsonl.gz"
    recs_a = [{"id": i, "text": t} for i, t in enumerate([HARBOUR, ORCHARD, NOTES[0]])]
    recs_b = [{"id": 10 + i, "text": t} for i, t in enumerate([NOTES[1], HARBOUR, ORCHARD])]
    first.write_bytes(gzip.compress(b"\n".join(_line(r) for r in recs_a) + b"\n"))
    second.write_bytes(gzip.compress(b"\n".join(_line(r) for r in recs_b) + b"\n"))
    out = tmp_path / "out"
    neardup.dedup([first, second], out, workers=1)
    kept = gzip.decompress((out / "kept.jsonl.gz").read_bytes())
    assert kept == b"".join(_line(r) + b"\n" for r in [*recs_a, recs_b[0]])
    removed = read_records(out / "removed.jsonl.gz")
    assert [(r["id"], r["kept_id"], r["reason"]) for r in removed] == [
        (11, 0, "exact"),
        (12, 1, "exact"),
    ]


def test_a_changed_input_is_refused(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(_line({"id": i, "text": NOTES[i]}) + b"\n" for i in range(3)))
    sink = open_sink(tmp_path / "kept.jsonl", "jsonl")
    try:
        with pytest.raises(InputError, match="changed while neardup was reading it"):
            # the scan accepted lines 1, 2 and 4; line 3 stands where 4 was
            _keep_all(src, [1, 2, 4], sink)
        with pytest.raises(InputError, match="changed while neardup was reading it"):
            # four records were accepted, the file now holds three
            _keep_all(src, [1, 2, 3, 4], sink)
    finally:
        sink.abort()


def _planted(tmp_path, n: int = 60):
    """A plain JSONL file of ``n`` records with exact copies spread through it, a BOM on line 1,
    a blank line, CRLF ends and no final newline."""
    texts = [f"{NOTES[i % len(NOTES)]} record {i // 3}" for i in range(n)]
    lines = [_line({"id": i, "text": t}) for i, t in enumerate(texts)]
    lines[0] = b"\xef\xbb\xbf" + lines[0]
    lines[7] += b"\r"
    lines.insert(20, b"  ")
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines))
    return src


@pytest.mark.parametrize("refuse", [False, True])
def test_kernel_copy_gives_the_bytes_of_the_byte_path(tmp_path, monkeypatch, refuse) -> None:
    """Kept runs copied by the kernel (copy_file_range) from blocks of a few lines each, or,
    where the file system refuses the call, written from the block: the same bytes as the
    per-record path."""
    import errno
    import os

    from neardup.io import ranges

    src = _planted(tmp_path)
    reference = neardup.dedup(src, tmp_path / "ref", workers=1, output_format="jsonl.gz")
    real = os.copy_file_range
    calls: list[int] = []

    def copy(fd_in, fd_out, count, offset_src=None, offset_dst=None):
        calls.append(count)
        if refuse:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real(fd_in, fd_out, min(count, 700), offset_src)  # short copies too

    monkeypatch.setattr(os, "copy_file_range", copy)
    monkeypatch.setattr(ranges, "BLOCK_RECORDS", 1)  # 4 KiB blocks: offsets add up across them
    result = neardup.dedup(src, tmp_path / "out", workers=1)
    assert result.stats["removed"] == reference.stats["removed"] > 0
    for name in ("kept", "removed"):
        want = gzip.decompress((tmp_path / "ref" / f"{name}.jsonl.gz").read_bytes())
        assert (tmp_path / "out" / f"{name}.jsonl").read_bytes() == want, name
    assert len(calls) == 1 if refuse else len(calls) > 5


def test_a_second_interrupt_does_not_leave_a_copy_running() -> None:
    """After an error or Ctrl-C, the copy under way is waited for before its descriptor is
    closed, even when another interrupt comes meanwhile."""
    import signal
    import threading
    import time
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from neardup.io.ranges import _finish_running

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with ThreadPoolExecutor(1) as pool:
            job = pool.submit(time.sleep, 0.3)
            signal.setitimer(signal.ITIMER_REAL, 0.05)  # a KeyboardInterrupt during the wait
            _finish_running(deque([job]))
            assert job.done()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_input_cut_short_after_its_block_was_read_is_an_input_error(
    tmp_path, monkeypatch
) -> None:
    """The kernel copies kept runs from the file as it is at copy time: a file truncated after
    the write pass read the block is the input's error (exit 3, naming it), not the output's."""
    from neardup.io import ranges

    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(_line({"id": i, "text": NOTES[i]}) + b"\n" for i in range(3)))
    real = ranges._copy_kept

    def truncate_then_copy(*args: object, **kwargs: object) -> None:
        src.write_bytes(b"")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ranges, "_copy_kept", truncate_then_copy)
    sink = open_sink(tmp_path / "kept.jsonl", "jsonl")
    try:
        if not sink._can_copy:
            pytest.skip("this file system copies no ranges between files")
        with pytest.raises(InputError, match="changed while neardup was reading it") as err:
            _keep_all(src, [1, 2, 3], sink)
        assert str(src) in str(err.value)
    finally:
        sink.abort()
