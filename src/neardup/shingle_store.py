"""Where the shingle ids of a corpus live between fingerprinting and verification.

MinHash needs each document's shingles once, while it is fingerprinted; verification needs them
again, but only for the documents of candidate pairs. :class:`ShingleStore` keeps the batches in
memory up to a budget and spills everything to one file in the run's work folder beyond it, so a
100k-document corpus (~260 MB of ids) never touches the disk and a 1M-document one (~2.6 GB)
costs no memory: verification reads the candidates' ids back through a read-only memory map.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from neardup.verify import sorted_sets

DEFAULT_BUDGET = 512 << 20


class ShingleTable:
    """Read access to the shingle ids of every document, held in one or more chunks.

    Chunk ``k`` holds documents ``starts[k] .. starts[k+1]-1``; ``offsets[k]`` are the local
    offsets of those documents in ``chunks[k]``.
    """

    def __init__(self, chunks: list[np.ndarray], offsets: list[np.ndarray]) -> None:
        self.chunks = chunks
        self.offsets = offsets
        sizes = [o.size - 1 for o in offsets]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self.counts = (
            np.concatenate([np.diff(o) for o in offsets]) if offsets else np.zeros(0, np.int64)
        )

    def __len__(self) -> int:
        return int(self.starts[-1])

    def sets(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted unique shingle-id sets of ``docs`` (sorted, unique ordinals), packed as
        ``(sets, set_offsets)`` in the order of ``docs``."""
        docs = np.asarray(docs, dtype=np.int64)
        if docs.size == 0:
            return np.zeros(0, np.uint32), np.zeros(1, np.int64)
        which = np.searchsorted(self.starts, docs, side="right") - 1
        parts, part_offsets = [], []
        shift = 0
        for k in np.unique(which).tolist():
            local = docs[which == k] - self.starts[k]
            sets, offs = sorted_sets(self.chunks[k], self.offsets[k], local)
            parts.append(sets)
            part_offsets.append(offs[1:] + shift)
            shift += int(offs[-1])
        set_offsets = np.concatenate([[0], *part_offsets]).astype(np.int64)
        return np.concatenate(parts), set_offsets

    def document(self, d: int) -> np.ndarray:
        """Sorted unique shingle ids of document ``d``."""
        sets, _ = self.sets(np.array([d]))
        return sets


class ShingleStore:
    """Collects shingle ids batch by batch (see module docstring)."""

    def __init__(self, workdir: Path | None, budget: int = DEFAULT_BUDGET) -> None:
        self.workdir = workdir
        self.budget = budget
        self._chunks: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        self._bytes = 0
        self._path: Path | None = None
        self._file: Any = None
        self._all_counts: list[np.ndarray] = []

    def append(self, shingles: np.ndarray, counts: np.ndarray) -> None:
        data = np.ascontiguousarray(shingles, dtype=np.uint32)
        counts = np.asarray(counts, dtype=np.int64)
        self._all_counts.append(counts)
        if (
            self._file is None
            and self.workdir is not None
            and self._bytes + data.nbytes > self.budget
        ):
            fd, name = tempfile.mkstemp(prefix="shingles-", suffix=".u32", dir=self.workdir)
            os.close(fd)
            self._path = Path(name)
            self._file = open(self._path, "wb")  # noqa: SIM115 - closed in finish() / close()
            for chunk in self._chunks:
                chunk.tofile(self._file)
            self._chunks, self._offsets = [], []
        self._bytes += data.nbytes
        if self._file is not None:
            data.tofile(self._file)
        else:
            offs = np.zeros(counts.size + 1, dtype=np.int64)
            np.cumsum(counts, out=offs[1:])
            self._chunks.append(data)
            self._offsets.append(offs)

    def finish(self) -> ShingleTable:
        """The table of everything appended."""
        if self._file is None:
            return ShingleTable(self._chunks, self._offsets)
        self._file.close()
        self._file = None
        counts = np.concatenate(self._all_counts)
        offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        data = (
            np.memmap(self._path, dtype=np.uint32, mode="r")
            if offsets[-1] > 0
            else np.zeros(0, np.uint32)
        )
        return ShingleTable([data], [offsets])

    def close(self) -> None:
        """Close the spill file without finishing (after a failed run)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def spilled(self) -> bool:
        return self._path is not None
