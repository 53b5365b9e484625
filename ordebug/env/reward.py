"""The reward: a bounded, verifiable function of what the solver says at the end.

Per step: ``-0.01``, and ``-0.05`` more for an invalid action.
At the end (SUBMIT or the step limit):

- faithful (feasible and objective within tolerance of the original): ``+1.0``
- feasible but not faithful: ``+0.5 * objective_preservation`` (in [0, 0.5])
- still infeasible: ``-0.5``
- minus ``0.05`` for each edit beyond the number the ground truth needs, at most ``-0.25``

An episode's return is clipped to [-1, 1].
"""

from __future__ import annotations

STEP_COST = 0.01
INVALID_COST = 0.05
FAITHFUL = 1.0
FEASIBLE_WEIGHT = 0.5
INFEASIBLE = -0.5
EXTRA_EDIT_COST = 0.05
MAX_EXTRA_EDIT_COST = 0.25


def step_reward(valid: bool) -> float:
    return -STEP_COST - (0.0 if valid else INVALID_COST)


def objective_preservation(objective: float | None, original: float) -> float:
    """1 when the optimum is unchanged, falling linearly to 0 at a 100% relative change."""
    if objective is None:
        return 0.0
    gap = abs(objective - original) / max(1.0, abs(original))
    return max(0.0, 1.0 - gap)


def terminal_reward(feasible: bool, faithful: bool, preservation: float, n_edits: int, n_needed: int) -> float:
    if faithful:
        base = FAITHFUL
    elif feasible:
        base = FEASIBLE_WEIGHT * preservation
    else:
        base = INFEASIBLE
    extra = min(MAX_EXTRA_EDIT_COST, EXTRA_EDIT_COST * max(0, n_edits - n_needed))
    return base - extra


def clip_return(total: float) -> float:
    return max(-1.0, min(1.0, total))
