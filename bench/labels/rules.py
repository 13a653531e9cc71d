"""The decision rules ``choose.py`` compares, and how one is chosen: among the rules whose tune
precision, pooled over the corpora named, is at least :data:`MIN_PRECISION`, the one with the
highest pooled recall (ties: higher F1, then fewer changes from the old default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_PRECISION = 0.97
WINDOW = "date:3.5d"
DUPLICATE_KINDS = ("re-send", "correction", "update", "truncation")
OTHER_KINDS = ("template", "quote-reply", "unrelated")


@dataclass(frozen=True, order=True)
class Rule:
    """One decision rule: word ``ngram`` Jaccard >= ``threshold``, or (when set) containment
    of the smaller document in the longer >= ``containment``; ``boilerplate`` strips repeated
    units first; ``window`` keeps documents more than 3.5 days apart from being duplicates
    (applied only to corpora with a date field)."""

    ngram: int = 5
    threshold: float = 0.8
    containment: float | None = None
    boilerplate: bool = False
    window: bool = False

    @property
    def name(self) -> str:
        parts = [f"w{self.ngram}", f"J>={self.threshold:g}"]
        if self.containment is not None:
            parts.append(f"C>={self.containment:g}")
        if self.boilerplate:
            parts.append("strip-boilerplate")
        if self.window:
            parts.append(f"window {WINDOW} (Reuters)")
        return " ".join(parts)

    def options(self, dated: bool) -> dict[str, Any]:
        o: dict[str, Any] = {"ngram": self.ngram, "threshold": self.threshold}
        if self.containment is not None:
            o["containment"] = self.containment
        if self.boilerplate:
            o["strip_boilerplate"] = True
        if self.window and dated:
            o["window"] = WINDOW
        return o

    def flags(self, dated: bool) -> str:
        o = self.options(dated)
        f = [f"--ngram {o['ngram']}", f"--threshold {o['threshold']:g}"]
        if "containment" in o:
            f.append(f"--containment {o['containment']:g}")
        if o.get("strip_boilerplate"):
            f.append("--strip-boilerplate")
        if "window" in o:
            f.append(f"--window {o['window']}")
        return " ".join(f)


OLD_DEFAULT = Rule()


def grid(quick: bool) -> list[Rule]:
    """The candidate rules, the cheap and likely ones first."""
    out: list[Rule] = []
    for bp in (False, True):
        for window in (False, True):
            for ngram in (5, 3):
                for t in (0.5, 0.6, 0.7, 0.8, 0.9):
                    conts: tuple[float | None, ...] = (None, 0.8, 0.9)
                    if bp and quick:
                        conts = (None,)
                    for c in conts:
                        out.append(Rule(ngram, t, c, bp, window))
    return out


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f1}


def _distance(rule: Rule) -> int:
    d = OLD_DEFAULT
    return sum(
        (
            rule.ngram != d.ngram,
            rule.threshold != d.threshold,
            rule.containment != d.containment,
            rule.boilerplate != d.boilerplate,
        )
    )


def over(row: dict[str, Any], corpora: tuple[str, ...], half: str = "tune") -> dict[str, Any]:
    """P/R/F1 of one row pooled over ``corpora`` (sums of tp, fp, fn)."""
    per = row[half]
    return prf(*[sum(per[c]["overall"][k] for c in corpora) for k in ("tp", "fp", "fn")])


def best(rows: list[dict[str, Any]], corpora: tuple[str, ...]) -> dict[str, Any] | None:
    """The row whose tune precision pooled over ``corpora`` is at least MIN_PRECISION with the
    highest pooled recall (ties: higher F1, then fewer changes from the old default)."""
    ok = [r for r in rows if (over(r, corpora)["precision"] or 0.0) >= MIN_PRECISION]
    if not ok:
        return None

    def key(r: dict[str, Any]) -> tuple[float, float, int]:
        m = over(r, corpora)
        return (m["recall"] or 0.0, m["f1"] or 0.0, -_distance(r["rule"]))

    return max(ok, key=key)
