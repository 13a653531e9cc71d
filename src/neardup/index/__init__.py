"""The persistent incremental index (SQLite by default): ``neardup.Index``."""

from neardup.index.core import AddResult, Index, QueryMatch

__all__ = ["AddResult", "Index", "QueryMatch"]
