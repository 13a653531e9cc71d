"""The semantic method's view of one pair, for ``neardup explain --method semantic``."""

from __future__ import annotations

from typing import Any

import numpy as np

from neardup.config import DedupConfig
from neardup.semantic.embed import embed, embedding_texts
from neardup.semantic.search import cosine_pairs


def semantic_evidence(
    texts: list[str], norm: np.ndarray, offsets: np.ndarray, cfg: DedupConfig
) -> dict[str, Any]:
    """The cosine of the two texts' embeddings (``norm`` cut at ``offsets`` are their normalised
    forms, as :func:`neardup.text.shingle.shingle_batch` gives them), exactly as a run measures
    it, and whether it reaches the threshold."""
    if cfg.model is None:  # DedupConfig refuses method semantic without a model
        raise ValueError("method semantic needs a model")
    embedded = embedding_texts(texts, norm, offsets, cfg.containment_ignore_quotes)
    vectors = embed(embedded, cfg.model)
    has_tokens = bool(vectors[0].any() and vectors[1].any())
    cos = float(cosine_pairs(vectors, np.array([[0, 1]]))[0]) if has_tokens else 0.0
    return {
        "model": cfg.model,
        "cosine": round(cos, 6),
        "threshold": cfg.threshold,
        "known_tokens": has_tokens,
        "duplicate": has_tokens and cos >= cfg.threshold,
    }


def semantic_verdict(evidence: dict[str, Any]) -> tuple[str, str]:
    """Verdict and reason of a pair that is neither empty nor an exact copy."""
    cos, t = evidence["cosine"], evidence["threshold"]
    if not evidence["known_tokens"]:
        return "not a duplicate", "a text with no token the model knows has no embedding"
    if evidence["duplicate"]:
        return "semantic duplicate", (
            f"cosine {cos:.3f} ≥ threshold {t} (a run finds the pair with the exact search, "
            "and with the bucket search at its measured recall)"
        )
    return "not a duplicate", f"cosine {cos:.3f} < threshold {t}"
