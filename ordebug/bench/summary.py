"""Benchmark statistics, and the baselines a fair benchmark must defeat: drop-first-IIS,
a name-only probe, an observation-only structural probe, a whole-model outlier scan and a
sibling probe (each IIS row against the other rows of its family)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from ordebug.bench.leak import probe as name_probe
from ordebug.bench.probe import outlier_scan, sibling_probe, structural_probe
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


def summarize(records: Iterable[dict], probes: bool = True) -> dict:
    """Counts by split, tier, type, family and difficulty; coverage of type x family; IIS
    sizes and the share of one-row IISs; fault kinds; drop-first-IIS rates; and (``probes``)
    the name, structural and outlier probes against chance on the test split."""
    out: dict = {"n": 0, "by_split": Counter(), "by_tier": Counter(), "by_type": Counter(), "by_family": Counter(),
                 "by_difficulty": Counter(), "mip": 0}
    iis_sizes = []
    one_row = 0
    drop = Counter()
    drop_by_type: dict[str, Counter] = {}
    coverage: dict[str, Counter] = defaultdict(Counter)
    kinds: Counter = Counter()
    splits: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        out["n"] += 1
        out["by_split"][r["split"]] += 1
        out["by_tier"][r.get("tier", "small")] += 1
        out["by_type"][r["error_type"]] += 1
        out["by_family"][r["family"]] += 1
        out["by_difficulty"][r["difficulty"]] += 1
        out["mip"] += int(r["is_mip"])
        coverage[r["error_type"]][r["family"]] += 1
        kinds.update(k.split(":", 1)[-1] if ":" in k else k for k in r["ground_truth"].get("fault_kinds", []))
        iis_sizes.append(len(r["iis"]["constraints"]) + len(r["iis"]["bounds"]))
        one_row += len(r["iis"]["constraints"]) <= 1
        res = drop_first_iis(r)
        drop.update(k for k, v in res.items() if v)
        drop_by_type.setdefault(r["error_type"], Counter()).update(["n", *(k for k, v in res.items() if v)])
        splits[r["split"]].append(r)
    n = max(out["n"], 1)
    out["iis_size"] = {"mean": sum(iis_sizes) / n, "min": min(iis_sizes, default=0), "max": max(iis_sizes, default=0),
                       "one_row_share": one_row / n}
    out["drop_first_iis"] = {
        "feasible_rate": drop["feasible"] / n,
        "faithful_rate": drop["faithful"] / n,
        "faithful_rate_by_type": {t: c["faithful"] / c["n"] for t, c in sorted(drop_by_type.items())},
    }
    out["coverage"] = {t: dict(sorted(c.items())) for t, c in sorted(coverage.items())}
    out["families_per_type"] = {t: len(c) for t, c in sorted(coverage.items())}
    out["fault_kinds"] = dict(kinds.most_common())
    for k in ("by_split", "by_tier", "by_type", "by_family", "by_difficulty"):
        out[k] = dict(sorted(out[k].items()))
    if probes:
        test = splits.get("test") or [r for s in splits.values() for r in s]
        train = splits.get("train") or test
        models = [read_model_text(r["model"]) for r in test]  # parsed once for both whole-model probes
        out["probes"] = {
            "name": name_probe(train, test),
            "structural": structural_probe(test),
            "outlier_scan": outlier_scan(test, models),
            "sibling": sibling_probe(test, models),
        }
    return out


def pool_cost(tables: Iterable[dict]) -> dict:
    """Where a build's pool time goes, from the seconds each pool table records: by error type,
    by tier (``tier:small``) and in all, the problems drawn, the seconds spent generating and
    verifying them (rejected candidates included) and building their adversary tables, the
    mean per problem and the share of the whole."""
    acc: dict[str, Counter] = defaultdict(Counter)
    for t in tables:
        sec = t.get("seconds")
        if sec:
            for key in (t["error_type"], f"tier:{t.get('tier') or 'small'}", "all"):
                acc[key].update({"problems": 1, "generate_s": sec["generate"], "table_s": sec["table"]})
    total = (acc["all"]["generate_s"] + acc["all"]["table_s"] if acc else 0.0) or 1.0
    out = {}
    for key, c in sorted(acc.items()):
        spent = c["generate_s"] + c["table_s"]
        out[key] = {"problems": c["problems"], "generate_s": round(c["generate_s"], 1),
                    "table_s": round(c["table_s"], 1), "per_problem_s": round(spent / c["problems"], 3),
                    "share": round(spent / total, 3)}
    return out
