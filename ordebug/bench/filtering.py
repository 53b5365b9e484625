"""The benchmark's filtering stage: from the pool shards and their adversary tables to the
kept problems of every split (see :mod:`ordebug.bench.adversary.aflite`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ordebug.bench.adversary.aflite import FilterSettings, run
from ordebug.bench.shards import SPLITS, keep, split_size

TRAIN_ON = ("train", "test")  # the small tier: the large one is scored by an adversary trained on it


def fault_kind(rec: dict) -> str:
    """A record's fault kind (its stratum within type and family): the kinds of its faults."""
    return "|".join(sorted(set(rec["ground_truth"]["fault_kinds"])))


def filter_benchmark(bench_cfg: dict[str, Any], tables: Iterable[dict], kinds: dict[str, str] | None = None
                     ) -> tuple[dict[str, list[str]], dict]:
    """Kept problem ids per split (in pool order) and the filter's report; ``kinds``: problem
    id -> :func:`fault_kind` (see :func:`ordebug.bench.adversary.aflite.run`)."""
    pools: dict[str, list[dict]] = defaultdict(list)
    for t in tables:
        pools[t["split"]].append(t)
    needed = {s: split_size(bench_cfg, s)[0] for s in pools}
    settings = FilterSettings.from_config(bench_cfg.get("filter") or {})
    if not settings.rounds:
        return {s: [t["problem_id"] for t in sorted(p, key=lambda t: t["index"])[:needed[s]]]
                for s, p in pools.items()}, {"rounds": [], "pool": {s: len(p) for s, p in pools.items()}}
    return run(dict(pools), needed, [s for s in TRAIN_ON if s in pools], settings, kinds)


def final_shards(bench_cfg: dict[str, Any], split: str, records: Iterable[dict], kept: list[str]) -> list[list[dict]]:
    """The kept records of a split, re-indexed, cut into the split's shards."""
    recs = keep(records, kept)
    size = split_size(bench_cfg, split)[1]
    return [recs[i:i + size] for i in range(0, len(recs), size)]


__all__ = ["SPLITS", "fault_kind", "filter_benchmark", "final_shards"]
