"""A small, solver-independent description of an LP/MILP model.

Edits (sense flips, coefficient changes, bound updates) are plain data operations on
a :class:`ModelSpec`; :mod:`ordebug.solver.solve` turns a spec into a SCIP model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

INF = math.inf
VTYPES = ("C", "I", "B")


@dataclass
class Var:
    """A decision variable: bounds, type (C, I or B) and objective coefficient."""

    name: str
    lb: float = 0.0
    ub: float = INF
    vtype: str = "C"
    obj: float = 0.0


@dataclass
class Row:
    """A linear row ``lhs <= sum(coefs[v] * v) <= rhs`` (one side may be infinite)."""

    name: str
    coefs: dict[str, float]
    lhs: float = -INF
    rhs: float = INF

    @property
    def sense(self) -> str:
        """``<=``, ``>=``, ``=`` or ``range``."""
        if self.lhs == self.rhs:
            return "="
        if self.lhs == -INF:
            return "<="
        if self.rhs == INF:
            return ">="
        return "range"

    @property
    def bound(self) -> float:
        """The right-hand side as written for a one-sided or equality row."""
        return self.lhs if self.sense == ">=" else self.rhs

    @classmethod
    def make(cls, name: str, coefs: dict[str, float], sense: str, rhs: float) -> Row:
        """Build a row from ``sense`` (``<=``, ``>=`` or ``=``) and a right-hand side."""
        if sense == "<=":
            return cls(name, dict(coefs), -INF, float(rhs))
        if sense == ">=":
            return cls(name, dict(coefs), float(rhs), INF)
        if sense == "=":
            return cls(name, dict(coefs), float(rhs), float(rhs))
        raise ValueError(f"unknown sense {sense!r}")


@dataclass
class ModelSpec:
    """Variables and rows in a stable order, plus the objective sense."""

    name: str = "model"
    sense: str = "minimize"
    vars: dict[str, Var] = field(default_factory=dict)
    rows: dict[str, Row] = field(default_factory=dict)

    def copy(self) -> ModelSpec:
        """A deep copy (edits never touch the original)."""
        return ModelSpec(
            self.name,
            self.sense,
            {k: Var(v.name, v.lb, v.ub, v.vtype, v.obj) for k, v in self.vars.items()},
            {k: Row(r.name, dict(r.coefs), r.lhs, r.rhs) for k, r in self.rows.items()},
        )

    def add_var(self, var: Var) -> Var:
        if var.name in self.vars:
            raise ValueError(f"duplicate variable {var.name!r}")
        self.vars[var.name] = var
        return var

    def add_row(self, row: Row) -> Row:
        if row.name in self.rows:
            raise ValueError(f"duplicate constraint {row.name!r}")
        unknown = [v for v in row.coefs if v not in self.vars]
        if unknown:
            raise ValueError(f"constraint {row.name!r} uses unknown variables {unknown}")
        self.rows[row.name] = row
        return row

    def var_bounds(self, name: str) -> tuple[float, float]:
        """Effective bounds (a binary variable is clipped to [0, 1])."""
        v = self.vars[name]
        if v.vtype == "B":
            return max(v.lb, 0.0), min(v.ub, 1.0)
        return v.lb, v.ub

    @property
    def is_mip(self) -> bool:
        return any(v.vtype != "C" for v in self.vars.values())

    def move_row_after(self, name: str, anchor: str) -> None:
        """Reorder rows so that ``name`` comes right after ``anchor``."""
        row = self.rows.pop(name)
        items = list(self.rows.items())
        pos = [k for k, _ in items].index(anchor) + 1
        items.insert(pos, (name, row))
        self.rows = dict(items)


def fmt_num(x: float) -> str:
    """Shortest stable text for a number (``inf`` as ``inf``)."""
    if x == INF:
        return "inf"
    if x == -INF:
        return "-inf"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return format(x, ".10g")


def render_expr(coefs: dict[str, float]) -> str:
    """Algebraic text of a linear expression: ``2 x + y - 0.5 z``."""
    parts: list[str] = []
    for i, (name, c) in enumerate(coefs.items()):
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        term = name if mag == 1 else f"{fmt_num(mag)} {name}"
        if i == 0:
            parts.append(term if sign == "+" else f"- {term}")
        else:
            parts.append(f"{sign} {term}")
    return " ".join(parts) if parts else "0"


def render_row(row: Row) -> str:
    """``name: expr >= rhs`` (ranged rows as ``lhs <= expr <= rhs``)."""
    expr = render_expr(row.coefs)
    s = row.sense
    if s == "range":
        return f"{row.name}: {fmt_num(row.lhs)} <= {expr} <= {fmt_num(row.rhs)}"
    return f"{row.name}: {expr} {s} {fmt_num(row.bound)}"


def satisfies(spec: ModelSpec, values: dict[str, float], tol: float = 1e-6,
              rows: Iterable[str] | None = None, variables: Iterable[str] | None = None) -> bool:
    """Whether the point ``values`` meets every bound, integrality and row of ``spec`` (only
    ``rows`` and ``variables`` where given: the rest is known to hold)."""
    var_items = spec.vars.items() if variables is None else [(v, spec.vars[v]) for v in variables if v in spec.vars]
    row_items = spec.rows.values() if rows is None else [spec.rows[r] for r in rows if r in spec.rows]
    for name, v in var_items:
        x = values.get(name, 0.0)
        lb, ub = spec.var_bounds(name)
        if x < lb - tol * max(1.0, abs(lb)) or x > ub + tol * max(1.0, abs(ub)):
            return False
        if v.vtype != "C" and abs(x - round(x)) > tol:
            return False
    for r in row_items:
        act = sum(c * values.get(k, 0.0) for k, c in r.coefs.items())
        if r.lhs != -INF and act < r.lhs - tol * max(1.0, abs(r.lhs)):
            return False
        if r.rhs != INF and act > r.rhs + tol * max(1.0, abs(r.rhs)):
            return False
    return True


def family(name: str) -> str:
    """The family of a row or variable name: ``meet_demand(store_4)`` -> ``meet_demand``."""
    return name.split("(")[0]


def natural_key(name: str) -> tuple:
    """Sort key that orders ``t2`` before ``t10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def canonical_order(spec: ModelSpec, families: list[str] | None = None) -> ModelSpec:
    """``spec`` with its rows in natural name order (in place; returned for chaining), or, with
    ``families``, grouped by family in that order (natural order within a family; families not
    named last).

    Written models use this order, so no row's position tells how it got there; a benchmark
    record draws its family order per problem, so no family's name puts its rows first."""
    names = sorted(spec.rows, key=natural_key)
    if families is not None:
        rank = {f: i for i, f in enumerate(families)}
        names.sort(key=lambda r: rank.get(family(r), len(rank)))
    spec.rows = {k: spec.rows[k] for k in names}
    return spec


