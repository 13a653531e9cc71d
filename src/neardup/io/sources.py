"""Corpus readers.

A :class:`Source` yields :class:`RawBatch` objects — undecoded lines, rows or files — in a fixed
order. :func:`parse_batch` turns a raw batch into ids, texts and keeper values; it is a pure
function, so executors can run it in worker processes. Readers stream: they hold one batch at a
time, never the corpus.

Formats are chosen by file name: ``.jsonl`` / ``.ndjson`` / ``.json`` (optionally ``.gz`` or
``.zst``), ``.parquet``, ``.csv`` (optionally ``.gz`` / ``.zst``), or a directory, read as one
document per ``.txt`` file with the path relative to the directory as id. A directory of data
files (shards such as ``part-0000.jsonl``) is opened by :func:`open_sources` as one source per
file. Nothing is read short: a compressed stream that ends early, a corrupt Parquet file or a
CSV quote that is never closed is an :class:`InputError`, not a shorter corpus.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import os
import sys
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numba as nb
import numpy as np
import orjson

from neardup.errors import InputError, RecordTypeError
from neardup.keep import correction_value, is_correction
from neardup.timewindow import parse_time

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_COUNTING_REPLACE = "neardup-count-replace"
_REPLACED = [0]  # invalid byte sequences replaced since the last CSV row (read on one thread)


class Progress(Protocol):
    """A progress bar (``tqdm``), advanced by the bytes or documents read."""

    def update(self, n: int) -> object: ...

    def close(self) -> object: ...


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    _REPLACED[0] += 1
    return "\ufffd", exc.end  # type: ignore[attr-defined]


codecs.register_error(_COUNTING_REPLACE, _count_and_replace)
FORMAT_OF_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Which fields hold the id, the text, the keeper value and the time (``--window``)."""

    text_field: str = "text"
    id_field: str = "id"
    keep_field: str | None = None
    time_field: str | None = None
    corrections: bool = False  # keep=corrected: keeper values are (is_correction, time)


@dataclass(frozen=True, slots=True)
class RawBatch:
    """Undecoded records of one source: ``items`` are ``(line, payload)`` pairs.

    ``kind`` says how to parse the payloads: ``jsonl`` (a block of whole lines, ``line`` is the
    number of its first line; see :func:`jsonl_lines`), ``row`` (a dict), or ``txt`` (the bytes
    of a whole file, ``line`` is its relative path).
    """

    source: str
    kind: str
    items: list[tuple[Any, Any]]
    invalid_utf8: int = 0


@dataclass(slots=True)
class ParsedBatch:
    """Result of :func:`parse_batch`: the good records and the bad ones."""

    ids: list[Any] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    keep_values: list[Any] = field(default_factory=list)
    lines: list[Any] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    invalid_utf8: int = 0
    times: list[float] = field(default_factory=list)  # with spec.time_field: seconds or NaN


def compression_of(path: Path) -> str | None:
    """``gz``, ``zst`` or ``None`` from the file name."""
    suffix = path.suffix.lower()
    return {".gz": "gz", ".gzip": "gz", ".zst": "zst", ".zstd": "zst"}.get(suffix)


def format_of(path: Path) -> str:
    """The corpus format of ``path``: jsonl, parquet, csv or txt (a directory)."""
    if path.is_dir():
        return "txt"
    fmt = _format_of_name(path.name)
    if fmt is None:
        raise InputError(
            "cannot tell the format from the file name",
            path=str(path),
            remedy="name it .jsonl, .jsonl.gz, .jsonl.zst, .parquet or .csv, or pass a folder of "
            "such files or of .txt files",
        )
    return fmt


def _format_of_name(file: str) -> str | None:
    """jsonl, parquet or csv from a file name (``None`` for other names)."""
    name = file.lower()
    if compression_of(Path(name)):
        name = name.rsplit(".", 1)[0]
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    for suffix, fmt in FORMAT_OF_SUFFIX.items():
        if name.endswith(suffix):
            return fmt
    return None


