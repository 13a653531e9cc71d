"""The service's pydantic request and response models and their validators."""

# No ``from __future__ import annotations`` here: pydantic reads the models' annotations at
# runtime, and the models are local to _models (the batch limit is its argument).

import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol

#: Longest document id the service accepts.
MAX_ID_LENGTH = 1024
#: Bounds of ``limit`` in ``POST /v1/query``.
MAX_QUERY_LIMIT = 100


class DocumentInput(Protocol):
    """What the endpoints read of ``DocumentIn`` (the models are built at run time)."""

    id: str
    text: str
    meta: dict[str, Any] | None


class AddInput(Protocol):
    """What the endpoints read of ``AddRequest``."""

    @property
    def documents(self) -> Sequence[DocumentInput]: ...

    add_duplicates: bool


class QueryInput(Protocol):
    """What the endpoints read of ``QueryRequest``."""

    texts: list[str]
    limit: int


def _unicode_ok(value: str) -> str:
    """Reject lone surrogates (valid in JSON escapes, not storable as UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the string is not valid Unicode (it holds a lone surrogate)") from exc
    return value


def _meta_ok(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Metadata must round-trip as strict JSON (no NaN or infinities) in valid Unicode, nested
    at most :data:`~neardup.index.records.MAX_META_DEPTH` levels (the index's own check)."""
    from neardup.errors import InputError
    from neardup.index.records import check_meta

    if value is None:
        return None
    try:
        check_meta(value)
    except InputError as exc:
        raise ValueError(exc.detail) from None
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

    from neardup.index.records import MAX_META_DEPTH

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
        meta: Meta = Field(
            default=None,
            description=f"Any JSON object, stored with the text; at most {MAX_META_DEPTH} "
            "objects and arrays inside each other.",
        )

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
        """The index's size, its lookup-key runs and fixed parameters."""

        documents: int = Field(ge=0)
        path: str
        bytes_on_disk: int = Field(ge=0)
        bytes_per_document: float | None = None
        band_entries: int = Field(ge=0, description="Stored lookup keys (bands + exact hash)")
        band_runs_per_level: dict[str, int] = Field(
            description="Sorted runs of lookup keys per merge level"
        )
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
