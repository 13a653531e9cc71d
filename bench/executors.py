"""Local and Spark executors side by side on one corpus.

    python bench/executors.py bench/data/corpus-10000-s1.jsonl --partitions default,4 --repeat 3

Each run is a separate ``neardup dedup`` process (the Spark one starts its own ``local[N]``
session), timed end to end. CPU-seconds are summed over the whole process tree — the driver,
the JVM and Spark's Python workers — by sampling ``/proc`` every 0.2 s (each process's own and
reaped children's time; a process that ends between two samples is counted up to its last
sample). The report gives wall time, CPU-seconds, the Spark/local ratios, the Spark path's time
by stage, and how it changes with the number of shuffle partitions; it checks that both runs
wrote the same bytes (part files concatenated against the local files). Local and Spark
runs alternate; the table reports medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime, stime, cutime, cstime (fields 14-17 of proc(5); 12-15 after the name)
    return sum(int(f) for f in fields[11:15]) / TICK


def run_tree(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd``; returns ``(wall seconds, CPU-seconds of the process tree, exit code)``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last: dict[int, float] = {}
    while proc.poll() is None:
        todo = [proc.pid]
        while todo:
            pid = todo.pop()
            cpu = _cpu(pid)
            if cpu is not None:
                last[pid] = cpu
            todo.extend(_children(pid))
        time.sleep(0.2)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.read().decode()[-4000:])
    return wall, sum(last.values()), proc.returncode


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
