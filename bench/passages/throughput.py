"""`neardup passages` beside `neardup dedup` on one corpus: wall time, peak RSS and their ratio.

Runs the two commands alternately (``--repeats`` rounds, each run in a fresh measuring process,
see ``measure.py``) at their defaults and reports medians and the throughput ratio
``dedup wall / passages wall`` (1.0: passages as fast as dedup; the target is ≥ 0.5).

Usage: ``python bench/passages/throughput.py CORPUS [--repeats 3] [--out RESULT.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NEARDUP = str(Path(sys.executable).with_name("neardup"))


def measure(argv: list[str], log: Path) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"commands": [argv], "log": str(log)}, fh)
    try:
        out = subprocess.run(
            [sys.executable, str(HERE / "measure.py"), fh.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(fh.name)
    result: dict[str, Any] = json.loads(out)
    if result["returncodes"] != [0]:
        raise SystemExit(f"{argv[:2]} failed; see {log}")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="neardup-throughput-"))
    log = work / "log.txt"
    runs: dict[str, list[dict[str, Any]]] = {"dedup": [], "passages": []}
    try:
        for r in range(args.repeats):
            for command in ("dedup", "passages") if r % 2 == 0 else ("passages", "dedup"):
                out = work / command
                shutil.rmtree(out, ignore_errors=True)
                runs[command].append(
                    measure([NEARDUP, command, str(args.corpus), "-o", str(out)], log)
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {
        c: {
            "wall_s": statistics.median(r["wall_s"] for r in rs),
            "max_rss_mb": statistics.median(r["max_rss_mb"] for r in rs),
        }
        for c, rs in runs.items()
    }
    ratio = med["dedup"]["wall_s"] / med["passages"]["wall_s"]
    result = {
        "benchmark": "passages-throughput",
        "corpus": str(args.corpus),
        "bytes": args.corpus.stat().st_size,
        "repeats": args.repeats,
        "nproc": os.cpu_count(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "runs": runs,
        "median": med,
        "passages_throughput_vs_dedup": round(ratio, 3),
    }
    print(
        f"dedup {med['dedup']['wall_s']:.2f} s {med['dedup']['max_rss_mb']:.0f} MB · "
        f"passages {med['passages']['wall_s']:.2f} s {med['passages']['max_rss_mb']:.0f} MB · "
        f"passages throughput = {ratio:.2f} × dedup's"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
