"""Judged by people: pairs drawn for labelling (:mod:`.sample`) and scores of a dedup result
against labels (:mod:`.evaluate`)."""

from neardup.judge.sample import KINDS, STRATA, SampleResult, sample_pairs

__all__ = ["KINDS", "STRATA", "SampleResult", "sample_pairs"]
