"""A second LP solver (HiGHS, through ``highspy``) for the feasibility checks SCIP cannot
decide: when SCIP's LP solver fails on a subsystem of continuous rows, HiGHS's dual simplex
gives the verdict instead, so an IIS is not marked uncertain for a failure of one solver.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ordebug.solver.lpformat import redirect_fds
from ordebug.solver.spec import INF, ModelSpec

try:  # installed with the package; tolerated missing (the check then stays undecided)
    import highspy
    import numpy as np
except ImportError:  # pragma: no cover - exercised only without highspy
    highspy = None


FEASTOL = 1e-6  # SCIP's feasibility tolerance (relative to a side of size 1 or more)

# tried in turn until one decides: dual simplex after presolve, simplex without presolve (it
# decided every check the first left "unknown" on Netlib's qual), interior point
TRIES: list[dict[str, object]] = [
    {"solver": "simplex", "simplex_strategy": 1},
    {"solver": "simplex", "presolve": "off"},
    {"solver": "simplex", "presolve": "off", "primal_feasibility_tolerance": 1e-10,
     "dual_feasibility_tolerance": 1e-10},
    {"solver": "ipm"},
]


def available() -> bool:
    return highspy is not None


def lp_feasible(spec: ModelSpec, rows: Iterable[str], bounds: dict[tuple[str, str], float]) -> bool | None:
    """Whether ``rows`` of ``spec`` hold together with ``bounds`` (``(var, side) -> value``,
    every variable of the rows; infinite for a side that is off), integrality ignored. None
    when HiGHS is missing or does not decide either."""
    if highspy is None:
        return None
    rows = list(rows)
    cols = {v: i for i, v in enumerate(dict.fromkeys(v for r in rows for v in spec.rows[r].coefs))}
    for settings in TRIES:
        verdict = _run(spec, rows, cols, bounds, settings)
        if verdict is not None:
            return verdict
    return None


def _run(spec: ModelSpec, rows: list[str], cols: dict[str, int], bounds: dict[tuple[str, str], float],
         settings: dict[str, object]) -> bool | None:
    with open(os.devnull, "w") as null, redirect_fds(null.fileno(), (1,)):
        h = highspy.Highs()  # prints a banner on stdout when made
    h.setOptionValue("output_flag", False)
    for k, v in settings.items():
        h.setOptionValue(k, v)
    inf = highspy.kHighsInf

    def side(x: float) -> float:
        return inf if x >= INF else -inf if x <= -INF else x

    for v in cols:
        h.addVar(side(bounds.get((v, "lower"), -INF)), side(bounds.get((v, "upper"), INF)))
    for name in rows:
        r = spec.rows[name]
        idx = np.array([cols[v] for v in r.coefs], dtype=np.int32)
        val = np.array(list(r.coefs.values()), dtype=np.float64)
        h.addRow(side(r.lhs), side(r.rhs), len(idx), idx, val)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        # a solution is taken only where it holds to SCIP's absolute tolerance: on badly
        # scaled systems HiGHS can return points at 1e10 that miss rows by 1e-4, which a
        # relative test passes and SCIP calls infeasible
        return True if _violation(spec, rows, cols, bounds, h.getSolution().col_value) <= FEASTOL else None
    if status == highspy.HighsModelStatus.kUnbounded:
        return True
    if status == highspy.HighsModelStatus.kInfeasible:
        return False
    return None


def _violation(spec: ModelSpec, rows: list[str], cols: dict[str, int], bounds: dict[tuple[str, str], float],
               x: list[float]) -> float:
    """The largest violation of a row or bound at ``x``, relative to the side's size (at least 1)."""
    worst = 0.0
    for name in rows:
        r = spec.rows[name]
        a = sum(c * x[cols[v]] for v, c in r.coefs.items())
        if r.lhs > -INF:
            worst = max(worst, (r.lhs - a) / max(1.0, abs(r.lhs)))
        if r.rhs < INF:
            worst = max(worst, (a - r.rhs) / max(1.0, abs(r.rhs)))
    for (v, side), b in bounds.items():
        if v in cols and abs(b) < INF:
            worst = max(worst, ((b - x[cols[v]]) if side == "lower" else (x[cols[v]] - b)) / max(1.0, abs(b)))
    return worst
