"""Output writers. Every file is written to a temporary name beside its target and renamed into
place by :meth:`Sink.commit`, so a crash or Ctrl-C never leaves a half-written result.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import io
import os
from pathlib import Path
from typing import IO, Any

import orjson

from neardup.errors import OutputError

#: errors of copy_file_range(2) that mean "not here" (another file system, an old kernel, a
#: file system without it) rather than a failed write
_NO_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


class InputEnded(Exception):
    """:meth:`Sink.copy_from` found the input shorter than when it was read (it was truncated
    or rewritten during the run); the caller, which knows the input, reports it."""


class Sink:
    """A record writer for one output file (JSONL, compressed JSONL, CSV or Parquet)."""

    def __init__(self, path: str | os.PathLike[str], fmt: str) -> None:
        self.path = Path(path)
        self.format = fmt
        self.tmp = _tmp_path(self.path)
        self.count = 0
        self._fh: IO[bytes] | gzip.GzipFile | None = None
        self._raw: IO[bytes] | None = None
        self._csv: csv.DictWriter[str] | None = None
        self._text: io.TextIOWrapper | None = None
        self._pq_writer: Any = None
        self._pq_rows: list[dict[str, Any]] = []
        self._pq_schema: Any = None
        self._pq_pending: list[Any] = []  # tables held back while a column's type is unknown
        self._pq_pending_rows = 0
        self._pq_schema_rows = 0  # rows that fixed the schema
        self._columns: list[str] | None = None
        self._can_copy = fmt == "jsonl" and hasattr(os, "copy_file_range")
        self._copied = False
        try:
            if fmt.startswith("jsonl") or fmt == "csv":
                self._raw = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
                if fmt == "jsonl.gz":
                    self._fh = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
                elif fmt == "jsonl.zst":
                    import zstandard

                    self._fh = zstandard.ZstdCompressor(level=3).stream_writer(self._raw)
                else:
                    self._fh = self._raw
            elif fmt != "parquet":
                raise OutputError(f"unknown output format {fmt!r}")
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.path}: {exc.strerror}",
                remedy="check that the output folder exists and is writable",
            ) from exc

    # -- writing ------------------------------------------------------------------------------
    def write_line(self, line: bytes) -> None:
        """Write one JSONL line as is (it must end with a newline)."""
        if self._fh is None:
            raise OutputError(f"{self.path}: raw lines can only go to a JSONL output")
        self._fh.write(line)
        self.count += 1

    def write_lines(self, data: bytes | memoryview, count: int) -> None:
        """Write ``count`` whole JSONL lines at once (``data`` ends with a newline)."""
        if self._fh is None:
            raise OutputError(f"{self.path}: raw lines can only go to a JSONL output")
        self._fh.write(data)
        self.count += count

    def copy_from(self, fd: int, offset: int, length: int, count: int) -> bool:
        """Append ``length`` bytes of the file open as ``fd``, from ``offset`` on, holding
        ``count`` whole JSONL lines, copied by the kernel (copy_file_range(2): no pass through
        this process's memory). Only an uncompressed JSONL sink can; ``False`` when this one
        cannot or the file systems do not support it (nothing was written: write the bytes
        instead)."""
        if not self._can_copy or self._raw is None or self._fh is not self._raw:
            return False
        self._raw.flush()
        out = self._raw.fileno()
        while length > 0:
            try:
                n = os.copy_file_range(fd, out, length, offset)
            except OSError as exc:
                if exc.errno in _NO_COPY and not self._copied:
                    self._can_copy = False
                    return False
                raise
            if n == 0:  # the input ends before the bytes the scan saw
                raise InputEnded(offset)
            self._copied = True
            offset += n
            length -= n
        self.count += count
        return True

    def write(self, record: dict[str, Any]) -> None:
        """Write one record."""
        self.count += 1
        if self.format.startswith("jsonl"):
            self._fh.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))  # type: ignore[union-attr]
        elif self.format == "csv":
            self._write_csv(record)
        else:
            self._pq_rows.append(record)
            if len(self._pq_rows) >= 4096:
                self._flush_parquet()

    def write_arrow(self, table: Any) -> None:
        """Write an Arrow table (Parquet sinks only; other sinks convert to records)."""
        if self.format != "parquet":
            for rec in table.to_pylist():
                self.write(rec)
            return
        self._flush_parquet()
        self._write_table(table)
        self.count += table.num_rows

    def expect_columns(self, columns: list[str]) -> None:
        """The header a CSV output gets when no record is written to it (the columns of the
        input, for example); records written set their own header."""
        self._columns = list(columns)

    def _start_csv(self, columns: list[str]) -> csv.DictWriter[str]:
        self._text = io.TextIOWrapper(self._fh, encoding="utf-8", newline="")  # type: ignore[arg-type]
        self._csv = csv.DictWriter(self._text, fieldnames=columns, extrasaction="raise")
        self._csv.writeheader()
        return self._csv

    def _write_csv(self, record: dict[str, Any]) -> None:
        writer = self._csv if self._csv is not None else self._start_csv(list(record))
        row = {
            k: (orjson.dumps(v).decode() if isinstance(v, list | dict) else v)
            for k, v in record.items()
        }
        try:
            writer.writerow(row)
        except ValueError as exc:
            raise OutputError(
                f"{self.path}: record has fields that the first record did not have ({exc})",
                remedy="CSV needs one set of columns; write JSONL or Parquet instead",
            ) from exc

    def _write_table(self, table: Any) -> None:
        """Write a table to the Parquet file. The file's schema is the one the first tables
        share (types widened where Arrow can: int64 and double give double, a struct gains the
        fields of later records); while a column has held only nulls, tables are held back
        (up to :attr:`HOLD_ROWS` rows and :attr:`HOLD_BYTES` bytes) so that its first values
        decide its type. A later table whose types do not fit the file's is an
        :class:`OutputError` naming the field; nothing is dropped or truncated to fit."""
        if self._pq_writer is not None:
            self._pq_writer.write_table(self._conform(table))
            return
        self._pq_pending.append(table)
        self._pq_pending_rows += table.num_rows
        schema = self._unify([t.schema for t in self._pq_pending])
        held = sum(t.nbytes for t in self._pq_pending)
        if (
            self._pq_pending_rows < self.HOLD_ROWS
            and held < self.HOLD_BYTES
            and any(_has_null(f.type) for f in schema)
        ):
            return
        self._start_parquet(schema)

    HOLD_ROWS = 65536
    HOLD_BYTES = 64 << 20

    def _start_parquet(self, schema: Any) -> None:
        import pyarrow.parquet as pq

        self._pq_schema = schema
        self._pq_schema_rows = self._pq_pending_rows
        self._pq_writer = pq.ParquetWriter(
            self.tmp, schema, compression="zstd", write_page_checksum=True
        )
        pending, self._pq_pending = self._pq_pending, []
        for table in pending:
            self._pq_writer.write_table(self._conform(table))

    def _unify(self, schemas: list[Any]) -> Any:
        """One schema for tables of records (types widened where Arrow can)."""
        import pyarrow as pa

        try:
            return pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            for name in dict.fromkeys(n for schema in schemas for n in schema.names):
                types = [sc.field(name).type for sc in schemas if name in sc.names]
                try:
                    pa.unify_schemas(
                        [pa.schema([(name, t)]) for t in types], promote_options="permissive"
                    )
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    first = types[0]
                    other = next(t for t in types if t != first)
                    raise self._type_error(name, str(first), str(other)) from exc
            raise OutputError(
                f"{self.path}: records do not share one schema ({exc})",
                remedy="give every record the same fields and types, or write JSONL with "
                "--output-format jsonl",
            ) from exc

    def _conform(self, table: Any) -> Any:
        """``table`` in the file's schema: missing columns become nulls, types are widened."""
        import pyarrow as pa

        schema = self._pq_schema
        if table.schema == schema:
            return table
        for f in table.schema:
            # casting would drop fields a struct gained or narrow a wider number: refuse
            if f.name in schema.names and not _fits(f.type, schema.field(f.name).type):
                raise self._type_error(f.name, str(schema.field(f.name).type), str(f.type))
        extra = [n for n in table.schema.names if n not in schema.names]
        if extra:
            raise OutputError(
                f"{self.path}: field '{extra[0]}' first appears after the first "
                f"{self._pq_schema_rows:,} records, which fixed the Parquet file's columns",
                remedy="give every record the same fields (null where empty), or write JSONL "
                "with --output-format jsonl",
            )
        columns = []
        for f in schema:
            if f.name not in table.schema.names:
                columns.append(pa.nulls(table.num_rows, f.type))
                continue
            column = table.column(f.name)
            try:
                columns.append(column.cast(f.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise self._type_error(f.name, str(f.type), str(column.type)) from exc
        return pa.Table.from_arrays(columns, schema=schema)

    def _type_error(self, name: str, first: str, other: str) -> OutputError:
        return OutputError(
            f"{self.path}: field '{name}' has type {first} in some records and {other} in "
            "others; Parquet needs one type per column",
            remedy="write JSONL with --output-format jsonl, or give the field one type in "
            "every record",
        )

    def _flush_parquet(self) -> None:
        """Write the buffered records as one table. Its columns are the fields of all of them,
        in order of first appearance (``pa.Table.from_pylist`` would keep only the first
        record's fields and drop the others)."""
        if not self._pq_rows:
            return
        import pyarrow as pa

        rows, self._pq_rows = self._pq_rows, []
        names = list(dict.fromkeys(k for r in rows for k in r))
        arrays = []
        for name in names:
            values = [r.get(name) for r in rows]
            try:
                arrays.append(pa.array(values))
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise self._values_error(name, values, exc) from exc
        self._write_table(pa.Table.from_arrays(arrays, names=names))

    def _values_error(self, name: str, values: list[Any], exc: Exception) -> OutputError:
        """A field whose values Arrow cannot put in one column, named with the JSON types of
        two of its values."""
        kinds = list(dict.fromkeys(_json_type(v) for v in values if v is not None))
        if len(kinds) > 1:
            return self._type_error(name, kinds[0], kinds[1])
        inside = kinds[0] if kinds else "null"
        return OutputError(
            f"{self.path}: the values of field '{name}' cannot be stored in one Parquet column "
            f"(the types inside its {inside} values differ: {exc})",
            remedy="write JSONL with --output-format jsonl, or give the field one type in every "
            "record",
        )

    # -- finishing ----------------------------------------------------------------------------
    def close(self) -> None:
        """Flush and close the temporary file (it is not yet in place)."""
        if self.format == "parquet":
            self._flush_parquet()
            if self._pq_writer is None and self._pq_pending:
                self._start_parquet(self._unify([t.schema for t in self._pq_pending]))
            if self._pq_writer is None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({}), self.tmp)
            else:
                self._pq_writer.close()
            return
        if self.format == "csv" and self._csv is None and self._columns is not None:
            self._start_csv(self._columns)
        if self._text is not None:
            self._text.flush()
            self._text.detach()
        if self._fh is not None and self._fh is not self._raw:
            self._fh.close()
        if self._raw is not None and not self._raw.closed:
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()

    def commit(self) -> Path:
        """Move the finished file into place (atomic on one file system)."""
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file."""
        with contextlib.suppress(Exception):
            if self._raw is not None and not self._raw.closed:
                self._raw.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def _has_null(t: Any) -> bool:
    """Whether an Arrow type is null or holds a null type (a list of nulls, a struct field)."""
    import pyarrow as pa

    if pa.types.is_null(t):
        return True
    return any(_has_null(t.field(i).type) for i in range(t.num_fields))


def _fits(new: Any, old: Any) -> bool:
    """Whether values of type ``new`` go into a column of type ``old`` without loss (the
    permissive unification of the two is ``old``)."""
    import pyarrow as pa

    if new == old or pa.types.is_null(new):
        return True
    try:
        unified = pa.unify_schemas(
            [pa.schema([("f", old)]), pa.schema([("f", new)])], promote_options="permissive"
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return unified.field("f").type == old


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def open_sink(path: str | os.PathLike[str], fmt: str) -> Sink:
    """A writer for ``path`` in format ``fmt`` (jsonl, jsonl.gz, jsonl.zst, csv, parquet)."""
    return Sink(path, fmt)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write a JSON document atomically (temp file + rename)."""
    tmp = _tmp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
