"""Index and HTTP service under load: add throughput, query latency, size on disk.

    python bench/index_load.py CORPUS.jsonl --docs 100000 [--queries 2000] [--concurrency 4]

1. Builds a fresh index from the first ``--docs`` documents of the corpus (written to one JSONL
   file) with ``neardup.index_add`` — what ``neardup index add`` runs: batches of 1,024, one
   transaction each, the next batch fingerprinted while the current one is written — and
   reports add throughput in docs/s, beside ``neardup.dedup`` throughput on the same file.
2. Starts ``neardup serve`` on 127.0.0.1 with an API key, and runs a bounded load generator:
   ``--concurrency`` threads sending ``--queries`` POST /v1/query requests of one text each
   (texts drawn from the corpus: a mix of stored documents and new ones), then a burst of
   POST /v1/documents adds. Reports p50/p90/p99 latency, requests/s and the error count.
3. Reports the index size on disk per document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def read_docs(path: Path, n: int) -> list[dict]:
    docs = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            docs.append({"id": str(rec["id"]), "text": rec["text"]})
            if len(docs) >= n:
                break
    return docs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict, key: str) -> tuple[int, float]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - t0


def load(url: str, bodies: list[dict], key: str, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    it = iter(bodies)

    def worker() -> None:
        nonlocal errors
        while True:
            with lock:
                body = next(it, None)
            if body is None:
                return
            status, dt = post(url, body, key)
            with lock:
                latencies.append(dt)
                errors += status != 200

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(q[49] * 1000, 2),
        "p90_ms": round(q[89] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--adds", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    import neardup

    docs = read_docs(args.corpus, args.docs + args.adds)
    stored, extra = docs[: args.docs], docs[args.docs :]
    if len(extra) < args.adds:
        raise SystemExit(
            f"the corpus has {len(docs)} documents: need --docs + --adds = "
            f"{args.docs + args.adds} (new documents for queries and adds)"
        )
    work = Path(args.workdir or tempfile.mkdtemp(prefix="neardup-index-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"index-{args.docs}.db"
    for p in [*work.glob(db.name + "*"), *work.glob("warm.db*")]:
        p.unlink()

    # 1. add throughput, beside batch dedup on the same file
    corpus_part = work / "part.jsonl"
    with open(corpus_part, "w", encoding="utf-8") as fh:
        for d in stored:
            fh.write(json.dumps(d) + "\n")
    # warm-up: load both paths' compiled kernels (numba's cache) before timing either
    warm = work / "warm.jsonl"
    warm.write_text("".join(json.dumps(d) + "\n" for d in stored[:200]), encoding="utf-8")
    with neardup.Index.create(work / "warm.db") as scratch:
        neardup.index_add(scratch, warm, progress=False)
    neardup.dedup(warm, work / "warm-out", progress=False)
    idx = neardup.Index.create(db)
    t0 = time.perf_counter()
    neardup.index_add(idx, corpus_part, progress=False)
    add_s = time.perf_counter() - t0
    stats = idx.stats()
    size = stats["bytes_on_disk"]
    idx.close()
    t0 = time.perf_counter()
    neardup.dedup(corpus_part, work / "dedup-out", progress=False)
    dedup_s = time.perf_counter() - t0
    print(
        f"index add {len(stored) / add_s:,.0f} docs/s, dedup {len(stored) / dedup_s:,.0f} "
        f"docs/s, {size / len(stored):,.0f} bytes/doc",
        file=sys.stderr,
        flush=True,
    )

    # 2. the service under load
    key = "bench-key-" + os.urandom(8).hex()
    port = free_port()
    env = {**os.environ, "NEARDUP_API_KEYS": key}
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "neardup.cli", "serve", str(db), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        rng = random.Random(1)
        pool = [d["text"] for d in stored]
        texts = [
            rng.choice(pool) if k % 2 == 0 else extra[k % len(extra)]["text"]
            for k in range(args.queries)
        ]
        bodies = [{"texts": [t]} for t in texts]
        queries_1 = load(base + "/v1/query", bodies[: len(bodies) // 4], key, 1)
        queries = load(base + "/v1/query", bodies, key, args.concurrency)
        adds = load(
            base + "/v1/documents",
            [{"documents": [{"id": f"bench-{k}", "text": d["text"]}]} for k, d in enumerate(extra)],
            key,
            args.concurrency,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    result = {
        "docs_in_index": len(stored),
        "index_add_docs_per_s": round(len(stored) / add_s, 1),
        "dedup_docs_per_s": round(len(stored) / dedup_s, 1),
        "add_vs_dedup_throughput": round((len(stored) / add_s) / (len(stored) / dedup_s), 3),
        "bytes_on_disk": size,
        "bytes_per_document": round(size / len(stored), 1),
        "band_runs_per_level": stats["band_runs_per_level"],
        "query_one_client": queries_1,
        "query": queries,
        "add_one": adds,
        "concurrency": args.concurrency,
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / f"index-{args.docs}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