@nb.njit(cache=True, nogil=True)
def newlines(buf: np.ndarray) -> int:
    """The number of ``\\n`` bytes in ``buf``. A reduction the compiler vectorises: on a 4 MiB
    block about 15 times faster than ``bytes.count``, which goes byte by byte, and without the
    GIL."""
    count = 0
    for i in range(buf.size):
        count += buf[i] == 10
    return count


class _CountingReader(io.RawIOBase):
    """Wraps a raw file to report how many compressed bytes were read (for progress bars)."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b)
        self.consumed += n or 0
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """Decompresses a zstd stream of one or more frames, frame by frame.

    Unlike zstandard's stream reader, it knows where each frame ends: input that stops inside a
    frame (a truncated download, a file cut at a block boundary) or that is not zstd raises
    :class:`InputError` instead of reading as a shorter file. Input is fed in small pieces so
    that highly compressed data (zstd reaches ratios above 30,000) cannot fill the memory."""

    _CHUNK = 1 << 16  # compressed bytes read at a time
    _PIECE = 1 << 10  # compressed bytes decompressed at a time (at most ~32 MiB out)
    _OUT = 1 << 20  # decompressed bytes to gather before handing them out

    def __init__(self, raw: _CountingReader, name: str) -> None:
        import zstandard

        self.raw = raw
        self.name = name
        self._dctx = zstandard.ZstdDecompressor()
        self._error = zstandard.ZstdError
        self._frame: Any = None  # decompressor of the frame being read, None between frames
        self._input = b""  # compressed bytes read but not decompressed yet
        self._pending = memoryview(b"")
        self._done = False
        self._any = False  # whether the stream held at least one frame

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._pending and not self._done:
            self._fill()
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self) -> None:
        if not self._input:
            self._input = self.raw.read(self._CHUNK)
            if not self._input:
                self._done = True
                if self._frame is not None or not self._any:
                    what = "ends inside a frame" if self._any else "is empty"
                    raise _broken_stream("zstd", self.name, f"the stream {what}")
                return
        out: list[bytes] = []
        size = 0
        pos = 0
        data = self._input
        try:
            while pos < len(data) and size < self._OUT:
                if self._frame is None:
                    self._frame = self._dctx.decompressobj()
                    self._any = True
                piece = data[pos : pos + self._PIECE]
                pos += len(piece)
                chunk = self._frame.decompress(piece)
                out.append(chunk)
                size += len(chunk)
                if self._frame.eof:  # the frame ended inside the piece: the rest is the next
                    pos -= len(self._frame.unused_data)
                    self._frame = None
        except self._error as exc:
            self._done = True
            raise _broken_stream("zstd", self.name, str(exc)) from exc
        self._input = data[pos:]
        self._pending = memoryview(b"".join(out))

    def close(self) -> None:
        self.raw.close()
        super().close()


class _GzipReader(io.RawIOBase):
    """A gzip file whose read errors (a missing end of stream, bad data, an empty file) are
    :class:`InputError` naming the file."""

    def __init__(self, raw: _CountingReader, name: str) -> None:
        self.raw = raw
        self.name = name
        self._gz = gzip.GzipFile(fileobj=io.BufferedReader(raw), mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        try:
            n = self._gz.readinto(b)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise _broken_stream("gzip", self.name, str(exc)) from exc
        if not n and len(b) and self.raw.consumed == 0:
            raise _broken_stream("gzip", self.name, "the file is empty")
        return n

    def close(self) -> None:
        self._gz.close()
        self.raw.close()
        super().close()


def _broken_stream(kind: str, name: str, detail: str) -> InputError:
    tool = "zstd" if kind == "zstd" else "gzip"
    return InputError(
        f"cannot read file: truncated or corrupt {kind} stream ({detail})",
        path=name,
        remedy=f"re-download the file or compress it again (`{tool} -t FILE` checks a file)",
    )


def open_binary(path: Path) -> tuple[IO[bytes], _CountingReader]:
    """Open a possibly compressed file for binary reading; also returns the byte counter.

    Compressed files are checked to the end: a truncated or corrupt ``.gz`` / ``.zst`` stream
    raises :class:`InputError` when reading reaches the damage."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the wrapper
    except OSError as exc:
        raise InputError(
            f"cannot open file: {exc.strerror}",
            path=str(path),
            remedy="check that the file exists and is readable",
        ) from exc
    counter = _CountingReader(raw)
    comp = compression_of(path)
    if comp == "gz":
        return io.BufferedReader(_GzipReader(counter, str(path)), buffer_size=1 << 20), counter
    if comp == "zst":
        return io.BufferedReader(_ZstdReader(counter, str(path)), buffer_size=1 << 20), counter
    return io.BufferedReader(counter, buffer_size=1 << 20), counter


