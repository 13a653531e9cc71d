"""One large run of ``neardup dedup`` measured against the memory model of ``neardup plan``.

Runs the CLI in a fresh process on CORPUS (JSONL, plain or .zst), then writes
``bench/results/outofcore-<docs>.{json,md}``: wall and CPU seconds, peak RSS (the child's
high-water mark), the stages of ``stats.json``, whether shingle ids were spilled or read again,
free disk before and after, and what ``neardup.memory_plan`` predicts for this corpus (with and
without room to spill). The output folder is removed afterwards unless ``--keep-output``.

Usage::

    python bench/outofcore.py bench/data/corpus-5000000-s1.jsonl.zst --docs 5000000 \\
        --avg-bytes 3740 [--reference RESULT.json]

``--reference`` names an earlier result (a 1M run, say) to report the wall-time ratio against.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import neardup

BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--docs", type=int, required=True, help="documents in the corpus")
    ap.add_argument("--avg-bytes", type=float, required=True, help="mean text bytes a document")
    ap.add_argument("--output", type=Path, default=None, help="default: a folder in /tmp")
    ap.add_argument("--keep-output", action="store_true")
    ap.add_argument("--reference", type=Path, default=None)
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    args = ap.parse_args(argv)
    out = args.output or Path(f"/tmp/neardup-outofcore-{args.docs}")
    shutil.rmtree(out, ignore_errors=True)
    cli = Path(sys.executable).parent / "neardup"
    cmd = [str(cli), "dedup", str(args.corpus), "-o", str(out), "--json", "--no-progress"]
    free_before = shutil.disk_usage(out.parent).free
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    stats = json.loads(proc.stdout)
    output_bytes = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    plan = neardup.memory_plan(neardup.DedupConfig(), args.docs, args.avg_bytes)
    local = plan["local"]
    result = {
        "corpus": str(args.corpus),
        "corpus_bytes": args.corpus.stat().st_size,
        "command": cmd,
        "wall_s": round(wall, 2),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
        "peak_rss_bytes": ru.ru_maxrss * 1024,
        "stages": stats["stages"],
        "documents": stats["documents"],
        "removed": stats["removed"],
        "clusters": stats["clusters"],
        "shingles_spilled_to_disk": stats["shingles_spilled_to_disk"],
        "disk_free_before_bytes": free_before,
        "output_bytes": output_bytes,
        "model": {
            "peak_bytes": local["peak_bytes"],
            "peak_without_spill_bytes": local["peak_without_spill_bytes"],
            "stage_peak_bytes": local["stage_peak_bytes"],
            "spill_bytes_on_disk": local["spill_bytes_on_disk"],
            "per_document": plan["per_document"],
        },
        "versions": {"neardup": neardup.__version__, "python": sys.version.split()[0]},
    }
    if args.reference is not None:
        ref = json.loads(args.reference.read_text())
        result["reference"] = {"file": str(args.reference), "wall_s": ref["wall_s"]}
        result["wall_ratio_to_reference"] = round(wall / ref["wall_s"], 2)
    if not args.keep_output:
        shutil.rmtree(out, ignore_errors=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    name = f"outofcore-{args.docs}"
    (args.results_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
    gb = 1 << 30
    md = [
        f"neardup dedup {args.corpus.name}: {stats['documents']:,} documents, "
        f"{result['corpus_bytes'] / gb:.2f} GB on disk",
        "",
        "| wall s | CPU s | peak RSS GB | model peak GB (spill / no spill) | ids spilled "
        "| stages s |",
        "|---:|---:|---:|---:|---|---|",
        f"| {wall:.0f} | {result['cpu_s']:.0f} | {result['peak_rss_bytes'] / gb:.2f} "
        f"| {local['peak_bytes'] / gb:.2f} / {local['peak_without_spill_bytes'] / gb:.2f} "
        f"| {stats['shingles_spilled_to_disk']} | "
        + ", ".join(f"{k} {v['seconds']:.0f}" for k, v in stats["stages"].items())
        + " |",
    ]
    if "wall_ratio_to_reference" in result:
        md.append(f"\nwall time {result['wall_ratio_to_reference']}× the reference run")
    (args.results_dir / f"{name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
