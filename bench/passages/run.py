"""Passage-level dedup, side by side: neardup passages vs Dolma paragraph dedup vs datatrove.

On one corpus from ``make_corpus.py`` (made if missing), every tool runs as a subprocess of a
fresh measuring process (wall time; peak RSS of its largest process), the tools alternating
over ``--repeats`` rounds; medians are reported. The first round's output of each tool is scored
by ``score.py`` against the planted truth; the rounds' output bytes are compared for
determinism. A table goes to stdout, everything to ``bench/results/passages-<N>.json``.

Tools (``--tools``, default ``neardup,dolma,datatrove``):

* ``neardup``: ``neardup passages CORPUS --output DIR --min-words 50`` (defaults otherwise);
  skipped, and reported as pending, while the command does not exist.
* ``dolma``: ``dolma dedupe`` in paragraph mode (paragraphs are lines; ``skip_empty``; Bloom filter
  sized for the corpus's non-empty lines at a false-positive rate of 1e-6, as in Dolma's C4
  paragraph-dedup config), then ``dolma mix`` with a span replacement that deletes the marked
  paragraphs (replacement ``""``), the way Dolma removes them.
* ``datatrove``: SentenceDedupSignature -> SentenceFindDedups -> SentenceDedupFilter at the
  default SentDedupConfig (3-sentence spans), see ``run_datatrove.py``.
* variants, not run by default: ``dolma-w50`` (``dedupe.min_words: 50``), ``dolma-docs`` (the
  Bloom filter sized with ``estimated_doc_count`` = number of documents, as the parameter's name
  suggests) and ``standin`` (``standin.py``, a plain exact-run reference used to check the bench).

The peers are installed on first use into their own virtual environments under
``bench/passages/.venv-peers/`` (Dolma pins numpy<2, datatrove needs numpy>=2).

Usage::

    .venv/bin/python bench/passages/run.py --docs 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import score  # noqa: E402

MAIN_PY = ROOT / ".venv" / "bin" / "python"
NEARDUP = ROOT / ".venv" / "bin" / "neardup"
PEERS_DIR = HERE / ".venv-peers"
PEER_PACKAGES = {
    "dolma": ["dolma==1.2.1"],
    "datatrove": ["datatrove[processing]==0.10.1", "spacy==3.8.18", "orjson"],
}
DEFAULT_TOOLS = ("neardup", "dolma", "datatrove")
ALL_TOOLS = (*DEFAULT_TOOLS, "dolma-w50", "dolma-docs", "standin")


# ---------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------


def peer_python(name: str) -> Path:
    return PEERS_DIR / name / "bin" / "python"


def ensure_peer(name: str) -> None:
    """Create the peer's virtual environment and install it, if not done yet."""
    py = peer_python(name)
    marker = PEERS_DIR / name / ".installed"
    want = " ".join(PEER_PACKAGES[name])
    if py.exists() and marker.exists() and marker.read_text() == want:
        return
    print(f"installing {want} into {PEERS_DIR / name} ...", file=sys.stderr)
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_DIR / name)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PEER_PACKAGES[name]], check=True)
    marker.write_text(want)


def package_versions(py: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m\n"
        f"out = {{}}\nfor n in {names!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    res = subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def neardup_passages_available() -> tuple[bool, str]:
    if not NEARDUP.exists():
        return False, f"{NEARDUP} not found"
    res = subprocess.run([str(NEARDUP), "passages", "--help"], capture_output=True, text=True)
    if res.returncode != 0:
        return False, "`neardup passages` does not exist yet"
    return True, ""


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version()}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["ram_gib"] = round(int(line.split()[1]) / 2**20, 1)
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["platform"] = platform.platform()
    return info


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    describe: str
    commands: Callable[[Path], list[list[str]]]  # run dir -> commands
    outputs: Callable[[Path], list[Path]]  # run dir -> output files (for the byte digest)
    texts: Callable[[Path], dict[str, str]]  # run dir -> id -> text
    spans: Callable[[Path], dict[str, list]] | None = None
    before_run: Callable[[], None] = lambda: None
    env: dict[str, str] = field(default_factory=dict)


def _texts_from(files: list[Path]) -> dict[str, str]:
    return {str(r["id"]): r["text"] for f in files for r in score.read_jsonl(f)}


