"""Run near-duplicate detectors side by side on one corpus and score them against exact pairs.

Peers (each in its own subprocess, so its wall time and peak RSS are its own):

* ``datasketch``: ``MinHash(num_perm, seed=1)`` via ``MinHash.generator`` (the bulk path, which
  reuses the permutations) with ``update_batch`` over UTF-8 shingle strings, and
  ``MinHashLSH(threshold, num_perm)`` (datasketch picks bands/rows, 9x13 for 0.8/128).
* ``datasketch-xxh``: the same with ``hashfunc=xxhash.xxh32_intdigest`` instead of SHA-1.
* ``rensa``: ``RMinHash(num_perm, seed=1).update(shingle strings)`` and
  ``RMinHashLSH(threshold, num_perm, num_bands=16)`` (8 rows per band).
* ``rensa-b8``: the same with ``num_bands=8`` (16 rows), the setting of rensa's own benchmark.
* ``neardup``: the CLI, ``neardup dedup CORPUS --output DIR --json --threshold T --num-perm P``;
  its output pairs are all pairs inside each cluster of ``DIR/clusters.jsonl``; the row
  ``neardup removed→kept`` scores only the (removed, kept) pairs, the assertion each removal
  makes (its recall column counts those pairs alone, so it is not comparable).

The LSH peers query each document before inserting it, which yields every colliding pair once.
Tokenisation (same definition as ``ground_truth.py``) is part of their timed pipeline.  After the
timed part they also report two post-filters of their candidates: ``+est`` keeps pairs whose
MinHash-estimated Jaccard is >= the threshold, ``+verify`` keeps pairs whose exact Jaccard is
(both timed separately and added to the base time).

Scores against ``ground_truth.py`` (exact Jaccard >= threshold): recall = found true pairs / all
true pairs; precision = reported pairs that are true pairs / reported pairs.  For neardup a true
pair is found when both documents share a cluster, and every pair inside a cluster is reported.

Usage::

    python bench/peers.py CORPUS.jsonl [--peers datasketch,rensa,neardup] [--threshold 0.8]
        [--num-perm 128] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shingles import iter_line_batches, iter_lines, loads, shingle_strings, tokenize

if TYPE_CHECKING:  # numpy is imported lazily: the rensa child process does not need it
    import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_PEERS = ("datasketch", "rensa", "neardup")
KNOWN_PEERS = ("datasketch", "datasketch-xxh", "rensa", "rensa-b8", "neardup")
MINHASH_SEED = 1
_PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------------------------
# Memory sampling (used inside the peer subprocess)
# ---------------------------------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    """PIDs of ``root`` and all its descendants, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def _pss_or_rss(pid: int) -> int:
    """Proportional set size of a process (RSS where smaps_rollup is unavailable).

    PSS splits shared pages among the processes mapping them, so summing it over forked
    workers does not count copy-on-write pages several times (summing RSS would).
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    with open(f"/proc/{pid}/statm", "rb") as fh:
        return int(fh.read().split()[1]) * _PAGE


def tree_memory_bytes(root: int) -> int:
    """Current memory (summed PSS) of ``root`` plus all of its descendants."""
    total = 0
    for pid in _process_tree(root):
        try:
            total += _pss_or_rss(pid)
        except OSError:
            continue
    return total


class RssSampler(threading.Thread):
    """Background thread recording the peak summed PSS of a process tree."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(OSError, ValueError):
                self.peak = max(self.peak, tree_memory_bytes(self.root))
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        """Take a last sample, stop, and return the peak in bytes."""
        with contextlib.suppress(OSError, ValueError):
            self.peak = max(self.peak, tree_memory_bytes(self.root))
        self._stop_event.set()
        if self.is_alive():
            self.join()
        return self.peak


