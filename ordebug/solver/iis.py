"""Irreducible infeasible subsystems over constraints *and* variable bounds.

SCIP's ``generateIIS()`` finds the constraints; it never lists bounds (its sub-model
keeps every bound), so a deletion filter over the bounds of the IIS rows' variables
finishes the job. Dropping bounds only weakens the system, so the rows stay irreducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordebug.solver.errors import FeasibleModelError
from ordebug.solver.solve import SCIP_INF, feasibility_of, is_feasible, to_scip
from ordebug.solver.spec import INF, ModelSpec


@dataclass
class Iis:
    """Constraint names (in model order) and bounds as ``(variable, side)`` pairs."""

    constraints: list[str] = field(default_factory=list)
    bounds: list[tuple[str, str]] = field(default_factory=list)
    certain: bool = True  # False when a check timed out and a member was kept to be safe

    @property
    def size(self) -> int:
        return len(self.constraints) + len(self.bounds)

    def to_json(self) -> dict[str, list]:
        return {
            "constraints": list(self.constraints),
            "bounds": [{"variable": v, "side": s} for v, s in self.bounds],
        }

    @classmethod
    def from_json(cls, data: dict) -> Iis:
        return cls(list(data["constraints"]), [(b["variable"], b["side"]) for b in data["bounds"]])


def _row_deletion_filter(spec: ModelSpec, rows: list[str]) -> list[str]:
    keep = list(rows)
    for r in list(rows):
        trial = [x for x in keep if x != r]
        if not is_feasible(spec, rows=trial):
            keep = trial
    return keep


BOUND_CHECK_LIMIT_S = 2.0


def compute_iis(
    spec: ModelSpec, bound_check_limit: float = BOUND_CHECK_LIMIT_S, stop_when_uncertain: bool = False
) -> Iis:
    """An IIS of an infeasible spec; raises FeasibleModelError for a feasible one.

    A bound check that SCIP cannot decide within ``bound_check_limit`` seconds (freed
    integer bounds can make a MILP hard) keeps that bound and marks the IIS uncertain;
    with ``stop_when_uncertain`` the filter stops right there (callers that reject
    uncertain results need not pay for the rest)."""
    # a fresh SCIP instance: a pooled one finds history-dependent IISs (tested: the recorded
    # IIS must be what the environment computes again)
    m = to_scip(spec, objective=False)
    iis = m.generateIIS()
    found = {c.name for c in iis.getSubscip().getConss()}
    infeasible, irreducible = iis.isSubscipInfeasible(), iis.isSubscipIrreducible()
    rows = [r for r in spec.rows if r in found]
    if not infeasible or is_feasible(spec, rows=rows):
        # SCIP returns every row for a feasible model; otherwise fall back to a filter
        if is_feasible(spec):
            raise FeasibleModelError(f"model {spec.name!r} is feasible: it has no IIS")
        rows = _row_deletion_filter(spec, list(spec.rows))
    elif not irreducible:
        rows = _row_deletion_filter(spec, rows)
    support = []
    seen = set()
    for r in rows:
        for v in spec.rows[r].coefs:
            if v not in seen:
                seen.add(v)
                support.append(v)
    order = {v: i for i, v in enumerate(spec.vars)}
    support.sort(key=order.__getitem__)
    kept, certain = _bound_filter(spec, rows, support, bound_check_limit, stop_when_uncertain)
    return Iis(rows, kept, certain)


def _bound_filter(
    spec: ModelSpec, rows: list[str], support: list[str], limit: float, stop_when_uncertain: bool = False
) -> tuple[list[tuple[str, str]], bool]:
    """Deletion filter over the bounds of ``support``, on one reused SCIP model.

    Bounds of continuous variables are freed in chunks (halving a chunk only when freeing
    it all restores feasibility), so the usual case of few needed bounds costs a handful
    of solves; integer variables' bounds are tried one at a time.
    A bound is kept only when freeing it alone, given everything freed before, makes the
    rows feasible; later frees only weaken the system, so the result is irreducible."""
    # create variables with free bounds and set them afterwards: SCIP would otherwise turn
    # a [0, 1] integer into a binary whose bounds can no longer be widened. A fresh SCIP
    # instance: emptying a pooled one after these bound changes crashed SCIP (segfault).
    freed_all = [(v, side) for v in support for side in ("lower", "upper")]
    m = to_scip(spec, objective=False, rows=rows, time_limit=limit, free_bounds=freed_all)
    svars = {v.name: v for v in m.getVars()}
    value = {}
    for v in support:
        lb, ub = spec.var_bounds(v)
        if lb != -INF:
            value[v, "lower"] = lb
        if ub != INF:
            value[v, "upper"] = ub
    candidates = list(value)
    freed: set[tuple[str, str]] = set()
    kept: list[tuple[str, str]] = []
    uncertain = False

    def feasible_without(extra: list[tuple[str, str]]) -> bool | None:
        gone = freed | set(extra)
        m.freeTransform()
        for (v, side), val in value.items():
            x = -SCIP_INF if side == "lower" else SCIP_INF
            if (v, side) not in gone:
                x = val
            (m.chgVarLb if side == "lower" else m.chgVarUb)(svars[v], x)
        m.optimize()
        return feasibility_of(m.getStatus())

    def visit(chunk: list[tuple[str, str]]) -> None:
        nonlocal uncertain
        if uncertain and stop_when_uncertain:
            return
        res = feasible_without(chunk)
        if res is False:
            freed.update(chunk)
        elif len(chunk) == 1:
            kept.append(chunk[0])
            uncertain = uncertain or res is None
        else:
            half = len(chunk) // 2
            visit(chunk[:half])
            visit(chunk[half:])

    # chunks only over continuous variables: freeing many integer bounds at once makes
    # unbounded integer programs that SCIP struggles to prove infeasible
    continuous = [b for b in candidates if spec.vars[b[0]].vtype == "C"]
    if continuous:
        visit(continuous)
    for b in candidates:
        if spec.vars[b[0]].vtype != "C":
            visit([b])
    order = {b: i for i, b in enumerate(candidates)}
    return sorted(kept, key=order.__getitem__), not uncertain


def check_irreducible(spec: ModelSpec, iis: Iis) -> tuple[bool, bool]:
    """(infeasible, irreducible) of the subsystem ``iis`` (rows + listed bounds only)."""
    support = {v for r in iis.constraints for v in spec.rows[r].coefs}
    all_bounds = [(v, s) for v in support for s in ("lower", "upper")]
    listed = set(iis.bounds)
    unlisted = [b for b in all_bounds if b not in listed]
    infeasible = not is_feasible(spec, rows=iis.constraints, free_bounds=unlisted)
    irreducible = True
    for r in iis.constraints:
        rest = [x for x in iis.constraints if x != r]
        if not is_feasible(spec, rows=rest, free_bounds=unlisted):
            irreducible = False
    for b in iis.bounds:
        if not is_feasible(spec, rows=iis.constraints, free_bounds=[*unlisted, b]):
            irreducible = False
    return infeasible, irreducible


__all__ = ["Iis", "check_irreducible", "compute_iis", "INF"]