def _spans_from(path: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    if path.exists():
        for s in score.read_jsonl(path):
            out.setdefault(str(s["id"]), []).append(s)
    return out


def _kept_files(d: Path) -> list[Path]:
    return sorted(p for p in d.glob("kept*") if p.is_file())


def neardup_like(name: str, argv0: list[str], min_words: int, corpus: Path, describe: str) -> Tool:
    return Tool(
        name=name,
        describe=describe,
        commands=lambda d: [
            [*argv0, str(corpus), "--output", str(d / "out"), "--min-words", str(min_words)]
        ],
        outputs=lambda d: sorted(
            p for p in (d / "out").iterdir() if p.is_file() and p.name != "stats.json"
        ),
        texts=lambda d: _texts_from(_kept_files(d / "out")),
        spans=lambda d: _spans_from(d / "out" / "spans.jsonl"),
    )


def count_paragraphs(corpus: Path) -> int:
    n = 0
    for r in score.read_jsonl(corpus):
        n += sum(1 for p in r["text"].split("\n") if p.strip())
    return n


def dolma_tool(name: str, corpus: Path, work: Path, n_docs: int, variant: str) -> Tool:
    root = work / name / "root"
    (root / "documents").mkdir(parents=True, exist_ok=True)
    doc = root / "documents" / "corpus.jsonl"
    doc.unlink(missing_ok=True)  # never a stale link to an earlier corpus of that name
    try:
        os.link(corpus, doc)
    except OSError:
        shutil.copyfile(corpus, doc)
    paragraphs = count_paragraphs(corpus)
    estimated = n_docs if variant == "docs" else paragraphs
    dedupe: dict = {
        "name": "dedupe_paragraphs",
        "paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans"},
        "skip_empty": True,
    }
    if variant == "w50":
        dedupe["min_words"] = 50
    describe = (
        f"dolma dedupe (paragraphs = lines, skip_empty, Bloom filter for {estimated:,} items at "
        f"fp 1e-6{', min_words 50' if variant == 'w50' else ''}) + dolma mix (span replacement '')"
    )

    def commands(d: Path) -> list[list[str]]:
        d.mkdir(parents=True, exist_ok=True)
        cfg = {
            "documents": [str(root / "documents" / "*.jsonl")],
            "dedupe": dedupe,
            "bloom_filter": {
                "file": str(d / "bloom.bin"),
                "read_only": False,
                "estimated_doc_count": estimated,
                "desired_false_positive_rate": 1e-6,
            },
            "processes": 1,
        }
        mix = {
            "streams": [
                {
                    "name": "out",
                    "documents": [str(root / "documents" / "*.jsonl")],
                    "attributes": ["dedupe_paragraphs"],
                    "output": {"path": str(d / "out"), "max_size_in_bytes": 10**12},
                    "span_replacement": [
                        {
                            "span": "$.attributes.bff_duplicate_paragraph_spans",
                            "min_score": 0.5,
                            "replacement": "",
                        }
                    ],
                }
            ],
            "processes": 1,
        }
        (d / "dedupe.json").write_text(json.dumps(cfg, indent=1))
        (d / "mix.json").write_text(json.dumps(mix, indent=1))
        dolma = str(PEERS_DIR / "dolma" / "bin" / "dolma")
        return [
            [dolma, "-c", str(d / "dedupe.json"), "dedupe"],
            [dolma, "-c", str(d / "mix.json"), "mix"],
        ]

    def before_run() -> None:
        shutil.rmtree(root / "attributes", ignore_errors=True)  # the bloom file is per run

    return Tool(
        name=name,
        describe=describe,
        commands=commands,
        outputs=lambda d: sorted((d / "out").glob("*.gz")),
        texts=lambda d: _texts_from(sorted((d / "out").glob("*.gz"))),
        before_run=before_run,
    )


def datatrove_tool(corpus: Path) -> Tool:
    return Tool(
        name="datatrove",
        describe="datatrove SentenceDedupSignature -> SentenceFindDedups -> SentenceDedupFilter "
        "(default SentDedupConfig: 3 sentences, min_doc_words 50), 1 task",
        commands=lambda d: [
            [
                str(peer_python("datatrove")),
                str(HERE / "run_datatrove.py"),
                str(corpus),
                str(d / "work"),
                str(d / "out"),
            ]
        ],
        outputs=lambda d: sorted((d / "out").glob("*.jsonl")),
        texts=lambda d: _texts_from(sorted((d / "out").glob("*.jsonl"))),
        env={"TQDM_DISABLE": "1"},
    )


