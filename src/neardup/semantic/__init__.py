"""Semantic near-duplicates: documents compared by the cosine of their embeddings.

:mod:`neardup.semantic.embed` turns normalised texts into unit vectors with a static Model2Vec
model; :mod:`neardup.semantic.search` finds the pairs at or above a cosine threshold (all pairs,
or k-means buckets with multi-probe) and verifies each one exactly. The pairs then go through the
same clustering, keeper and output stages as the lexical method's verified pairs.
"""