class Source:
    """One input: a file or a directory of .txt files."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.remote = "://" in self.name  # a URI (s3a://, hdfs://…), read by the Spark executor
        self._counter: _CountingReader | None = None
        self._files: list[Path] | None = None
        #: the header of a CSV file, known once reading has started
        self.columns: list[str] | None = None
        if self.remote:
            self.format = format_of(self.path)
            self.compression = compression_of(self.path)
            return
        if not self.path.exists():
            raise InputError(
                "no such file or directory",
                path=str(self.path),
                remedy="check the path; inputs are JSONL, Parquet or CSV files, folders of such "
                "files, or folders of .txt files",
            )
        self.format = format_of(self.path)
        self.name = str(path)
        self.compression = compression_of(self.path) if self.format != "txt" else None

    # -- sizes, for progress bars -------------------------------------------------------------
    @property
    def size(self) -> int:
        """Bytes on disk (a directory: the sum of its .txt files; 0 for a URI)."""
        if self.remote:
            return 0
        if self.format == "txt":
            return sum(p.stat().st_size for p in self.txt_files())
        return self.path.stat().st_size

    def stamp(self) -> tuple[tuple[str, int, int, int], ...]:
        """What the file system says of this input's files (name, size, modification time in
        ns, inode): equal stamps before and after a run mean nothing rewrote it meanwhile.
        Empty for a URI."""
        if self.remote:
            return ()
        files = self.txt_files() if self.format == "txt" else [self.path]
        out = []
        for f in files:
            st = f.stat()
            out.append((str(f), st.st_size, st.st_mtime_ns, st.st_ino))
        return tuple(out)

    def txt_files(self) -> list[Path]:
        if self._files is None:
            self._files = sorted(p for p in self.path.rglob("*.txt") if p.is_file())
        return self._files

    # -- reading ------------------------------------------------------------------------------
    def batches(
        self, batch_size: int, progress: Progress | None = None
    ) -> Generator[RawBatch, None, None]:
        """Raw batches of at most ``batch_size`` records, in file order."""
        if self.remote:
            raise InputError(
                "URIs are read by the Spark executor only",
                path=self.name,
                remedy="pass --executor spark, or copy the file to a local disk",
            )
        reader = {
            "jsonl": self._jsonl_batches,
            "csv": self._csv_batches,
            "parquet": self._parquet_batches,
            "txt": self._txt_batches,
        }[self.format]
        yield from reader(batch_size, progress)

    def _advance(self, progress: Progress | None, pos: int, last: list[int]) -> None:
        if progress is not None and pos != last[0]:
            progress.update(pos - last[0])
            last[0] = pos

    def _jsonl_batches(self, batch_size: int, progress: Progress | None) -> Iterator[RawBatch]:
        """Blocks of whole lines (about ``batch_size`` × 4 KiB each); the worker that parses a
        block also splits it, so this loop only reads and counts newlines."""
        fh, counter = open_binary(self.path)
        last = [0]
        block_bytes = max(1, batch_size) * 4096
        lineno = 1  # number of the first line of the next block
        tail = b""  # a byte order mark stays on line 1 here: jsonl_lines drops it for every reader
        try:
            while True:
                chunk = fh.read(block_bytes)
                if not chunk:
                    break
                cut = chunk.rfind(b"\n") + 1
                if cut == 0:
                    tail += chunk
                    continue
                # the block's bytes copied once, not twice (tail + chunk, then a slice of it):
                # this loop holds the GIL the fingerprint workers wait for
                block = b"".join((tail, memoryview(chunk)[:cut])) if tail else chunk[:cut]
                tail = chunk[cut:]
                self._advance(progress, counter.consumed, last)
                yield RawBatch(self.name, "jsonl", [(lineno, block)])
                lineno += newlines(np.frombuffer(block, dtype=np.uint8))
            if tail.strip():
                yield RawBatch(self.name, "jsonl", [(lineno, tail)])
            self._advance(progress, counter.consumed, last)
        except (OSError, EOFError) as exc:
            raise InputError(
                f"cannot read file: {exc}",
                path=self.name,
                remedy="the file may be truncated or not in the format its name says",
            ) from exc
        finally:
            fh.close()

    def _csv_batches(self, batch_size: int, progress: Progress | None) -> Iterator[RawBatch]:
        """Rows as dicts keyed by the header. A leading UTF-8 byte order mark is dropped; a
        repeated column name, a row with more values than the header and a quoted field that is
        never closed are errors (they would mix or swallow values)."""
        fh, counter = open_binary(self.path)
        last = [0]
        csv.field_size_limit(sys.maxsize)
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors=_COUNTING_REPLACE, newline="")
        repaired = 0
        reader = csv.reader(text, strict=True)
        header: list[str] | None = None
        start = 1  # first line of the row being read
        try:
            items: list[tuple[Any, Any]] = []
            while True:
                start = reader.line_num + 1
                try:
                    values = next(reader)
                except StopIteration:
                    break
                if not values:
                    continue  # a blank line
                if header is None:
                    header = _csv_header(values, self.name, reader.line_num)
                    self.columns = header
                    continue
                if _REPLACED[0]:
                    # the decoder reads ahead, so a repair is charged to the row being read
                    repaired += 1
                    _REPLACED[0] = 0
                if len(values) > len(header):
                    raise InputError(
                        "row has more values than the header has columns",
                        path=self.name,
                        line=reader.line_num,
                        remedy="quote values that contain commas",
                    )
                row: dict[str, Any] = dict(zip(header, values, strict=False))
                for name in header[len(values) :]:
                    row[name] = None
                items.append((reader.line_num, row))
                if len(items) >= batch_size:
                    self._advance(progress, counter.consumed, last)
                    yield RawBatch(self.name, "row", items, repaired)
                    items, repaired = [], 0
            if items or repaired:
                yield RawBatch(self.name, "row", items, repaired)
            self._advance(progress, counter.consumed, last)
        except csv.Error as exc:
            if str(exc) == "unexpected end of data":
                raise InputError(
                    "a quoted field opened in the row that starts on this line is never closed; "
                    "the rest of the file would be read as one value",
                    path=self.name,
                    line=start,
                    remedy='close the quote, and write a quote inside a quoted value as ""',
                ) from exc
            raise InputError(
                f"malformed CSV ({exc}) in the row that starts on this line",
                path=self.name,
                line=start,
                remedy='check the quoting of that row; a quote inside a quoted value is written ""',
            ) from exc
        finally:
            text.close()

    def _parquet_batches(self, batch_size: int, progress: Progress | None) -> Iterator[RawBatch]:
        """Rows as dicts. Page checksums are verified where the file has them; any failure to
        decode the file, and a file that yields another number of rows than its footer
        promises, is an :class:`InputError` saying the file is corrupt."""
        import pyarrow.parquet as pq

        try:
            with open(self.path, "rb") as fh:
                magic = fh.read(4)
            if magic not in (b"PAR1", b"PARE"):
                raise ValueError(f"the file starts with {magic!r}, not the Parquet magic b'PAR1'")
            pf = pq.ParquetFile(self.path, page_checksum_verification=True)
            _check_parquet_schema(pf)
            rows_expected = pf.metadata.num_rows
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise _corrupt_parquet(self.name, exc) from exc
        total = self.size
        rows_total = max(1, rows_expected)
        row = 0
        last = [0]
        try:
            batches = pf.iter_batches(batch_size=batch_size)
            while True:
                try:
                    rows = next(batches).to_pylist()
                except StopIteration:
                    break
                except Exception as exc:  # decoding a damaged page fails in many ways
                    raise _corrupt_parquet(self.name, exc) from exc
                items = [(row + i + 1, r) for i, r in enumerate(rows)]
                row += len(rows)
                self._advance(progress, total * row // rows_total, last)
                yield RawBatch(self.name, "row", items)
            if row != rows_expected:
                raise _corrupt_parquet(
                    self.name, f"the footer promises {rows_expected} rows, the pages hold {row}"
                )
        finally:
            pf.close()

    def _txt_batches(self, batch_size: int, progress: Progress | None) -> Iterator[RawBatch]:
        items: list[tuple[Any, Any]] = []
        for p in self.txt_files():
            try:
                data = p.read_bytes()
            except OSError as exc:
                raise InputError(
                    f"cannot read file: {exc.strerror}",
                    path=str(p),
                    remedy="check the file's permissions",
                ) from exc
            items.append((p.relative_to(self.path).as_posix(), without_bom(data)))
            if progress is not None:
                progress.update(len(data))
            if len(items) >= batch_size:
                yield RawBatch(self.name, "txt", items)
                items = []
        if items:
            yield RawBatch(self.name, "txt", items)


def _corrupt_parquet(name: str, cause: object) -> InputError:
    return InputError(
        f"cannot read Parquet file: corrupt or unreadable ({cause})",
        path=name,
        remedy="check that the file is a complete Parquet file; copy or write it again",
    )


def _check_parquet_schema(pf: Any) -> None:
    """Raise ``ValueError`` for a text column that reads as bytes although the Arrow schema
    stored in the file says text: the footer's type annotations were damaged."""
    import base64

    import pyarrow as pa

    stored_bytes = (pf.metadata.metadata or {}).get(b"ARROW:schema")
    if stored_bytes is None:
        return
    stored = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(stored_bytes)))
    texts = (pa.string(), pa.large_string())
    for name in pf.schema_arrow.names:
        if name not in stored.names:
            continue
        if stored.field(name).type in texts and pf.schema_arrow.field(name).type not in texts:
            raise ValueError(
                f"column '{name}' is text in the file's Arrow schema but "
                f"{pf.schema_arrow.field(name).type} in its Parquet schema"
            )


def _csv_header(names: list[str], source: str, line: int) -> list[str]:
    """The column names of a CSV header, refusing a name that appears twice."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(
                "column name appears twice in the header; the values of one of the columns "
                "would be lost",
                path=source,
                line=line,
                field=name,
                remedy="rename or drop one of the two columns",
            )
        seen.add(name)
    return names


def open_source(path: str | os.PathLike[str]) -> Source:
    """Open one input for reading (see module docstring for the formats): a file or a folder of
    .txt files. A folder of data files is several sources; open it with :func:`open_sources`."""
    sources = open_sources([path])
    if len(sources) != 1 or sources[0].path != Path(path):
        raise InputError(
            "this folder holds data files, each one an input",
            path=str(path),
            remedy="open it with open_sources(), which returns one source per file",
        )
    return sources[0]


def open_sources(paths: Iterable[str | os.PathLike[str]]) -> list[Source]:
    """Open the inputs of a run, in order. A folder of .txt files is one source (one document
    per file); a folder of data files (JSONL, optionally compressed, Parquet or CSV shards such
    as ``part-0000.jsonl``) is one source per file, in the order of their paths relative to the
    folder, each named ``FOLDER/RELATIVE/PATH``. Files and folders whose names start with ``.``
    or ``_`` (``_SUCCESS``, ``.part-0000.crc``) are skipped, and so are files of other types; a
    folder without data files, or with files of more than one format, is an error."""
    out: list[Source] = []
    for path in paths:
        name = str(path)
        if "://" in name or not Path(path).is_dir():
            out.append(Source(path))
            continue
        shards = _folder_files(Path(path))
        if shards is None:
            out.append(Source(path))
        else:
            out.extend(Source(Path(path) / rel) for rel in shards)
    return out


def _folder_files(folder: Path) -> list[str] | None:
    """The relative paths of the data files of a folder, sorted; ``None`` for a folder of .txt
    files (read as one source)."""
    found: dict[str, list[str]] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(_HIDDEN)]
        for file in files:
            if file.startswith(_HIDDEN):
                continue
            kind = _data_kind(file)
            if kind is not None:
                rel = (Path(root) / file).relative_to(folder).as_posix()
                found.setdefault(kind, []).append(rel)
    if not found:
        raise InputError(
            "no .jsonl/.parquet/.csv/.txt files in this folder",
            path=str(folder),
            remedy="pass the folder that holds the data files, or the files themselves; names "
            "starting with '.' or '_' are skipped",
        )
    if len(found) > 1:
        kinds = ", ".join(
            f"{kind} ({len(rels)} file{'s' if len(rels) > 1 else ''}, e.g. {min(rels)})"
            for kind, rels in sorted(found.items())
        )
        raise InputError(
            f"folder mixes formats: {kinds}",
            path=str(folder),
            remedy="keep one format per folder (pass the folders as separate inputs, with "
            "--output-format), or convert the files to one format",
        )
    kind, rels = next(iter(found.items()))
    if kind == "txt":
        return None
    return sorted(rels)


_HIDDEN = (".", "_")


def _data_kind(file: str) -> str | None:
    """``jsonl`` (compressed or not), ``parquet``, ``csv``, ``txt`` or ``None`` for a file name
    that is not a corpus file."""
    if file.endswith(".txt"):
        return "txt"
    return _format_of_name(file)


def input_changed(src: Source, line: Any = None) -> InputError:
    """The error for an input found different from what an earlier pass of the run read (at
    ``line`` where known: an int; other line values, such as a Parquet row key, are left out)."""
    return InputError(
        "the input changed while neardup was reading it",
        path=src.name,
        line=line if isinstance(line, int) else None,
        remedy="do not modify inputs during a run; run again",
    )


def ensure_unchanged(sources: list[Source], stamps: list[tuple[Any, ...]]) -> None:
    """Raise :func:`input_changed` for the first of ``sources`` whose :meth:`Source.stamp` is
    no longer ``stamps``: a file rewritten, appended to or replaced while the run read it (the
    outputs would mix its old and new contents)."""
    for src, before in zip(sources, stamps, strict=True):
        if src.stamp() != before:
            raise input_changed(src)


def decode_json_line(line: bytes, source: str, lineno: int) -> tuple[dict[str, Any], bool]:
    """Parse one JSONL line into a dict. Returns ``(record, repaired)``.

    orjson reads valid lines; a line it refuses is decoded with invalid UTF-8 replaced by U+FFFD
    and read again by the standard library, which also accepts escaped lone surrogates
    (``"\\ud83d"``, common in scraped text). Such lines count as repaired."""
    try:
        obj = orjson.loads(line)
        repaired = False
    except orjson.JSONDecodeError:
        text = line.decode("utf-8", errors="replace")
        try:
            obj = json.loads(text)
        except RecursionError as exc:  # orjson stops at 1024 levels, the standard library here
            raise InputError(
                "JSON nested too deeply (more than 1024 levels of arrays or objects)",
                path=source,
                line=lineno,
                remedy="fix the line, or pass --on-error skip to skip bad records",
            ) from exc
        except ValueError as exc:
            raise InputError(
                f"malformed JSON ({exc})",
                path=source,
                line=lineno,
                remedy="fix the line, or pass --on-error skip to skip bad records",
            ) from exc
        repaired = True
    if not isinstance(obj, dict):
        raise InputError(
            f"expected a JSON object, got {type(obj).__name__}",
            path=source,
            line=lineno,
            remedy='each line must be one object such as {"id": ..., "text": ...}',
        )
    return obj, repaired


def record_text(record: dict[str, Any], spec: FieldSpec, source: str, line: Any) -> str:
    """The text of a record, checked."""
    if spec.text_field not in record or record[spec.text_field] is None:
        raise InputError(
            "missing text field",
            path=source,
            line=line if isinstance(line, int) else None,
            field=spec.text_field,
            remedy="add the field, or name the right one with --text-field",
        )
    text = record[spec.text_field]
    if not isinstance(text, str):
        raise RecordTypeError(
            f"expected a string, got {type(text).__name__}",
            path=source,
            line=line if isinstance(line, int) else None,
            field=spec.text_field,
            remedy="store the text as a string, or name the right field with --text-field",
        )
    return text


def record_id(record: dict[str, Any], spec: FieldSpec, source: str, line: Any) -> Any:
    """The id of a record (a string or an integer), or a generated ``SOURCE:LINE`` id."""
    value = record.get(spec.id_field)
    if value is None:
        return f"{source}:{line}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordTypeError(
            f"expected a string or an integer id, got {type(value).__name__}",
            path=source,
            line=line if isinstance(line, int) else None,
            field=spec.id_field,
            remedy="store ids as strings or integers, or name the right field with --id-field",
        )
    return value


def without_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte order mark (a file's first line, a .txt file):
    the mark is not part of the text."""
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def jsonl_lines(raw: RawBatch) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of the non-blank lines of a JSONL raw batch; a UTF-8 byte order
    mark in front of line 1 is dropped (the local reader drops it already; the Spark reader
    hands lines over as they are)."""
    for first, block in raw.items:
        for k, line in enumerate(block.split(b"\n")):
            if first + k == 1:
                line = without_bom(line)
            if line.strip():
                yield first + k, line


def parse_batch(raw: RawBatch, spec: FieldSpec) -> ParsedBatch:
    """Decode a raw batch into ids, texts and keeper values; bad records go to ``errors``."""
    out = ParsedBatch(invalid_utf8=raw.invalid_utf8)
    # payloads are bytes (jsonl, txt) or dicts (row), by the batch's kind
    items: Iterable[tuple[Any, Any]] = jsonl_lines(raw) if raw.kind == "jsonl" else raw.items
    for line, payload in items:
        try:
            if raw.kind == "txt":
                payload = without_bom(payload)
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:
                    text = payload.decode("utf-8", errors="replace")
                    out.invalid_utf8 += 1
                rid: Any = line
                keep_value = (is_correction(text), math.nan) if spec.corrections else None
                when = math.nan
            else:
                if raw.kind == "jsonl":
                    record, bad = decode_json_line(payload, raw.source, line)
                    out.invalid_utf8 += bad
                else:
                    record = payload
                text = record_text(record, spec, raw.source, line)
                rid = record_id(record, spec, raw.source, line)
                keep_value = record.get(spec.keep_field) if spec.keep_field else None
                when = record_time(record, spec, raw.source, line)
                if spec.corrections:
                    keep_value = correction_value(record, text, spec.keep_field, raw.source, line)
        except InputError as exc:
            out.errors.append(exc)
            continue
        out.ids.append(rid)
        out.texts.append(text)
        out.keep_values.append(keep_value)
        out.lines.append(line)
        if spec.time_field:
            out.times.append(when)
    return out


def record_time(record: dict[str, Any], spec: FieldSpec, source: str, line: Any) -> float:
    """The time of a record for ``--window`` (:func:`neardup.timewindow.parse_time`): NaN
    without a time field or value; bad input for a value that is not a time."""
    if not spec.time_field:
        return math.nan
    try:
        return parse_time(record.get(spec.time_field))
    except ValueError as exc:
        raise InputError(
            str(exc),
            path=source,
            line=line if isinstance(line, int) else None,
            field=spec.time_field,
            remedy="write the time as ISO 8601 (2026-11-30T09:14:03Z) or seconds since 1970, "
            "leave it out (a document without a time matches only others without one), or "
            "pass --on-error skip",
        ) from None
