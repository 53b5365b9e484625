"""How the cost of generating one verified problem grows with the model's size.

For a family and a target number of rows, the family's size parameter is raised until its
model has that many rows; then problems are generated exactly as the benchmark does
(:func:`ordebug.faults.inject.inject` on a freshly drawn base model) and the time is split
by stage: building the base model, solving it, drawing conflicts (the feasibility checks
of candidate changes), computing IISs, and verifying the placed fault. The stages are
timed by wrapping the functions the generator calls (nothing in the generator changes);
the exponent of time against rows is fitted by least squares on logs.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ordebug.models import build_family

# one family per kind of model: an LP, a MILP (integer production), a network LP
KINDS = {"transportation": "LP", "production": "MILP", "network": "network LP"}
ROWS = (50, 200, 1000, 5000, 20000)
STAGES = ("build", "solve", "conflicts", "iis", "verify")
MAX_SIZE = 4000  # the largest size parameter tried when looking for a row count
MAX_VARS = 300_000  # a model with more variables is not built (the network family's grow as nodes^2)


@dataclass
class Point:
    """One family at one size: rows, variables and seconds per stage (per problem)."""

    family: str
    target_rows: int
    size: int
    rows: int
    variables: int
    problems: int = 0
    failed: int = 0  # base models on which no verified problem was found
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    total: float = 0.0
    note: str = ""

    def per_problem(self, stage: str | None = None) -> float:
        n = max(self.problems + self.failed, 1)
        return (self.total if stage is None else self.seconds[stage]) / n


def size_for_rows(family: str, rows: int, seed: int = 0) -> tuple[int, int, int]:
    """(size parameter, rows, variables) of the smallest model of ``family`` with at least
    ``rows`` rows (doubling, then bisection); the largest tried when none is that big."""
    def measure(size: int) -> tuple[int, int]:
        spec = build_family(family, random.Random(seed), size).spec
        return len(spec.rows), len(spec.vars)

    lo, hi = 1, 1
    while (m := measure(hi))[0] < rows and hi < MAX_SIZE and m[1] * 4 < MAX_VARS:
        lo, hi = hi, min(hi * 2, MAX_SIZE)
    while lo < hi:
        mid = (lo + hi) // 2
        if measure(mid)[0] >= rows:
            hi = mid
        else:
            lo = mid + 1
    return (hi, *measure(hi))


@contextmanager
def _timed(targets: list[tuple[Any, str, str]], seconds: dict[str, float]) -> Iterator[None]:
    """Wrap ``module.attr`` so its time (outermost call only) adds to ``seconds[stage]``."""
    depth = defaultdict(int)
    saved = []

    def wrap(fn: Callable, stage: str) -> Callable:
        def inner(*a: Any, **k: Any) -> Any:
            if depth[stage]:
                return fn(*a, **k)
            depth[stage] += 1
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                seconds[stage] += time.perf_counter() - t
                depth[stage] -= 1
        return inner

    for mod, attr, stage in targets:
        saved.append((mod, attr, getattr(mod, attr)))
        setattr(mod, attr, wrap(getattr(mod, attr), stage))
    try:
        yield
    finally:
        for mod, attr, fn in saved:
            setattr(mod, attr, fn)


def measure(family: str, rows: int, etype: str = "I", problems: int = 2, seed: int = 0,
            time_limit: float = 300.0) -> Point:
    """Generate ``problems`` verified type-``etype`` problems of ``family`` at ``rows`` rows,
    timing each stage; stops early (noted) when ``time_limit`` seconds are spent."""
    import importlib

    from ordebug.faults.fault import Context
    from ordebug.solver.solve import is_solver_failure, solve

    inject = importlib.import_module("ordebug.faults.inject")
    perturb = importlib.import_module("ordebug.faults.perturb")
    size, n_rows, n_vars = size_for_rows(family, rows, seed)
    pt = Point(family, rows, size, n_rows, n_vars)
    targets = [(perturb, "draw", "conflicts"), (inject, "compute_iis", "iis"), (inject, "verify", "verify")]
    start = time.perf_counter()
    with _timed(targets, pt.seconds):
        for i in range(problems * 4):
            if pt.problems >= problems or time.perf_counter() - start > time_limit:
                break
            rng = random.Random(f"cost-curve:{seed}:{family}:{rows}:{i}")
            t = time.perf_counter()
            base = build_family(family, rng, size)
            pt.seconds["build"] += time.perf_counter() - t
            t = time.perf_counter()
            optimum = solve(base.spec, with_values=True)
            pt.seconds["solve"] += time.perf_counter() - t
            if not optimum.optimal:
                continue
            try:
                inj = inject.inject(etype, Context(base, optimum, rng))
            except Exception as exc:
                if not is_solver_failure(exc):
                    raise
                inj = None
            pt.problems += inj is not None
            pt.failed += inj is None
    pt.total = time.perf_counter() - start
    if pt.problems < problems:
        pt.note = f"{pt.problems} of {problems} problems within {time_limit:.0f} s"
    return pt


def merge(points: list[Point]) -> Point:
    """One point of several measured at the same size (e.g. one per error type): times and
    counts added, notes joined."""
    first = points[0]
    out = Point(first.family, first.target_rows, first.size, first.rows, first.variables)
    for p in points:
        out.problems += p.problems
        out.failed += p.failed
        out.total += p.total
        for s in STAGES:
            out.seconds[s] += p.seconds[s]
    out.note = "; ".join(p.note for p in points if p.note)
    return out


def exponent(points: list[Point], stage: str | None = None) -> float | None:
    """The slope of log(seconds per problem) against log(rows), least squares."""
    xy = [(math.log(p.rows), math.log(p.per_problem(stage))) for p in points if p.problems and p.per_problem(stage) > 0]
    if len(xy) < 2:
        return None
    mx = sum(x for x, _ in xy) / len(xy)
    my = sum(y for _, y in xy) / len(xy)
    sxx = sum((x - mx) ** 2 for x, _ in xy)
    return sum((x - mx) * (y - my) for x, y in xy) / sxx if sxx else None


def markdown(points: list[Point]) -> str:
    """The table of seconds per problem by stage, and the fitted exponent per family."""
    head = "| family | rows | vars | problems | " + " | ".join(STAGES) + " | other | total s/problem | note |"
    lines = [head, "|" + "---|" * (len(STAGES) + 7)]
    for p in points:
        other = p.per_problem() - sum(p.per_problem(s) for s in STAGES)
        cells = " | ".join(f"{p.per_problem(s):.3f}" for s in STAGES) + f" | {other:.3f}"
        lines.append(f"| {p.family} ({KINDS.get(p.family, '')}) | {p.rows} | {p.variables} | {p.problems} | {cells} | "
                     f"{p.per_problem():.2f} | {p.note} |")
    lines.append("")
    for fam in dict.fromkeys(p.family for p in points):
        pts = [p for p in points if p.family == fam]
        total = exponent(pts)
        parts = ", ".join(f"{s} {e:.2f}" for s in STAGES if (e := exponent(pts, s)) is not None)
        lines.append(f"- {fam}: seconds per problem grow as rows^{total:.2f}" if total is not None
                     else f"- {fam}: too few points to fit")
        if parts:
            lines[-1] += f" (by stage: {parts})"
    return "\n".join(lines)
