"""The persistent incremental index (SQLite by default): ``neardup.Index``."""

from neardup.index.core import Index
from neardup.index.records import AddResult, CommittedInterrupt, QueryMatch

__all__ = ["AddResult", "CommittedInterrupt", "Index", "QueryMatch"]
