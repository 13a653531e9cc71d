"""``python -m neardup.cli``: the same as the ``neardup`` command."""

from neardup.cli import run

run()
