"""Benchmark shards: which problems a shard holds, writing them atomically, reading them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from ordebug.bench.generate import BenchSpec, generate_problem
from ordebug.jsonl import iter_jsonl, write_jsonl_atomic  # noqa: F401  (re-exported)
from ordebug.solver.lpformat import redirect_fds

SPLIT_SIZE_KEY = {"train": "n_train", "test": "n_test", "train_large": "n_train", "test_large": "n_test"}
SPLITS = tuple(SPLIT_SIZE_KEY)


def tier_of(split: str) -> str:
    """``small`` for train/test, ``large`` for train_large/test_large."""
    return "large" if split.endswith("_large") else "small"


def _sizes(bench_cfg: dict[str, Any], split: str) -> tuple[int, int]:
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


def n_shards(bench_cfg: dict[str, Any], split: str) -> int:
    n, size = _sizes(bench_cfg, split)
    return (n + size - 1) // size


def shard_indices(bench_cfg: dict[str, Any], split: str, shard: int) -> range:
    """Problem indices of one shard (the last shard may be shorter)."""
    n, size = _sizes(bench_cfg, split)
    if not 0 <= shard < n_shards(bench_cfg, split):
        raise ValueError(f"shard {shard} out of range for split {split!r}")
    return range(shard * size, min(n, (shard + 1) * size))


def generate_shard(bench_cfg: dict[str, Any], split: str, shard: int) -> Iterator[dict]:
    spec = bench_spec(bench_cfg)
    with open(os.devnull, "w") as null:
        for i in shard_indices(bench_cfg, split, shard):
            # SCIP prints its LP solver's failures (which generation survives by drawing
            # another candidate) straight to the process's stderr: keep them out of the logs
            with redirect_fds(null.fileno(), (2,)):
                rec = generate_problem(spec, split, i, tier_of(split))
            yield rec


def read_problems(paths: Iterable[str | os.PathLike[str]]) -> Iterator[dict]:
    """Problem records from shard files, in order."""
    return iter_jsonl(paths)
