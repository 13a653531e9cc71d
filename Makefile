# neardup — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
# two install stamps: `make run` needs only neardup and the report extra; `make test` needs the
# dev extra (test, lint, type-check, server and Spark dependencies). Either works first on a
# fresh clone.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint format bench clean

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[report]'
	@touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(DEV_STAMP)

run: $(RUN_STAMP)  ## dedup the bundled sample corpus and print the summary
	$(VENV)/bin/neardup dedup examples/sample/news.jsonl --output out/sample --report out/sample/report.html
	@echo "results in out/sample/: kept.jsonl, removed.jsonl, clusters.jsonl, stats.json, report.html"
	@echo "why one pair was judged a duplicate: $(VENV)/bin/neardup explain news-004 news-012 --corpus examples/sample/news.jsonl"

test: $(DEV_STAMP)  ## lint and type-check, then the whole test suite
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(DEV_STAMP)  ## ruff, then mypy over src/neardup (settings in pyproject.toml)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: $(RUN_STAMP)  ## peers side by side on a generated corpus (see bench/README.md)
	$(PY) -m pip install --quiet -e '.[bench]'
	bash bench/run.sh $(or $(DOCS),10000)

clean:
	rm -rf out .pytest_cache .ruff_cache
