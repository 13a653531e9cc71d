"""Hygiene of the long-running parts: the HTTP service's limits on what it stores and how long
it waits for a request body, and the address a local Spark session binds its driver to."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

import neardup
from neardup.executors import spark as spark_executor
from neardup.executors.spark import SparkExecutor, local_driver_address, session_master
from neardup.index import Index
from neardup.server import create_app

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


def _builder_of(
    monkeypatch: pytest.MonkeyPatch,
    master: str | None,
    conf: dict[str, str] | None = None,
    gateway: str | None = None,
) -> _Builder:
    """What the session builder was given by ``SparkExecutor(master, conf=conf)``, with
    ``PYSPARK_GATEWAY_PORT`` set to ``gateway`` (as under spark-submit) or unset."""
    builder = _Builder()

    class _SessionClass:
        pass

    _SessionClass.builder = builder  # type: ignore[attr-defined]
    monkeypatch.setattr(spark_executor, "_require_spark", lambda: _SessionClass)
    monkeypatch.setattr(spark_executor, "_active_session", lambda _cls: None)
    monkeypatch.setattr(spark_executor, "java_version", lambda: 17)
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    if gateway is None:
        monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    else:
        monkeypatch.setenv("PYSPARK_GATEWAY_PORT", gateway)
    with SparkExecutor(master, conf=conf):
        pass
    return builder


def _started_with(
    monkeypatch: pytest.MonkeyPatch, master: str | None, conf: dict[str, str] | None = None
) -> dict[str, str]:
    return _builder_of(monkeypatch, master, conf).settings


@pytest.mark.parametrize(
    ("master", "environ", "expected"),
    [
        (None, {}, "local[*]"),
        ("local[2]", {}, "local[2]"),
        (None, {"PYSPARK_GATEWAY_PORT": "40123"}, None),  # under spark-submit
        ("yarn", {"PYSPARK_GATEWAY_PORT": "40123"}, "yarn"),
    ],
)
def test_session_master_leaves_spark_submit_its_master(
    master: str | None, environ: dict[str, str], expected: str | None
) -> None:
    assert session_master(master, environ) == expected


def test_under_spark_submit_no_master_and_no_loopback_are_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """spark-submit --master spark://head:7077 … --executor spark: the session must keep the
    cluster master (and its driver address), not become a local session on loopback."""
    builder = _builder_of(monkeypatch, None, gateway="40123")
    assert builder.master_url is None
    assert not set(LOOPBACK) & set(builder.settings)


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


# ---------------------------------------------------------------------------------------------
# the HTTP service
# ---------------------------------------------------------------------------------------------
@contextmanager
def serving(index: Path, http: str = "h11", **options: Any) -> Iterator[tuple[str, int]]:
    """The service over ``index`` (no authentication) in a thread on a free loopback port."""
    app = create_app(index, api_keys=None, require_auth=False, **options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, log_level="warning", http=http, ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.01)
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def _nested(levels: int) -> dict[str, Any]:
    """Metadata of ``levels`` objects inside each other."""
    meta: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        meta = {"a": meta}
    return meta


TEXT = "the harbour master noticed that the tide had not turned at the usual hour"


def test_meta_depth_is_limited_when_documents_are_added(tmp_path: Path, cli) -> None:
    with Index.create(tmp_path / "i.db") as idx:
        idx.add([{"id": "ok", "text": TEXT, "meta": _nested(32)}])
        assert idx.get("ok")["meta"] == _nested(32)
        with pytest.raises(neardup.InputError) as caught:
            idx.add([{"id": "deep", "text": TEXT + " again", "meta": _nested(33)}])
        assert str(caught.value) == (
            "field 'meta': document 'deep' has metadata nested deeper than 32 levels\n"
            "  -> flatten it: at most 32 objects and arrays inside each other, counting the "
            "metadata object itself"
        )
        with pytest.raises(neardup.InputError, match="deeper than 32 levels"):
            idx.add([{"id": "deeper", "text": "x", "meta": _nested(100_000)}])
        assert idx.get("deep") is None
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        json.dumps({"id": "list", "text": TEXT, "tags": json.loads("[" * 40 + "]" * 40)}) + "\n",
        encoding="utf-8",
    )
    code, _, err = cli("index", "add", tmp_path / "i.db", corpus)
    assert code == 3
    assert err.splitlines()[0] == (
        "neardup: error: field 'meta': document 'list' has metadata nested deeper than 32 levels"
    )


def test_meta_depth_over_http_and_documents_stored_deeper_are_still_served(
    tmp_path: Path,
) -> None:
    db = tmp_path / "i.db"
    with Index.create(db) as idx:
        idx.add([{"id": "old", "text": TEXT, "meta": {}}])
    conn = sqlite3.connect(db)  # as an earlier version without the limit stored it
    conn.execute("UPDATE docs SET meta = ? WHERE id = 'old'", (json.dumps(_nested(500)),))
    conn.commit()
    conn.close()
    with serving(db) as (host, port), httpx.Client(base_url=f"http://{host}:{port}") as client:
        ok = client.post(
            "/v1/documents",
            json={"documents": [{"id": "ok", "text": "a b c d e f", "meta": _nested(32)}]},
        )
        assert ok.status_code == 200
        assert client.get("/v1/documents/ok").json()["meta"] == _nested(32)
        deep = client.post(
            "/v1/documents",
            json={"documents": [{"id": "deep", "text": "g h i j k l", "meta": _nested(500)}]},
        )
        assert deep.status_code == 422
        assert deep.json()["error"] == (
            "invalid request: body.documents.0.meta: Value error, metadata is nested deeper "
            "than 32 levels"
        )
        assert client.get("/v1/documents/deep").status_code == 404
        old = client.get("/v1/documents/old")
        assert old.status_code == 200
        assert old.json() == {
            "id": "old",
            "text": TEXT,
            "meta": {
                "neardup_error": "metadata not returned: it is nested deeper than 32 levels; "
                "remove the document and add it again with flatter metadata"
            },
            "added_at": old.json()["added_at"],
        }
        assert client.delete("/v1/documents/old").json() == {"removed": 1}


def _stalled(host: str, port: int, body: bytes, sent: bytes) -> tuple[bytes, float]:
    """Send a request declaring ``body`` but only ``sent`` of it, then wait; the reply and the
    seconds until the server closed the connection."""
    request = (
        b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + sent
    )
    with socket.create_connection((host, port), timeout=30) as conn:
        t0 = time.monotonic()
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
        return reply, time.monotonic() - t0


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_a_stalled_request_body_gets_408_and_the_connection_closes(
    tmp_path: Path, http: str
) -> None:
    if http == "httptools":
        pytest.importorskip("httptools")
    db = tmp_path / "i.db"
    Index.create(db).close()
    body = json.dumps({"texts": [TEXT]}).encode()
    with serving(db, http=http, body_timeout_s=0.5) as (host, port):
        reply, seconds = _stalled(host, port, body, body[:10])
        assert reply.startswith(b"HTTP/1.1 408 ")
        head, payload = reply.split(b"\r\n\r\n", 1)
        assert b"connection: close" in head.lower()
        assert json.loads(payload) == {
            "error": "request body not received in time: the whole body must arrive within 0.5 s"
        }
        assert 0.4 < seconds < 10
        with httpx.Client(base_url=f"http://{host}:{port}") as client:  # others still served
            assert client.post("/v1/query", json={"texts": [TEXT]}).status_code == 200


def test_body_timeout_on_the_command_line(tmp_path: Path, cli) -> None:
    code, _, err = cli("serve", tmp_path / "none.db", "--body-timeout", "0")
    assert code == 2
    assert err.splitlines() == [
        "neardup: error: the body timeout must be a positive number of seconds, not 0.0",
        "  -> pass --body-timeout SECONDS (default 30)",
    ]
    with pytest.raises(neardup.ConfigError):
        create_app(tmp_path / "none.db", api_keys=None, require_auth=False, body_timeout_s=-1)


def test_a_full_disk_under_the_service_is_503_and_reads_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from neardup.index import core as index_core
    from neardup.index import store

    db = tmp_path / "i.db"
    with Index.create(db) as idx:
        idx.add([("first", TEXT)])
    real = store.connect

    def full(path: Path) -> sqlite3.Connection:
        conn = real(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return conn

    monkeypatch.setattr(index_core, "connect", full)
    docs = [{"id": f"d{k}", "text": f"{TEXT} {k} " + "word " * 2000} for k in range(20)]
    with (
        serving(db) as (host, port),
        httpx.Client(base_url=f"http://{host}:{port}", timeout=60) as client,
        caplog.at_level("ERROR", logger="neardup.server"),
    ):
        response = client.post("/v1/documents", json={"documents": docs})
        assert response.status_code == 503
        assert response.json() == {
            "error": "the index cannot be written now (the server's disk is full, read-only or "
            "failing); nothing of this request was stored",
            "remedy": "retry later; the server's log says more",
        }
        assert client.get("/v1/stats").json()["documents"] == 1
        assert client.post("/v1/query", json={"texts": [TEXT]}).json() == {
            "results": [{"matches": [{"id": "first", "similarity": 1.0, "reason": "exact"}]}]
        }
    assert f"cannot add to index {db}: the disk is full" in caplog.text