def self_hwm_bytes() -> int:
    """Peak RSS of this process since its ``exec`` (``VmHWM``).

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used for the process itself: Linux carries the
    high-water mark of the forking parent across ``exec``, so a child of the (large) benchmark
    parent would report at least the parent's size.
    """
    with open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def children_maxrss_bytes() -> int:
    """ru_maxrss of the largest waited-for descendant (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


# ---------------------------------------------------------------------------------------------
# Peer implementations (run inside the child process)
# ---------------------------------------------------------------------------------------------


def pack(a: int, b: int) -> int:
    """Pack an unordered document-index pair into one uint64 (smaller index high)."""
    return (a << 32) | b if a < b else (b << 32) | a


def _exact_ratio(threshold: float) -> tuple[int, int]:
    frac = Fraction(repr(float(threshold)))
    return frac.numerator, frac.denominator


class SketchPeer:
    """Common driver of the MinHash + LSH peers: sketch, query-then-insert, post-filters."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.ngram: int = cfg["ngram"]
        self.num_perm: int = cfg["num_perm"]
        self.threshold: float = cfg["threshold"]

    # Subclasses provide these three.
    def sketch_batch(self, lines: list[str]) -> list[Any]:
        """Sketch a batch of JSONL lines (None for documents without shingles)."""
        raise NotImplementedError

    def index(self) -> Callable[[int, Any], list[int]]:
        """Return ``step(key, sketch) -> candidate keys``: query, then insert."""
        raise NotImplementedError

    def digest(self, sketch: Any) -> list[int]:
        """The signature values of a sketch, for the ``+est`` filter."""
        raise NotImplementedError

    def _digests_of(self, corpus: Path, pairs: list[int]) -> dict[int, list[int]]:
        """Signatures of the documents occurring in ``pairs`` (re-sketched, deterministic)."""
        needed = docs_in(pairs)
        digests: dict[int, list[int]] = {}
        batch: list[str] = []
        rows: list[int] = []
        for i, line in enumerate(iter_lines(corpus)):
            if i in needed:
                batch.append(line)
                rows.append(i)
        for start in range(0, len(batch), 512):
            sketches = self.sketch_batch(batch[start : start + 512])
            for i, sk in zip(rows[start : start + 512], sketches, strict=True):
                digests[i] = self.digest(sk)
        return digests

    def _sketch_stream(self, corpus: Path, workers: int) -> Iterator[list[Any]]:
        batches = iter_line_batches(corpus, 512)
        if workers <= 1:
            for batch in batches:
                yield self.sketch_batch(batch)
            return
        with get_context("fork").Pool(workers) as pool:
            yield from pool.imap(self.sketch_batch, batches, chunksize=1)

    def run(self, corpus: Path, out: Path, t_spawn: float, sampler: RssSampler) -> dict:
        """Timed candidate generation, then the ``+est`` and ``+verify`` post-filters.

        The timed part keeps only the LSH index and the candidate list (no signatures), as the
        plain insert + query pipeline would.  ``+est`` then re-sketches the documents that
        appear in candidates (its time is thus an upper bound; a pipeline that keeps the
        signatures pays 4 bytes x num_perm per document in memory instead).
        """
        t0 = time.perf_counter()
        step = self.index()
        cand = array("Q")
        n_docs = 0
        for sketches in self._sketch_stream(corpus, self.cfg["workers"]):
            for sk in sketches:
                i = n_docs
                n_docs += 1
                if sk is not None:
                    for j in step(i, sk):
                        cand.append(pack(i, j))
        work_s = time.perf_counter() - t0
        wall_s = time.time() - t_spawn
        cpu = cpu_seconds()
        peak_tree = sampler.stop()
        peak = max(peak_tree, self_hwm_bytes())
        cand_sorted = sorted(set(cand))
        write_pairs(out / "pairs.bin", cand_sorted)
        timed = {
            "docs": n_docs,
            "wall_s": round(wall_s, 3),
            "work_s": round(work_s, 3),
            "cpu_s": round(cpu, 3),
            "peak_rss_bytes": peak,
            "peak_rss_tree_sampled_bytes": peak_tree,
            "candidates": len(cand_sorted),
            "candidate_emissions": len(cand),
        }
        if not self.cfg.get("postfilters", True):
            return timed

        # +est: MinHash-estimated Jaccard >= threshold.
        t1 = time.perf_counter()
        digests = self._digests_of(corpus, cand_sorted)
        min_same = self.threshold * self.num_perm
        est = [
            key
            for key in cand_sorted
            if sum(
                x == y for x, y in zip(digests[key >> 32], digests[key & 0xFFFFFFFF], strict=True)
            )
            >= min_same
        ]
        est_s = time.perf_counter() - t1
        write_pairs(out / "pairs_est.bin", est)
        del digests

        # +verify: exact Jaccard of the candidates' shingle sets.
        t2 = time.perf_counter()
        verified, n_checked = verify_exact(corpus, cand_sorted, self.ngram, self.threshold)
        verify_s = time.perf_counter() - t2
        write_pairs(out / "pairs_verify.bin", verified)
        return {
            **timed,
            "est_s": round(est_s, 3),
            "verify_s": round(verify_s, 3),
            "verify_checked": n_checked,
            "peak_rss_self_after_postfilters_bytes": self_hwm_bytes(),
            "peak_rss_workers_bytes": children_maxrss_bytes(),
        }


