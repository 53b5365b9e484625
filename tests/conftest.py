"""Shared fixtures: a small generated benchmark sample, configs and external models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from ordebug.bench.generate import BenchSpec, generate_problem
from ordebug.solver.lpformat import redirect_fds

# One thread per torch (OpenMP) process: the tests train and serve a tiny model on a small CPU
# box where Snakemake runs two jobs at once, and oversubscribed OpenMP threads spin; a forward
# pass of the tiny Qwen3 then takes ~10x as long as on one thread. Inherited by every
# subprocess (snakemake, llamafactory-cli, the Slurm jobs); set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT.parent / "shared" / "external" / "or-debug-bench"
SAMPLE_PER_TYPE = 9  # one full round of type x family cells


@pytest.fixture(scope="session")
def bench_spec() -> BenchSpec:
    return BenchSpec(seed=424242)


def generate(spec: BenchSpec, split: str, indices) -> list[dict]:
    """Problems of a split, SCIP's console (its LP solver's complaints) kept off the test output."""
    with open(os.devnull, "w") as null, redirect_fds(null.fileno(), (1, 2)):
        return [generate_problem(spec, split, i) for i in indices]


def shared(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[], list[dict]]) -> list[dict]:
    """``make()``'s JSON value, made once per test run and read by every xdist worker (the
    workers' temp dirs share a parent that is this run's own; the first worker makes it under a
    lock, the others wait and read). Without xdist it is simply made: the parent of a plain
    run's temp dir is shared by every run, and a value left there would outlive a code change.
    Either way the value comes through JSON, as a benchmark shard gives it."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return json.loads(json.dumps(make()))
    path = tmp_path_factory.getbasetemp().parent / f"{name}.json"
    with FileLock(str(path) + ".lock"):
        if not path.is_file():
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(make()))
            tmp.replace(path)
    return json.loads(path.read_text())


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A directory ``build(dir)`` fills once per test run, for every xdist worker: the first
    worker to ask builds it under a lock, the others wait and get the same directory (copy it
    with :func:`copy_built` before changing anything in it). A failed build fails every module
    that asks, with the first failure's message, instead of being tried again."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER") is not None:
        base = base.parent
    d, failed = base / name, base / f"{name}.failed"
    with FileLock(str(base / f"{name}.lock")):
        if failed.is_file():
            pytest.fail(f"building {name} failed in another worker:\n{failed.read_text()}")
        if not (base / f"{name}.built").is_file():
            shutil.rmtree(d, ignore_errors=True)
            try:
                build(d)
            except BaseException as e:
                failed.write_text(str(e)[-4000:])
                raise
            (base / f"{name}.built").write_text("")
    return d


@pytest.fixture(scope="session")
def sample(bench_spec: BenchSpec, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """SAMPLE_PER_TYPE verified problems of every error type (train split)."""
    n = SAMPLE_PER_TYPE * len(bench_spec.error_types)
    return shared(tmp_path_factory, f"sample_{bench_spec.seed}_{n}",
                  lambda: generate(bench_spec, "train", range(n)))


@pytest.fixture(scope="session")
def sample_by_type(sample: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in sample:
        out.setdefault(r["error_type"], []).append(r)
    return out


def small_config(**bench: object) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["bench"].update({"n_train": 9, "n_test": 9, "shard_size": 9, "seed": 99,
                         "large": {"n_train": 0, "n_test": 0, "shard_size": 10},
                         "filter": {"pool_factor": 1.0, "rounds": 0}})  # (the smoke run filters)
    cfg["bench"].update(bench)
    return cfg


def copy_workflow(dest: Path, **bench: object) -> Path:
    """A copy of the workflow (Snakefile, rules, scripts, config) in ``dest``, on small_config(**bench)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "rules", "scripts", "config", "envs", "profiles"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy(src, dest / name)
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(small_config(**bench)))
    return dest


def copy_built(src: Path, dest: Path) -> Path:
    """A copy of a workflow directory with what was built in it (outputs, Snakemake's metadata,
    times kept): Snakemake finds it up to date and reruns nothing upstream."""
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("locks"))
    return dest


# -- the smoke DAG (config/smoke.yaml, a tiny Qwen3 trained on the CPU), built once per test run ---------
SMOKE = ["--configfile", "config/smoke.yaml"]  # replaces config/config.yaml (see the Snakefile)
# config/smoke.yaml's benchmark made smaller in the tests' copy (90 train / 27 test problems there, a
# pool half as large again): three problems of each type to collect from, two to evaluate on, shards
# of nine, drawn as they come (no filter rounds: test_workflow's benchmark runs the filter). What
# these tests check (the DAG, training, resuming, serving, Slurm placement) does not depend on the
# count, and generating the benchmark was half of the build.
SMOKE_BENCH = {"n_train": 27, "n_test": 18, "shard_size": 9, "filter": {"pool_factor": 1.0, "rounds": 0}}


def build_smoke(d: Path) -> None:
    """The whole smoke DAG up to and including `train` for both runs, in ``d``."""
    d.mkdir(parents=True)
    for name in ("Snakefile", "rules", "scripts", "config", "envs", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, d / name)
    cfg = yaml.safe_load((d / "config" / "smoke.yaml").read_text())
    cfg["bench"].update(SMOKE_BENCH)
    (d / "config" / "smoke.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    r = subprocess.run([sys.executable, "-m", "snakemake", "train_all", "--cores", "2", *SMOKE], cwd=d,
                       capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]


@pytest.fixture(scope="session")
def smoke_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained smoke tree, shared by the training modules (each works on its own copy)."""
    pytest.importorskip("llamafactory", reason="training extra not installed (pip install -e '.[train]')")
    return built_once(tmp_path_factory, "smoke_built", build_smoke)


@pytest.fixture
def workflow_dir(tmp_path: Path) -> Path:
    """A copy of the workflow (Snakefile, rules, scripts, config) in a temp dir."""
    return copy_workflow(tmp_path)


@pytest.fixture
def large_d() -> dict:
    """A large-tier D of build a8320cd whose conflict (41 rows) holds the added row among the 17
    the observation leaves out (tests/data/large_d_hidden_row.jsonl.gz)."""
    from ordebug.jsonl import iter_jsonl

    [rec] = list(iter_jsonl([ROOT / "tests" / "data" / "large_d_hidden_row.jsonl.gz"]))
    return rec


@pytest.fixture(scope="session")
def external_index() -> list[dict]:
    if not (EXTERNAL / "index.jsonl").is_file():
        pytest.skip("../shared/external/or-debug-bench is absent")
    return [json.loads(line) for line in (EXTERNAL / "index.jsonl").read_text().splitlines() if line.strip()]


# -- test scheduling (pytest-xdist, `make test`: `--dist loadfile --no-loadscope-reorder`) ------
# Each file runs on one worker (its module fixtures are built once), and the files whose module
# fixtures build a workflow, train or generate a benchmark go first, heaviest first, so the
# longest file is not the last one picked up (measured with `pytest --durations=0`). Not
# `--dist loadgroup`: with pytest 9.2 it silently stops grouping (pytest-xdist issue 1386).
HEAVY_FIRST = ("test_training", "test_workflow", "test_bench", "test_training_slurm", "test_llm", "test_collect",
               "test_adversary", "test_teacher_api", "test_rl", "test_agents", "test_iis_real")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The heavy files first (a stable sort: a file's tests keep their order)."""
    def weight(item: pytest.Item) -> int:
        stem = Path(str(item.fspath)).stem
        return HEAVY_FIRST.index(stem) if stem in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=weight)
