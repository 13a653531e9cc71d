"""``dedup --executor``: Spark-only options, and what a missing runtime says."""

from __future__ import annotations

import json

import pytest

import neardup


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": 1, "text": "one two three four five six"}) + "\n")
    return path


def test_spark_options_need_the_spark_executor(cli, corpus_file, tmp_path):
    code, _, err = cli("dedup", corpus_file, "-o", tmp_path / "o", "--partitions", "4")
    assert code == 2
    assert "--spark-master, --partitions and --spark-conf need --executor spark" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spark-conf", "spark.executor.memory"], "'spark.executor.memory' is not KEY=VALUE"),
        (["--partitions", "0"], "must be at least 1"),
        (["--executor", "ray"], "'ray' is not one of 'local', 'spark'"),
    ],
)
def test_bad_spark_options_are_rejected(cli, corpus_file, tmp_path, args, message):
    argv = ["dedup", corpus_file, "-o", tmp_path / "o"]
    if args[0] != "--executor":
        argv += ["--executor", "spark"]
    code, _, err = cli(*argv, *args)
    assert code == 2
    assert message in err
    assert not (tmp_path / "o").exists()


def test_missing_java_says_what_to_install(cli, corpus_file, tmp_path, monkeypatch):
    pytest.importorskip("pyspark")
    from neardup.executors import spark

    monkeypatch.setattr(spark, "java_version", lambda: None)
    monkeypatch.setattr(spark, "_active_session", lambda cls: None)
    code, _, err = cli("dedup", corpus_file, "-o", tmp_path / "o", "--executor", "spark")
    assert code == neardup.errors.DependencyError.exit_code
    assert "Spark needs a Java 17+ runtime; found no Java runtime" in err
    assert "openjdk-17-jre-headless" in err


def test_missing_pyspark_says_which_extra(cli, corpus_file, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("No module named 'pyspark'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    code, _, err = cli("dedup", corpus_file, "-o", tmp_path / "o", "--executor", "spark")
    assert code == neardup.errors.DependencyError.exit_code
    assert "pip install 'neardup[spark]'" in err
