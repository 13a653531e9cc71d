"""Hygiene of the long-running parts: the HTTP service's limits on what it stores and how long
it waits for a request body, and the address a local Spark session binds its driver to."""

from __future__ import annotations

from typing import Any

import pytest

from neardup.executors import spark as spark_executor
from neardup.executors.spark import SparkExecutor, local_driver_address

LOOPBACK = {"spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1"}


# ---------------------------------------------------------------------------------------------
# Spark: a local session neardup starts binds its driver to loopback
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("master", [None, "local", "local[2]", "local[*]"])
def test_a_local_master_binds_the_driver_to_loopback(master: str | None) -> None:
    assert local_driver_address(master, {}, {}) == LOOPBACK


@pytest.mark.parametrize(
    ("master", "conf", "environ"),
    [
        ("spark://head:7077", {}, {}),
        ("yarn", {}, {}),
        ("local[2]", {"spark.driver.host": "10.0.0.5"}, {}),
        ("local[2]", {"spark.driver.bindAddress": "0.0.0.0"}, {}),
        ("local[2]", {}, {"SPARK_LOCAL_IP": "10.0.0.5"}),
    ],
)
def test_cluster_masters_and_explicit_addresses_are_left_alone(
    master: str, conf: dict[str, str], environ: dict[str, str]
) -> None:
    assert local_driver_address(master, conf, environ) == {}


class _Builder:
    """Records what a SparkSession builder is given; builds a session that records nothing."""

    def __init__(self) -> None:
        self.settings: dict[str, str] = {}
        self.master_url: str | None = None

    def appName(self, _name: str) -> _Builder:
        return self

    def master(self, url: str) -> _Builder:
        self.master_url = url
        return self

    def config(self, key: str, value: str) -> _Builder:
        self.settings[key] = value
        return self

    def getOrCreate(self) -> Any:
        class _Conf:
            def get(self, _key: str) -> str:
                return "8"

            def set(self, _key: str, _value: str) -> None:
                pass

        class _Context:
            def setLogLevel(self, _level: str) -> None:
                pass

        class _Session:
            conf = _Conf()
            sparkContext = _Context()

            def stop(self) -> None:
                pass

        return _Session()


def _started_with(
    monkeypatch: pytest.MonkeyPatch, master: str | None, conf: dict[str, str] | None = None
) -> dict[str, str]:
    builder = _Builder()

    class _SessionClass:
        pass

    _SessionClass.builder = builder  # type: ignore[attr-defined]
    monkeypatch.setattr(spark_executor, "_require_spark", lambda: _SessionClass)
    monkeypatch.setattr(spark_executor, "_active_session", lambda _cls: None)
    monkeypatch.setattr(spark_executor, "java_version", lambda: 17)
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    with SparkExecutor(master, conf=conf):
        pass
    return builder.settings


def test_the_session_neardup_starts_gets_the_loopback_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _started_with(monkeypatch, "local[2]")
    assert {k: settings[k] for k in LOOPBACK} == LOOPBACK
    settings = _started_with(monkeypatch, None)
    assert {k: settings[k] for k in LOOPBACK} == LOOPBACK
    settings = _started_with(monkeypatch, "local[2]", {"spark.driver.host": "10.0.0.5"})
    assert settings["spark.driver.host"] == "10.0.0.5"
    assert "spark.driver.bindAddress" not in settings
    settings = _started_with(monkeypatch, "spark://head:7077")
    assert not set(LOOPBACK) & set(settings)
