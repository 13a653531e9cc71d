"""Library entry points for explanations: why two documents are, or are not, duplicates."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neardup.api.run import _boilerplate_set, _config
from neardup.config import DedupConfig
from neardup.errors import InputError
from neardup.executors.local import LocalExecutor
from neardup.io.sources import FieldSpec, open_sources, parse_batch
from neardup.pipeline import StageClock
from neardup.resolve import choose_lsh


def _read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read file: {exc.strerror}",
            path=str(p),
            remedy="pass two text files, or two ids with --corpus FILE",
        ) from exc
    return data.decode("utf-8", errors="replace")


def _find_records(sources: list[Any], ids: list[str], cfg: DedupConfig) -> dict[str, str]:
    """Texts of the records with these ids (compared as strings), reading until all are found."""
    want = {str(i) for i in ids}
    found: dict[str, str] = {}
    spec = FieldSpec(cfg.text_field, cfg.id_field)
    for src in sources:
        for raw in src.batches(cfg.batch_size):
            parsed = parse_batch(raw, spec)
            for rid, text in zip(parsed.ids, parsed.texts, strict=True):
                if str(rid) in want and str(rid) not in found:
                    found[str(rid)] = text
            if len(found) == len(want):
                return found
    missing = sorted(want - set(found))
    raise InputError(
        f"no document with id {', '.join(repr(m) for m in missing)} in "
        + ", ".join(s.name for s in sources),
        field=cfg.id_field,
        remedy="check the ids (and --id-field), or pass two files without --corpus",
    )


def explain_texts(
    text_a: str,
    text_b: str,
    config: DedupConfig | None = None,
    *,
    labels: tuple[str, str] = ("A", "B"),
    **overrides: Any,
) -> dict[str, Any]:
    """Why two in-memory texts are or are not duplicates (see :mod:`neardup.report.explain`)."""
    from neardup.report.explain import Side, explain_pair

    cfg = _config(config, overrides)
    return explain_pair(Side(labels[0], text_a), Side(labels[1], text_b), cfg)


def explain(
    a: str | Path,
    b: str | Path,
    config: DedupConfig | None = None,
    *,
    corpus: str | Path | Sequence[str | Path] | None = None,
    index: str | Path | None = None,
    progress: bool | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Why ``a`` and ``b`` are or are not duplicates: two text files; or — with ``corpus`` — two
    document ids in it, in which case each differing line also says whether it is boilerplate
    in the corpus and in how many clusters it stands; or — with ``index`` — two ids stored in a
    :class:`neardup.Index`, measured with the index's own parameters."""
    from neardup.index import Index
    from neardup.report.explain import Side, explain_pair

    if index is not None:
        with Index.open(index) as idx:
            docs = [idx.get(str(x)) for x in (a, b)]
            cfg = idx.config.with_(**overrides) if overrides else idx.config
        missing = [str(x) for x, d in zip((a, b), docs, strict=True) if d is None]
        if missing:
            raise InputError(
                f"no document with id {', '.join(repr(m) for m in missing)} in the index",
                path=str(index),
                remedy="check the ids with `neardup index query`, or pass two files",
            )
        first, second = docs
        assert first is not None and second is not None  # a missing one raised above
        return explain_pair(Side(str(a), first["text"]), Side(str(b), second["text"]), cfg)
    cfg = _config(config, overrides)
    if corpus is None:
        sides = [Side(str(p), _read_text(p)) for p in (a, b)]
        return explain_pair(sides[0], sides[1], cfg)
    paths = [corpus] if isinstance(corpus, str | Path) else list(corpus)
    sources = open_sources(paths)
    texts = _find_records(sources, [str(a), str(b)], cfg)
    clock = StageClock()
    with (
        tempfile.TemporaryDirectory(prefix="neardup-explain-") as work,
        LocalExecutor(cfg.effective_workers) as executor,
    ):
        bset = _boilerplate_set(
            sources, cfg, executor, Path(work), progress, clock, choose_lsh(cfg)
        )
    return explain_pair(Side(str(a), texts[str(a)]), Side(str(b), texts[str(b)]), cfg, bset)
