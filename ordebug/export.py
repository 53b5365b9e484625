"""Write a shard's problems as .lp or .mps files for use in other solvers."""

from __future__ import annotations

import json
from pathlib import Path

from ordebug.bench.shards import read_problems
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.solve import to_scip


def export_shard(shard: str | Path, out_dir: str | Path, fmt: str = "lp") -> int:
    """One model file per problem (the broken model), plus ``index.jsonl`` without the answers'
    model text. Returns the number of problems written."""
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
            index.write(json.dumps(meta, sort_keys=True) + "\n")
            n += 1
    return n
