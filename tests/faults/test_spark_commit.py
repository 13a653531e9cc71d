"""The Spark executor commits a local output folder with the same protocol as a local run: the
folder is locked, the old ``stats.json`` goes first, results of another run are removed, and
``stats.json`` is written last. Spark itself is replaced by an executor over the local file
system, so these tests need neither Java nor pyspark."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import HARBOUR, ORCHARD, write_jsonl

from neardup.api import distributed
from neardup.config import DedupConfig
from neardup.errors import OutputError
from neardup.executors.spark import SparkExecutor
from neardup.io import commit
from neardup.io.sources import open_source


class Crash(BaseException):
    """The driver dies here."""


class LocalFiles(SparkExecutor):
    """The file operations of the Spark executor, on local paths; no Spark."""

    def __init__(self, crash_at: str | None = None) -> None:
        super().__init__()
        self.crash_at = crash_at

    def __enter__(self) -> LocalFiles:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def qualify(self, uri: str) -> str:
        return uri

    def exists(self, uri: str) -> bool:
        return os.path.lexists(uri)

    def delete(self, uri: str) -> None:
        if os.path.isdir(uri):
            shutil.rmtree(uri)
        elif os.path.lexists(uri):
            os.unlink(uri)

    def rename(self, src: str, dst: str) -> None:
        if self.crash_at is not None and dst.endswith(f"/{self.crash_at}"):
            raise Crash(dst)
        os.rename(src, dst)

    def list(self, uri: str) -> list[str]:
        return sorted(os.listdir(uri))

    def write_bytes(self, uri: str, data: bytes) -> None:
        Path(uri).write_bytes(data)

    def start_work(self, uri: str) -> str:
        self.work = uri
        return uri


def plan_module() -> Any:
    for name in ("neardup.api.spark_plan", "neardup.executors.spark_plan"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    pytest.skip("no Spark plan module")


@pytest.fixture
def fake_plan(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The plan writes one part file per result; calls made while it runs are recorded."""
    seen: list[Any] = []

    def run(ex, sources, cfg, lsh, staging, clock, fmt) -> Any:
        for which in distributed.RESULTS:
            folder = Path(staging) / which
            folder.mkdir(parents=True)
            (folder / "part-00000-abc.jsonl").write_text(f'{{"new": "{which}"}}\n')
            (folder / "._SUCCESS.crc").write_text("")
        out = Path(staging).parent
        try:
            commit.OutputLock.acquire(out, "a second run").release()
            seen.append("not locked")
        except OutputError as exc:
            seen.append(exc.message)
        return SimpleNamespace(counts={}, histogram=[], errors=[])

    plan = plan_module()
    monkeypatch.setattr(plan, "run", run)
    monkeypatch.setattr(plan, "check_inputs", lambda *_: None)
    monkeypatch.setattr(distributed, "_stats", lambda *_: {"kept": 1, "removed": 1})
    return seen


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """A complete earlier result of a local run."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("kept.jsonl", "removed.jsonl", "clusters.jsonl"):
        (out / name).write_text('{"old": true}\n')
    (out / "stats.json").write_text('{"old": true}\n')
    return out


def run_spark(tmp_path: Path, out: Path, ex: SparkExecutor) -> Any:
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": 1, "text": HARBOUR}, {"id": 2, "text": ORCHARD}]
    )
    return distributed.dedup_spark([open_source(src)], str(out), DedupConfig(), "jsonl", ex)


def test_spark_commit_replaces_a_local_result(tmp_path, previous, fake_plan) -> None:
    _, outputs = run_spark(tmp_path, previous, LocalFiles())
    assert sorted(p.name for p in previous.iterdir()) == [
        "clusters",
        "kept",
        "removed",
        "stats.json",
    ]
    assert sorted(p.name for p in (previous / "kept").iterdir()) == ["part-00000.jsonl"]
    assert outputs["kept"] == str(previous / "kept")
    assert (previous / "stats.json").read_bytes().startswith(b'{\n  "kept": 1')


def test_spark_run_locks_a_local_output_folder(tmp_path, previous, fake_plan) -> None:
    run_spark(tmp_path, previous, LocalFiles())
    assert len(fake_plan) == 1
    assert fake_plan[0].startswith(f"output folder {previous} is in use by another neardup run")


@pytest.mark.parametrize("crash_at", ["kept", "removed", "clusters", "stats.json"])
def test_spark_driver_dies_during_the_commit(tmp_path, previous, fake_plan, crash_at) -> None:
    with pytest.raises(Crash):
        run_spark(tmp_path, previous, LocalFiles(crash_at))
    assert not (previous / "stats.json").exists()  # never the old marker beside new files
    assert not (previous / ".neardup.lock").exists()
