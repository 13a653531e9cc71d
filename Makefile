# neardup — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## dedup the bundled sample corpus and print the summary
	$(VENV)/bin/neardup dedup examples/sample/news.jsonl --output out/sample --report out/sample/report.html
	@echo "results in out/sample/: kept.jsonl, removed.jsonl, clusters.jsonl, stats.json, report.html"
	@echo "why one pair was judged a duplicate: $(VENV)/bin/neardup explain news-004 news-012 --corpus examples/sample/news.jsonl"

test: $(STAMP)  ## lint, then the whole test suite
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: $(STAMP)  ## peers side by side on a generated corpus (see bench/README.md)
	$(PY) -m pip install --quiet -e '.[bench]'
	bash bench/run.sh $(or $(DOCS),10000)

clean:
	rm -rf out .pytest_cache .ruff_cache
