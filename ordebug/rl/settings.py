"""The ``rl:`` config section: defaults overridden per run, each run starting from a training run."""

from __future__ import annotations

from typing import Any

from ordebug.solver.errors import OrDebugError


class RLError(OrDebugError):
    """An RL setting or input the run would fail on, reported before training starts."""


def rl_settings(rl: dict[str, Any], training: dict[str, Any], run: str) -> dict[str, Any]:
    """The run's settings (``rl`` defaults overridden by ``rl.runs[run]``), plus the base
    run's model, template and thinking switch, under which its SFT adapter was trained."""
    from ordebug.training.llamafactory import run_settings

    runs = rl.get("runs") or {}
    if run not in runs:
        raise RLError(f"unknown RL run {run!r}; configured: {', '.join(runs) or 'none'}")
    s = {k: v for k, v in rl.items() if k != "runs"}
    s.update(runs[run] or {})
    check_rl_config({"rl": rl, "training": training})
    t = run_settings(training, s["base_run"])
    s.update(model=t["model"], template=t["template"], enable_thinking=t.get("enable_thinking", True),
             offline=t.get("offline", False))
    if s["rollout_concurrency"] < 1 or s["group_size"] < 2:
        raise RLError(f"rl run {run!r}: group_size must be >= 2 and rollout_concurrency >= 1")
    return s


def check_rl_config(config: dict[str, Any]) -> None:
    """Cross-references the schema cannot check: each RL run's base run, each evaluated RL run."""
    rl = config.get("rl") or {}
    runs = rl.get("runs") or {}
    training_runs = (config.get("training") or {}).get("runs") or {}
    for name, r in runs.items():
        if (r or {}).get("base_run") not in training_runs:
            raise RLError(f"config key 'rl.runs.{name}.base_run': {(r or {}).get('base_run')!r} is not a run "
                          f"under training.runs ({', '.join(training_runs) or 'none'})")
    for name in (config.get("eval") or {}).get("rl") or []:
        if name not in runs:
            raise RLError(f"config key 'eval.rl': {name!r} is not a run under rl.runs ({', '.join(runs) or 'none'})")
