"""The shared-text index: which runs of words stand in more than one document, and where.

Every document is cut into word tokens with their character offsets in the original text
(:mod:`~neardup.sharedtext.tokens`); word k-grams are hashed and a subset is selected by
winnowing (:mod:`~neardup.sharedtext.winnow`), which guarantees that any run of at least
``min_words`` shared words yields at least one shared fingerprint. Fingerprints go to
hash-partitioned sorted runs on disk (:mod:`~neardup.sharedtext.runs`), so memory stays bounded
whatever the corpus size; each partition is then read alone and its shared fingerprints become
anchors that are extended to maximal shared runs on the token hashes
(:mod:`~neardup.sharedtext.matches`). Cuts snap to sentence, line or paragraph boundaries
(:mod:`~neardup.sharedtext.cuts`).
"""

from neardup.sharedtext.tokens import TokenBatch, tokenize

__all__ = ["TokenBatch", "tokenize"]
