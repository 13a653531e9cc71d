"""neardup: find, explain and remove exact and near-duplicate documents in text corpora.

>>> import neardup
>>> clusters = neardup.find_duplicates(["the same text here", "The same text, here!", "other"])
>>> [c.members for c in clusters]
[(0, 1)]
"""

__version__ = "0.1.0"

import neardup.openblas  # noqa: F401  (first: OpenBLAS reads it when numpy loads)
from neardup.api import (
    DedupResult,
    PassagesResult,
    dedup,
    explain,
    explain_texts,
    find_boilerplate,
    find_duplicates,
    find_passages,
    index_add,
    memory_plan,
    passages,
    plan,
)
from neardup.candidates.lsh import LSHParams, candidate_probability, lsh_params
from neardup.config import PRESETS, DedupConfig, KeepPolicy, PassagesConfig
from neardup.errors import (
    ConfigError,
    DuplicateIdError,
    InputError,
    NeardupError,
    OutputError,
    RecordTypeError,
)
from neardup.executors.spark import SparkExecutor
from neardup.index import AddResult, Index, QueryMatch
from neardup.judge import SampleResult, evaluate, sample_pairs
from neardup.records import Cluster, Document
from neardup.text.normalize import normalize

__all__ = [
    "PRESETS",
    "AddResult",
    "Cluster",
    "ConfigError",
    "DedupConfig",
    "DedupResult",
    "Document",
    "DuplicateIdError",
    "Index",
    "InputError",
    "KeepPolicy",
    "LSHParams",
    "NeardupError",
    "OutputError",
    "PassagesConfig",
    "PassagesResult",
    "QueryMatch",
    "RecordTypeError",
    "SampleResult",
    "SparkExecutor",
    "__version__",
    "candidate_probability",
    "dedup",
    "evaluate",
    "explain",
    "explain_texts",
    "find_boilerplate",
    "find_duplicates",
    "find_passages",
    "index_add",
    "lsh_params",
    "memory_plan",
    "normalize",
    "passages",
    "plan",
    "sample_pairs",
]
