"""Output writers. Every file is written to a temporary name beside its target and renamed into
place by :meth:`Sink.commit`, so a crash or Ctrl-C never leaves a half-written result.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
from pathlib import Path
from typing import IO, Any

import orjson

from neardup.errors import OutputError


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


class Sink:
    """A record writer for one output file (JSONL, compressed JSONL, CSV or Parquet)."""

    def __init__(self, path: str | os.PathLike[str], fmt: str) -> None:
        self.path = Path(path)
        self.format = fmt
        self.tmp = _tmp_path(self.path)
        self.count = 0
        self._fh: IO[bytes] | None = None
        self._raw: IO[bytes] | None = None
        self._csv: csv.DictWriter | None = None
        self._text: io.TextIOWrapper | None = None
        self._pq_writer: Any = None
        self._pq_rows: list[dict[str, Any]] = []
        self._pq_schema: Any = None
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

    def _write_csv(self, record: dict[str, Any]) -> None:
        if self._csv is None:
            self._text = io.TextIOWrapper(self._fh, encoding="utf-8", newline="")  # type: ignore[arg-type]
            self._csv = csv.DictWriter(self._text, fieldnames=list(record), extrasaction="raise")
            self._csv.writeheader()
        row = {
            k: (orjson.dumps(v).decode() if isinstance(v, list | dict) else v)
            for k, v in record.items()
        }
        try:
            self._csv.writerow(row)
        except ValueError as exc:
            raise OutputError(
                f"{self.path}: record has fields that the first record did not have ({exc})",
                remedy="CSV needs one set of columns; write JSONL or Parquet instead",
            ) from exc

    def _write_table(self, table: Any) -> None:
        import pyarrow.parquet as pq

        if self._pq_writer is None:
            self._pq_schema = table.schema
            self._pq_writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        elif table.schema != self._pq_schema:
            try:
                table = table.select(self._pq_schema.names).cast(self._pq_schema)
            except Exception as exc:
                raise OutputError(
                    f"{self.path}: records do not share one schema ({exc})",
                    remedy="give every record the same fields and types, or write JSONL",
                ) from exc
        self._pq_writer.write_table(table)

    def _flush_parquet(self) -> None:
        if not self._pq_rows:
            return
        import pyarrow as pa

        table = pa.Table.from_pylist(self._pq_rows)
        self._pq_rows = []
        self._write_table(table)

    # -- finishing ----------------------------------------------------------------------------
    def close(self) -> None:
        """Flush and close the temporary file (it is not yet in place)."""
        if self.format == "parquet":
            self._flush_parquet()
            if self._pq_writer is None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({}), self.tmp)
            else:
                self._pq_writer.close()
            return
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
