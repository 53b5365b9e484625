"""Staff scheduling (MILP): staff overlapping shifts to cover hourly requirements."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets the number of periods (6 + 2 * scale); shifts last 3 periods."""
    n = 6 + 2 * scale
    length = 3
    periods = [f"h{t + 1:02d}" for t in range(n)]
    shifts = [f"s{t + 1:02d}" for t in range(n - length + 1)]
    covers = {s: periods[i : i + length] for i, s in enumerate(shifts)}
    b = Builder("staffing")
    req = {t: rng.randint(2, 9) for t in periods}
    max_staff = max(req.values()) + 2
    for s in shifts:
        b.var(f"staff({s})", 0, max_staff, vtype="I", obj=rng.randint(8, 14))
    b.var("headcount")
    for t in periods:
        coefs = {f"staff({s})": 1 for s in shifts if t in covers[s]}
        b.row(f"cover_period({t})", coefs, ">=", req[t], "requirement")
    b.row("headcount_definition", {"headcount": 1.0} | {f"staff({s})": -1.0 for s in shifts}, "=", 0, "definition")
    b.row("headcount_limit", {"headcount": 1}, "<=", _greedy_headcount(periods, shifts, covers, req) + 2, "capacity")
    unstated = b.left_out(rng, len(shifts))
    for i, s in enumerate(shifts):
        name = f"max_crew({s})"
        if i not in unstated:
            b.row(name, {f"staff({s})": 1}, "<=", max_staff - 1, "rule")
        else:
            b.template(name, {f"staff({s})": 1}, "<=")
    unstated_2 = b.left_out(rng, len(shifts))
    for i, s in enumerate(shifts):
        name = f"min_crew({s})"
        if i not in unstated_2:
            b.row(name, {f"staff({s})": 1}, ">=", 1, "rule")
        else:
            b.template(name, {f"staff({s})": 1}, ">=")
    return b.base


def _greedy_headcount(periods: list[str], shifts: list[str], covers: dict, req: dict) -> int:
    """Staff needed by a simple feasible roster (fill each period's gap with the shift
    that starts there, or the last one): the headcount limit leaves a little room above it."""
    staff = dict.fromkeys(shifts, 0)
    for i, t in enumerate(periods):
        have = sum(staff[s] for s in shifts if t in covers[s])
        if have < req[t]:
            staff[shifts[min(i, len(shifts) - 1)]] += req[t] - have
    return sum(staff.values())
