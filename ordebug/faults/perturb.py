"""Conflicts drawn the same way for every error type: one entry of a feasible model's data
sheet moved to another natural value (or an entity listed, or a fixed quantity declared
whole), so that the model built from it is infeasible.

The draw never depends on the error type. Which member of the conflict is then called the
fault is chosen afterwards (:mod:`ordebug.faults.labels`), uniformly among the members a
type can hold, so nothing in the model says which one it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ordebug.faults.changes import SheetChange, build, harder, natural_values
from ordebug.faults.fault import Context, single_use
from ordebug.faults.labels import MAX_ENTRY_USES
from ordebug.models.datasheet import WHOLE_LOTS
from ordebug.solver.inplace import Edit, InPlaceModel
from ordebug.solver.solve import is_feasible, solve
from ordebug.solver.spec import INF, ModelSpec, Row

# how often each kind of conflict is drawn
WEIGHTS = {"rhs": 3.0, "bound": 2.0, "coef": 3.0, "balance": 1.0, "list": 1.5, "whole": 1.5}
TRIES = 6  # elements tried per draw


def _whole_lot(ctx: Context, change: SheetChange) -> ModelSpec | None:
    """The base model with the one variable a whole-lots listing makes integer (None when
    ``change`` is not such a listing, or it names no single variable)."""
    if change.kind != "value" or not change.ref.startswith(f"{WHOLE_LOTS}["):
        return None
    key = change.ref[len(WHOLE_LOTS) + 1:-1]
    hits = [v for v, k in ctx.base.lots.items() if k == key]
    if len(hits) != 1:
        return None
    out = ctx.base.spec.copy()
    out.vars[hits[0]].vtype = "I"
    return out


def _edits(ctx: Context, change: SheetChange) -> list[Edit] | None:
    """The edits of the base model that the sheet with ``change`` builds, where the change
    touches only values the base records a source for (or lists a rule); None otherwise
    (the sheet is then rebuilt)."""
    base, ref = ctx.base, change.ref
    if change.kind != "value" or ref.startswith(f"{WHOLE_LOTS}["):
        return None
    v = float(change.value)  # type: ignore[arg-type]
    template = next((t for t in base.rule_templates if t.table and f"{t.table}[{t.key}]" == ref), None)
    if template is not None:
        return [Edit("add", row=Row.make(template.name, template.coefs, template.sense, v))]
    hits = [k for k, src in base.sources.items() if src == ref]
    if not hits:
        return None
    out = []
    for k in hits:
        kind, _, rest = k.partition(":")
        if kind == "rhs":
            out.append(Edit("rhs", rest, value=v))
        elif kind == "coef":
            row, _, var = rest.partition(":")
            sign = 1.0 if base.spec.rows[row].coefs[var] > 0 else -1.0
            out.append(Edit("coef", row, var, sign * v))
        elif kind == "ub":
            out.append(Edit("ub", rest, value=v))
        else:
            return None
    return out


def _breaks(ctx: Context, change: SheetChange) -> bool:
    """Whether the model built from the sheet with ``change`` is infeasible (decided on the
    context's :class:`InPlaceModel` where the change is a few edits of the base model)."""
    try:
        lot = _whole_lot(ctx, change)
        if lot is not None:
            return not is_feasible(lot)
        edits = _edits(ctx, change)
        if edits is None:
            return not is_feasible(build(ctx.base.sheet, [change]).spec)
        if ctx.inplace is None:
            ctx.inplace = InPlaceModel(ctx.base.spec)
        try:
            return not ctx.inplace.feasible(edits)
        except Exception:
            ctx.inplace = None  # (SCIP's LP solver can fail: the next check builds afresh)
            raise
    except (ValueError, KeyError):
        return False


def _value(ctx: Context, ref: str, direction: int, most: int = 1) -> Iterator[SheetChange]:
    found = single_use(ctx.base, ref, ctx.uses, most=most)
    if found is None:
        return
    table, key = found
    for v in natural_values(table, table.num(*key.split(",")), direction, ctx.rng, k=3):
        yield SheetChange("value", ref, v)


def _row_values(ctx: Context, roles: tuple[str, ...]) -> Iterator[SheetChange]:
    spec, src = ctx.base.spec, ctx.base.sources
    for r in ctx.tight_first(ctx.base.rows_with(*roles))[:TRIES]:
        yield from _value(ctx, src.get(f"rhs:{r}", ""), harder(spec.rows[r].sense))


def _coef_values(ctx: Context) -> Iterator[SheetChange]:
    spec, src = ctx.base.spec, ctx.base.sources
    rows = ctx.tight_first(ctx.base.rows_with("requirement", "capacity", "link", "rule", "definition", "balance"))
    for r in rows[:TRIES]:
        row = spec.rows[r]
        for v in ctx.shuffled(list(row.coefs))[:3]:
            ref = src.get(f"coef:{r}:{v}", "")
            if single_use(ctx.base, ref, ctx.uses, most=MAX_ENTRY_USES):
                yield from _value(ctx, ref, harder(row.sense, coef=True, sign=row.coefs[v]), most=MAX_ENTRY_USES)


def _bound_values(ctx: Context) -> Iterator[SheetChange]:
    spec, src = ctx.base.spec, ctx.base.sources
    bound = [v for v, var in spec.vars.items() if var.vtype != "B" and var.ub != INF]
    binding = [v for v in bound
               if abs(ctx.optimum.values.get(v, 0.0) - spec.vars[v].ub) <= 1e-6 * max(1, spec.vars[v].ub)]
    order = ctx.shuffled(binding) + ctx.shuffled([v for v in bound if v not in binding])
    for v in order[:TRIES]:
        yield from _value(ctx, src.get(f"ub:{v}", ""), -1)


def _listings(ctx: Context) -> Iterator[SheetChange]:
    """An entity listed in a rule's table with a value the rest of the model cannot meet (on
    the table's grid, inside its range where the conflict allows)."""
    spec = ctx.base.spec
    for t in ctx.shuffled([t for t in ctx.base.rule_templates if t.table])[:TRIES]:
        probe = spec.copy()
        for var in probe.vars.values():
            var.obj = 0.0
        for v, c in t.coefs.items():
            probe.vars[v].obj = c
        up = t.sense == ">="
        probe.sense = "maximize" if up else "minimize"
        res = solve(probe)
        if not res.optimal or res.objective is None:
            continue
        table = ctx.base.sheet.tables[t.table]
        for v in natural_values(table, max(res.objective, 1.0), 1 if up else -1, ctx.rng, k=3):
            if (v > res.objective + 1e-6) if up else (v < res.objective - 1e-6):
                yield SheetChange("value", f"{t.table}[{t.key}]", v)


def _whole(ctx: Context) -> Iterator[SheetChange]:
    """A quantity listed as coming in whole units where a fixed total with a fraction then has
    no continuous member left."""
    sheet = ctx.base.sheet
    if WHOLE_LOTS not in sheet.tables:
        return
    listed = sheet.tables[WHOLE_LOTS].values
    for row in ctx.shuffled(list(ctx.base.pinned)):
        if math.isclose(ctx.base.spec.rows[row].rhs, round(ctx.base.spec.rows[row].rhs)):
            continue
        open_ = [k for v in ctx.base.pinned[row] if (k := ctx.base.lots.get(v)) and k not in listed]
        if len(open_) == 1:
            yield SheetChange("value", f"{WHOLE_LOTS}[{open_[0]}]", "yes")


def conflicts(ctx: Context, kind: str) -> Iterator[SheetChange]:
    streams = {"rhs": lambda: _row_values(ctx, ("requirement", "capacity", "rule")),
               "balance": lambda: _row_values(ctx, ("definition", "balance")),
               "coef": lambda: _coef_values(ctx), "bound": lambda: _bound_values(ctx),
               "list": lambda: _listings(ctx), "whole": lambda: _whole(ctx)}
    for change in streams[kind]():
        if _breaks(ctx, change):
            yield change


def draw(ctx: Context, avoid: set[str] = frozenset()) -> SheetChange | None:  # type: ignore[assignment]
    """One conflict: kinds in an order drawn by :data:`WEIGHTS` (without replacement), the
    first change of the first kind that makes the model infeasible; None when none does."""
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    while kinds:
        i = ctx.rng.choices(range(len(kinds)), weights=weights)[0]
        kind = kinds.pop(i)
        weights.pop(i)
        found = next((c for c in conflicts(ctx, kind) if c.ref not in avoid), None)
        if found is not None:
            return found
    return None
