#!/usr/bin/env bash
# Benchmark sequence: synthetic corpus -> exact ground truth -> peers side by side.
#
#   bench/run.sh [DOCS]            # default 10000
#
# Environment: SEED (1), PEERS (datasketch,rensa,neardup), WORKERS (1, the peers' best),
# NEARDUP_WORKERS (all cores), THRESHOLD (0.8),
# NGRAM (5), NUM_PERM (128), PYTHON (.venv/bin/python).
set -euo pipefail

DOCS="${1:-10000}"
SEED="${SEED:-1}"
PEERS="${PEERS:-datasketch,rensa,neardup}"
WORKERS="${WORKERS:-1}"
NEARDUP_WORKERS="${NEARDUP_WORKERS:-$(nproc)}"
THRESHOLD="${THRESHOLD:-0.8}"
NGRAM="${NGRAM:-5}"
NUM_PERM="${NUM_PERM:-128}"

cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
DATA=bench/data
NAME="corpus-${DOCS}-s${SEED}"
mkdir -p "$DATA"

# The corpus is deterministic for (DOCS, SEED): keep an existing one, so its mtime (and the
# cached ground truth keyed on it) stays valid.
if [[ ! -s "$DATA/$NAME.jsonl" ]]; then
  "$PY" bench/make_corpus.py --docs "$DOCS" --seed "$SEED" \
    --out "$DATA/$NAME.jsonl" --truth "$DATA/$NAME.truth.jsonl"
fi

"$PY" bench/ground_truth.py "$DATA/$NAME.jsonl" --threshold "$THRESHOLD" --ngram "$NGRAM" \
  --out "$DATA/$NAME.pairs.jsonl"

"$PY" bench/peers.py "$DATA/$NAME.jsonl" --peers "$PEERS" --threshold "$THRESHOLD" \
  --ngram "$NGRAM" --num-perm "$NUM_PERM" --workers "$WORKERS" --neardup-workers "$NEARDUP_WORKERS"