def write_pairs(path: Path, pairs: Iterable[int]) -> None:
    """Write packed pairs as raw native-endian uint64 (read back with ``np.fromfile``)."""
    with path.open("wb") as fh:
        array("Q", pairs).tofile(fh)


def docs_in(pairs: list[int]) -> set[int]:
    """Document indices that occur in packed pairs."""
    needed: set[int] = set()
    for key in pairs:
        needed.add(key >> 32)
        needed.add(key & 0xFFFFFFFF)
    return needed


def verify_exact(corpus: Path, pairs: list[int], ngram: int, threshold: float) -> tuple[list, int]:
    """Keep the packed pairs whose exact shingle-set Jaccard is >= threshold."""
    p, q = _exact_ratio(threshold)
    needed = docs_in(pairs)
    sets: dict[int, frozenset[str]] = {}
    for i, line in enumerate(iter_lines(corpus)):
        if i in needed:
            sets[i] = frozenset(shingle_strings(tokenize(loads(line).get("text") or ""), ngram))
    out = []
    for key in pairs:
        sa, sb = sets[key >> 32], sets[key & 0xFFFFFFFF]
        inter = len(sa & sb)
        if inter * q >= p * (len(sa) + len(sb) - inter):
            out.append(key)
    return out, len(pairs)


class DatasketchPeer(SketchPeer):
    """datasketch MinHash + MinHashLSH (SHA-1, or xxh32 for ``datasketch-xxh``)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__(cfg)
        self.xxh = cfg["peer"] == "datasketch-xxh"
        self.lsh_params: tuple[int, int] | None = None

    def sketch_batch(self, lines: list[str]) -> list[Any]:
        from datasketch import LeanMinHash, MinHash

        kwargs: dict[str, Any] = {"num_perm": self.num_perm, "seed": MINHASH_SEED}
        if self.xxh:
            import xxhash

            kwargs["hashfunc"] = xxhash.xxh32_intdigest
        shingles = []
        for line in lines:
            toks = tokenize(loads(line).get("text") or "")
            shingles.append([s.encode("utf-8") for s in shingle_strings(toks, self.ngram)])
        # MinHash.generator is MinHash.bulk without materialising the list (it copies one
        # initialised MinHash instead of regenerating the permutations per document).
        gen = MinHash.generator((s for s in shingles if s), **kwargs)
        # LeanMinHash: compact to keep, and cheap to pickle back from worker processes.
        return [LeanMinHash(next(gen)) if s else None for s in shingles]

    def index(self) -> Callable[[int, Any], list[int]]:
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        self.lsh_params = (lsh.b, lsh.r)

        def step(key: int, sketch: Any) -> list[int]:
            found = lsh.query(sketch)
            lsh.insert(key, sketch, check_duplication=False)
            return found

        return step

    def digest(self, sketch: Any) -> list[int]:
        return sketch.hashvalues.tolist()


class RensaPeer(SketchPeer):
    """rensa RMinHash + RMinHashLSH (16 bands, or 8 for ``rensa-b8``)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__(cfg)
        self.num_bands = 8 if cfg["peer"] == "rensa-b8" else cfg["rensa_bands"]

    def sketch_batch(self, lines: list[str]) -> list[Any]:
        from rensa import RMinHash

        out = []
        for line in lines:
            shingles = shingle_strings(tokenize(loads(line).get("text") or ""), self.ngram)
            if not shingles:
                out.append(None)
                continue
            m = RMinHash(num_perm=self.num_perm, seed=MINHASH_SEED)
            m.update(shingles)
            out.append(m)
        return out

    def index(self) -> Callable[[int, Any], list[int]]:
        from rensa import RMinHashLSH

        lsh = RMinHashLSH(
            threshold=self.threshold, num_perm=self.num_perm, num_bands=self.num_bands
        )

        def step(key: int, sketch: Any) -> list[int]:
            found = lsh.query(sketch)
            lsh.insert(key, sketch)
            return found

        return step

    def digest(self, sketch: Any) -> list[int]:
        return sketch.digest()


