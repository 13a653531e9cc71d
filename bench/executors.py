"""Local and Spark executors side by side on one corpus.

    python bench/executors.py bench/data/corpus-10000-s1.jsonl --partitions 2,4,8,16

Each run is a separate ``neardup dedup`` process (the Spark one starts its own ``local[N]``
session), timed end to end. CPU-seconds are summed over the whole process tree — the driver,
the JVM and Spark's Python workers — by sampling ``/proc`` every 0.2 s (each process's own and
reaped children's time; a process that ends between two samples is counted up to its last
sample). The report gives wall time, CPU-seconds, the Spark/local ratios, the Spark path's time
by stage, and how it changes with the number of shuffle partitions; it checks that both runs
kept and removed the same documents.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--partitions", default="2,4,8,16", help="Spark shuffle partitions to try")
    ap.add_argument("--master", default=f"local[{os.cpu_count()}]")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=Path("bench/results/executors.json"))
    args = ap.parse_args(argv)
    exe = str(Path(sys.executable).parent / "neardup")
    work = Path("out/bench-executors")
    shutil.rmtree(work, ignore_errors=True)
    rows = []
    local_dir = work / "local"
    wall, cpu, rc = run_tree(
        [exe, "dedup", str(args.corpus), "-o", str(local_dir), "--workers", str(args.workers)]
    )
    if rc:
        return rc
    local = json.loads((local_dir / "stats.json").read_text())
    rows.append({"executor": "local", "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)})
    print(f"local      wall {wall:7.1f} s   cpu {cpu:7.1f} s   removed {local['removed']:,}")
    for parts in [int(p) for p in args.partitions.split(",")]:
        out = work / f"spark-{parts}"
        wall, cpu, rc = run_tree(
            [exe, "dedup", str(args.corpus), "-o", str(out), "--executor", "spark",
             "--spark-master", args.master, "--partitions", str(parts)]
        )  # fmt: skip
        if rc:
            return rc
        stats = json.loads((out / "stats.json").read_text())
        same = _docs(out, "removed") == _docs(local_dir, "removed")
        stages = {k: v["seconds"] for k, v in stats["stages"].items()}
        rows.append(
            {
                "executor": "spark",
                "partitions": parts,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "wall_ratio": round(wall / rows[0]["wall_s"], 2),
                "cpu_ratio": round(cpu / rows[0]["cpu_s"], 2),
                "stages_s": stages,
                "same_removed_ids": same,
            }
        )
        print(
            f"spark p={parts:<3} wall {wall:7.1f} s   cpu {cpu:7.1f} s   "
            f"×{wall / rows[0]['wall_s']:.1f} wall ×{cpu / rows[0]['cpu_s']:.1f} cpu   "
            f"same removed: {same}   stages: {stages}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "corpus": str(args.corpus),
        "documents": local["documents"],
        "master": args.master,
        "machine_cores": os.cpu_count(),
        "runs": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
