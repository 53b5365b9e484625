"""Single faults: how a modelling mistake is made, and the action that undoes it.

Every fault is expressed with the repair environment's own actions, so a recorded
ground-truth fix is always something an agent can perform.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from ordebug.env.actions import apply_edit, parse_action
from ordebug.models.base import BaseModel
from ordebug.solver.solve import SolveResult, solve
from ordebug.solver.spec import INF, ModelSpec, Row, fmt_num


@dataclass
class Fault:
    """One injected mistake: the edit that breaks the model and the edit that fixes it."""

    kind: str  # sense | vtype | coef | rule | bound | rhs
    root: dict[str, str]  # {"kind": "constraint"|"bound"|"variable", "name": ..., ["side": ...]}
    fix: str
    breaks: str | None = None  # an action text, or None when a row is added
    added_row: Row | None = None
    position: str | None = None  # add the row after this one
    note: str = ""

    def apply(self, spec: ModelSpec) -> None:
        if self.added_row is not None:
            spec.add_row(Row(self.added_row.name, dict(self.added_row.coefs), self.added_row.lhs, self.added_row.rhs))
            if self.position:
                spec.move_row_after(self.added_row.name, self.position)
        else:
            apply_edit(spec, parse_action(self.breaks or ""))

    def undo(self, spec: ModelSpec) -> None:
        apply_edit(spec, parse_action(self.fix))

    @property
    def element(self) -> tuple[str, ...]:
        r = self.root
        return (r["kind"], r["name"], r.get("side", ""))


@dataclass
class Context:
    """A base model, its optimum and the RNG that drives choices."""

    base: BaseModel
    optimum: SolveResult
    rng: random.Random
    activity: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        vals = self.optimum.values
        for name, row in self.base.spec.rows.items():
            self.activity[name] = sum(c * vals.get(v, 0.0) for v, c in row.coefs.items())

    def binding(self, row: str, tol: float = 1e-6) -> bool:
        r = self.base.spec.rows[row]
        act = self.activity[row]
        return r.sense == "=" or abs(act - r.bound) <= tol * max(1.0, abs(r.bound))

    def shuffled(self, items: list) -> list:
        items = list(items)
        self.rng.shuffle(items)
        return items


def nice(x: float) -> float:
    """Round to a number a modeller would type (integers, or one decimal below 10)."""
    return float(round(x)) if abs(x) >= 10 else round(x, 1)


def sense_faults(ctx: Context) -> Iterator[Fault]:
    """A: a ``<=`` written as ``>=`` or the reverse."""
    for r in ctx.shuffled(ctx.base.rows_with("capacity", "requirement", "rule")):
        if ctx.base.spec.rows[r].sense in ("<=", ">="):
            act = f"FLIP_SENSE({r})"
            yield Fault("sense", {"kind": "constraint", "name": r}, act, breaks=act)


def vtype_faults(ctx: Context) -> Iterator[Fault]:
    """B: a continuous quantity declared integer."""
    spec = ctx.base.spec
    hinted = [v for v in ctx.base.integrality_candidates if spec.vars[v].vtype == "C"]
    frac = [
        v
        for v, x in ctx.optimum.values.items()
        if spec.vars[v].vtype == "C" and abs(x - round(x)) > 1e-6 and v not in hinted
    ]
    for v in ctx.shuffled(hinted) + ctx.shuffled(frac):
        yield Fault("vtype", {"kind": "variable", "name": v}, f"SET_VAR_TYPE({v}, C)", breaks=f"SET_VAR_TYPE({v}, I)")


SHRINK = ("sign", "x0.1", "x0.001", "drop")
GROW = ("x10",)


def _slips(sense: str, c: float) -> tuple[str, ...]:
    """Slips that make a row harder to satisfy (the ones that can break a model)."""
    if sense == "=":
        return SHRINK + GROW
    if (sense == ">=") == (c > 0):
        return SHRINK
    return GROW + ("sign",)


def coef_faults(ctx: Context, roles: tuple[str, ...]) -> Iterator[Fault]:
    """C/F: a dropped term, a flipped sign or a unit slip in one coefficient."""
    spec = ctx.base.spec
    rows = [r for r in ctx.base.rows_with(*roles) if ctx.binding(r)]
    for r in ctx.shuffled(rows):
        row = spec.rows[r]
        terms = list(row.coefs.items())
        if len(terms) < 2:
            continue
        for v, c in ctx.shuffled(terms)[:4]:
            for slip in ctx.shuffled(list(_slips(row.sense, c)))[:2]:
                wrong = {"sign": -c, "x10": 10 * c, "x0.1": c / 10, "x0.001": c / 1000, "drop": 0.0}[slip]
                yield Fault(
                    "coef",
                    {"kind": "constraint", "name": r},
                    f"SET_COEF({r}, {v}, {fmt_num(c)})",
                    breaks=f"SET_COEF({r}, {v}, {fmt_num(wrong)})",
                    note=slip,
                )


def rhs_faults(ctx: Context, roles: tuple[str, ...]) -> Iterator[Fault]:
    """I/F: a wrong right-hand side (unit slip, transposed digits, a constant that should be 0)."""
    spec = ctx.base.spec
    for r in ctx.shuffled([r for r in ctx.base.rows_with(*roles) if ctx.binding(r)]):
        row = spec.rows[r]
        b = row.bound
        if b == 0:
            # a constant that should be 0, sized like the row's own quantities
            size = max((abs(ctx.optimum.values.get(v, 0.0) * c) for v, c in row.coefs.items()), default=1.0)
            options = [nice(size), -nice(size), nice(2 * size + 10), -nice(2 * size + 10)]
        elif row.sense == ">=" or (row.sense == "=" and ctx.rng.random() < 0.5):
            options = [10 * b, nice(b * 1.9)]
        else:
            options = [nice(b / 10), nice(b * 0.45)]
        for wrong in options:
            if wrong == b:
                continue
            yield Fault(
                "rhs",
                {"kind": "constraint", "name": r},
                f"UPDATE_RHS({r}, {fmt_num(b)})",
                breaks=f"UPDATE_RHS({r}, {fmt_num(wrong)})",
            )


def bound_faults(ctx: Context) -> Iterator[Fault]:
    """H: a unit slip on a variable bound that binds at the optimum.

    Only binding bounds qualify: relaxing a slipped bound whose original value did not
    bind would give back the optimum, so deletion would pass for a diagnosis."""
    spec = ctx.base.spec
    cands = []
    for v, x in ctx.optimum.values.items():
        var = spec.vars[v]
        if var.vtype == "B":
            continue
        if var.ub not in (INF, 0) and abs(x - var.ub) <= 1e-6 * max(1, abs(var.ub)):
            cands.append((v, "upper"))
        elif var.lb not in (-INF, 0) and abs(x - var.lb) <= 1e-6 * max(1, abs(var.lb)):
            cands.append((v, "lower"))
    for v, side in ctx.shuffled(cands):
        var = spec.vars[v]
        fix = f"UPDATE_BOUNDS({v}, {fmt_num(var.lb)}, {fmt_num(var.ub)})"
        if side == "upper":
            for w in (nice(var.ub / 10), nice(var.ub / 100)):
                if var.lb <= w < var.ub:
                    yield Fault("bound", {"kind": "bound", "name": v, "side": "upper"}, fix,
                                breaks=f"UPDATE_BOUNDS({v}, {fmt_num(var.lb)}, {fmt_num(w)})")
        else:
            w = nice(10 * var.lb)
            if w <= var.ub:
                yield Fault("bound", {"kind": "bound", "name": v, "side": "lower"}, fix,
                            breaks=f"UPDATE_BOUNDS({v}, {fmt_num(w)}, {fmt_num(var.ub)})")


def rule_faults(ctx: Context) -> Iterator[Fault]:
    """D: a business rule of the family, stated with a value the model cannot meet."""
    spec = ctx.base.spec
    for t in ctx.shuffled(ctx.base.rule_templates):
        if t.name in spec.rows:
            continue
        probe = spec.copy()
        for v in probe.vars.values():
            v.obj = 0.0
        for v, c in t.coefs.items():
            probe.vars[v].obj = c
        probe.sense = "maximize" if t.sense == ">=" else "minimize"
        res = solve(probe)
        if not res.optimal or res.objective is None:
            continue
        reach = res.objective
        if t.sense == ">=":
            rhs = float(math.ceil(max(reach * 1.25, reach + 2)))
        else:
            rhs = float(math.floor(min(reach * 0.75, reach - 2)))
            if rhs < 1:
                continue
        row = Row.make(t.name, t.coefs, t.sense, rhs)
        siblings = [r for r in spec.rows if r.split("(")[0] == t.name.split("(")[0]] or list(spec.rows)
        yield Fault(
            "rule",
            {"kind": "constraint", "name": t.name},
            f"DROP_CONSTRAINT({t.name})",
            added_row=row,
            position=ctx.rng.choice(siblings),
        )
