"""The three places shingle ids can live, on one corpus: the outputs must be the same bytes.

``neardup dedup`` keeps the ids of a corpus in memory up to a budget (512 MB), spills them to a
file beyond it, or, with too little disk for the file, keeps none and reads the candidates'
lines again (``reread.py``). This runs the library three times on CORPUS, once per place
(``memory``: a budget no corpus reaches; ``spill``: the default; ``reread``: the disk reported
full), and writes the wall time and the SHA-256 of kept, removed and clusters of each to
``bench/results/outofcore-modes-<docs>.json``. The runs share one process, so the times are for
reading, not for comparing with ``outofcore.py``'s fresh processes.

Usage::

    zstd -dc bench/data/corpus-5000000-s1.jsonl.zst | head -n 1000000 > /tmp/sub1m.jsonl
    python bench/outofcore_modes.py /tmp/sub1m.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import neardup
import neardup.shingle_store as shingle_store

BENCH_DIR = Path(__file__).resolve().parent
OUTPUTS = ("kept.jsonl", "removed.jsonl", "clusters.jsonl")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            h.update(block)
    return h.hexdigest()


def run_mode(mode: str, corpus: Path, out: Path) -> dict[str, Any]:
    """One run with the ids held in ``mode``; the stats and digests of its outputs."""
    budget, disk_free = shingle_store.DEFAULT_BUDGET, shingle_store.disk_free
    try:
        if mode == "memory":
            shingle_store.DEFAULT_BUDGET = 1 << 50
        elif mode == "reread":
            shingle_store.disk_free = lambda path: 0
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        result = neardup.dedup(corpus, out, progress=False)
        wall = time.perf_counter() - t0
    finally:
        shingle_store.DEFAULT_BUDGET, shingle_store.disk_free = budget, disk_free
    stats = result.stats
    row = {
        "mode": mode,
        "wall_s": round(wall, 2),
        "documents": stats["documents"],
        "removed": stats["removed"],
        "clusters": stats["clusters"],
        "shingles_spilled_to_disk": stats["shingles_spilled_to_disk"],
        "sha256": {name: _digest(out / name) for name in OUTPUTS},
    }
    shutil.rmtree(out, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--output", type=Path, default=Path("/tmp/neardup-outofcore-modes"))
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    args = ap.parse_args(argv)
    rows = [run_mode(m, args.corpus, args.output) for m in ("memory", "spill", "reread")]
    identical = all(r["sha256"] == rows[0]["sha256"] for r in rows)
    result = {"corpus": str(args.corpus), "runs": rows, "identical": identical}
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"outofcore-modes-{rows[0]['documents']}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    for r in rows:
        print(
            f"{r['mode']:7} {r['wall_s']:7.1f} s  removed {r['removed']:,}  "
            f"kept {r['sha256']['kept.jsonl'][:12]}  removed {r['sha256']['removed.jsonl'][:12]}  "
            f"clusters {r['sha256']['clusters.jsonl'][:12]}"
        )
    print("identical" if identical else "DIFFERENT", "->", path)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
