"""One explanation of the LSH parameters, shared by ``dedup --dry-run`` and ``explain``."""

from __future__ import annotations

from typing import Any

from neardup.candidates.lsh import LSHParams
from neardup.config import DedupConfig

SIMILARITY_GRID = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def parameter_report(cfg: DedupConfig, lsh: LSHParams) -> dict[str, Any]:
    """Bands, rows and the probability that a pair of each similarity becomes a candidate."""
    semantic = (
        {
            "model": cfg.model,
            "semantic_search": cfg.semantic_search,
            "semantic_probes": cfg.semantic_probes,
        }
        if cfg.method == "semantic"
        else {}
    )
    return {
        "method": cfg.method,
        **semantic,
        "threshold": cfg.threshold,
        "num_perm": cfg.num_perm,
        "bands": lsh.bands,
        "rows": lsh.rows,
        "slots_used": lsh.bands * lsh.rows,
        "ngram": cfg.ngram,
        "char_ngram": cfg.char_ngram,
        "shingle": cfg.shingle,
        "seed": cfg.seed,
        "verify": cfg.verify,
        "false_positive_area": round(lsh.false_positive_area, 6),
        "false_negative_area": round(lsh.false_negative_area, 6),
        "candidate_probability": {
            f"{s:.2f}": round(float(lsh.probability(s)), 6) for s in SIMILARITY_GRID
        },
    }


def run_parameters(cfg: DedupConfig, lsh: LSHParams, fmt: str) -> dict[str, Any]:
    """The ``parameters`` section of stats.json: the LSH report plus the run's settings."""
    return {
        **parameter_report(cfg, lsh),
        "keep": str(cfg.keep),
        "clustering": cfg.clustering,
        "text_field": cfg.text_field,
        "id_field": cfg.id_field,
        "on_error": cfg.on_error,
        "workers": cfg.effective_workers,
        "output_format": fmt,
        "max_bucket": cfg.max_bucket,
        "containment": cfg.containment,
        "containment_min_shingles": cfg.containment_min_shingles,
        "containment_ignore_quotes": cfg.containment_ignore_quotes,
        **({"window": cfg.window} if cfg.window is not None else {}),
    }


def format_parameter_report(report: dict[str, Any]) -> str:
    """Human-readable form of :func:`parameter_report`."""
    if report.get("method") == "semantic":
        return "\n".join(
            [
                f"method semantic  ·  cosine threshold {report['threshold']}  ·  model "
                f"{report['model']}",
                f"pair search: {report['semantic_search']} (auto: every pair up to 20,000 "
                f"distinct documents, k-means buckets with {report['semantic_probes']} probes "
                "above)  ·  every candidate verified by its exact cosine",
                "no MinHash banding (bands and rows in --json are not used)",
            ]
        )
    lines = [
        f"threshold {report['threshold']}  ·  {report['num_perm']} permutations  ·  "
        f"{report['bands']} bands × {report['rows']} rows ({report['slots_used']} slots used)",
        f"shingles: {report['shingle']} (word {report['ngram']}-grams, "
        f"character {report['char_ngram']}-grams for scripts without spaces)  ·  "
        f"seed {report['seed']}",
        "candidates are "
        + (
            "verified against exact Jaccard similarity"
            if report["verify"]
            else "accepted on their MinHash estimate (no verification)"
        ),
        "",
        "P(a pair becomes a candidate | its Jaccard similarity):",
    ]
    for s, p in report["candidate_probability"].items():
        bar = "█" * round(p * 30)
        lines.append(f"  J = {s}   {p:8.4f}  {bar}")
    lines.append("  (1 − (1 − J^rows)^bands: one band of `rows` MinHash slots must agree entirely)")
    return "\n".join(lines)
