"""The command line's error boundary: every failure ends as ``neardup: error: …`` with a remedy
and an exit code, a bug as one ``neardup: internal error: …`` line; tracebacks only with
``--debug`` or ``NEARDUP_DEBUG=1``; interrupts say what they leave behind."""

from __future__ import annotations

import errno
import importlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from conftest import write_jsonl

import neardup.io.artifacts
from neardup.errors import INTERRUPTED, OutputError, on_interrupt

commands = importlib.import_module("neardup.cli.run")  # neardup.cli.run is also a function


def failing(exc: BaseException):
    def run(*_: Any, **__: Any) -> Any:
        raise exc

    return run


@pytest.fixture
def src(tmp_path: Path, corpus_records) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", corpus_records)


def test_unexpected_exception_is_one_line(tmp_path, src, cli, monkeypatch) -> None:
    monkeypatch.setattr(commands, "run_dedup", failing(RuntimeError("boom\nsecond line")))
    monkeypatch.delenv("NEARDUP_DEBUG", raising=False)
    code, out, err = cli("dedup", src, "-o", tmp_path / "out")
    assert (code, out) == (1, "")
    assert err == (
        "neardup: internal error: RuntimeError: boom\n  run again with --debug for the traceback\n"
    )


def test_debug_prints_the_traceback(tmp_path, src, cli, monkeypatch) -> None:
    monkeypatch.setattr(commands, "run_dedup", failing(RuntimeError("boom")))
    monkeypatch.delenv("NEARDUP_DEBUG", raising=False)
    code, _, err = cli("--debug", "dedup", src, "-o", tmp_path / "out")
    assert code == 1
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith("RuntimeError: boom\nneardup: internal error: RuntimeError: boom\n")


def test_debug_from_the_environment(tmp_path, src, cli, monkeypatch) -> None:
    monkeypatch.setattr(commands, "run_dedup", failing(RuntimeError("boom")))
    monkeypatch.setenv("NEARDUP_DEBUG", "1")
    code, _, err = cli("dedup", src, "-o", tmp_path / "out")
    assert code == 1
    assert err.startswith("Traceback (most recent call last):\n")
    monkeypatch.setenv("NEARDUP_DEBUG", "0")
    code, _, err = cli("dedup", src, "-o", tmp_path / "out")
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_a_neardup_error(tmp_path, src, cli, monkeypatch) -> None:
    error = OutputError("cannot write x", remedy="choose another --output folder")
    monkeypatch.setattr(commands, "run_dedup", failing(error))
    monkeypatch.delenv("NEARDUP_DEBUG", raising=False)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out")
    assert (code, err) == (
        4,
        "neardup: error: cannot write x\n  -> choose another --output folder\n",
    )
    code, _, err = cli("--debug", "dedup", src, "-o", tmp_path / "out")
    assert code == 4
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith("neardup: error: cannot write x\n  -> choose another --output folder\n")


def test_debug_is_listed_in_help(cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    assert "  --debug     Print the traceback of an error (also NEARDUP_DEBUG=1).\n" in out


def test_exit_codes_are_listed_in_help(cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    assert " ".join(out.split("Exit codes: ")[1].split("\n\n")[0].split()) == (
        "0 done, 2 bad parameters, 3 bad input, 4 output problem (full disk, read-only or locked "
        "output folder), 130 interrupted, 1 internal error (a bug; --debug shows where)."
    )


@pytest.mark.parametrize(
    ("number", "remedy"),
    [
        (errno.ENOSPC, "free space on that disk, or choose an --output folder on another disk"),
        (errno.EACCES, "make the folder writable for this user (chmod/chown)"),
        (errno.EROFS, "the file system is mounted read-only; choose a writable --output folder"),
    ],
)
def test_unwrapped_os_errors_exit_4(tmp_path, src, cli, monkeypatch, number, remedy) -> None:
    exc = OSError(number, os.strerror(number), "/data/out/kept.jsonl")
    monkeypatch.setattr(commands, "run_dedup", failing(exc))
    code, _, err = cli("dedup", src, "-o", tmp_path / "out")
    assert code == 4
    first, second = err.splitlines()
    assert first == f"neardup: error: /data/out/kept.jsonl: {os.strerror(number)}"
    assert second.startswith(f"  -> {remedy}")


def test_a_command_says_what_its_interrupt_leaves(tmp_path, src, cli, monkeypatch) -> None:
    def interrupted(*_: Any, **__: Any) -> None:
        with on_interrupt(lambda: "interrupted; 3 of 5 batches were added to the index"):
            raise KeyboardInterrupt

    monkeypatch.setattr(commands, "run_dedup", interrupted)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out")
    assert code == 130
    assert err.splitlines()[-1] == "neardup: interrupted; 3 of 5 batches were added to the index"


def test_the_innermost_interrupt_message_wins(tmp_path, src, cli, monkeypatch) -> None:
    def interrupted(*_: Any, **__: Any) -> None:
        with on_interrupt("outer"), on_interrupt("inner"):
            raise KeyboardInterrupt

    monkeypatch.setattr(commands, "run_dedup", interrupted)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out")
    assert (code, err.splitlines()[-1]) == (130, "neardup: inner")


def test_dedup_interrupted_while_writing(tmp_path, src, cli, monkeypatch) -> None:
    out = tmp_path / "out"
    assert cli("dedup", src, "-o", out, "--workers", "1")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(neardup.io.artifacts.Sink, "close", failing(KeyboardInterrupt()))
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--threshold", "0.5")
    assert code == 130
    assert err.splitlines()[-1] == f"neardup: {INTERRUPTED}"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_interrupt_during_the_commit_waits_for_it(tmp_path, src, cli, monkeypatch) -> None:
    """Ctrl-C between two renames: the commit finishes, then the run stops and says so."""
    out = tmp_path / "out"
    assert cli("dedup", src, "-o", out, "--workers", "1", "--output-format", "csv")[0] == 0
    real = neardup.io.artifacts.fault_point

    def ctrl_c(step: str) -> None:
        if step == "renamed-kept":
            os.kill(os.getpid(), signal.SIGINT)
        real(step)

    monkeypatch.setattr(neardup.io.artifacts, "fault_point", ctrl_c)
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 130
    assert err.splitlines()[-1] == f"neardup: interrupted after the results were written to {out}"
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert stats["parameters"]["output_format"] == "jsonl"
    assert sorted(p.name for p in out.iterdir()) == [
        "clusters.jsonl",
        "kept.jsonl",
        "removed.jsonl",
        "stats.json",
    ]
