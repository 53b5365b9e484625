"""Benchmark statistics, including the drop-first-IIS baseline that a fair benchmark must defeat."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ordebug.env.observation import shown_order
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.solve import solve, verdict


def drop_first_iis(record: dict) -> dict[str, bool]:
    """Drop the first constraint of the IIS as agents see it and solve: feasible? faithful?"""
    spec = read_model_text(record["model"], name=record["problem_id"])
    cons = shown_order(record["iis"]["constraints"], record["problem_id"])
    if not cons:
        return {"feasible": False, "faithful": False}
    del spec.rows[cons[0]]
    v = verdict(solve(spec), record["original_objective"])
    return {"feasible": v.feasible, "faithful": v.faithful}


def summarize(records: Iterable[dict]) -> dict:
    """Counts by split, type, family and difficulty; IIS sizes; drop-first-IIS rates."""
    out: dict = {"n": 0, "by_split": Counter(), "by_type": Counter(), "by_family": Counter(),
                 "by_difficulty": Counter(), "mip": 0}
    iis_sizes = []
    drop = Counter()
    drop_by_type: dict[str, Counter] = {}
    for r in records:
        out["n"] += 1
        out["by_split"][r["split"]] += 1
        out["by_type"][r["error_type"]] += 1
        out["by_family"][r["family"]] += 1
        out["by_difficulty"][r["difficulty"]] += 1
        out["mip"] += int(r["is_mip"])
        iis_sizes.append(len(r["iis"]["constraints"]) + len(r["iis"]["bounds"]))
        res = drop_first_iis(r)
        drop.update(k for k, v in res.items() if v)
        drop_by_type.setdefault(r["error_type"], Counter()).update(
            ["n", *(k for k, v in res.items() if v)]
        )
    n = max(out["n"], 1)
    out["iis_size"] = {
        "mean": sum(iis_sizes) / n,
        "min": min(iis_sizes, default=0),
        "max": max(iis_sizes, default=0),
    }
    out["drop_first_iis"] = {
        "feasible_rate": drop["feasible"] / n,
        "faithful_rate": drop["faithful"] / n,
        "faithful_rate_by_type": {
            t: c["faithful"] / c["n"] for t, c in sorted(drop_by_type.items())
        },
    }
    for k in ("by_split", "by_type", "by_family", "by_difficulty"):
        out[k] = dict(sorted(out[k].items()))
    return out