def make_tool(name: str, corpus: Path, work: Path, n_docs: int, min_words: int) -> Tool:
    if name == "neardup":
        return neardup_like(
            name,
            [str(NEARDUP), "passages"],
            min_words,
            corpus,
            f"neardup passages --min-words {min_words} (defaults otherwise)",
        )
    if name == "standin":
        return neardup_like(
            name,
            [str(MAIN_PY), str(HERE / "standin.py")],
            min_words,
            corpus,
            f"standin.py --min-words {min_words}: exact shared runs of words (reference)",
        )
    if name.startswith("dolma"):
        return dolma_tool(name, corpus, work, n_docs, name.removeprefix("dolma").lstrip("-"))
    if name == "datatrove":
        return datatrove_tool(corpus)
    raise SystemExit(f"unknown tool {name!r}; choose from {', '.join(ALL_TOOLS)}")


# ---------------------------------------------------------------------------------------------
# Running and measuring
# ---------------------------------------------------------------------------------------------


def code_fingerprint() -> str:
    """The neardup commit and a digest of its source tree as it is now (it may be uncommitted)."""
    h = hashlib.sha256()
    for f in sorted((ROOT / "src").rglob("*.py")):
        h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return f"{head}+src:{h.hexdigest()[:12]}"


def digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0")
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def text_digest(texts: dict[str, str]) -> str:
    h = hashlib.sha256()
    for k in sorted(texts):
        h.update(k.encode() + b"\0" + texts[k].encode() + b"\0")
    return h.hexdigest()


