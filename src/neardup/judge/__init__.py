"""Judged by people: pairs drawn for labelling (:mod:`.sample`) and scores of a dedup result
against labels (:mod:`.evaluate`, :mod:`.score`)."""

from neardup.judge.evaluate import adjusted_rand_index
from neardup.judge.sample import KINDS, STRATA, SampleResult, sample_pairs
from neardup.judge.score import evaluate

__all__ = ["KINDS", "STRATA", "SampleResult", "adjusted_rand_index", "evaluate", "sample_pairs"]
