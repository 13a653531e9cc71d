"""Document fingerprints: exact (128-bit hash of the normalised text) and MinHash."""

from neardup.fingerprint.exact import exact_hashes
from neardup.fingerprint.minhash import signatures

__all__ = ["exact_hashes", "signatures"]
