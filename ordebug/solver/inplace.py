"""Feasibility of one model under many small edits, on a single SCIP instance.

The generator tries hundreds of one-entry changes of a base model per problem (a right-hand
side, a coefficient, an upper bound, one added row; integrality changes go through a copy,
see :class:`Edit`) and asks only whether each leaves the model feasible. Building a SCIP
model costs more than that answer on large models (a 420-row inventory model: 4 ms to
build, 7 ms to decide), so :class:`InPlaceModel` builds the base once, makes each edit in
place, solves, and undoes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ordebug.solver.solve import SolverTimeout, _scip, feasibility_of, linear, to_scip
from ordebug.solver.spec import ModelSpec, Row


@dataclass(frozen=True)
class Edit:
    """One change of the base model: ``rhs`` (row, value: the side its sense bounds),
    ``coef`` (row, var, value), ``ub`` (var, value) or ``add`` (a row). No change of a
    variable's type: after a check with one made and undone (``chgVarType`` and back), SCIP 10
    called the next check's feasible model infeasible (seen on a transportation model)."""

    kind: str
    name: str = ""
    var: str = ""
    value: float = 0.0
    row: Row | None = None


class InPlaceModel:
    """The base model built once, zero objective; :meth:`feasible` answers for edits of it.

    Each check starts from the untransformed problem, as a freshly built one would; an
    instance that raised (SCIP's LP solver can) must not be used again."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.m = to_scip(spec, objective=False)
        self.cons = {c.name: c for c in self.m.getConss()}
        self.vars = {v.name: v for v in self.m.getVars()}

    def feasible(self, edits: list[Edit]) -> bool:
        """Whether the base model with ``edits`` has a point; raises SolverTimeout when SCIP
        cannot decide, ValueError for an edit the base has no place for."""
        undo: list[Callable[[], None]] = []
        try:
            for e in edits:
                undo.append(self._apply(e))
            self.m.optimize()
            status = self.m.getStatus()
        finally:
            self.m.freeTransform()
            for u in reversed(undo):
                u()
        verdict = feasibility_of(status)
        if verdict is None:
            raise SolverTimeout(f"feasibility check of {self.spec.name!r} ended with status {status!r}")
        return verdict

    def _apply(self, e: Edit) -> Callable[[], None]:
        m = self.m
        if e.kind == "rhs":
            row, cons = self.spec.rows[e.name], self.cons[e.name]
            if row.sense == "range":
                raise ValueError(f"{e.name} is a ranged row")
            lhs, rhs = _scip(row.lhs), _scip(row.rhs)
            if row.sense in ("<=", "="):
                m.chgRhs(cons, e.value)
            if row.sense in (">=", "="):
                m.chgLhs(cons, e.value)

            def undo_rhs() -> None:
                m.chgLhs(cons, lhs)
                m.chgRhs(cons, rhs)

            return undo_rhs
        if e.kind == "coef":
            cons, var = self.cons[e.name], self.vars[e.var]
            old = self.spec.rows[e.name].coefs[e.var]
            m.chgCoefLinear(cons, var, e.value)
            return lambda: m.chgCoefLinear(cons, var, old)
        if e.kind == "ub":
            var, old = self.vars[e.name], _scip(self.spec.var_bounds(e.name)[1])
            m.chgVarUb(var, e.value)
            return lambda: m.chgVarUb(var, old)
        if e.kind == "add":
            assert e.row is not None
            cons = m.addCons(linear(e.row, self.vars), name=e.row.name)
            return lambda: m.delCons(cons)
        raise ValueError(f"unknown edit kind {e.kind!r}")
