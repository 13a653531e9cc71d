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
counting the bytes as they stream in, and the time the body takes to arrive (``408`` when it is
not whole within the body timeout, 30 s by default). Every error is a JSON object
``{"error": message, ...}``; unexpected failures are logged here and answered with a bare
``{"error": "internal error"}``.

FastAPI and uvicorn are the ``server`` extra: ``pip install 'neardup[server]'``.
"""

from neardup.server.app import (
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    create_app,
    serve,
)
from neardup.server.guard import (
    PUBLIC_PATHS,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    logger,
)
from neardup.server.keys import API_KEYS_ENV, is_loopback, load_api_keys
from neardup.server.models import MAX_ID_LENGTH, MAX_QUERY_LIMIT

__all__ = [
    "API_KEYS_ENV",
    "DEFAULT_BODY_TIMEOUT_S",
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_ID_LENGTH",
    "MAX_QUERY_LIMIT",
    "PUBLIC_PATHS",
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "create_app",
    "is_loopback",
    "load_api_keys",
    "logger",
    "serve",
]
