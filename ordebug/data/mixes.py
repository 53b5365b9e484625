"""Which combined SFT dataset each training run trains on.

A run chooses its sources and their weights with ``training.runs.<run>.sources``
(``{agent: weight}``, the same form as ``dataset.combine``); a run without a choice takes
``dataset.combine``. Every distinct choice is one combined dataset with a stable name:
``combined`` for ``dataset.combine`` itself, else ``mix-`` and the sorted sources, each with
its weight where it is below 1 (``mix-gpt52chat``, ``mix-gpt52chat+heuristic@0.5``). Agent
names hold only ``[a-z0-9_]``, so the name is unambiguous.
"""

from __future__ import annotations

from typing import Any

DEFAULT = "combined"


def run_sources(config: dict[str, Any], run: str) -> dict[str, float]:
    """The sources and weights a run chose (``dataset.combine`` unless the run says)."""
    entry = (config["training"].get("runs") or {}).get(run) or {}
    return dict(entry.get("sources") or config["dataset"]["combine"])


def mix_name(sources: dict[str, float], default: dict[str, float]) -> str:
    """The dataset name of a choice of sources (see the module docstring)."""
    if {k: float(v) for k, v in sources.items()} == {k: float(v) for k, v in default.items()}:
        return DEFAULT
    parts = [a if float(w) == 1.0 else f"{a}@{float(w):g}" for a, w in sorted(sources.items())]
    return "mix-" + "+".join(parts)


def run_dataset(config: dict[str, Any], run: str) -> str:
    """The combined dataset a run trains on."""
    return mix_name(run_sources(config, run), config["dataset"]["combine"])


def datasets(config: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Every combined dataset: the default one and one per distinct run choice, by name."""
    default = dict(config["dataset"]["combine"])
    out = {DEFAULT: default}
    for run in config["training"].get("runs") or {}:
        out.setdefault(run_dataset(config, run), run_sources(config, run))
    return out


def registered_name(dataset: str, part: str) -> str:
    """The LLaMA-Factory name of a combined dataset's part (``sft_combined_train``)."""
    return f"sft_{dataset}_{part}"
