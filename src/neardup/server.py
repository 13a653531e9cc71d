"""HTTP service over a persistent index: ``neardup serve PATH``.

Endpoints (all JSON; all but ``/healthz`` and the OpenAPI spec and docs need
``Authorization: Bearer <key>``):

``POST   /v1/documents``       add a batch of documents, each reported ``new`` or ``duplicate``
``POST   /v1/query``           which stored documents does each text duplicate? (changes nothing)
``GET    /v1/documents/{id}``  one stored document, or 404
``DELETE /v1/documents/{id}`` remove one stored document, or 404
``GET    /v1/stats``           document count, size on disk and the index's parameters
``GET    /healthz``            liveness, no authentication

Requests pass a guard before anything is parsed: the API key is checked first (constant time,
against SHA-256 digests of the keys), then the body size, from ``Content-Length`` and again by
counting the bytes as they stream in. Every error is a JSON object ``{"error": message, ...}``;
unexpected failures are logged here and answered with a bare ``{"error": "internal error"}``.

FastAPI and uvicorn are the ``server`` extra: ``pip install 'neardup[server]'``.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at
# runtime, and the request models are local to create_app (their limits are its arguments).

import hashlib
import hmac
import ipaddress
import json
import logging
import os
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from neardup.errors import ConfigError, DependencyError, DuplicateIdError, InputError, NeardupError

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger("neardup.server")

#: Environment variable with comma-separated API keys (read by :func:`load_api_keys`).
API_KEYS_ENV = "NEARDUP_API_KEYS"
DEFAULT_MAX_BODY_BYTES = 8 << 20
DEFAULT_MAX_BATCH = 1000
#: Longest document id the service accepts.
MAX_ID_LENGTH = 1024
#: Bounds of ``limit`` in ``POST /v1/query``.
MAX_QUERY_LIMIT = 100
#: The only paths open without an API key (relative to the app's root path); all else needs one.
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# ---------------------------------------------------------------------------------------------
# keys and hosts
# ---------------------------------------------------------------------------------------------
def load_api_keys(
    key_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """API keys from ``$NEARDUP_API_KEYS`` (comma-separated) and ``key_file`` (one per line,
    blank lines and ``#`` comments ignored), in that order, without repeats."""
    env = os.environ if environ is None else environ
    keys = [k.strip() for k in env.get(API_KEYS_ENV, "").split(",")]
    if key_file is not None:
        path = Path(key_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot read the API key file ({exc})",
                path=str(path),
                remedy="pass a readable UTF-8 text file with one key per line",
            ) from exc
        keys += [line.strip() for line in lines if not line.lstrip().startswith("#")]
    return list(dict.fromkeys(k for k in keys if k))


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _digest(key: str | bytes) -> bytes:
    raw = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
    return hashlib.sha256(raw).digest()


class _KeyRing:
    """The accepted keys as SHA-256 digests; a check compares against every one of them in
    constant time, so neither the content nor the position of a key leaks through timing."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [_digest(k) for k in keys]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def accepts(self, token: bytes) -> bool:
        candidate = _digest(token)
        ok = False
        for digest in self._digests:
            ok |= hmac.compare_digest(candidate, digest)
        return ok


def _bearer_token(authorization: bytes | None) -> bytes | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(b" ")
    token = token.strip()
    if scheme.lower() != b"bearer" or not token:
        return None
    return token


# ---------------------------------------------------------------------------------------------
# the guard: authentication and body size, before any parsing
# ---------------------------------------------------------------------------------------------
async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class _Guard:
    """ASGI middleware: API key first, then the body size (declared and streamed), then the
    app, which gets the already-read body replayed to it."""

    def __init__(self, app: ASGIApp, *, keys: _KeyRing, max_body_bytes: int) -> None:
        self.app = app
        self.keys = keys
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.lower(), value)
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if self.keys and path not in PUBLIC_PATHS:
            token = _bearer_token(headers.get(b"authorization"))
            if token is None or not self.keys.accepts(token):
                message = (
                    "missing API key: send 'Authorization: Bearer <key>'"
                    if token is None
                    else "invalid API key"
                )
                await _send_json(send, 401, {"error": message}, [(b"www-authenticate", b"Bearer")])
                return
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
                if size < 0:
                    raise ValueError(size)
            except ValueError:
                await _send_json(send, 400, {"error": "invalid Content-Length header"})
                return
            if size > self.max_body_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        limit = self.max_body_bytes
        await _send_json(
            send,
            413,
            {"error": f"request body too large: the limit is {limit} bytes"},
            [(b"connection", b"close")],
        )


class _CatchAll:
    """ASGI middleware: an exception no handler claimed is logged with its traceback here and
    answered with a bare 500, never echoed to the client (nor re-raised into the server)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _send_json(send, 500, {"error": "internal error"})


# ---------------------------------------------------------------------------------------------
# the application
# ---------------------------------------------------------------------------------------------
def _import_fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:
        raise DependencyError(
            "the HTTP service needs FastAPI and uvicorn",
            remedy="pip install 'neardup[server]'",
        ) from exc
    return fastapi


def _unicode_ok(value: str) -> str:
    """Reject lone surrogates (valid in JSON escapes, not storable as UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the string is not valid Unicode (it holds a lone surrogate)") from exc
    return value


def _meta_ok(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Metadata must round-trip as strict JSON (no NaN or infinities) in valid Unicode."""
    if value is None:
        return None
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError(
            "meta must be strict JSON in valid Unicode (no NaN, Infinity or lone surrogates)"
        ) from exc
    return value


def _models(max_batch: int) -> dict[str, Any]:
    """The request and response models; the batch limit is part of the schema (``maxItems``)."""
    from pydantic import AfterValidator, BaseModel, ConfigDict, Field

    Text = Annotated[str, AfterValidator(_unicode_ok)]
    DocId = Annotated[
        str,
        Field(min_length=1, max_length=MAX_ID_LENGTH, description="The document's unique id."),
        AfterValidator(_unicode_ok),
    ]
    Meta = Annotated[dict[str, Any] | None, AfterValidator(_meta_ok)]
    Similarity = Annotated[float, Field(ge=0.0, le=1.0)]

    class DocumentIn(BaseModel):
        """One document to add."""

        model_config = ConfigDict(extra="forbid")
        id: DocId
        text: Text = Field(description="The document's text.")
        meta: Meta = Field(default=None, description="Any JSON object, stored with the text.")

    class AddRequest(BaseModel):
        """A batch of documents, added in one transaction."""

        model_config = ConfigDict(extra="forbid")
        documents: list[DocumentIn] = Field(
            min_length=1,
            max_length=max_batch,
            description=f"1 to {max_batch} documents with unique ids.",
        )
        add_duplicates: bool = Field(
            default=False, description="Store duplicates too (they are reported either way)."
        )

    class AddResultOut(BaseModel):
        """What happened to one added document."""

        id: str
        status: Literal["new", "duplicate"]
        kept_id: str | None = Field(default=None, description="The stored document it repeats.")
        similarity: Similarity | None = None
        reason: Literal["exact", "near"] | None = None
        added: bool = Field(default=True, description="Whether the document was stored.")

    class AddResponse(BaseModel):
        """One result per document, in request order."""

        results: list[AddResultOut]

    class QueryRequest(BaseModel):
        """Texts to look up; nothing is stored."""

        model_config = ConfigDict(extra="forbid")
        texts: list[Text] = Field(
            min_length=1, max_length=max_batch, description=f"1 to {max_batch} texts."
        )
        limit: int = Field(
            default=10,
            ge=1,
            le=MAX_QUERY_LIMIT,
            description="Most matches per text, best first.",
        )

    class QueryMatchOut(BaseModel):
        """A stored document the text duplicates, with the verified Jaccard similarity."""

        id: str
        similarity: Similarity
        reason: Literal["exact", "near"]

    class QueryResult(BaseModel):
        """Matches of one queried text, best first."""

        matches: list[QueryMatchOut]

    class QueryResponse(BaseModel):
        """One result per text, in request order."""

        results: list[QueryResult]

    class DocumentOut(BaseModel):
        """A stored document."""

        id: str
        text: str
        meta: dict[str, Any]
        added_at: str = Field(description="When it was stored (ISO 8601, UTC).")

    class RemoveResponse(BaseModel):
        """How many documents were removed."""

        removed: int = Field(ge=0)

    class StatsResponse(BaseModel):
        """The index's size and fixed parameters."""

        documents: int = Field(ge=0)
        path: str
        bytes_on_disk: int = Field(ge=0)
        bytes_per_document: float | None = None
        parameters: dict[str, Any]

    class Health(BaseModel):
        """Liveness."""

        status: Literal["ok"]

    class ErrorDetail(BaseModel):
        """One validation problem: where (``loc``) and what (``msg``)."""

        loc: list[str | int]
        msg: str
        type: str

    class ErrorResponse(BaseModel):
        """Every error answer."""

        error: str
        detail: list[ErrorDetail] | None = None
        remedy: str | None = None

    return {name: model for name, model in locals().items() if isinstance(model, type)}


def create_app(
    index_path: str | os.PathLike[str],
    *,
    api_keys: Collection[str] | None,
    require_auth: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> "FastAPI":
    """Build the ASGI app serving the index at ``index_path`` (opened now, so a missing or
    foreign file fails here with :class:`~neardup.errors.InputError`).

    With ``api_keys`` every ``/v1/`` request needs one of them as a bearer token. Without keys,
    ``require_auth`` refuses to build the app (:class:`~neardup.errors.ConfigError`); pass
    ``require_auth=False`` to serve without authentication (loopback only, in :func:`serve`).
    """
    fastapi = _import_fastapi()
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.security import HTTPBearer
    from starlette.exceptions import HTTPException

    from neardup import __version__
    from neardup.index import Index

    keys = [k for k in (api_keys or ()) if k]
    if any(k != k.strip() or "," in k for k in keys):
        raise ConfigError(
            "an API key has surrounding whitespace or a comma",
            remedy="use keys of letters, digits and punctuation other than commas",
        )
    if require_auth and not keys:
        raise ConfigError(
            "the server requires API keys and none were given",
            remedy=(
                f"set {API_KEYS_ENV} or --api-key-file"
                " (comma-separated keys in the variable, one key per line in the file)"
            ),
        )
    if max_body_bytes < 1 or max_batch < 1:
        raise ConfigError(
            f"max_body_bytes ({max_body_bytes}) and max_batch ({max_batch}) must be positive"
        )
    ring = _KeyRing(keys)
    index = Index.open(index_path)
    m = _models(max_batch)
    AddRequest, QueryRequest = m["AddRequest"], m["QueryRequest"]
    Error = m["ErrorResponse"]

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        try:
            yield
        finally:
            await run_in_threadpool(index.close)

    app = fastapi.FastAPI(
        title="neardup",
        version=__version__,
        description=(
            "Near-duplicate lookup over a persistent neardup index. Every `/v1/` operation "
            "needs `Authorization: Bearer <key>`."
        ),
        lifespan=lifespan,
    )
    app.state.index = index
    bearer = HTTPBearer(auto_error=False, description="An API key given to the server.")

    def authorised(
        credentials: Annotated[Any, fastapi.Depends(bearer)],
    ) -> None:
        # The guard has checked already; this dependency puts the scheme into the OpenAPI spec
        # and keeps the routes safe should they ever be mounted without the guard.
        if ring and (
            credentials is None or not ring.accepts(credentials.credentials.encode("latin-1"))
        ):
            raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})

    def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
        text = {
            400: "Malformed JSON or a document the index rejects",
            401: "Missing or invalid API key",
            404: "No document with this id",
            409: "A document id is already in the index",
            413: "Request body too large",
            422: "The request does not match the schema",
            500: "Internal error",
        }
        return {c: {"model": Error, "description": text[c]} for c in (*codes, 500)}

    common = (400, 401, 413, 422) if ring else (400, 413, 422)
    v1 = fastapi.APIRouter(prefix="/v1", dependencies=[fastapi.Depends(authorised)])

    @v1.post(
        "/documents",
        response_model=m["AddResponse"],
        responses=errors(*common, 409),
        summary="Add documents",
    )
    def add_documents(request: AddRequest) -> dict[str, Any]:
        """Add a batch in one transaction; each document is `new` (stored) or a `duplicate` of
        a stored one (stored only with `add_duplicates`). A known id fails the whole batch
        with 409."""
        docs = [{"id": d.id, "text": d.text, "meta": d.meta or {}} for d in request.documents]
        added = index.add(docs, add_duplicates=request.add_duplicates)
        return {"results": [r.to_dict() for r in added]}

    @v1.post(
        "/query",
        response_model=m["QueryResponse"],
        responses=errors(*common),
        summary="Find stored duplicates of texts",
    )
    def query(request: QueryRequest) -> dict[str, Any]:
        """For each text, the stored documents it duplicates, best first (stores nothing)."""
        found = index.query(request.texts, limit=request.limit)
        return {"results": [{"matches": [q.to_dict() for q in hits]} for hits in found]}

    @v1.get(
        "/documents/{doc_id:path}",
        response_model=m["DocumentOut"],
        responses=errors(*common, 404),
        summary="Get a document",
    )
    def get_document(doc_id: str) -> dict[str, Any]:
        """The stored document with this id."""
        doc = index.get(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document with id '{doc_id}'")
        return doc

    @v1.delete(
        "/documents/{doc_id:path}",
        response_model=m["RemoveResponse"],
        responses=errors(*common, 404),
        summary="Remove a document",
    )
    def remove_document(doc_id: str) -> dict[str, int]:
        """Remove the stored document with this id."""
        removed = index.remove([doc_id])
        if not removed:
            raise HTTPException(404, f"no document with id '{doc_id}'")
        return {"removed": removed}

    @v1.get(
        "/stats",
        response_model=m["StatsResponse"],
        responses=errors(*common),
        summary="Index statistics",
    )
    def stats() -> dict[str, Any]:
        """Document count, size on disk and the parameters fixed when the index was made."""
        return index.stats()

    app.include_router(v1)

    @app.get("/healthz", response_model=m["Health"], summary="Liveness (no authentication)")
    def healthz() -> dict[str, str]:
        """Always `{"status": "ok"}` while the server runs."""
        return {"status": "ok"}

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Any, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        if any(d["type"] == "json_invalid" for d in detail):
            return JSONResponse({"error": "malformed JSON body", "detail": detail}, 400)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and not (
            media == "application/json" or media.endswith("+json")
        ):
            return JSONResponse(
                {
                    "error": "invalid request: send the body as JSON with "
                    "'Content-Type: application/json'",
                    "detail": detail,
                },
                422,
            )
        where = "; ".join(f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in detail[:3])
        more = f" (and {len(detail) - 3} more)" if len(detail) > 3 else ""
        return JSONResponse({"error": f"invalid request: {where}{more}", "detail": detail}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Any, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @app.exception_handler(NeardupError)
    async def neardup_error(_request: Any, exc: NeardupError) -> JSONResponse:
        status = 409 if isinstance(exc, DuplicateIdError) else 400
        return JSONResponse({"error": exc.message, "remedy": exc.remedy}, status)

    app.add_middleware(_Guard, keys=ring, max_body_bytes=max_body_bytes)
    app.add_middleware(_CatchAll)  # added last = outermost of the two
    return app


def serve(
    index_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    api_keys: Collection[str] | None = None,
    *,
    require_auth: bool | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
    log_level: str = "info",
) -> None:
    """Serve the index with uvicorn until interrupted (one process; the index's own locking
    orders concurrent writers). Authentication is required unless ``host`` is loopback and no
    keys are given; pass ``require_auth`` to decide explicitly."""
    try:
        import uvicorn
    except ImportError as exc:
        raise DependencyError(
            "the HTTP service needs uvicorn", remedy="pip install 'neardup[server]'"
        ) from exc
    if require_auth is None:
        require_auth = not is_loopback(host)
    app = create_app(
        index_path,
        api_keys=api_keys,
        require_auth=require_auth,
        max_body_bytes=max_body_bytes,
        max_batch=max_batch,
    )
    if not api_keys:
        logger.warning("serving %s without authentication on %s:%s", index_path, host, port)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)
