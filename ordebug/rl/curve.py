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


OPTIONAL = (("kl", "KL to the SFT policy"), ("reward_", "reward components"))


def plot_curves(curves: dict[str, list[dict]], path: str | Path) -> Path:
    """Mean return (with a band of one standard deviation of the step's returns), success
    rate and invalid-action rate per step, one line per RL run; the KL and the mean of each
    reward component where the curves have them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows_all = [r for rows in curves.values() for r in rows]
    panels = list(PANELS) + [(k, t) for k, t in OPTIONAL if any(x.startswith(k) for r in rows_all for x in r)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for run, rows in curves.items():
            steps = [r["step"] for r in rows]
            if key == "reward_":
                for comp in sorted({x for r in rows for x in r if x.startswith("reward_")}):
                    ax.plot(steps, [r.get(comp) for r in rows], marker=".", label=f"rl_{run} {comp[7:]}")
                ax.legend(fontsize=7)
                continue
            vals = [r.get(key) for r in rows]
            ax.plot(steps, vals, marker="o", label=f"rl_{run}")
            if key == "mean_return" and all("return_std" in r for r in rows):
                ax.fill_between(steps, [v - r["return_std"] for v, r in zip(vals, rows, strict=True)],
                                [v + r["return_std"] for v, r in zip(vals, rows, strict=True)], alpha=0.2)
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
