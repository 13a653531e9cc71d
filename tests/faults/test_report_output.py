"""An HTML report written into the output folder describes the run that wrote it: the commit of
the next run into that folder removes it, so an old report never stands beside a new result."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import planted, write_jsonl
from test_commit import finish, neardup, visible

from neardup.index import Index

RESULTS = ["clusters.jsonl", "kept.jsonl", "removed.jsonl", "stats.json"]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", planted(7, bases=40))


def test_a_run_without_a_report_removes_the_report_of_the_earlier_run(tmp_path, src, cli) -> None:
    out = tmp_path / "out"
    report = out / "report.html"
    assert cli("dedup", src, "-o", out, "--report", report, "--no-progress")[0] == 0
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    (out / "notes.html").write_text("<title>my notes</title>", encoding="utf-8")
    outside = tmp_path / "report.html"
    assert cli("dedup", src, "-o", tmp_path / "o2", "--report", outside, "--no-progress")[0] == 0

    code, _, err = cli("dedup", src, "-o", out, "--threshold", "0.5", "--no-progress")
    assert code == 0, err
    assert visible(out) == sorted([*RESULTS, "notes.html"])  # a file of the user's stays
    assert outside.exists()  # a report outside the folder is not the folder's

    assert cli("dedup", src, "-o", out, "--report", out / "other.html", "--no-progress")[0] == 0
    assert visible(out) == sorted([*RESULTS, "notes.html", "other.html"])
    db = tmp_path / "i.db"
    Index.create(db).close()
    code, _, err = cli("index", "add", db, src, "-o", out)
    assert code == 0, err
    assert visible(out) == ["kept.jsonl", "notes.html", "removed.jsonl", "stats.json"]


def test_a_run_killed_before_its_report_leaves_no_old_report(tmp_path, src, cli) -> None:
    out = tmp_path / "out"
    report = out / "report.html"
    assert cli("dedup", src, "-o", out, "--report", report, "--no-progress")[0] == 0
    code, _, err = finish(
        neardup(
            "dedup",
            src,
            "-o",
            out,
            "--report",
            report,
            "--threshold",
            "0.5",
            env={"NEARDUP_FAULT_POINT": "commit:committed"},
        )
    )
    assert code == -signal.SIGKILL, err  # died after stats.json, before the report
    assert visible(out) == RESULTS