def find_neardup_cli() -> Path | None:
    """The neardup console script next to this interpreter, or on PATH."""
    local = Path(sys.executable).parent / "neardup"
    if local.exists():
        return local
    found = shutil.which("neardup")
    return Path(found) if found else None


def neardup_available() -> tuple[bool, str]:
    """Whether neardup can be benchmarked, and why not."""
    try:
        import neardup  # noqa: F401
    except Exception as exc:  # any import-time failure of a library in progress
        return False, f"`import neardup` failed: {exc!r}"
    if find_neardup_cli() is None:
        return False, "the `neardup` CLI is not installed"
    return True, ""


def _parse_summary(stdout: str) -> dict | None:
    """The JSON summary printed by ``neardup dedup --json`` (whole output or last object)."""
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start = text.rfind("\n{")
    try:
        return json.loads(text[start + 1 :] if start >= 0 else text[text.index("{") :])
    except (json.JSONDecodeError, ValueError):
        return None


def run_neardup(cfg: dict, corpus: Path, out: Path) -> dict:
    """Run the neardup CLI as a subprocess; convert its clusters to pairs."""
    cli = find_neardup_cli()
    if cli is None:
        raise RuntimeError("neardup CLI not found")
    help_text = subprocess.run(
        [str(cli), "dedup", "--help"], capture_output=True, text=True, check=False
    ).stdout
    outdir = out / "neardup-out"
    cmd = [
        str(cli),
        "dedup",
        str(corpus),
        "--output",
        str(outdir),
        "--json",
        "--threshold",
        str(cfg["threshold"]),
        "--num-perm",
        str(cfg["num_perm"]),
    ]
    if "--ngram" in help_text:
        cmd += ["--ngram", str(cfg["ngram"])]
    nd_workers = cfg.get("neardup_workers") or cfg["workers"]
    if "--workers" in help_text and nd_workers:
        cmd += ["--workers", str(nd_workers)]
    if "--no-progress" in help_text:
        cmd += ["--no-progress"]
    cmd += cfg.get("neardup_args", [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the --help call above
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The CLI's own peak is the kernel's high-water mark (children_maxrss_bytes below); the
    # sampler only adds descendants, so it can be slow. Every 20 ms it cost neardup about
    # 0.2 s of a 1.8 s run at 50k documents (smaps_rollup walks the page tables and takes a
    # core from the workers); every 0.25 s it costs nothing measurable.
    sampler = RssSampler(proc.pid, interval=0.25)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall_s = time.perf_counter() - t0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the CLI and anything it waited for
    cpu_s = kids.ru_utime + kids.ru_stime - before.ru_utime - before.ru_stime
    peak_tree = sampler.stop()
    maxrss = children_maxrss_bytes()
    if proc.returncode != 0:
        raise RuntimeError(f"neardup exited {proc.returncode}: {stderr[-2000:]}")
    index = {str(loads(line)["id"]): i for i, line in enumerate(iter_lines(corpus))}
    pairs: set[int] = set()
    decisions: set[int] = set()  # (removed, kept): what each removal asserts
    n_clusters = 0
    clustered = 0
    with (outdir / "clusters.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            cluster = loads(line)
            members = sorted(index[str(m)] for m in cluster["members"])
            if cluster.get("kept_id") is not None:
                kept = index[str(cluster["kept_id"])]
                for rem in cluster.get("removed", []):
                    r = index[str(rem["id"])]
                    decisions.add((min(r, kept) << 32) | max(r, kept))
            n_clusters += 1
            clustered += len(members)
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    pairs.add((members[x] << 32) | members[y])
    write_pairs(out / "pairs.bin", sorted(pairs))
    write_pairs(out / "pairs_decisions.bin", sorted(decisions))
    return {
        "docs": len(index),
        "wall_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "peak_rss_bytes": max(peak_tree, maxrss),
        "peak_rss_tree_sampled_bytes": peak_tree,
        "maxrss_largest_process_bytes": maxrss,
        "clusters": n_clusters,
        "clustered_docs": clustered,
        "command": cmd,
        "summary": _parse_summary(stdout),
        "stderr_tail": stderr[-2000:],
    }


def child_main(argv: list[str]) -> int:
    """Entry point of a peer subprocess: run one peer and write ``result.json``."""
    cfg = json.loads(argv[0])
    corpus, out = Path(cfg["corpus"]), Path(cfg["out"])
    result: dict[str, Any]
    if cfg["peer"] == "neardup":
        result = run_neardup(cfg, corpus, out)
    else:
        sampler = RssSampler(os.getpid())
        if cfg["workers"] > 1:  # one process: VmHWM is exact, no need to sample
            sampler.start()
        peer_cls = DatasketchPeer if cfg["peer"].startswith("datasketch") else RensaPeer
        peer = peer_cls(cfg)
        result = peer.run(corpus, out, cfg["t_spawn"], sampler)
        if isinstance(peer, DatasketchPeer):
            result["lsh_bands_rows"] = peer.lsh_params
        else:
            result["lsh_bands_rows"] = (peer.num_bands, cfg["num_perm"] // peer.num_bands)
    (out / "result.json").write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------
# Parent: orchestration and scoring
# ---------------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "datasketch", "rensa", "xxhash", "neardup"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "-"
    return out


def run_peer(cfg: dict, timeout: float) -> dict:
    """Run one peer in a fresh subprocess and return its result (pairs file paths included)."""
    cfg = {**cfg, "t_spawn": time.time()}
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", json.dumps(cfg)]
    env = {**os.environ, "PYTHONPATH": str(BENCH_DIR)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:] or f"exit code {proc.returncode}")
    result = json.loads((Path(cfg["out"]) / "result.json").read_text())
    result["process_s"] = round(time.perf_counter() - t0, 3)
    return result


def score(pairs: np.ndarray, truth: np.ndarray, truth_j: np.ndarray, n_truth: int) -> dict:
    """Precision, recall and recall by true-Jaccard band of a sorted unique pair array."""
    import numpy as np

    hit = np.isin(pairs, truth, assume_unique=True)
    tp = int(hit.sum())
    found = np.isin(truth, pairs[hit], assume_unique=True)
    bands = {}
    for lo, hi, name in ((0.0, 0.9, "<0.9"), (0.9, 1.0, "0.9-1"), (1.0, 2.0, "=1")):
        sel = (truth_j >= lo) & (truth_j < hi)
        if sel.any():
            bands[name] = round(float(found[sel].mean()), 4)
    return {
        "pairs": len(pairs),
        "true_positives": tp,
        "precision": round(tp / len(pairs), 4) if len(pairs) else None,
        "recall": round(tp / n_truth, 4) if n_truth else None,
        "recall_by_jaccard": bands,
    }


def planted_base_pairs(truth_file: Path, index: dict[str, int]) -> dict[str, list[int]]:
    """Packed (base, variant) pairs of the planted clusters, grouped by edit-op label.

    The label is the single operation of the variant, or ``2 ops`` when it got two.
    """
    groups: dict[str, list[int]] = {}
    with truth_file.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = loads(line)
            base = index[rec["base"]]
            for var in rec["variants"]:
                ops = [o["op"] for o in var["ops"]]
                label = ops[0] if len(ops) == 1 else "2 ops"
                groups.setdefault(label, []).append(pack(base, index[var["id"]]))
    return groups


def recall_by_op(
    pairs: np.ndarray, truth: np.ndarray, planted: dict[str, list[int]]
) -> dict[str, dict[str, float | int]]:
    """Per edit-op label: planted base-variant pairs, how many are true pairs, recall on those."""
    import numpy as np

    out: dict[str, dict[str, float | int]] = {}
    for label, keys in sorted(planted.items()):
        arr = np.array(sorted(keys), dtype=np.uint64)
        true = arr[np.isin(arr, truth, assume_unique=True)]
        found = int(np.isin(true, pairs, assume_unique=True).sum())
        out[label] = {
            "planted": len(arr),
            "true": len(true),
            "recall": round(found / len(true), 4) if len(true) else float("nan"),
        }
    return out


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        return child_main(argv[1:])

    import numpy as np
    from ground_truth import ensure_pairs

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--peers", default=",".join(DEFAULT_PEERS), help=f"of {KNOWN_PEERS}")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes for every peer (sketching pool; neardup --workers)",
    )
    ap.add_argument(
        "--neardup-workers",
        type=int,
        default=None,
        help="neardup's --workers (default: --workers); its threads share one process",
    )
    ap.add_argument("--rensa-bands", type=int, default=16)
    ap.add_argument(
        "--planted",
        type=Path,
        help="planted-cluster truth of make_corpus.py (default: CORPUS stem + .truth.jsonl)",
    )
    ap.add_argument("--timeout", type=float, default=7200.0, help="seconds per peer")
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    ap.add_argument(
        "--neardup-arg", action="append", default=[], help="extra neardup CLI argument (repeat)"
    )
    args = ap.parse_args(argv)

    corpus = args.corpus.resolve()
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in KNOWN_PEERS]
    if unknown:
        ap.error(f"unknown peers {unknown}; known: {KNOWN_PEERS}")

    print(f"corpus: {corpus}", file=sys.stderr)
    ids = [str(loads(line)["id"]) for line in iter_lines(corpus)]
    index = {d: i for i, d in enumerate(ids)}
    corpus_bytes = corpus.stat().st_size
    truth_path, truth_stats = ensure_pairs(corpus, args.threshold, args.ngram)
    rows = [json.loads(line) for line in truth_path.open(encoding="utf-8")]
    truth_pairs = np.array(
        [pack(index[r["a"]], index[r["b"]]) for r in rows], dtype=np.uint64
    ).reshape(-1)
    truth_j = np.array([r["jaccard"] for r in rows], dtype=np.float64).reshape(-1)
    order = np.argsort(truth_pairs)
    truth_pairs, truth_j = truth_pairs[order], truth_j[order]
    n_truth = len(truth_pairs)
    print(f"ground truth: {n_truth:,} pairs with exact J >= {args.threshold}", file=sys.stderr)
    planted_file = args.planted or corpus.with_name(corpus.name.split(".jsonl")[0] + ".truth.jsonl")
    planted = planted_base_pairs(planted_file, index) if planted_file.exists() else {}

    base_cfg = {
        "corpus": str(corpus),
        "threshold": args.threshold,
        "num_perm": args.num_perm,
        "ngram": args.ngram,
        "workers": args.workers,
        "neardup_workers": args.neardup_workers,
        "rensa_bands": args.rensa_bands,
        "neardup_args": args.neardup_arg,
    }
    results: list[dict] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="neardup-peers-") as tmp:
        for peer in peers:
            if peer == "neardup":
                ok, why = neardup_available()
                if not ok:
                    print(f"[skip] neardup: {why}", file=sys.stderr)
                    skipped[peer] = why
                    continue
            out = Path(tmp) / peer
            out.mkdir()
            print(f"[run] {peer} ...", file=sys.stderr, flush=True)
            try:
                res = run_peer({**base_cfg, "peer": peer, "out": str(out)}, args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"[fail] {peer}: {exc}", file=sys.stderr)
                skipped[peer] = f"failed: {str(exc)[-500:]}"
                continue
            res["peer"] = peer
            variants = [("", "pairs.bin", 0.0)]
            if peer == "neardup":
                variants += [("removed→kept", "pairs_decisions.bin", 0.0)]
            else:
                variants += [("+est", "pairs_est.bin", res["est_s"])]
                variants += [("+verify", "pairs_verify.bin", res["verify_s"])]
            res["scores"] = {}
            for suffix, fname, extra_s in variants:
                pairs = np.fromfile(out / fname, dtype=np.uint64)
                sc = score(pairs, truth_pairs, truth_j, n_truth)
                sc["wall_s"] = round(res["wall_s"] + extra_s, 3)
                if planted and not suffix:
                    sc["recall_by_op"] = recall_by_op(pairs, truth_pairs, planted)
                res["scores"][suffix or "base"] = sc
            print(
                f"      {peer}: {res['wall_s']:.1f}s, "
                f"{res['peak_rss_bytes'] / 2**20:.0f} MB peak, "
                f"P={res['scores']['base']['precision']} R={res['scores']['base']['recall']}",
                file=sys.stderr,
            )
            results.append(res)

    # ----- report -----
    n_docs = len(ids)
    lines = [
        f"### {corpus.name}: {n_docs:,} docs, {corpus_bytes / 2**20:.0f} MB, "
        f"{n_truth:,} true pairs (exact {args.ngram}-gram J >= {args.threshold}), "
        f"workers={args.workers}",
        "",
        "| peer | wall s | docs/s | peak RSS MB | pairs | precision | recall "
        "| R J<0.9 | R 0.9-1 | R J=1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        for variant, sc in res["scores"].items():
            name = res["peer"] if variant == "base" else f"{res['peer']} {variant}"
            rb = sc["recall_by_jaccard"]
            lines.append(
                f"| {name} | {sc['wall_s']:.2f} | {n_docs / sc['wall_s']:,.0f} "
                f"| {res['peak_rss_bytes'] / 2**20:,.0f} | {sc['pairs']:,} "
                f"| {_fmt(sc['precision'], '.4f')} | {_fmt(sc['recall'], '.4f')} "
                f"| {_fmt(rb.get('<0.9'), '.3f')} | {_fmt(rb.get('0.9-1'), '.3f')} "
                f"| {_fmt(rb.get('=1'), '.3f')} |"
            )
    if planted and results:
        lines += [
            "",
            "Recall on planted base-variant pairs that are true pairs, by edit operation:",
            "",
            "| edit op | planted | J >= t | " + " | ".join(r["peer"] for r in results) + " |",
            "|---|---:|---:|" + "---:|" * len(results),
        ]
        first = results[0]["scores"]["base"]["recall_by_op"]
        for label, info in first.items():
            cells = [f"{r['scores']['base']['recall_by_op'][label]['recall']:.3f}" for r in results]
            lines.append(
                f"| {label} | {info['planted']} | {info['true']} | " + " | ".join(cells) + " |"
            )
    ratios: dict[str, dict[str, float]] = {}
    nd = next((r for r in results if r["peer"] == "neardup"), None)
    if nd is not None:
        lines += ["", "neardup relative to each peer (base pipelines; < 1 means neardup is lower):"]
        for res in results:
            if res is nd:
                continue
            t_ratio = nd["wall_s"] / res["wall_s"]
            m_ratio = nd["peak_rss_bytes"] / res["peak_rss_bytes"]
            ratios[res["peer"]] = {"time": round(t_ratio, 4), "peak_rss": round(m_ratio, 4)}
            speed = f"{1 / t_ratio:.1f}x faster" if t_ratio <= 1 else f"{t_ratio:.1f}x slower"
            lines.append(
                f"- vs {res['peer']}: time x{t_ratio:.3f} ({speed}), peak RSS x{m_ratio:.2f}"
            )
    for peer, why in skipped.items():
        lines.append(f"- skipped {peer}: {why}")
    report = "\n".join(lines)
    print(report)

    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = corpus.name.split(".jsonl")[0]
    out_path = args.results_dir / f"{name}-{stamp}.json"
    payload = {
        "corpus": str(corpus),
        "corpus_bytes": corpus_bytes,
        "docs": n_docs,
        "params": {k: v for k, v in base_cfg.items() if k != "corpus"},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "ground_truth": {"pairs": n_truth, "stats": truth_stats, "file": str(truth_path)},
        "planted_file": str(planted_file) if planted else None,
        "results": results,
        "ratios_neardup_over_peer": ratios,
        "skipped": skipped,
        "report_markdown": report,
    }
    out_path.write_text(json.dumps(payload, indent=1))
    print(f"\nresults: {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
