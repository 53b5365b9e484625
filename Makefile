# Two set-up commands on a fresh clone: `make run` (the pipeline) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
JOBS ?= 4

.PHONY: install run test lint bench-perf clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install  ## the whole workflow on the default config
	$(VENV)/bin/snakemake -j$(JOBS)

test: install  ## unit + workflow tests
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check ordebug scripts tests
	$(VENV)/bin/snakefmt --check Snakefile rules
	$(VENV)/bin/snakemake --lint

bench-perf: install  ## performance table for the README
	$(PY) scripts/benchmark.py all

clean:
	rm -rf data/bench data/collect data/training logs benchmarks results .snakemake
