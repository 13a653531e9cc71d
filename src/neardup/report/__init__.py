"""Explanations and reports: `neardup explain` and the HTML report of a run."""
