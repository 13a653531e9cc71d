"""Executors schedule stage functions; they hold no stage logic of their own."""

from neardup.executors.base import Executor
from neardup.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
