"""`neardup dedup --report` writes the HTML report beside the other outputs."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_jsonl


def test_report_flag(tmp_path: Path, cli, corpus_records) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", corpus_records)
    report = tmp_path / "out" / "report.html"
    code, out, err = cli("dedup", src, "-o", tmp_path / "out", "--report", report, "--json")
    assert code == 0, err
    stats = json.loads(out)
    html = report.read_text(encoding="utf-8")
    assert html.count("<svg") == 2
    assert f'data-stat="documents">{stats["documents"]}<' in html
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
