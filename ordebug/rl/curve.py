"""The reward curve of RL runs: one JSON line per GRPO step, plotted by the report."""

from __future__ import annotations

import json
from pathlib import Path

PANELS = (("mean_return", "mean return"), ("success_rate", "success rate"),
          ("invalid_rate", "invalid-action rate"))


def read_curve(path: str | Path) -> list[dict]:
    rows = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    missing = [k for k, _ in PANELS if rows and k not in rows[0]]
    if missing:
        raise ValueError(f"{path}: reward curve lacks {missing}")
    return rows


def plot_curves(curves: dict[str, list[dict]], path: str | Path) -> Path:
    """Mean return, success rate and invalid-action rate per step, one line per RL run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 3.2))
    for ax, (key, title) in zip(axes, PANELS, strict=True):
        for run, rows in curves.items():
            ax.plot([r["step"] for r in rows], [r[key] for r in rows], marker="o", label=f"rl_{run}")
        ax.set_title(title)
        ax.set_xlabel("GRPO step")
    if curves:
        axes[0].legend()
    else:
        fig.suptitle("no RL runs evaluated (eval.rl is empty)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