def measured_run(tool: Tool, run_dir: Path) -> dict:
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    tool.before_run()
    spec = {
        "commands": tool.commands(run_dir),
        "log": str(run_dir / "log.txt"),
        "env": tool.env,
        "cwd": str(run_dir),
    }
    spec_path = run_dir / "measure.json"
    spec_path.write_text(json.dumps(spec))
    res = subprocess.run(
        [sys.executable, str(HERE / "measure.py"), str(spec_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if any(out["returncodes"]):
        tail = (run_dir / "log.txt").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{tool.name} failed ({out['returncodes']}):\n{tail}")
    return out


def ensure_corpus(n: int, seed: int, data_dir: Path) -> tuple[Path, Path, dict]:
    corpus = data_dir / f"c{n}-s{seed}.jsonl"
    truth = data_dir / f"c{n}-s{seed}.truth.jsonl"
    meta = data_dir / f"c{n}-s{seed}.meta.json"
    if not (corpus.exists() and truth.exists() and meta.exists()):
        cmd = [sys.executable, str(HERE / "make_corpus.py"), "--docs", str(n), "--seed", str(seed)]
        subprocess.run([*cmd, "--out", str(corpus), "--truth", str(truth)], check=True)
    return corpus, truth, json.loads(meta.read_text())


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def fmt(x: object, spec: str = ".3f") -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return format(x, spec)
    return str(x)


def table(results: dict) -> str:
    head = (
        "| tool | wall s | peak RSS MB | recall | recall (chars) | precision (chars) | "
        "precision (cuts) | "
        "one copy survives | mid-word cuts | hard neg. removed | native text removed | "
        "docs removed whole | deterministic |"
    )
    lines = [head, "|---|" + "---:|" * 12]
    for name, r in results["tools"].items():
        if "skipped" in r:
            lines.append(f"| {name} | pending: {r['skipped']} |" + " |" * 11)
            continue
        s = r["score"]
        lines.append(
            f"| {name} | {fmt(r['wall_s_median'], '.2f')} | {fmt(r['max_rss_mb_median'], '.0f')} "
            f"| {fmt(s['recall'])} | {fmt(s.get('recall_chars'))} | {fmt(s['precision_chars'])} "
            f"| {fmt(s['precision_cuts'])} "
            f"| {fmt(s['one_copy_survives'])} | {s['midword_cuts']} "
            f"| {fmt(s['hard_negative_removed'], '.4f')} | {fmt(s['native_text_removed'], '.4f')} "
            f"| {s['docs_removed_whole']} | {fmt(r['deterministic_bytes'])} |"
        )
    return "\n".join(lines)


def rescore(out: Path, corpus: Path, truth_path: Path, work: Path, args: argparse.Namespace) -> int:
    results = json.loads(out.read_text(encoding="utf-8"))
    truth = score.load_truth(truth_path)
    for name, r in results["tools"].items():
        run_dir = work / name / "run0"
        if "skipped" in r or not run_dir.exists():
            continue
        tool = make_tool(name, corpus, work, args.docs, args.min_words)
        spans = tool.spans(run_dir) if tool.spans else None
        r["score"] = score.score(corpus, truth, tool.texts(run_dir), spans)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS), help=", ".join(ALL_TOOLS))
    ap.add_argument("--min-words", type=int, default=50)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data" / "passages")
    ap.add_argument("--results", type=Path, help="default: bench/results/passages-<N>.json")
    ap.add_argument("--keep-work", action="store_true", help="keep every run's output")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the other tools' entries of an existing results file (same corpus)",
    )
    ap.add_argument(
        "--score-only",
        action="store_true",
        help="score the kept first-round outputs again and update the results file (no runs)",
    )
    args = ap.parse_args(argv)
    names = [t.strip() for t in args.tools.split(",") if t.strip()]
    args.data_dir.mkdir(parents=True, exist_ok=True)
    corpus, truth_path, corpus_meta = ensure_corpus(args.docs, args.seed, args.data_dir)
    work = args.data_dir / f"work-{args.docs}-s{args.seed}"
    out = args.results or ROOT / "bench" / "results" / f"passages-{args.docs}.json"
    if args.score_only:
        return rescore(out, corpus, truth_path, work, args)
    results: dict = {
        "benchmark": "passages",
        "docs": args.docs,
        "seed": args.seed,
        "repeats": args.repeats,
        "min_words": args.min_words,
        "corpus": {"path": str(corpus.relative_to(ROOT)), **corpus_meta},
        "machine": machine(),
        "versions": {},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tools": {},
    }
    if args.merge and out.exists():
        old = json.loads(out.read_text(encoding="utf-8"))
        if old.get("corpus", {}).get("chars") == corpus_meta.get("chars"):
            results["versions"] = old.get("versions", {})
            results["tools"] = {k: v for k, v in old["tools"].items() if k not in names}
    tools: dict[str, Tool] = {}
    for name in names:
        if name == "neardup":
            ok, why = neardup_passages_available()
            if not ok:
                results["tools"][name] = {"skipped": why}
                print(f"neardup: skipped ({why})", file=sys.stderr)
                continue
            v = subprocess.run([str(NEARDUP), "--version"], capture_output=True, text=True)
            results["versions"]["neardup"] = v.stdout.strip()
            results["versions"]["neardup_source"] = code_fingerprint()
        elif name.startswith("dolma"):
            ensure_peer("dolma")
            results["versions"].update(package_versions(peer_python("dolma"), ["dolma"]))
        elif name == "datatrove":
            ensure_peer("datatrove")
            results["versions"].update(
                package_versions(peer_python("datatrove"), ["datatrove", "spacy", "xxhash"])
            )
        tools[name] = make_tool(name, corpus, work, args.docs, args.min_words)
        results["tools"][name] = {"settings": tools[name].describe, "runs": []}
    digests: dict[str, list[tuple[str, str]]] = {n: [] for n in tools}
    order = list(tools)
    for rep in range(args.repeats):
        for name in order[rep % len(order) :] + order[: rep % len(order)] if order else []:
            tool = tools[name]
            run_dir = work / name / f"run{rep}"
            m = measured_run(tool, run_dir)
            if name in ("neardup", "standin"):
                m["code"] = code_fingerprint()
            texts = tool.texts(run_dir)
            digests[name].append((digest(tool.outputs(run_dir)), text_digest(texts)))
            results["tools"][name]["runs"].append(m)
            print(
                f"[{rep + 1}/{args.repeats}] {name}: {m['wall_s']:.2f} s, {m['max_rss_mb']:.0f} MB",
                file=sys.stderr,
            )
            if rep == 0:
                t = time.perf_counter()
                truth = score.load_truth(truth_path)
                spans = tool.spans(run_dir) if tool.spans else None
                results["tools"][name]["score"] = score.score(corpus, truth, texts, spans)
                print(f"    scored in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            elif not args.keep_work:
                shutil.rmtree(run_dir, ignore_errors=True)
    for name in tools:
        r = results["tools"][name]
        r["wall_s_median"] = median([x["wall_s"] for x in r["runs"]])
        r["max_rss_mb_median"] = median([x["max_rss_mb"] for x in r["runs"]])
        d = digests[name]
        r["deterministic_bytes"] = len({x[0] for x in d}) == 1 if len(d) > 1 else None
        r["deterministic_text"] = len({x[1] for x in d}) == 1 if len(d) > 1 else None
        if len({x.get("code") for x in r["runs"]}) > 1:  # the source changed between rounds
            r["deterministic_bytes"] = r["deterministic_text"] = None
            r["note"] = "neardup's source changed between rounds: determinism not judged"
        r["output_digests"] = [x[0] for x in d]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nresults: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
