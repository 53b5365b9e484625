"""Write a shard's problems as .lp or .mps files for use in other solvers."""

from __future__ import annotations

import json
from pathlib import Path

from ordebug.bench.shards import read_problems
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.solve import to_scip


def export_shard(shard: str | Path, out_dir: str | Path, fmt: str = "lp") -> int:
    """One model file per problem (the broken model) and its specification (``<id>.spec.md``:
    the statement, rules and data tables a modeller works from, and ``<id>.spec.json``, the
    same as structured tables), plus ``index.jsonl`` without the answers. Returns the number
    of problems written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out_dir / "index.jsonl", "w") as index:
        for rec in read_problems([shard]):
            target = out_dir / f"{rec['problem_id']}.{fmt}"
            if fmt == "lp":
                target.write_text(rec["model"])
            else:
                spec = read_model_text(rec["model"], name=rec["problem_id"])
                to_scip(spec).writeProblem(str(target), verbose=False)
            meta = {k: rec[k] for k in ("problem_id", "split", "original_objective", "objective_sense", "iis")}
            meta["model_file"] = target.name
            if rec.get("spec"):
                md = out_dir / f"{rec['problem_id']}.spec.md"
                md.write_text(f"# Specification of {rec['problem_id']}\n\n{rec['spec']['text']}\n")
                tables = {k: v for k, v in rec["spec"].items() if k != "text"}
                (out_dir / f"{rec['problem_id']}.spec.json").write_text(json.dumps(tables, indent=1, sort_keys=True))
                meta["spec_file"] = md.name
            index.write(json.dumps(meta, sort_keys=True) + "\n")
            n += 1
    return n
