"""Readers and writers for corpora: JSONL (plain, .gz, .zst), Parquet, CSV, folders of .txt."""

from neardup.io.sinks import Sink, open_sink
from neardup.io.sources import (
    FieldSpec,
    RawBatch,
    Source,
    open_source,
    open_sources,
    parse_batch,
)

__all__ = [
    "FieldSpec",
    "RawBatch",
    "Sink",
    "Source",
    "open_sink",
    "open_source",
    "open_sources",
    "parse_batch",
]
