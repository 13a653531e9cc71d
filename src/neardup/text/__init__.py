"""Text handling: one normalisation, shingling, and (later) boilerplate detection."""

from neardup.text.normalize import normalize, tokens
from neardup.text.shingle import ShingleBatch, shingle_batch, shingle_set

__all__ = ["ShingleBatch", "normalize", "shingle_batch", "shingle_set", "tokens"]
