"""Validated, frozen configuration for a dedup run.

Every parameter is checked when the config is built, and every complaint says how to fix it.
Configs round-trip through plain dicts (``to_dict`` / ``from_dict``) and load from TOML.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

from neardup.errors import ConfigError

ShingleMode = Literal["auto", "word", "char"]
OnError = Literal["raise", "skip"]
KEEP_KINDS = ("first", "longest", "shortest", "newest", "priority", "corrected", "none")
OUTPUT_FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet", "csv")
#: The threshold each method uses when none is given: Jaccard of word 5-gram sets for
#: ``minhash``, cosine of document embeddings for ``semantic`` (whole news articles under a
#: static model sit at cosine 0.90-0.93 when they only share a topic; bench/semantic/README.md).
DEFAULT_THRESHOLDS = {"minhash": 0.8, "semantic": 0.95}
#: The ``threshold`` of a config that was given none (told apart by identity, so a NaN passed
#: in is still refused).
UNSET_THRESHOLD = float("nan")
#: The clustering each method uses when none is given: embeddings of one kind of text (tables
#: of figures, templated notices) chain far beyond the threshold, so a semantic removal must be
#: within the threshold of what was kept (bench/semantic/README.md).
DEFAULT_CLUSTERING: dict[str, Literal["components", "star"]] = {
    "minhash": "components",
    "semantic": "star",
}


class _MethodDefault(str):
    """A default that stands for "the method's default" (told apart by its type)."""

    __slots__ = ()


UNSET_CLUSTERING = _MethodDefault("components")


#: Parameters with a fixed set of values: (allowed values, how the message names them, remedy).
_CHOICES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "shingle": (
        ("auto", "word", "char"),
        "auto, word or char",
        "use --shingle auto (the default) unless you know the script",
    ),
    "on_error": (
        ("raise", "skip"),
        "'raise' or 'skip'",
        "use --on-error raise (stop at the first bad record) or skip",
    ),
    "clustering": (
        ("components", "star"),
        "components or star",
        "use --clustering components (connected groups, the default) or star",
    ),
    "boilerplate_mode": (
        ("strip", "mark"),
        "strip or mark",
        "use --boilerplate-mode strip (remove the lines) or mark (list them)",
    ),
    "method": (
        ("minhash", "semantic"),
        "minhash or semantic",
        "use --method minhash (shared wording, the default) or semantic (shared meaning)",
    ),
    "semantic_search": (
        ("auto", "exact", "buckets"),
        "auto, exact or buckets",
        "use --semantic-search auto (exact up to 20,000 documents, buckets above)",
    ),
}


def _check_run_settings(
    workers: object, output_format: str | None, text_field: str, id_field: str
) -> None:
    """The settings every command shares: worker count, output format, field names."""
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ConfigError(
            f"workers must be a positive integer, got {workers!r}",
            remedy="pass --workers 1 or more, or leave it unset to use every core",
        )
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise ConfigError(
            f"unknown output format {output_format!r}",
            remedy="use one of " + ", ".join(OUTPUT_FORMATS),
        )
    if not text_field or not id_field:
        raise ConfigError("text_field and id_field must be non-empty", remedy="pass a field name")


#: Named settings for a kind of text (``neardup dedup --preset NAME``; explicit options win).
#: ``ocr``: character 5-grams at Jaccard 0.7 for text with recognition errors. On copies with 3%
#: of their letters and digits substituted or dropped (``bench/ocr/``), word 5-grams find none;
#: these settings find 93% (Reuters), 97.5% (BBC) and 91.5% (20 Newsgroups), at the cost of
#: 278, 6 and 245 removals on the clean corpora beyond the word default's (about a third of a
#: Reuters sample were templates; README, "Noisy text").
PRESETS: dict[str, dict[str, Any]] = {
    "ocr": {"shingle": "char", "char_ngram": 5, "threshold": 0.7},
}


def preset(name: str) -> dict[str, Any]:
    """The settings of a named preset (:data:`PRESETS`)."""
    if name not in PRESETS:
        raise ConfigError(
            f"unknown preset {name!r}", remedy="use one of " + ", ".join(sorted(PRESETS))
        )
    return dict(PRESETS[name])


def workers_or_cores(workers: int | None) -> int:
    """``workers`` when set, else the number of cores this process may use."""
    if workers is not None:
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class KeepPolicy:
    """Which member of a cluster survives.

    - ``first``: the member that comes first in the input.
    - ``longest`` / ``shortest``: by length of the original text in characters.
    - ``newest:FIELD``: the largest value of FIELD (ISO dates and numbers compare correctly).
    - ``priority:FIELD``: the largest value of FIELD (for example a source-quality score).
    - ``corrected`` or ``corrected:FIELD``: a version marked as a correction ("CORRECTED -"
      heading the text or a ``title`` field), then the latest by FIELD (dates as ``--window``
      reads them), then the first (:mod:`neardup.keep`).
    - ``none``: every member of a cluster is removed.

    Ties always go to the member that comes first in the input, so the choice is deterministic.
    Documents whose FIELD is missing or null lose to any document that has it.
    """

    kind: str = "first"
    field: str | None = None

    @classmethod
    def parse(cls, spec: str | KeepPolicy) -> KeepPolicy:
        if isinstance(spec, KeepPolicy):
            return spec
        kind, _, fld = str(spec).partition(":")
        kind = kind.strip().lower()
        if kind not in KEEP_KINDS:
            raise ConfigError(
                f"unknown keeper policy {spec!r}",
                remedy="use one of first, longest, shortest, newest:FIELD, priority:FIELD, "
                "corrected[:FIELD], none",
            )
        if kind in ("newest", "priority"):
            if not fld:
                raise ConfigError(
                    f"keeper policy '{kind}' needs a field name",
                    remedy=f"write it as '{kind}:FIELD', for example '{kind}:published'",
                )
            return cls(kind, fld)
        if kind == "corrected":
            return cls(kind, fld.strip() or None)
        if fld:
            raise ConfigError(
                f"keeper policy '{kind}' takes no field (got {spec!r})",
                remedy=f"write just '{kind}'",
            )
        return cls(kind, None)

    def __str__(self) -> str:
        return f"{self.kind}:{self.field}" if self.field else self.kind


@dataclass(frozen=True, slots=True)
class DedupConfig:
    """Parameters of one dedup run.

    ``threshold`` is the Jaccard similarity of shingle sets at or above which two documents are
    near-duplicates. ``bands`` × ``rows`` must not exceed ``num_perm``; leave them unset and
    :func:`neardup.lsh_params` chooses them. ``seed`` fixes the MinHash permutations, so runs are
    reproducible.

    ``method="semantic"`` compares documents by the cosine of their embeddings under ``model``
    (a Model2Vec static model: a local folder or a hub name) instead of Jaccard; ``threshold`` is
    then a cosine. Left unset, ``threshold`` is the method's default (:data:`DEFAULT_THRESHOLDS`:
    0.8 Jaccard, 0.95 cosine), and so is ``clustering`` (:data:`DEFAULT_CLUSTERING`: components,
    star); :meth:`with_` switching the method moves a threshold or clustering that was the old
    method's default to the new one's. ``semantic_search`` chooses the pair search
    (:mod:`neardup.semantic.search`): ``exact`` all pairs, ``buckets`` k-means buckets probed
    ``semantic_probes`` at a time, ``auto`` exact up to 20,000 distinct documents.

    ``window`` (``FIELD:DURATION``, e.g. ``date:3.5d``): documents whose FIELD times lie further
    apart are never duplicates (:mod:`neardup.timewindow`, :mod:`neardup.stages.window`).
    """

    threshold: float = UNSET_THRESHOLD  # becomes DEFAULT_THRESHOLDS[method]
    num_perm: int = 128
    ngram: int = 5
    char_ngram: int = 5
    shingle: ShingleMode = "auto"
    seed: int = 42
    bands: int | None = None
    rows: int | None = None
    verify: bool = True
    keep: KeepPolicy = KeepPolicy()
    text_field: str = "text"
    id_field: str = "id"
    on_error: OnError = "raise"
    workers: int | None = None
    batch_size: int = 1024
    output_format: str | None = None
    max_bucket: int = 256
    clustering: Literal["components", "star"] = cast(Literal["components"], UNSET_CLUSTERING)
    strip_boilerplate: bool = False
    boilerplate_mode: Literal["strip", "mark"] = "strip"
    boilerplate_min_docs: int = 10
    boilerplate_long_words: int = 40
    boilerplate_long_min_docs: int | None = None
    containment: float | None = None
    containment_min_shingles: int = 20
    containment_ignore_quotes: bool = True
    method: Literal["minhash", "semantic"] = "minhash"
    model: str | None = None
    semantic_search: Literal["auto", "exact", "buckets"] = "auto"
    semantic_probes: int = 8
    window: str | None = None  # FIELD:DURATION, see neardup.timewindow

    def __post_init__(self) -> None:
        if isinstance(self.keep, str):
            object.__setattr__(self, "keep", KeepPolicy.parse(self.keep))
        if self.threshold is UNSET_THRESHOLD:
            default = DEFAULT_THRESHOLDS.get(str(self.method), DEFAULT_THRESHOLDS["minhash"])
            object.__setattr__(self, "threshold", default)
        if type(self.clustering) is _MethodDefault:
            chosen = DEFAULT_CLUSTERING.get(str(self.method), DEFAULT_CLUSTERING["minhash"])
            object.__setattr__(self, "clustering", chosen)
        if self.containment is not None and (
            isinstance(self.containment, bool)
            or not isinstance(self.containment, int | float)
            or not 0.0 < float(self.containment) <= 1.0
        ):
            raise ConfigError(
                f"containment must be a number in (0, 1], got {self.containment!r}",
                remedy="pass --containment 0.9 (the smaller document is 90% inside the longer)",
            )
        if not isinstance(self.keep, KeepPolicy):
            raise ConfigError(
                f"keep must be a policy name, got {self.keep!r}", remedy="pass e.g. 'first'"
            )
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float):
            raise ConfigError(
                f"threshold must be a number, got {self.threshold!r}",
                remedy="pass a Jaccard similarity such as 0.8 (not a string)",
            )
        for name in ("verify", "strip_boilerplate", "containment_ignore_quotes"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"{name} must be true or false, got {getattr(self, name)!r}",
                    remedy=f"write {name} = true or {name} = false",
                )
        for name in ("seed", "bands", "rows"):
            value = getattr(self, name)
            if value is None and name != "seed":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(
                    f"{name} must be a non-negative integer, got {value!r}",
                    remedy=f"pass --{name} with a whole number of 0 or more",
                )
        for name in ("text_field", "id_field", "shingle", "on_error"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(
                    f"{name} must be a string, got {getattr(self, name)!r}",
                    remedy=f"write {name} as a quoted string",
                )
        if not (0.0 < float(self.threshold) <= 1.0):
            raise ConfigError(
                f"threshold must be in (0, 1], got {self.threshold}",
                remedy="pass a Jaccard similarity such as 0.8 (a cosine such as 0.95 with "
                "method semantic)",
            )
        for name, (allowed, said, remedy) in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be {said}, got {getattr(self, name)!r}", remedy=remedy
                )
        self._check_method()
        if self.window is not None:
            from neardup.timewindow import parse_window

            parse_window(self.window)
        if self.boilerplate_long_min_docs is not None and (
            isinstance(self.boilerplate_long_min_docs, bool)
            or not isinstance(self.boilerplate_long_min_docs, int)
            or self.boilerplate_long_min_docs < 1
        ):
            raise ConfigError(
                "boilerplate_long_min_docs must be a positive integer, got "
                f"{self.boilerplate_long_min_docs!r}",
                remedy="pass a number of documents such as 50, or leave it unset",
            )
        for name in (
            "num_perm",
            "ngram",
            "char_ngram",
            "batch_size",
            "max_bucket",
            "boilerplate_min_docs",
            "boilerplate_long_words",
            "containment_min_shingles",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                where = (
                    "set max_bucket in the config file to 1 or more"
                    if name == "max_bucket"
                    else f"pass --{name.replace('_', '-')} with a value of 1 or more"
                )
                raise ConfigError(f"{name} must be a positive integer, got {value!r}", remedy=where)
        if self.num_perm > 1024:
            raise ConfigError(
                f"num_perm={self.num_perm} is more than 1024",
                remedy="128 or 256 permutations are enough for any practical threshold",
            )
        if (self.bands is None) != (self.rows is None):
            raise ConfigError(
                "bands and rows must be given together",
                remedy="pass both --bands and --rows, or neither to let lsh_params choose",
            )
        if (
            self.bands is not None
            and self.rows is not None
            and (self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm)
        ):
            raise ConfigError(
                f"bands × rows = {self.bands}×{self.rows} must be ≥ 1 and at most "
                f"num_perm = {self.num_perm}",
                remedy="lower bands or rows, or raise --num-perm",
            )
        _check_run_settings(self.workers, self.output_format, self.text_field, self.id_field)

    def _check_method(self) -> None:
        """The semantic method's settings: a model, and no containment (a Jaccard rule)."""
        if self.method == "semantic":
            if not isinstance(self.model, str) or not self.model:
                raise ConfigError(
                    "method semantic needs a model",
                    remedy="pass --model with a Model2Vec model folder or hub name, e.g. "
                    "--model minishlab/potion-base-8M",
                )
            if self.containment is not None:
                raise ConfigError(
                    "containment is measured on shingles and cannot be combined with method "
                    "semantic",
                    remedy="drop --containment, or use --method minhash",
                )
        elif self.model is not None:
            raise ConfigError(
                f"a model is used by method semantic only (method is {self.method!r})",
                remedy="add --method semantic, or drop --model",
            )
        p = self.semantic_probes
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise ConfigError(
                f"semantic_probes must be a positive integer, got {p!r}",
                remedy="pass --semantic-probes 8 (the default) or more for higher recall",
            )

    @property
    def effective_workers(self) -> int:
        """Worker threads to use: the configured number, or every available core."""
        return workers_or_cores(self.workers)

    def with_(self, **changes: Any) -> DedupConfig:
        """A copy with some parameters changed (validated again). A change of ``method`` without
        a ``threshold`` (or ``clustering``) moves one that is the old method's default to the
        new one's."""
        if changes.get("method", self.method) != self.method:
            if "threshold" not in changes and self.threshold == DEFAULT_THRESHOLDS.get(self.method):
                changes = {**changes, "threshold": UNSET_THRESHOLD}
            if "clustering" not in changes and self.clustering == DEFAULT_CLUSTERING.get(
                self.method
            ):
                changes = {**changes, "clustering": UNSET_CLUSTERING}
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["keep"] = str(self.keep)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DedupConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown config key(s): {', '.join(unknown)}",
                remedy="valid keys are " + ", ".join(sorted(known)),
            )
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | Path) -> DedupConfig:
        """Load a config from a TOML file (keys as in :meth:`to_dict`, optionally under [dedup])."""
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}", remedy="fix the syntax") from exc
        return cls.from_dict(data.get("dedup", data))


