"""Options of the semantic method, shared by ``dedup`` and ``explain``."""

from __future__ import annotations

from typing import Any

import click


def semantic_options(fn: Any) -> Any:
    """``--method``, ``--model``, ``--semantic-search`` and ``--semantic-probes``."""
    options = [
        click.option(
            "--method",
            type=click.Choice(["minhash", "semantic"]),
            help="minhash: shared wording, Jaccard of word 5-grams (default); semantic: shared "
            "meaning, cosine of Model2Vec embeddings (needs neardup[semantic] and --model).",
        ),
        click.option(
            "--model",
            help="With --method semantic: a Model2Vec model folder, or a hub name such as "
            "minishlab/potion-base-8M (downloaded once).",
        ),
        click.option(
            "--semantic-search",
            type=click.Choice(["auto", "exact", "buckets"]),
            help="Pair search of --method semantic: exact (all pairs), buckets (k-means, "
            "multi-probe) or auto (exact up to 20,000 documents).  [default: auto]",
        ),
        click.option(
            "--semantic-probes",
            type=int,
            help="Buckets each document is compared in (buckets search).  [default: 8]",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn
