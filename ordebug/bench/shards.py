"""Benchmark shards: which problems a shard holds, writing them atomically, reading them."""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ordebug.bench.adversary.table import problem_table
from ordebug.bench.generate import BenchSpec, generate_problem, slot
from ordebug.jsonl import iter_jsonl, write_jsonl_atomic  # noqa: F401  (re-exported)
from ordebug.solver.lpformat import redirect_fds

SPLIT_SIZE_KEY = {"train": "n_train", "test": "n_test", "train_large": "n_train", "test_large": "n_test"}
SPLITS = tuple(SPLIT_SIZE_KEY)


def tier_of(split: str) -> str:
    """``small`` for train/test, ``large`` for train_large/test_large."""
    return "large" if split.endswith("_large") else "small"


def pool_factor(bench_cfg: dict[str, Any]) -> float:
    """Problems drawn into the pool per problem kept (1: no adversarial filtering)."""
    return float((bench_cfg.get("filter") or {}).get("pool_factor", 1.0))


def split_size(bench_cfg: dict[str, Any], split: str) -> tuple[int, int]:
    """(problems, shard size) of a split."""
    if split not in SPLIT_SIZE_KEY:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    cfg = bench_cfg if tier_of(split) == "small" else {"shard_size": 10, **(bench_cfg.get("large") or {})}
    return int(cfg.get(SPLIT_SIZE_KEY[split], 0)), int(cfg["shard_size"])


def bench_spec(bench_cfg: dict[str, Any]) -> BenchSpec:
    """A BenchSpec from the ``bench`` section of the config."""
    return BenchSpec(
        seed=int(bench_cfg["seed"]),
        error_types=list(bench_cfg["error_types"]),
        families=list(bench_cfg["families"]),
        difficulty_weights=dict(bench_cfg["difficulty_weights"]),
    )


def pool_slots(bench_cfg: dict[str, Any], split: str) -> list[int]:
    """The slot indices a split's pool draws: for each error type, ``pool_factor`` (or the
    type's own factor in ``type_factor``; in the large tier ``large_pool_factor``) times the
    problems of that type the split keeps, taken in the split's stratified slot order."""
    n = split_size(bench_cfg, split)[0]
    filt = bench_cfg.get("filter") or {}
    spec, tier = bench_spec(bench_cfg), tier_of(split)
    quota = Counter(slot(spec, split, i, tier)[0] for i in range(n))
    if tier == "large":
        factors = {t: float(filt.get("large_pool_factor", 1.0)) for t in quota}
    else:
        factors = {t: float((filt.get("type_factor") or {}).get(t, pool_factor(bench_cfg))) for t in quota}
    limit = {t: math.ceil(q * factors[t]) for t, q in quota.items()}
    taken: Counter[str] = Counter()
    out: list[int] = []
    i = 0
    while any(taken[t] < limit[t] for t in limit):
        t = slot(spec, split, i, tier)[0]
        if taken[t] < limit.get(t, 0):
            taken[t] += 1
            out.append(i)
        i += 1
    return out


def n_shards(bench_cfg: dict[str, Any], split: str, pool: bool = False) -> int:
    n = len(pool_slots(bench_cfg, split)) if pool else split_size(bench_cfg, split)[0]
    size = split_size(bench_cfg, split)[1]
    return (n + size - 1) // size


def shard_indices(bench_cfg: dict[str, Any], split: str, shard: int, pool: bool = False) -> Sequence[int]:
    """Problem (slot) indices of one shard (the last shard may be shorter)."""
    if not 0 <= shard < n_shards(bench_cfg, split, pool):
        raise ValueError(f"shard {shard} out of range for split {split!r}")
    size = split_size(bench_cfg, split)[1]
    if pool:
        return pool_slots(bench_cfg, split)[shard * size:(shard + 1) * size]
    n = split_size(bench_cfg, split)[0]
    return range(shard * size, min(n, (shard + 1) * size))


def generate_problems(bench_cfg: dict[str, Any], split: str, shard: int) -> Iterator[dict]:
    """The pool shard's problems. SCIP prints its LP solver's failures (which generation
    survives by drawing another candidate) straight to the process's stdout and stderr: they
    go to ``os.devnull`` here, never to the terminal (a job's log is a file of its own)."""
    spec = bench_spec(bench_cfg)
    with open(os.devnull, "w") as null:
        for i in shard_indices(bench_cfg, split, shard, pool=True):
            with redirect_fds(null.fileno(), (1, 2)):
                rec = generate_problem(spec, split, i, tier_of(split))
            yield rec


def generate_shard(bench_cfg: dict[str, Any], split: str, shard: int) -> Iterator[tuple[dict, dict]]:
    """The pool shard's problems, each with its adversary table; the table also records the
    seconds each took (``seconds``: generate, table), for the summary's account of where a
    build's time goes. The problem records stay the same on any machine; the tables, and so
    the summary's ``pool_cost``, differ from run to run by these timings."""
    with open(os.devnull, "w") as null:
        problems = generate_problems(bench_cfg, split, shard)
        while True:
            start = time.perf_counter()
            rec = next(problems, None)
            if rec is None:
                return
            made = time.perf_counter()
            with redirect_fds(null.fileno(), (1, 2)):
                table = problem_table(rec)
            table["seconds"] = {"generate": round(made - start, 3), "table": round(time.perf_counter() - made, 3)}
            yield rec, table


def keep(records: Iterable[dict], kept: list[str]) -> list[dict]:
    """The records whose ids are in ``kept``, in that order, re-indexed from 0."""
    by_id = {r["problem_id"]: r for r in records}
    return [by_id[pid] | {"index": i} for i, pid in enumerate(kept)]


def read_problems(paths: Iterable[str | os.PathLike[str]]) -> Iterator[dict]:
    """Problem records from shard files, in order."""
    return iter_jsonl(paths)