@dataclass(frozen=True, slots=True)
class PassagesConfig:
    """Parameters of passage dedup (``neardup passages``).

    A *passage* is a run of at least ``min_words`` words that stands in more than one document.
    It stays in the first of them under ``keep`` and is cut from the others (``mode="remove"``),
    or only reported (``mode="annotate"``). A document left with fewer than
    ``min_words_left`` words after its cuts is removed whole. ``k`` is the word k-gram length
    of the fingerprints (default: ``min_words // 4``, clamped to 4..13)."""

    min_words: int = 50
    min_words_left: int = 10
    mode: Literal["remove", "annotate"] = "remove"
    keep: KeepPolicy = KeepPolicy()
    k: int | None = None
    text_field: str = "text"
    id_field: str = "id"
    on_error: OnError = "raise"
    batch_size: int = 1024
    output_format: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.keep, str):
            object.__setattr__(self, "keep", KeepPolicy.parse(self.keep))
        if self.keep.kind == "corrected":
            raise ConfigError(
                "keep=corrected chooses among re-sent versions, which passages does not have",
                remedy="use --keep first, longest, shortest, newest:FIELD or priority:FIELD",
            )
        if self.keep.kind == "none":
            raise ConfigError(
                "keep=none would cut every copy of a passage",
                remedy="use --keep first, longest, shortest, newest:FIELD or priority:FIELD",
            )
        for name, low in (("min_words", 2), ("min_words_left", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(
                    f"{name} must be a whole number of at least {low}, got {value!r}",
                    remedy=f"pass --{name.replace('_', '-')} {max(low, 1)} or more",
                )
        if self.k is not None and (
            isinstance(self.k, bool) or not isinstance(self.k, int) or not self.k >= 1
        ):
            raise ConfigError(
                f"k must be a positive whole number, got {self.k!r}",
                remedy="leave k unset to let min_words choose it",
            )
        if self.mode not in ("remove", "annotate"):
            raise ConfigError(
                f"mode must be remove or annotate, got {self.mode!r}",
                remedy="use --mode remove (cut the copies) or annotate (only list them)",
            )
        if self.on_error not in ("raise", "skip"):
            raise ConfigError(
                f"on_error must be 'raise' or 'skip', got {self.on_error!r}",
                remedy="use --on-error raise or skip",
            )
        _check_run_settings(self.workers, self.output_format, self.text_field, self.id_field)

    @property
    def effective_workers(self) -> int:
        """Worker threads to use: the configured number, or every available core."""
        return workers_or_cores(self.workers)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["keep"] = str(self.keep)
        return out
