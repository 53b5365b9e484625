"""Build SCIP models from specs and solve them."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyscipopt as ps

from ordebug.solver.spec import INF, ModelSpec, Row, Var

SCIP_INF = 1e20
TIME_LIMIT_S = 60.0


def _scip(x: float) -> float:
    return SCIP_INF if x == INF else (-SCIP_INF if x == -INF else x)


_POOL = threading.local()


def _new_model() -> ps.Model:
    m = ps.Model()
    m.hideOutput()
    m.setParam("limits/gap", 0.0)
    m.setParam("limits/absgap", 0.0)
    return m


@contextmanager
def pooled_model() -> Iterator[ps.Model]:
    """A SCIP instance from a per-thread pool, emptied for a new problem.

    Creating a SCIP instance (default plugins) costs ~1.5 ms; emptying one ~0.1 ms."""
    free: list[ps.Model] = _POOL.__dict__.setdefault("free", [])
    m = free.pop() if free else _new_model()
    try:
        yield m
    finally:
        m.freeProb()
        free.append(m)


def to_scip(
    spec: ModelSpec,
    *,
    objective: bool = True,
    rows: Iterable[str] | None = None,
    free_bounds: Iterable[tuple[str, str]] = (),
    time_limit: float = TIME_LIMIT_S,
    model: ps.Model | None = None,
    node_limit: int | None = None,
) -> ps.Model:
    """A SCIP model of ``spec``; ``rows`` restricts the rows, ``free_bounds`` drops
    the given ``(variable, "lower"|"upper")`` bounds. ``model``: an empty instance to fill;
    ``node_limit``: branch-and-bound nodes (a work limit: the answer is the same on any machine)."""
    freed = set(free_bounds)
    if model is None:
        m = _new_model()
    else:
        m = model
        m.createProbBasic(spec.name)
    m.setParam("limits/time", time_limit)
    m.setParam("limits/nodes", -1 if node_limit is None else node_limit)
    m.setParam("limits/gap", 0.0)
    m.setParam("limits/absgap", 0.0)
    names = list(spec.rows) if rows is None else list(rows)
    used: set[str] | None = None
    if rows is not None:
        used = {v for r in names for v in spec.rows[r].coefs}
    svars = {}
    for v in spec.vars.values():
        if used is not None and v.name not in used:
            continue
        lb, ub = spec.var_bounds(v.name)
        if (v.name, "lower") in freed:
            lb = -INF
        if (v.name, "upper") in freed:
            ub = INF
        vtype = {"C": "C", "I": "I", "B": "I"}[v.vtype]
        svars[v.name] = m.addVar(
            name=v.name, vtype=vtype, lb=_scip(lb), ub=_scip(ub), obj=v.obj if objective else 0.0
        )
    for name in names:
        m.addCons(linear(spec.rows[name], svars), name=name)
    if spec.sense == "maximize":
        m.setMaximize()
    return m


def linear(r: Row, svars: dict[str, ps.Variable]) -> ps.scip.ExprCons:
    """The SCIP constraint of row ``r`` over the SCIP variables ``svars``."""
    expr = ps.quicksum(c * svars[v] for v, c in r.coefs.items())
    if r.lhs == r.rhs:
        return expr == r.rhs
    if r.lhs == -INF:
        return expr <= _scip(r.rhs)
    if r.rhs == INF:
        return expr >= _scip(r.lhs)
    return r.lhs <= (expr <= r.rhs)


@dataclass
class SolveResult:
    """Status (``optimal``, ``infeasible``, ``unbounded``, ``timelimit``, ...) and optimum."""

    status: str
    objective: float | None = None
    values: dict[str, float] = field(default_factory=dict)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def solve(spec: ModelSpec, *, with_values: bool = False, **kwargs: object) -> SolveResult:
    """Solve to optimality (gap 0). ``inforunbd`` is resolved into one of the two."""
    with pooled_model() as pm:
        m = to_scip(spec, model=pm, **kwargs)  # type: ignore[arg-type]
        m.optimize()
        status = m.getStatus()
        if status == "optimal":
            values = {}
            if with_values:
                sol = m.getBestSol()
                values = {v.name: m.getSolVal(sol, v) for v in m.getVars()}
            return SolveResult("optimal", float(m.getObjVal()), values)
    if status == "inforunbd":
        status = "infeasible" if not is_feasible(spec, **kwargs) else "unbounded"
    return SolveResult(status)


class SolverTimeout(RuntimeError):
    """A feasibility check hit its time limit."""


def feasibility_of(status: str) -> bool | None:
    """SCIP status of a zero-objective solve -> feasible (True), infeasible (False), undecided (None)."""
    if status in ("optimal", "unbounded"):
        return True
    if status == "infeasible":
        return False
    return None


def is_feasible(spec: ModelSpec, **kwargs: object) -> bool:
    """Whether any point satisfies every row, bound and integrality (zero objective).

    Raises SolverTimeout when SCIP cannot decide within the time limit."""
    kwargs = {k: v for k, v in kwargs.items() if k != "objective"}
    with pooled_model() as pm:
        m = to_scip(spec, objective=False, model=pm, **kwargs)  # type: ignore[arg-type]
        m.optimize()
        status = m.getStatus()
    feasible = feasibility_of(status)
    if feasible is None:
        raise SolverTimeout(f"feasibility check of {spec.name!r} ended with status {status!r}")
    return feasible


def is_solver_failure(exc: BaseException) -> bool:
    """Whether an exception is SCIP giving up (``SCIP: error in LP solver!`` and the like)."""
    return type(exc) is Exception and str(exc).startswith("SCIP")


FAITHFUL_TOL = 1e-4  # relative: a repaired optimum this close to the original counts as faithful


@dataclass(frozen=True)
class Verdict:
    """What the solver says about a repaired model against the original optimum."""

    feasible: bool
    faithful: bool
    objective: float | None


def verdict(res: SolveResult, original: float | None, rel_tol: float = FAITHFUL_TOL) -> Verdict:
    """The one feasibility/faithfulness verdict used by the benchmark, the environment and metrics.

    Feasible: optimal or unbounded. Faithful: optimal with the original objective within
    ``rel_tol`` relative (never when the original objective is unknown)."""
    feasible = res.status in ("optimal", "unbounded")
    faithful = res.optimal and original is not None and same_objective(res.objective, original, rel_tol)
    return Verdict(feasible, bool(faithful), res.objective if res.optimal else None)


def same_objective(a: float | None, b: float | None, rel_tol: float) -> bool:
    """Relative comparison with an absolute floor of 1e-9 near zero."""
    if a is None or b is None:
        return False
    return abs(a - b) <= rel_tol * max(1.0, abs(b))


def least_violation(spec: ModelSpec) -> dict[str, tuple[float, float]] | None:
    """Row activities at a point that minimises the total row violation (bounds and
    integrality kept): ``{row: (activity, violation)}``; None if even that fails."""
    elastic = spec.copy()
    for v in elastic.vars.values():
        v.obj = 0.0
    elastic.sense = "minimize"
    names = list(spec.rows)
    for i, name in enumerate(names):
        up, down = f"__up{i}", f"__down{i}"
        elastic.vars[up] = Var(up, 0.0, INF, "C", 1.0)
        elastic.vars[down] = Var(down, 0.0, INF, "C", 1.0)
        elastic.rows[name].coefs[up] = 1.0
        elastic.rows[name].coefs[down] = -1.0
    res = solve(elastic, with_values=True)
    if not res.optimal:
        return None
    out = {}
    for i, name in enumerate(names):
        row = spec.rows[name]
        act = sum(c * res.values.get(v, 0.0) for v, c in row.coefs.items())
        out[name] = (act, res.values.get(f"__up{i}", 0.0) + res.values.get(f"__down{i}", 0.0))
    return out
