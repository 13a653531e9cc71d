"""The time window decision (``--window FIELD:DURATION``, :mod:`neardup.timewindow`), one
function for both executors: the local schedule calls :func:`within_window` on the exact,
near and contained pairs of the whole corpus before clustering; the Spark schedule calls it
through :func:`window_partition` on partitions of pairs that carry both documents' times.

A pair is kept when both documents have a time and the times differ by at most the window, or
when neither has a time; a document without a time (NaN) is never a duplicate of one with a
time, so it can neither be removed for a copy of another day nor bridge two stories that the
window keeps apart. Clustering then runs on the pairs
that remain: under ``--clustering star`` every removed document is within the window of the
one kept for it; under ``components`` a chain of pairs, each within the window, can still
join documents further apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

#: a pair with both documents' times (seconds; NaN: no time)
WINDOW_PAIR_SCHEMA = pa.schema(
    [("a", pa.int64()), ("b", pa.int64()), ("ta", pa.float64()), ("tb", pa.float64())]
)
PAIR_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64())])


def within_window(ta: np.ndarray, tb: np.ndarray, seconds: float) -> np.ndarray:
    """Which pairs may be duplicates: ``|ta − tb| ≤ seconds``, or both times unknown."""
    ta, tb = np.asarray(ta, np.float64), np.asarray(tb, np.float64)
    undated_a, undated_b = np.isnan(ta), np.isnan(tb)
    near = np.abs(ta - tb) <= seconds  # false when either is NaN
    return near | (undated_a & undated_b)


def search_members(reps: np.ndarray, eligible: np.ndarray, window: bool) -> np.ndarray:
    """The documents the pair search runs over: the first copy of each exact group
    (``reps``), or with a window every eligible document. An exact group is linked to its
    first copy, which may lie outside the window of a later copy; searching every copy lets
    a later copy find the near-duplicates of its own days (identical copies collide in every
    band, so their pairs are found too, and verified at Jaccard 1)."""
    return np.flatnonzero(eligible) if window else reps


def window_pairs(pairs: np.ndarray, times: np.ndarray | None, seconds: float | None) -> np.ndarray:
    """The rows of ``pairs`` (document ordinals) within the window (all without one)."""
    if times is None or seconds is None or pairs.size == 0:
        return pairs
    return pairs[within_window(times[pairs[:, 0]], times[pairs[:, 1]], seconds)]


def window_partition(batches: Iterator[pa.RecordBatch], seconds: float) -> Iterator[pa.RecordBatch]:
    """Stage: the pairs of :data:`WINDOW_PAIR_SCHEMA` rows within the window, as ``(a, b)``."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        ta = batch.column("ta").to_numpy(zero_copy_only=False)
        tb = batch.column("tb").to_numpy(zero_copy_only=False)
        keep = within_window(ta, tb, seconds)
        yield pa.RecordBatch.from_arrays(
            [batch.column("a").filter(pa.array(keep)), batch.column("b").filter(pa.array(keep))],
            schema=PAIR_SCHEMA,
        )
