"""Executors schedule stage functions; they hold no stage logic of their own."""

from neardup.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
