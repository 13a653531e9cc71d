"""Run commands one after the other; print wall time and the peak RSS of the largest child.

A fresh, small process per measured run: ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` then covers
only the commands it started (and their waited-for descendants), not the benchmark driver.

Usage: ``python measure.py SPEC.json`` where SPEC is
``{"commands": [[argv...], ...], "cwd": str|null, "log": path, "env": {...}}``; prints one JSON
line ``{"wall_s", "steps_s", "max_rss_mb", "returncodes"}``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    env = {**os.environ, **spec.get("env", {})}
    steps, rcs = [], []
    t0 = time.perf_counter()
    with open(spec["log"], "ab") as log:
        for argv in spec["commands"]:
            t = time.perf_counter()
            rc = subprocess.call(argv, cwd=spec.get("cwd"), env=env, stdout=log, stderr=log)
            steps.append(round(time.perf_counter() - t, 3))
            rcs.append(rc)
            if rc != 0:
                break
    wall = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = {"wall_s": round(wall, 3), "steps_s": steps, "max_rss_mb": round(rss_kb / 1024, 1)}
    print(json.dumps({**out, "returncodes": rcs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
