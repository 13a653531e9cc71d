"""neardup: find, explain and remove exact and near-duplicate documents in text corpora.

>>> import neardup
>>> clusters = neardup.find_duplicates(["the same text here", "The same text, here!", "other"])
>>> [c.members for c in clusters]
[(0, 1)]
"""

__version__ = "0.1.0"

from neardup.api import DedupResult, dedup, find_duplicates, plan  # noqa: E402
from neardup.candidates.lsh import LSHParams, candidate_probability, lsh_params  # noqa: E402
from neardup.config import DedupConfig, KeepPolicy  # noqa: E402
from neardup.errors import (  # noqa: E402
    ConfigError,
    DuplicateIdError,
    InputError,
    NeardupError,
    OutputError,
    RecordTypeError,
)
from neardup.records import Cluster, Decision, Document, Match  # noqa: E402
from neardup.text.normalize import normalize  # noqa: E402

__all__ = [
    "Cluster",
    "ConfigError",
    "Decision",
    "DedupConfig",
    "DedupResult",
    "Document",
    "DuplicateIdError",
    "InputError",
    "KeepPolicy",
    "LSHParams",
    "Match",
    "NeardupError",
    "OutputError",
    "RecordTypeError",
    "__version__",
    "candidate_probability",
    "dedup",
    "find_duplicates",
    "lsh_params",
    "normalize",
    "plan",
]
