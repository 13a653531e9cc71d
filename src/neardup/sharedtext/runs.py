"""Fingerprints on disk, hash-partitioned into sorted runs.

Each batch's fingerprints ``(hash, doc, position)`` are split by the top bits of the hash into
``partitions`` parts; every part is sorted and appended to its partition's file as one sorted run.
Reading a partition back loads only that partition (about ``1 / partitions`` of all
fingerprints) and merges its runs, so memory is bounded by the largest partition, whatever the
corpus size. Nothing is probabilistic: every fingerprint is kept (no Bloom filter).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

RECORD = np.dtype([("hash", "<u8"), ("doc", "<i8"), ("pos", "<i4")])

#: Bytes of fingerprints per partition that :func:`partitions_for` aims at.
PARTITION_BYTES = 64 << 20


def partitions_for(expected: int) -> int:
    """A power of two of partitions so that ``expected`` fingerprints stay near
    :data:`PARTITION_BYTES` per partition (1 to 4096)."""
    need = max(1, -(-expected * RECORD.itemsize // PARTITION_BYTES))
    return int(min(4096, 1 << (need - 1).bit_length()))


class FingerprintRuns:
    """Append-only, hash-partitioned store of fingerprints in a work folder."""

    def __init__(self, folder: str | os.PathLike[str], partitions: int = 16) -> None:
        if partitions < 1 or partitions & (partitions - 1):
            raise ValueError(f"partitions must be a power of two, not {partitions}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.partitions = partitions
        self.shift = np.uint64(64 - (partitions.bit_length() - 1))
        self.count = 0
        self.paths = [self.folder / f"part-{p:05d}.fp" for p in range(partitions)]
        for path in self.paths:
            path.write_bytes(b"")

    def add(self, hashes: np.ndarray, docs: np.ndarray, pos: np.ndarray) -> None:
        """Append one batch of fingerprints (``docs`` are global document ordinals)."""
        n = hashes.size
        if n == 0:
            return
        rec = np.empty(n, dtype=RECORD)
        rec["hash"], rec["doc"], rec["pos"] = hashes, docs, pos
        part = (
            (rec["hash"] >> self.shift).astype(np.int64)
            if self.partitions > 1
            else np.zeros(n, np.int64)
        )
        order = np.lexsort((rec["pos"], rec["doc"], rec["hash"], part))
        rec, part = rec[order], part[order]
        bounds = np.searchsorted(part, np.arange(self.partitions + 1))
        for p in np.flatnonzero(np.diff(bounds)).tolist():
            with open(self.paths[p], "ab") as fh:
                rec[bounds[p] : bounds[p + 1]].tofile(fh)
        self.count += n

    def partition(self, p: int) -> np.ndarray:
        """All fingerprints of partition ``p``, sorted by ``(hash, doc, pos)``."""
        rec = np.fromfile(self.paths[p], dtype=RECORD)
        if rec.size > 1:
            rec = rec[np.lexsort((rec["pos"], rec["doc"], rec["hash"]))]
        return rec
