"""Stage functions, written once for every executor.

Per-partition stages take an iterator of :class:`pyarrow.RecordBatch` (one partition of a
distributed table, possibly empty) and yield record batches; none of them knows which engine
calls it. Corpus-level decisions live in :mod:`neardup.stages.decide` as numpy functions over
whole groups: the local executor calls them once on the whole corpus, the Spark executor once per
partition of whole groups. Modules: :mod:`~neardup.stages.arrow` (schemas, packing),
:mod:`~neardup.stages.fingerprint`, :mod:`~neardup.stages.pairs`,
:mod:`~neardup.stages.clusters`, :mod:`~neardup.stages.output`.
"""

from neardup.stages.arrow import POS_SHIFT, spark_ddl, unpack
from neardup.stages.clusters import cluster_partition, decide_partition, index_partition
from neardup.stages.fingerprint import (
    ReadSpec,
    doc_counts_partition,
    document_partition,
    fingerprint_partition,
    line_rows,
    position_partition,
    reject_partition,
    split_offsets,
)
from neardup.stages.output import in_partition_order, jsonl_output_partition
from neardup.stages.pairs import (
    band_partition,
    bucket_partition,
    exact_partition,
    pair_summary_partition,
    similarity_partition,
)

__all__ = [
    "POS_SHIFT",
    "ReadSpec",
    "band_partition",
    "bucket_partition",
    "cluster_partition",
    "decide_partition",
    "doc_counts_partition",
    "document_partition",
    "exact_partition",
    "fingerprint_partition",
    "in_partition_order",
    "index_partition",
    "jsonl_output_partition",
    "line_rows",
    "pair_summary_partition",
    "position_partition",
    "reject_partition",
    "similarity_partition",
    "spark_ddl",
    "split_offsets",
    "unpack",
]
