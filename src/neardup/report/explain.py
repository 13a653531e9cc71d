"""Why two documents are, or are not, duplicates.

:func:`explain_pair` measures a pair the way a dedup run does and shows the evidence:

* exact Jaccard similarity ``|A ∩ B| / |A ∪ B|`` of the shingle sets, and containment both ways
  (``|A ∩ B| / |A|``: how much of A is in B — high for an excerpt or a truncated copy);
* the MinHash estimate (the fraction of equal signature slots) and how many LSH bands agree;
* ``P(candidate | J) = 1 − (1 − J^r)^b``, the chance that the banding proposes a pair of this
  similarity, and the verdict at the threshold;
* the containment rule of ``--containment`` as a run applies it (the lower of the own texts'
  and the bodies' containment, see :mod:`neardup.text.quotes`), and its verdict;
* the shared passages: every run of at least 50 words that stands in both, with its characters
  on both sides, as ``neardup passages`` would cut it from B (A, the earlier, keeps it);
* an aligned line-level diff: lines are compared after normalisation (so case, punctuation and
  spacing changes do not count), blank lines are ignored, and each differing block is named by
  where it sits in both documents; with a corpus, every differing line says whether it is
  boilerplate there and in how many clusters it stands.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np

from neardup.config import DedupConfig
from neardup.fingerprint.exact import exact_hashes
from neardup.fingerprint.minhash import signatures
from neardup.params import format_parameter_report, parameter_report
from neardup.resolve import choose_lsh
from neardup.sharedtext.containment import own_set
from neardup.text.boilerplate import BoilerplateSet
from neardup.text.lines import line_batch
from neardup.text.normalize import normalize
from neardup.text.quotes import message_author, message_parts
from neardup.text.shingle import shingle_batch
from neardup.verify import jaccard_pairs, sorted_sets


@dataclass(frozen=True, slots=True)
class Side:
    """One document of the pair: a label (path or id) and its text."""

    label: str
    text: str


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """``(|A|, |B|, |A ∩ B|)`` of two sorted unique arrays."""
    inter = int(np.intersect1d(a, b, assume_unique=True).size)
    return int(a.size), int(b.size), inter


def _lines(text: str) -> tuple[list[str], list[int]]:
    """Normalised non-blank lines and their 1-based line numbers."""
    keys, numbers = [], []
    for k, line in enumerate(text.split("\n"), 1):
        key = normalize(line)
        if key:
            keys.append(key)
            numbers.append(k)
    return keys, numbers


def _line_boilerplate(lines: list[str], bset: BoilerplateSet | None) -> list[int | None]:
    """Cluster frequency of each line when it is a boilerplate unit (or in a boilerplate block
    of its own text), else ``None``; all ``None`` without a corpus."""
    if bset is None or not lines:
        return [None] * len(lines)
    lb = line_batch(lines)
    out: list[int | None] = []
    for k in range(len(lines)):
        freq = bset.frequency_of(int(lb.hashes[k]))
        out.append(freq if freq else None)
    return out


def _diff(a: Side, b: Side, bset: BoilerplateSet | None) -> list[dict[str, Any]]:
    a_keys, a_num = _lines(a.text)
    b_keys, b_num = _lines(b.text)
    a_raw = a.text.split("\n")
    b_raw = b.text.split("\n")
    blocks = []
    matcher = difflib.SequenceMatcher(None, a_keys, b_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        kind = {"delete": "only_in_a", "insert": "only_in_b", "replace": "changed"}[tag]
        a_lines = [a_raw[a_num[i] - 1] for i in range(i1, i2)]
        b_lines = [b_raw[b_num[j] - 1] for j in range(j1, j2)]
        a_bp = _line_boilerplate(a_lines, bset)
        b_bp = _line_boilerplate(b_lines, bset)
        blocks.append(
            {
                "kind": kind,
                "a_lines": [a_num[i1], a_num[i2 - 1]] if i2 > i1 else None,
                "b_lines": [b_num[j1], b_num[j2 - 1]] if j2 > j1 else None,
                "after_a_line": a_num[i1 - 1] if i1 > 0 else 0,
                "after_b_line": b_num[j1 - 1] if j1 > 0 else 0,
                "a": [
                    {"line": a_num[i1 + k], "text": t, "boilerplate_clusters": bp}
                    for k, (t, bp) in enumerate(zip(a_lines, a_bp, strict=True))
                ],
                "b": [
                    {"line": b_num[j1 + k], "text": t, "boilerplate_clusters": bp}
                    for k, (t, bp) in enumerate(zip(b_lines, b_bp, strict=True))
                ],
            }
        )
    return blocks


#: Shortest shared run of words that explain lists (the default of ``neardup passages``).
PASSAGE_WORDS = 50
#: The containment threshold explain judges by when the config sets none.
CONTAINMENT_SUGGESTED = 0.9


def _containment_rule(a: Side, b: Side, cfg: DedupConfig) -> dict[str, Any]:
    """``--containment``'s view of the pair: containment of the own texts both ways, and its
    verdict at the configured threshold (or at 0.9 when containment is off)."""
    parts = [
        message_parts(t) if cfg.containment_ignore_quotes else (t, t) for t in (a.text, b.text)
    ]
    texts = [p[1] for p in parts]
    sb = shingle_batch(
        [p[k] for p in parts for k in (1, 0)],
        ngram=cfg.ngram,
        char_ngram=cfg.char_ngram,
        mode=cfg.shingle,
    )
    so = sb.shingle_offsets
    sets = [own_set(sb.shingles[so[i] : so[i + 1]]) for i in range(4)]  # own A, body A, own B…
    n_a, n_b, inter = _overlap(sets[0], sets[2])
    body_a, body_b, body_inter = _overlap(sets[1], sets[3])
    c_ab = min(inter / n_a if n_a else 0.0, body_inter / body_a if body_a else 0.0)
    c_ba = min(inter / n_b if n_b else 0.0, body_inter / body_b if body_b else 0.0)
    threshold = cfg.containment if cfg.containment is not None else CONTAINMENT_SUGGESTED
    small, large, c, n_small = ("A", "B", c_ab, n_a) if n_a <= n_b else ("B", "A", c_ba, n_b)
    quoting = False
    if cfg.containment_ignore_quotes:
        (author_a, reply_a), (author_b, reply_b) = message_author(a.text), message_author(b.text)
        reply_large = reply_b if large == "B" else reply_a
        quoting = bool(author_a and author_b and author_a != author_b and reply_large)
    if quoting:
        verdict = (
            f"not applied: {large} is a reply by another author, so it holds {small}'s text "
            "because it quotes it"
        )
    elif n_small < cfg.containment_min_shingles:
        verdict = (
            f"not applied: {small} has {n_small} own shingles, fewer than "
            f"{cfg.containment_min_shingles}"
        )
    elif c >= threshold:
        verdict = f"{small} is contained in {large} ({c:.3f} ≥ {threshold})"
    else:
        verdict = f"{small} is not contained in {large} ({c:.3f} < {threshold})"
    quoted = [
        t.count("\n") + 1 - o.count("\n") - 1 for t, o in zip((a.text, b.text), texts, strict=True)
    ]
    return {
        "enabled": cfg.containment is not None,
        "threshold": threshold,
        "own_a_in_b": round(c_ab, 6),
        "own_b_in_a": round(c_ba, 6),
        "quoted_lines_ignored": {"a": quoted[0], "b": quoted[1]},
        "verdict": verdict,
    }


def _passages(a: Side, b: Side) -> list[dict[str, Any]]:
    """Runs of at least :data:`PASSAGE_WORDS` words that stand in both texts."""
    from neardup.api.passages import find_passages

    out = []
    for cut in find_passages([a.text, b.text], min_words=PASSAGE_WORDS):
        if cut["id"] != 1:
            continue
        out.append(
            {
                "words": cut["words"],
                "a_start": cut["source_start"],
                "a_end": cut["source_end"],
                "b_start": cut["start"],
                "b_end": cut["end"],
                "text": b.text[cut["start"] : cut["end"]],
            }
        )
    return out


def explain_pair(
    a: Side, b: Side, cfg: DedupConfig, bset: BoilerplateSet | None = None
) -> dict[str, Any]:
    """The full explanation of one pair (see module docstring), as a JSON-ready dict."""
    lsh = choose_lsh(cfg)
    sb = shingle_batch(
        [a.text, b.text], ngram=cfg.ngram, char_ngram=cfg.char_ngram, mode=cfg.shingle
    )
    sets, offs = sorted_sets(sb.shingles, sb.shingle_offsets, np.array([0, 1]))
    set_a, set_b = sets[offs[0] : offs[1]], sets[offs[1] : offs[2]]
    n_a, n_b, inter = _overlap(set_a, set_b)
    union = n_a + n_b - inter
    jac = float(jaccard_pairs(sets, offs, np.array([[0, 1]], dtype=np.int64))[0])
    exact = exact_hashes(sb.norm, sb.norm_offsets)
    is_exact = bool((exact[0] == exact[1]).all()) and n_a > 0
    sig = signatures(sb.shingles, sb.shingle_offsets, cfg.num_perm, cfg.seed)
    equal_slots = int((sig[0] == sig[1]).sum()) if n_a and n_b else 0
    bands_equal = 0
    if n_a and n_b:
        for band in range(lsh.bands):
            lo, hi = band * lsh.rows, (band + 1) * lsh.rows
            bands_equal += bool((sig[0, lo:hi] == sig[1, lo:hi]).all())
    similarity = jac if cfg.verify else equal_slots / cfg.num_perm
    if n_a == 0 or n_b == 0:
        verdict, why = "not a duplicate", "an empty document (no words) is never a duplicate"
    elif is_exact:
        verdict, why = "exact duplicate", "the normalised texts are identical"
    elif similarity >= cfg.threshold and bands_equal:
        verdict = "near duplicate"
        why = f"Jaccard {similarity:.3f} ≥ threshold {cfg.threshold}"
    elif similarity >= cfg.threshold:
        verdict = "near duplicate if proposed"
        why = (
            f"Jaccard {similarity:.3f} ≥ threshold {cfg.threshold}, but no LSH band agrees, so a "
            "run would not propose this pair (a false negative of the banding)"
        )
    else:
        verdict = "not a duplicate"
        why = f"Jaccard {similarity:.3f} < threshold {cfg.threshold}"
    semantic = None
    if cfg.method == "semantic":  # the cosine decides; Jaccard and MinHash stay as evidence
        from neardup.semantic.explain import semantic_evidence, semantic_verdict

        semantic = semantic_evidence([a.text, b.text], sb.norm, sb.norm_offsets, cfg)
        if n_a and n_b and not is_exact:
            verdict, why = semantic_verdict(semantic)
    modes = {1: "word", 2: "char"}
    return {
        "a": {"label": a.label, "shingles": n_a, "shingling": modes[int(sb.modes[0])]},
        "b": {"label": b.label, "shingles": n_b, "shingling": modes[int(sb.modes[1])]},
        "jaccard": round(jac, 6),
        "shared_shingles": inter,
        "union_shingles": union,
        "containment_a_in_b": round(inter / n_a, 6) if n_a else 0.0,
        "containment_b_in_a": round(inter / n_b, 6) if n_b else 0.0,
        "exact_duplicate": is_exact,
        "minhash_estimate": round(equal_slots / cfg.num_perm, 6),
        "equal_slots": equal_slots,
        "bands_agreeing": bands_equal,
        "candidate": bands_equal > 0,
        "candidate_probability": round(float(lsh.probability(jac)), 6),
        "verdict": verdict,
        "reason": why,
        **({"semantic": semantic} if semantic is not None else {}),
        "parameters": parameter_report(cfg, lsh),
        "containment_rule": _containment_rule(a, b, cfg),
        "passages": _passages(a, b),
        "boilerplate_checked": bset is not None,
        "diff": _diff(a, b, bset),
    }


def _span(lines: list[int] | None) -> str:
    if not lines:
        return ""
    return f"line {lines[0]}" if lines[0] == lines[1] else f"lines {lines[0]}–{lines[1]}"


def _describe(block: dict[str, Any]) -> str:
    kind = block["kind"]
    if kind == "only_in_a":
        n = len(block["a"])
        return (
            f"only in A: {n} line{'s' * (n != 1)} ({_span(block['a_lines'])} of A), "
            f"after line {block['after_b_line']} of B"
        )
    if kind == "only_in_b":
        n = len(block["b"])
        return (
            f"only in B: {n} line{'s' * (n != 1)} ({_span(block['b_lines'])} of B), "
            f"after line {block['after_a_line']} of A"
        )
    return f"changed: {_span(block['a_lines'])} of A differ from {_span(block['b_lines'])} of B"


def format_explanation(exp: dict[str, Any], *, width: int = 100, max_lines: int = 12) -> str:
    """Human-readable form of :func:`explain_pair` (at most ``max_lines`` lines of each side of
    a block; the JSON form has them all)."""
    a, b, p = exp["a"], exp["b"], exp["parameters"]
    out = [
        f"A: {a['label']}  ({a['shingles']:,} {a['shingling']} shingles)",
        f"B: {b['label']}  ({b['shingles']:,} {b['shingling']} shingles)",
        "",
        f"verdict: {exp['verdict']} — {exp['reason']}",
        *(
            [
                f"cosine {exp['semantic']['cosine']:.3f} of the embeddings under "
                f"{exp['semantic']['model']} (method semantic, threshold "
                f"{exp['semantic']['threshold']})"
            ]
            if "semantic" in exp
            else []
        ),
        f"Jaccard {exp['jaccard']:.3f} ({exp['shared_shingles']:,} shared of "
        f"{exp['union_shingles']:,})  ·  A in B {exp['containment_a_in_b']:.3f}  ·  "
        f"B in A {exp['containment_b_in_a']:.3f}",
        f"MinHash estimate {exp['minhash_estimate']:.3f} ({exp['equal_slots']} of "
        f"{p['num_perm']} slots)  ·  {exp['bands_agreeing']} of {p['bands']} bands agree  ·  "
        f"P(candidate | J={exp['jaccard']:.3f}) = {exp['candidate_probability']:.4f}",
        f"containment rule ({'on' if exp['containment_rule']['enabled'] else 'off; judged'} at "
        f"{exp['containment_rule']['threshold']}, own text"
        + (
            ", quoted lines left out"
            if any(exp["containment_rule"]["quoted_lines_ignored"].values())
            else ""
        )
        + f"): {exp['containment_rule']['verdict']}",
        "",
    ]
    shared = exp["passages"]
    if shared:
        words = sum(run["words"] for run in shared)
        out.append(
            f"{len(shared)} shared passage{'s' * (len(shared) != 1)} of ≥ {PASSAGE_WORDS} words "
            f"({words:,} words; `neardup passages` keeps them in A and cuts them from B):"
        )
        for run in shared:
            text = " ".join(run["text"].split())
            text = text if len(text) <= width - 40 else text[: width - 41] + "…"
            out.append(
                f"  {run['words']:>5} words  A[{run['a_start']}:{run['a_end']}] = "
                f"B[{run['b_start']}:{run['b_end']}]  {text!r}"
            )
        out.append("")
    diff = exp["diff"]
    if not diff:
        out.append("no line differs (after normalisation; blank lines ignored)")
    else:
        blocks = "1 block differs" if len(diff) == 1 else f"{len(diff)} blocks differ"
        out.append(f"{blocks} (lines compared after normalisation; blank lines ignored):")
    room = width - 16
    for block in diff:
        out.append("  " + _describe(block))
        for side in ("a", "b"):
            rows = block[side]
            if len(rows) > max_lines:
                rows = rows[:max_lines]
                more = len(block[side]) - max_lines
                rows.append({"line": None, "text": f"… {more} more lines", "more": True})
            for row in rows:
                if row.get("more"):
                    out.append(f"    {side.upper()}       {row['text']}")
                    continue
                text = row["text"].strip()
                text = text if len(text) <= room else text[: room - 1] + "…"
                tag = ""
                if row["boilerplate_clusters"]:
                    tag = f"   [boilerplate: {row['boilerplate_clusters']:,} clusters]"
                elif exp["boilerplate_checked"]:
                    tag = "   [not boilerplate]"
                out.append(f"    {side.upper()}{row['line']:>5}  {text}{tag}")
    out += ["", "parameters:", format_parameter_report(p)]
    return "\n".join(out)
