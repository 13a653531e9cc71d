"""Local and Spark executors side by side on one corpus.

    python bench/executors.py bench/data/corpus-10000-s1.jsonl --partitions default,4 --repeat 3

Each run is a separate ``neardup dedup`` process (the Spark one starts its own ``local[N]``
session), timed end to end. CPU-seconds are those of the whole process tree — the driver,
the JVM and Spark's Python workers — from the kernel's accounting of reaped children (this
process is a child subreaper, so orphaned workers are reaped here too). The report gives wall
time, CPU-seconds, the Spark/local ratios, the Spark path's time by stage, and how it changes
with the number of shuffle partitions; it checks that both runs wrote the same bytes (part
files concatenated against the local files). Local and Spark runs alternate; the table
reports medians.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    """Orphans of the runs (Spark's Python daemon and workers once the JVM is gone) are
    re-parented to this process instead of init, so that waiting for them adds their CPU time
    to this process's children's usage (prctl(2), PR_SET_CHILD_SUBREAPER, Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _reap_orphans(deadline_s: float = 60.0) -> None:
    """Wait for every remaining descendant (re-parented here) to exit and be reaped."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)
    raise RuntimeError("descendants of the run still alive after the run ended")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tree(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd``; returns ``(wall seconds, CPU-seconds of the process tree, exit code)``.

    The CPU-seconds are exact: every process of the tree is reaped by its parent or, orphaned,
    by this process (a child subreaper), so the kernel's children usage of this process grows
    by the user + system time of all of them (getrusage(2), RUSAGE_CHILDREN)."""
    _become_subreaper()
    before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    _reap_orphans()
    if proc.returncode != 0:
        sys.stderr.write(err.decode()[-4000:])
    return wall, _children_cpu() - before, proc.returncode


def _docs(folder: Path, name: str) -> list[str]:
    path = folder / name
    files = sorted(path.glob("part-*")) if path.is_dir() else [folder / f"{name}.jsonl"]
    return [json.loads(line)["id"] for f in files for line in f.open()]


def _identical(spark_dir: Path, local_dir: Path) -> bool:
    """Spark part files, concatenated, equal the local files byte for byte."""
    for name in ("kept", "removed", "clusters"):
        parts = b"".join(p.read_bytes() for p in sorted((spark_dir / name).glob("part-*")))
        if parts != (local_dir / f"{name}.jsonl").read_bytes():
            return False
    return True


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument(
        "--partitions",
        default="default",
        help="Spark shuffle partitions to try, comma-separated; 'default' passes no "
        "--partitions (Spark's 200, coalesced by adaptive execution)",
    )
    ap.add_argument("--master", default=f"local[{os.cpu_count()}]")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of each; medians")
    ap.add_argument("--out", type=Path, default=Path("bench/results/executors.json"))
    args = ap.parse_args(argv)
    exe = str(Path(sys.executable).parent / "neardup")
    work = Path("out/bench-executors")
    shutil.rmtree(work, ignore_errors=True)
    local_dir = work / "local"
    settings = [p.strip() for p in args.partitions.split(",")]
    times: dict[str, list[tuple[float, float]]] = {"local": []}
    stages: dict[str, dict[str, float]] = {}
    same: dict[str, bool] = {}
    for _ in range(args.repeat):
        shutil.rmtree(local_dir, ignore_errors=True)
        cmd = [exe, "dedup", str(args.corpus), "-o", str(local_dir), "--workers", str(args.workers)]
        wall, cpu, rc = run_tree(cmd)
        if rc:
            return rc
        times["local"].append((wall, cpu))
        print(f"local        wall {wall:7.1f} s   cpu {cpu:7.1f} s", flush=True)
        for parts in settings:
            out = work / f"spark-{parts}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [exe, "dedup", str(args.corpus), "-o", str(out), "--executor", "spark",
                   "--spark-master", args.master]  # fmt: skip
            if parts != "default":
                cmd += ["--partitions", parts]
            wall, cpu, rc = run_tree(cmd)
            if rc:
                return rc
            times.setdefault(parts, []).append((wall, cpu))
            stats = json.loads((out / "stats.json").read_text())
            stages[parts] = {k: v["seconds"] for k, v in stats["stages"].items()}
            same[parts] = _identical(out, local_dir)
            print(
                f"spark {parts:<7}wall {wall:7.1f} s   cpu {cpu:7.1f} s   identical: "
                f"{same[parts]}   stages: {stages[parts]}",
                flush=True,
            )
    local = json.loads((local_dir / "stats.json").read_text())
    lw = _median([w for w, _ in times["local"]])
    lc = _median([c for _, c in times["local"]])
    rows: list[dict[str, object]] = [{"executor": "local", "wall_s": lw, "cpu_s": lc}]
    for parts in settings:
        w = _median([w for w, _ in times[parts]])
        c = _median([c for _, c in times[parts]])
        rows.append(
            {
                "executor": "spark",
                "partitions": parts,
                "wall_s": w,
                "cpu_s": c,
                "wall_ratio": round(w / lw, 2),
                "cpu_ratio": round(c / lc, 2),
                "cpu_s_per_1k_docs": round(1000 * c / max(1, local["documents"]), 3),
                "stages_s": stages[parts],
                "identical_outputs": same[parts],
            }
        )
        print(f"spark {parts}: median wall ×{w / lw:.2f}, median cpu ×{c / lc:.2f} of local")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "corpus": str(args.corpus),
        "documents": local["documents"],
        "master": args.master,
        "machine_cores": os.cpu_count(),
        "repeat": args.repeat,
        "runs": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
