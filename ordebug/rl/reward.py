"""The RL return: success is what the solver verifies, never what the text looks like.

An episode's return, counted from the state the group was sampled at:

- ``+1.0`` when the submitted model passes the success level (``exact``: faithful and every
  edited element agrees with the specification again; ``faithful`` for records without one)
- ``0.0`` for any other feasible model (dropping or loosening a stated rule earns nothing)
- ``-0.5`` when the model is still infeasible
- ``-0.01`` per step, ``-0.05`` more per invalid action (not parsed by the strict parser,
  or rejected by the environment)
- ``-0.05`` per edit beyond the number the ground truth needs, at most ``-0.25``

clipped to [-1, 1]. A well-formed action on the wrong element parses, runs and may even make
the model feasible, but it earns no success reward.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordebug.env.reward import EXTRA_EDIT_COST, INVALID_COST, MAX_EXTRA_EDIT_COST, STEP_COST, clip_return

SUCCESS = 1.0
INFEASIBLE = -0.5
LEVELS = ("exact", "faithful")


def is_success(outcome: dict, level: str) -> bool:
    """Whether the solver's verdict passes ``level``; ``exact`` falls back to ``faithful``
    only where the record has no specification (``exact`` is None)."""
    if level not in LEVELS:
        raise ValueError(f"success level must be one of {LEVELS}, got {level!r}")
    if level == "exact" and outcome.get("exact") is not None:
        return bool(outcome["exact"])
    return bool(outcome.get("faithful"))


@dataclass
class EpisodeReturn:
    """The return of one (partial) episode and what it was made of."""

    value: float
    success: bool
    feasible: bool
    steps: int
    invalid: int
    components: dict[str, float] = field(default_factory=dict)  # the terms before clipping


def episode_return(outcome: dict, level: str, steps: int, invalid: int, n_needed: int) -> EpisodeReturn:
    """The return for ``steps`` steps (``invalid`` of them invalid) ending in ``outcome``."""
    success = is_success(outcome, level)
    feasible = bool(outcome.get("feasible"))
    base = SUCCESS if success else 0.0 if feasible else INFEASIBLE
    extra = min(MAX_EXTRA_EDIT_COST, EXTRA_EDIT_COST * max(0, int(outcome.get("n_edits", 0)) - max(1, n_needed)))
    value = clip_return(base - extra - STEP_COST * steps - INVALID_COST * invalid)
    parts = {"outcome": base, "extra_edits": -extra, "steps": -STEP_COST * steps, "invalid": -INVALID_COST * invalid}
    return EpisodeReturn(value, success, feasible, steps, invalid, parts)