def _close(a: float, b: float, tol: float = 1e-9) -> bool:
    if INF in (abs(a), abs(b)):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(b))


def same_row(a: Row, b: Row) -> bool:
    """Same terms, coefficients and sides (1e-9 relative)."""
    return (set(a.coefs) == set(b.coefs) and all(_close(a.coefs[k], b.coefs[k]) for k in a.coefs)
            and _close(a.lhs, b.lhs) and _close(a.rhs, b.rhs))


def differs(a: ModelSpec, b: ModelSpec, el: tuple[str, str]) -> bool:
    """Whether element ``el`` (``("c", row)`` or ``("v", var)``) differs between two models
    (present in one only, other terms or sides, other bounds or type)."""
    kind, name = el
    if kind == "c":
        x, y = a.rows.get(name), b.rows.get(name)
        return (x is None) != (y is None) or (x is not None and y is not None and not same_row(x, y))
    u, w = a.vars.get(name), b.vars.get(name)
    if u is None or w is None or u.vtype != w.vtype:
        return True
    return not all(_close(x, y) for x, y in zip(a.var_bounds(name), b.var_bounds(name), strict=True))


def differing(a: ModelSpec, b: ModelSpec) -> set[tuple[str, str]]:
    """Elements where two models disagree."""
    els = [("c", r) for r in set(a.rows) | set(b.rows)] + [("v", v) for v in set(a.vars) | set(b.vars)]
    return {el for el in els if differs(a, b, el)}
