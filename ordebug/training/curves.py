"""Loss curves of a training run: train and validation loss per step, from the Trainer's state.

The final ``trainer_state.json`` holds the whole ``log_history`` of a run, across resumes (a
resumed run starts from the checkpoint's history), so the curve has each step once.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

FIELDS = ["step", "epoch", "loss", "eval_loss", "learning_rate", "grad_norm"]


def curve_rows(log_history: list[dict]) -> list[dict]:
    """One row per logged step: train loss, validation loss (where evaluated), learning rate."""
    by_step: dict[int, dict] = {}
    for entry in log_history:
        step = entry.get("step")
        if step is None or not ({"loss", "eval_loss"} & entry.keys()):
            continue
        row = by_step.setdefault(int(step), {"step": int(step)})
        for k in FIELDS[1:]:
            if k in entry:
                row[k] = entry[k]
    return [by_step[s] for s in sorted(by_step)]


def curve_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in FIELDS})
    return buf.getvalue()


def read_curve(path: str | Path) -> list[dict]:
    """Rows of a ``loss.csv`` with numbers (missing values as None)."""
    with open(path) as fh:
        return [{k: (float(v) if k != "step" else int(v)) if v != "" else None for k, v in r.items()}
                for r in csv.DictReader(fh)]


def trainer_curve(state_json: str | Path) -> list[dict]:
    """The curve of a finished run's ``trainer_state.json``."""
    return curve_rows(json.loads(Path(state_json).read_text()).get("log_history", []))
