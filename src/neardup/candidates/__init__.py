"""Candidate generation: which pairs of documents are worth verifying."""

from neardup.candidates.lsh import LSHParams, candidate_pairs, candidate_probability, lsh_params

__all__ = ["LSHParams", "candidate_pairs", "candidate_probability", "lsh_params"]
