"""Differences between two data sheets, and the edits that turn one built model into another.

Every model in the benchmark is built from a data sheet. A problem is a pair: the sheet the
model was built from, and the specification, which differs from it in one or two places
(the faults). A :class:`SheetChange` is one such place: a table entry with another value, an
entry listed or not, a rule whose inequality is turned round.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from ordebug import actions as act
from ordebug.faults.slips import is_slip
from ordebug.models import build_from_sheet
from ordebug.models.base import BaseModel, add_exception, reverse_rule
from ordebug.models.datasheet import DataSheet, Table, table_grid
from ordebug.solver.spec import INF, ModelSpec

OUTLIER_MARGIN = 1.25  # a natural value stays within [min / m, max * m] of its table
_REF = re.compile(r"^(\w+)\[(.*)\]$")


def split_ref(ref: str) -> tuple[str, str]:
    """``hours[m1,prod_2]`` -> (``hours``, ``m1,prod_2``)."""
    m = _REF.match(ref)
    if not m:
        raise ValueError(f"not a table reference: {ref!r}")
    return m.group(1), m.group(2)


@dataclass(frozen=True)
class SheetChange:
    """One entry or rule of a data sheet changed: ``value`` sets (or lists) an entry, ``unlist``
    removes it, ``reverse`` turns a rule's inequality round, ``except`` makes the rule go the
    other way round for one entity (``value``) (``ref`` is the rule id)."""

    kind: str  # value | unlist | reverse | except
    ref: str
    value: float | str | None = None

    def apply(self, sheet: DataSheet) -> None:
        if self.kind == "reverse":
            sheet.rules[self.ref] = reverse_rule(sheet.rules[self.ref])
            return
        if self.kind == "except":
            sheet.rules[self.ref] = add_exception(sheet.rules[self.ref], str(self.value))
            return
        table, key = split_ref(self.ref)
        t = sheet.tables[table]
        if self.kind == "unlist":
            del t.values[key]
        elif self.kind == "value":
            t.values[key] = self.value  # type: ignore[assignment]
        else:
            raise ValueError(f"unknown sheet change {self.kind!r}")


def changed(sheet: DataSheet, changes: list[SheetChange]) -> DataSheet:
    out = sheet.copy()
    for c in changes:
        c.apply(out)
    return out


def build(sheet: DataSheet, changes: list[SheetChange] = ()) -> BaseModel:  # type: ignore[assignment]
    return build_from_sheet(changed(sheet, list(changes)) if changes else sheet)


# -- natural values ------------------------------------------------------------------------
def natural_values(table: Table, x: float, direction: int, rng: random.Random, k: int = 6) -> list[float]:
    """Up to ``k`` values a person could have typed for an entry of ``table`` now ``x``, on the
    table's grid and inside its range, larger (``direction`` 1), smaller (-1) or either (0)
    than ``x``, in random order. The ratio to ``x`` is drawn from a continuous range (no
    fixed set of factors a search could learn), and no value is a slip of ``x`` (no swapped
    digit, no factor of ten or of a unit): nothing about the number alone says which is meant."""
    nums = [float(v) for v in table.values.values() if not isinstance(v, str)] or [x]
    lo, hi = min(nums) / OUTLIER_MARGIN, max(nums) * OUTLIER_MARGIN
    g = table_grid(table)
    out: list[float] = []
    for _ in range(4 * k):
        d = direction or rng.choice((-1, 1))
        f = math.exp(rng.uniform(math.log(1.04), math.log(2.3))) ** d
        v = round(round(x * f / g) * g, 6)
        if v > 0 and lo <= v <= hi and v != x and v not in out and not is_slip(v, x):
            out.append(v)
        if len(out) == k:
            break
    return out


# -- edits between built models ---------------------------------------------------------------
def repair_actions(broken: ModelSpec, original: ModelSpec, only: set[str] | None = None) -> list[str]:
    """The edits that turn ``broken`` into ``original`` (for the elements in ``only``, if given):
    delete a row the original lacks, set coefficients, flip a sense, set a right-hand side,
    set bounds and types. Raises ValueError where no action can (a row the broken model lacks)."""
    out: list[str] = []
    names = [r for r in broken.rows if only is None or r in only]
    for r in [r for r in original.rows if r not in broken.rows and (only is None or r in only)]:
        raise ValueError(f"no action adds the row {r!r}")
    for r in names:
        a, b = broken.rows[r], original.rows.get(r)
        if b is None:
            out.append(act.drop(r))
            continue
        for v in sorted(set(a.coefs) | set(b.coefs)):
            if a.coefs.get(v, 0.0) != b.coefs.get(v, 0.0):
                out.append(act.set_coef(r, v, b.coefs.get(v, 0.0)))
        if a.sense != b.sense:
            if {a.sense, b.sense} != {"<=", ">="}:
                raise ValueError(f"no single action turns {a.sense} into {b.sense} in {r!r}")
            out.append(act.flip_sense(r))
        if a.bound != b.bound:
            out.append(act.update_rhs(r, b.bound))
    for v, x in broken.vars.items():
        if only is not None and v not in only:
            continue
        y = original.vars[v]
        if (x.lb, x.ub) != (y.lb, y.ub):
            out.append(act.update_bounds(v, y.lb, y.ub))
        if x.vtype != y.vtype:
            out.append(act.set_var_type(v, y.vtype))
    return out


def harder(sense: str, coef: bool = False, sign: float = 1.0) -> int:
    """Which way a right-hand side (or a coefficient of sign ``sign``) moves to make a row harder:
    1 up, -1 down, 0 either (equality)."""
    if sense == "=":
        return 0
    d = -1 if sense == "<=" else 1
    return -d * (1 if sign > 0 else -1) if coef else d


def finite(x: float) -> bool:
    return abs(x) != INF
