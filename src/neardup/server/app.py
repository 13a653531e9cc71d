"""The FastAPI application (:func:`create_app`, its routes and error handlers) and
:func:`serve`, which runs it with uvicorn."""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at
# runtime, and the request models are local to create_app (their limits are its arguments).

import logging
import os
import sys
from collections.abc import Collection
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from neardup.errors import (
    ConfigError,
    DependencyError,
    DuplicateIdError,
    NeardupError,
    OutputError,
)
from neardup.server.guard import _CatchAll, _Guard
from neardup.server.keys import API_KEYS_ENV, _KeyRing, is_loopback
from neardup.server.models import _models

if TYPE_CHECKING:
    from fastapi import FastAPI

    from neardup.server.models import AddInput, QueryInput

logger = logging.getLogger("neardup.server")

DEFAULT_MAX_BODY_BYTES = 8 << 20
DEFAULT_MAX_BATCH = 1000
#: Seconds a request's whole body may take to arrive (408 and the connection closed after).
DEFAULT_BODY_TIMEOUT_S = 30.0
#: Queries of up to this many texts (about 1 ms each) run on the event loop: a hop to a worker
#: thread and back costs more than that under load, in GIL hand-offs. Larger ones, and every
#: write, run in worker threads.
INLINE_QUERY_TEXTS = 4
#: The server's GIL switch interval in seconds (Python's default is 5 ms): a thread back from
#: SQLite or a numba kernel waits at most this long for the interpreter, which bounds the
#: queueing that concurrent requests add to each other's latency.
SWITCH_INTERVAL_S = 0.0005


def _import_fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:
        raise DependencyError(
            "the HTTP service needs FastAPI and uvicorn",
            remedy="pip install 'neardup[server]'",
        ) from exc
    return fastapi


def create_app(
    index_path: str | os.PathLike[str],
    *,
    api_keys: Collection[str] | None,
    require_auth: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
) -> "FastAPI":
    """Build the ASGI app serving the index at ``index_path`` (opened now, so a missing or
    foreign file fails here with :class:`~neardup.errors.InputError`).

    With ``api_keys`` every ``/v1/`` request needs one of them as a bearer token. Without keys,
    ``require_auth`` refuses to build the app (:class:`~neardup.errors.ConfigError`); pass
    ``require_auth=False`` to serve without authentication (loopback only, in :func:`serve`).
    A request body must arrive whole within ``body_timeout_s`` seconds (else 408).
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
    if not body_timeout_s > 0:
        raise ConfigError(
            f"the body timeout must be a positive number of seconds, not {body_timeout_s}",
            remedy="pass --body-timeout SECONDS (default 30)",
        )
    ring = _KeyRing(keys)
    index = Index.open(index_path)
    m = _models(max_batch)
    if TYPE_CHECKING:  # the models are built here, at run time; the checker sees their fields
        AddRequest: TypeAlias = AddInput
        QueryRequest: TypeAlias = QueryInput
    else:
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

    async def authorised(
        credentials: Annotated[Any, fastapi.Depends(bearer)],
    ) -> None:
        # The guard has checked already; this dependency puts the scheme into the OpenAPI spec
        # and keeps the routes safe should they ever be mounted without the guard. It is
        # `async` so that it runs on the event loop, not through a worker thread.
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
            408: "Request body not received in time",
            413: "Request body too large",
            422: "The request does not match the schema",
            500: "Internal error",
            503: "The index cannot be written now (full or read-only disk)",
        }
        return {c: {"model": Error, "description": text[c]} for c in (*codes, 500)}

    common = (400, 401, 408, 413, 422) if ring else (400, 408, 413, 422)
    v1 = fastapi.APIRouter(prefix="/v1", dependencies=[fastapi.Depends(authorised)])

    @v1.post(
        "/documents",
        response_model=m["AddResponse"],
        responses=errors(*common, 409, 503),
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
    async def query(request: QueryRequest) -> dict[str, Any]:
        """For each text, the stored documents it duplicates, best first (stores nothing)."""
        if len(request.texts) <= INLINE_QUERY_TEXTS:
            found = index.query(request.texts, limit=request.limit)
        else:
            found = await run_in_threadpool(index.query, request.texts, limit=request.limit)
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
        responses=errors(*common, 404, 503),
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
        if isinstance(exc, OutputError):  # the server's disk, not the request: logged here
            logger.error("%s (%s)", exc.message, exc.remedy)
            return JSONResponse(
                {
                    "error": "the index cannot be written now (the server's disk is full, "
                    "read-only or failing); nothing of this request was stored",
                    "remedy": "retry later; the server's log says more",
                },
                503,
            )
        status = 409 if isinstance(exc, DuplicateIdError) else 400
        return JSONResponse({"error": exc.message, "remedy": exc.remedy}, status)

    app.add_middleware(
        _Guard, keys=ring, max_body_bytes=max_body_bytes, body_timeout_s=body_timeout_s
    )
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
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
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
        body_timeout_s=body_timeout_s,
    )
    if not api_keys:
        logger.warning("serving %s without authentication on %s:%s", index_path, host, port)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)
