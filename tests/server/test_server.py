"""The HTTP service (``neardup serve``): endpoints, authentication, limits, error answers,
concurrent writers and a schemathesis run against its own OpenAPI spec.

Requests go to a real uvicorn server on a free loopback port (starlette's TestClient warns
about its httpx dependency, and a real server also exercises streaming and Content-Length)."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from conftest import HARBOUR, NOTES, OBSERVATORY, ORCHARD, WORKSHOP
from fastapi import FastAPI
from hypothesis import given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

import neardup
from neardup.errors import ConfigError, DependencyError, InputError
from neardup.index import Index
from neardup.server import create_app, is_loopback, load_api_keys, serve

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
SCHEMATHESIS_EXAMPLES = 50


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def make_index(tmp_path: Path, name: str = "index.db") -> Path:
    path = tmp_path / name
    Index.create(path).close()
    return path


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, log_level="warning", http="h11", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped during startup"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@contextmanager
def client_for(app: FastAPI, headers: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    with running(app) as url, httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return make_index(tmp_path)


@pytest.fixture
def app(index_path: Path) -> FastAPI:
    return create_app(index_path, api_keys=[KEY, "another-key"])


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with client_for(app, AUTH) as c:
        yield c


def assert_json_error(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    body = response.json()
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


# ---------------------------------------------------------------------------------------------
# happy paths
# ---------------------------------------------------------------------------------------------
def test_healthz_needs_no_key(app: FastAPI) -> None:
    with client_for(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_add_query_get_delete_stats(client: httpx.Client) -> None:
    docs = [
        {"id": "harbour", "text": HARBOUR, "meta": {"source": "paper", "page": 3}},
        {"id": "orchard", "text": ORCHARD},
        {"id": "harbour-copy", "text": HARBOUR.upper()},
    ]
    response = client.post("/v1/documents", json={"documents": docs})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == ["harbour", "orchard", "harbour-copy"]
    assert [r["status"] for r in results] == ["new", "new", "duplicate"]
    assert results[0] == {
        "id": "harbour",
        "status": "new",
        "kept_id": None,
        "similarity": None,
        "reason": None,
        "added": True,
    }
    assert results[2]["kept_id"] == "harbour"
    assert results[2]["reason"] == "exact"
    assert results[2]["similarity"] == 1.0
    assert results[2]["added"] is False

    response = client.post("/v1/query", json={"texts": [HARBOUR, WORKSHOP], "limit": 5})
    assert response.status_code == 200, response.text
    harbour, workshop = response.json()["results"]
    assert harbour["matches"] == [{"id": "harbour", "similarity": 1.0, "reason": "exact"}]
    assert workshop["matches"] == []

    response = client.get("/v1/documents/harbour")
    assert response.status_code == 200
    doc = response.json()
    assert doc["id"] == "harbour"
    assert doc["text"] == HARBOUR
    assert doc["meta"] == {"source": "paper", "page": 3}
    assert doc["added_at"]
    assert client.get("/v1/documents/orchard").json()["meta"] == {}

    stats = client.get("/v1/stats").json()
    assert stats["documents"] == 2
    assert stats["bytes_on_disk"] > 0
    assert stats["parameters"]["threshold"] == neardup.DedupConfig().threshold
    # two documents, a key per band and one for the exact hash each, in one level-0 run
    bands = stats["parameters"]["bands"]
    assert (stats["band_entries"], stats["band_runs_per_level"]) == (2 * (bands + 1), {"0": 1})

    response = client.delete("/v1/documents/harbour")
    assert response.status_code == 200
    assert response.json() == {"removed": 1}
    assert_json_error(client.get("/v1/documents/harbour"), 404)
    assert_json_error(client.delete("/v1/documents/harbour"), 404)
    assert client.get("/v1/stats").json()["documents"] == 1
    assert client.post("/v1/query", json={"texts": [HARBOUR]}).json() == {
        "results": [{"matches": []}]
    }


def test_add_duplicates_stores_them(client: httpx.Client) -> None:
    docs = [{"id": "a", "text": OBSERVATORY}, {"id": "b", "text": OBSERVATORY}]
    response = client.post("/v1/documents", json={"documents": docs, "add_duplicates": True})
    assert [r["added"] for r in response.json()["results"]] == [True, True]
    assert client.get("/v1/stats").json()["documents"] == 2
    assert client.get("/v1/documents/b").json()["text"] == OBSERVATORY


def test_ids_with_slashes_and_spaces(client: httpx.Client) -> None:
    rid = "corpus/2024/notes 1.txt"
    response = client.post("/v1/documents", json={"documents": [{"id": rid, "text": NOTES[0]}]})
    assert response.status_code == 200
    assert client.get(f"/v1/documents/{rid}").json()["id"] == rid
    assert client.delete(f"/v1/documents/{rid}").json() == {"removed": 1}


def test_seed_pair_is_found_by_query(client: httpx.Client) -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not available")
    first, second = SEEDS / "000_4e97f072294f02cf.txt", SEEDS / "001_0c9642bc1d2a5f0b.txt"
    if not (first.is_file() and second.is_file()):
        pytest.skip(f"the seed documents are not in {SEEDS}")
    doc = {"id": first.name, "text": first.read_text(encoding="utf-8")}
    response = client.post("/v1/documents", json={"documents": [doc]})
    assert response.json()["results"][0]["status"] == "new"
    response = client.post("/v1/query", json={"texts": [second.read_text(encoding="utf-8")]})
    assert response.status_code == 200
    [result] = response.json()["results"]
    [match] = result["matches"]
    assert match["id"] == first.name
    assert match["reason"] == "near"
    assert 0.96 <= match["similarity"] <= 0.98


# ---------------------------------------------------------------------------------------------
# authentication
# ---------------------------------------------------------------------------------------------
REQUESTS = [
    ("POST", "/v1/documents", {"documents": [{"id": "x", "text": "some text"}]}),
    ("POST", "/v1/query", {"texts": ["some text"]}),
    ("GET", "/v1/documents/x", None),
    ("DELETE", "/v1/documents/x", None),
    ("GET", "/v1/stats", None),
]


def test_requests_without_a_valid_key_are_refused(app: FastAPI) -> None:
    bad_headers = [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": f"Bearer {KEY}x"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": "Bearer"},
        {"Authorization": KEY},
    ]
    with client_for(app) as client:
        for method, path, body in REQUESTS:
            for headers in bad_headers:
                response = client.request(method, path, json=body, headers=headers)
                error = assert_json_error(response, 401)["error"]
                assert "API key" in error
                assert response.headers["www-authenticate"] == "Bearer"
        assert client.get("/healthz").status_code == 200
        assert client.get("/openapi.json").json()["info"]["title"] == "neardup"
        for path in ("/v1", "/nothing", "//v1/stats", "/healthz/../v1/stats"):
            assert_json_error(client.get(path), 401)
        assert client.get("/v1/stats", headers={"Authorization": "Bearer another-key"}).is_success
        assert client.get("/v1/stats", headers={"authorization": f"bearer {KEY}"}).is_success
        # nothing was added by the refused requests
        assert client.get("/v1/stats", headers=AUTH).json()["documents"] == 0


def test_key_is_checked_before_the_body(tmp_path: Path) -> None:
    app = create_app(make_index(tmp_path), api_keys=[KEY], max_body_bytes=100)
    with client_for(app) as client:
        response = client.post("/v1/documents", content=b"x" * 1000)
        assert_json_error(response, 401)
        response = client.post("/v1/documents", content=b"{not json")
        assert_json_error(response, 401)


def test_auth_is_required_unless_disabled(tmp_path: Path) -> None:
    path = make_index(tmp_path)
    for keys in (None, [], [""]):
        with pytest.raises(ConfigError, match="NEARDUP_API_KEYS or --api-key-file"):
            create_app(path, api_keys=keys)
    with pytest.raises(ConfigError, match="whitespace or a comma"):
        create_app(path, api_keys=["a,b"])
    open_app = create_app(path, api_keys=None, require_auth=False)
    with client_for(open_app) as client:
        assert client.get("/v1/stats").json()["documents"] == 0
    # keys given: enforced even when auth is not required
    keyed = create_app(path, api_keys=[KEY], require_auth=False)
    with client_for(keyed) as client:
        assert_json_error(client.get("/v1/stats"), 401)


def test_serve_requires_keys_off_loopback(index_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEARDUP_API_KEYS"):
        serve(index_path, host="0.0.0.0", port=1)
    with pytest.raises(ConfigError, match="NEARDUP_API_KEYS"):
        serve(index_path, host="127.0.0.1", port=1, require_auth=True)


def test_missing_index_fails_at_build_time(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such index"):
        create_app(tmp_path / "missing.db", api_keys=[KEY])


def test_missing_fastapi_is_a_dependency_error(
    index_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(DependencyError, match="FastAPI") as info:
        create_app(index_path, api_keys=[KEY])
    assert info.value.remedy == "pip install 'neardup[server]'"


def test_load_api_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("# team keys\nfile-key-1\n\n  file-key-2  \nenv-key-2\n", encoding="utf-8")
    env = {"NEARDUP_API_KEYS": "env-key-1, env-key-2,,"}
    assert load_api_keys(key_file, env) == ["env-key-1", "env-key-2", "file-key-1", "file-key-2"]
    assert load_api_keys(None, {}) == []
    with pytest.raises(InputError, match="API key file"):
        load_api_keys(tmp_path / "missing.txt", {})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# ---------------------------------------------------------------------------------------------
# limits and bad requests
# ---------------------------------------------------------------------------------------------
def test_oversized_bodies_get_413(tmp_path: Path) -> None:
    app = create_app(make_index(tmp_path), api_keys=[KEY], max_body_bytes=1000)
    with client_for(app, AUTH) as client:
        small = {"documents": [{"id": "a", "text": "x" * 800}]}
        assert client.post("/v1/documents", json=small).status_code == 200
        big = {"documents": [{"id": "b", "text": "x" * 2000}]}
        # declared by Content-Length
        body = assert_json_error(client.post("/v1/documents", json=big), 413)
        assert "1000 bytes" in body["error"]

        # streamed without a Content-Length (chunked): counted as it arrives
        def chunks() -> Iterator[bytes]:
            for _ in range(4):
                yield b" " * 400

        response = client.post(
            "/v1/query", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert_json_error(response, 413)
        assert client.get("/v1/stats").json()["documents"] == 1


def test_lying_content_length_is_caught_while_streaming(tmp_path: Path) -> None:
    app = create_app(make_index(tmp_path), api_keys=[KEY], max_body_bytes=1000)
    with running(app) as url:
        host, port = url.removeprefix("http://").split(":")
        body = b"{" + b" " * 3000 + b"}"
        request = (
            b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\n".encode()
            + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(request)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"request body too large" in reply


def test_malformed_json_is_a_json_4xx(client: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    for raw in (b"{not json", b'{"documents": [', b"", b"\xff\xfe"):
        response = client.post("/v1/documents", content=raw, headers=headers)
        assert_json_error(response, (400, 422))
    body = assert_json_error(client.post("/v1/query", content=b"[1,", headers=headers), 400)
    assert body["error"] == "malformed JSON body"


@pytest.mark.parametrize(
    ("path", "payload", "where"),
    [
        ("/v1/documents", {"documents": [{"id": "a", "text": 42}]}, "documents.0.text"),
        ("/v1/documents", {"documents": [{"id": 7, "text": "words"}]}, "documents.0.id"),
        ("/v1/documents", {"documents": [{"id": "", "text": "words"}]}, "documents.0.id"),
        ("/v1/documents", {"documents": [{"text": "words"}]}, "documents.0.id"),
        ("/v1/documents", {"documents": {"id": "a", "text": "words"}}, "documents"),
        ("/v1/documents", {"documents": "a"}, "documents"),
        ("/v1/documents", {"documents": []}, "documents"),
        ("/v1/documents", {"docs": []}, "documents"),
        ("/v1/documents", {"documents": [{"id": "a", "text": "t", "meta": [1]}]}, "meta"),
        ("/v1/documents", [{"id": "a", "text": "t"}], "body"),
        ("/v1/query", {"texts": "one text"}, "texts"),
        ("/v1/query", {"texts": [1, 2]}, "texts.0"),
        ("/v1/query", {"texts": ["a"], "limit": 0}, "limit"),
        ("/v1/query", {"texts": ["a"], "limit": 101}, "limit"),
        ("/v1/query", {"texts": ["a"], "limit": "ten"}, "limit"),
    ],
)
def test_wrong_types_are_422_without_tracebacks(
    client: httpx.Client, path: str, payload: Any, where: str
) -> None:
    body = assert_json_error(client.post(path, json=payload), 422)
    assert body["error"].startswith("invalid request: ")
    assert where in body["error"]
    assert all({"loc", "msg", "type"} <= set(d) for d in body["detail"])


def test_values_the_index_cannot_store_are_422(client: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    lone_surrogate = b'{"documents": [{"id": "a", "text": "bad \\ud800 text"}]}'
    nan_meta = b'{"documents": [{"id": "a", "text": "t", "meta": {"x": NaN}}]}'
    for raw in (lone_surrogate, nan_meta):
        assert_json_error(client.post("/v1/documents", content=raw, headers=headers), 422)
    assert client.get("/v1/stats").json()["documents"] == 0


def test_batch_over_the_limit_is_refused(tmp_path: Path) -> None:
    app = create_app(make_index(tmp_path), api_keys=[KEY], max_batch=3)
    spec = app.openapi()["components"]["schemas"]
    assert spec["AddRequest"]["properties"]["documents"]["maxItems"] == 3
    assert spec["QueryRequest"]["properties"]["texts"]["maxItems"] == 3
    with client_for(app, AUTH) as client:
        docs = [{"id": str(k), "text": t} for k, t in enumerate(NOTES)]
        body = assert_json_error(client.post("/v1/documents", json={"documents": docs}), 422)
        assert "at most 3 items" in body["error"]
        assert_json_error(client.post("/v1/query", json={"texts": list(NOTES)}), 422)
        assert client.get("/v1/stats").json()["documents"] == 0
        ok = client.post("/v1/documents", json={"documents": docs[:3]})
        assert ok.status_code == 200


def test_duplicate_id_is_409_and_stores_nothing(client: httpx.Client) -> None:
    client.post("/v1/documents", json={"documents": [{"id": "a", "text": HARBOUR}]})
    batch = [{"id": "b", "text": ORCHARD}, {"id": "a", "text": WORKSHOP}]
    body = assert_json_error(client.post("/v1/documents", json={"documents": batch}), 409)
    assert "'a'" in body["error"]
    assert body["remedy"]
    assert client.get("/v1/stats").json()["documents"] == 1
    assert client.get("/v1/documents/b").status_code == 404


def test_unexpected_errors_are_a_bare_500_and_logged(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> dict[str, Any]:
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(app.state.index, "stats", boom)
    with caplog.at_level(logging.ERROR, logger="neardup.server"), client_for(app, AUTH) as client:
        response = client.get("/v1/stats")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    assert "secret" not in response.text
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in caplog.records), (
        caplog.text
    )


def test_unknown_routes_and_methods_are_json(client: httpx.Client) -> None:
    assert_json_error(client.get("/v1/nothing"), 404)
    assert_json_error(client.get("/nothing"), 404)
    assert_json_error(client.put("/v1/documents/a", json={}), 405)


def test_openapi_spec_is_precise(app: FastAPI) -> None:
    spec = app.openapi()
    paths = spec["paths"]
    assert set(paths) == {
        "/v1/documents",
        "/v1/query",
        "/v1/documents/{doc_id}",
        "/v1/stats",
        "/healthz",
    }
    schemas = spec["components"]["schemas"]
    limit = schemas["QueryRequest"]["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 10)
    documents = schemas["AddRequest"]["properties"]["documents"]
    assert (documents["minItems"], documents["maxItems"]) == (1, 1000)
    assert schemas["DocumentIn"]["properties"]["id"]["minLength"] == 1
    assert set(schemas["DocumentIn"]["required"]) == {"id", "text"}
    assert schemas["AddResultOut"]["properties"]["status"]["enum"] == ["new", "duplicate"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert paths["/v1/documents"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in paths["/healthz"]["get"]
    responses = paths["/v1/documents"]["post"]["responses"]
    assert {"200", "400", "401", "409", "413", "422", "500"} <= set(responses)
    assert "404" in paths["/v1/documents/{doc_id}"]["get"]["responses"]


# ---------------------------------------------------------------------------------------------
# concurrency
# ---------------------------------------------------------------------------------------------
def post_from_threads(url: str, payloads: list[dict[str, Any]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(payloads))
    responses: list[httpx.Response | None] = [None] * len(payloads)

    def worker(k: int) -> None:
        with httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
            barrier.wait()
            responses[k] = client.post("/v1/documents", json=payloads[k])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def test_concurrent_adds_of_one_new_document_keep_one_copy(app: FastAPI) -> None:
    same = {"documents": [{"id": "harbour", "text": HARBOUR}]}
    with running(app) as url:
        responses = post_from_threads(url, [same] * 8)
        stats = httpx.get(f"{url}/v1/stats", headers=AUTH).json()
    ok = [r for r in responses if r.status_code == 200]
    assert len(ok) == 1, [r.text for r in responses]
    assert ok[0].json()["results"][0]["status"] == "new"
    for r in responses:
        if r.status_code != 200:
            assert_json_error(r, 409)
    assert stats["documents"] == 1


def test_concurrent_adds_of_one_text_under_many_ids_keep_one_copy(app: FastAPI) -> None:
    payloads = [{"documents": [{"id": f"copy-{k}", "text": ORCHARD}]} for k in range(8)]
    with running(app) as url:
        responses = post_from_threads(url, payloads)
        stats = httpx.get(f"{url}/v1/stats", headers=AUTH).json()
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    results = [r.json()["results"][0] for r in responses]
    new = [r for r in results if r["status"] == "new"]
    assert len(new) == 1
    for r in results:
        if r["status"] == "duplicate":
            assert (r["kept_id"], r["reason"], r["added"]) == (new[0]["id"], "exact", False)
    assert stats["documents"] == 1


# ---------------------------------------------------------------------------------------------
# property-based: schemathesis against the app's own OpenAPI spec
# ---------------------------------------------------------------------------------------------
OPERATIONS = [
    ("POST", "/v1/documents"),
    ("POST", "/v1/query"),
    ("GET", "/v1/documents/{doc_id}"),
    ("DELETE", "/v1/documents/{doc_id}"),
    ("GET", "/v1/stats"),
    ("GET", "/healthz"),
]


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS]
    # only the bodies can be invalid: the others take no input or any string
    + [(method, path, GenerationMode.NEGATIVE) for method, path in OPERATIONS[:2]],
)
def test_api_never_fails_with_a_server_error(
    tmp_path: Path, method: str, path: str, mode: GenerationMode
) -> None:
    # schemathesis.pytest.from_fixture() cannot run under pytest 9 (it sets Node._nodeid), so
    # each operation's strategy drives a plain Hypothesis test over a fresh index instead.
    path_ = make_index(tmp_path)
    stored = "stored/doc 1"
    with Index.open(path_) as index:
        index.add([{"id": stored, "text": HARBOUR, "meta": {"k": [1, "v"]}}, ("0", ORCHARD)])
    app = create_app(path_, api_keys=[KEY])
    config = SchemathesisConfig.from_dict({"headers": AUTH})
    api = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    operation = api[path][method]
    strategy = operation.as_strategy(mode)
    if "{doc_id}" in path:  # generated ids rarely exist: also ask for a stored one
        strategy |= operation.as_strategy(mode, path_parameters={"doc_id": stored})

    @settings(max_examples=SCHEMATHESIS_EXAMPLES, deadline=None, derandomize=True)
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call()
        assert response.status_code < 500, response.text
        case.validate_response(response)

    check()
