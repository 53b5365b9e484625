"""A fault: one place where the model disagrees with its specification, the edits that make
them agree again, and the context faults are drawn in (a base model and its optimum)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ordebug.models.base import BaseModel
from ordebug.models.datasheet import Table
from ordebug.solver.inplace import InPlaceModel
from ordebug.solver.solve import SolveResult
from ordebug.solver.spec import INF

Element = tuple[str, str]  # ("c", row) or ("v", variable): what a fault's edits act on


@dataclass
class Fault:
    """One mistake: the root element(s) it wrote wrong and the edits that fix it."""

    kind: str  # sense | vtype | coef | rule | bound | rhs
    root: dict[str, str]  # {"kind": "constraint"|"bound"|"variable", "name": ..., ["side": ...]}
    fixes: list[str]
    note: str = ""  # how the value went wrong (stale value, whole family, ...)
    source: str = ""  # the data-sheet entry (or rule) the fix restores
    also: list[dict[str, str]] = field(default_factory=list)  # further rows the same mistake wrote (a family)

    @property
    def element(self) -> tuple[str, ...]:
        r = self.root
        return (r["kind"], r["name"], r.get("side", ""))

    @property
    def roots(self) -> list[dict[str, str]]:
        """Every element the mistake wrote wrong: the root, then the rest of its family."""
        return [self.root, *self.also]


@dataclass
class Context:
    """A base model (built from its data sheet), its optimum and the RNG that drives choices."""

    base: BaseModel
    optimum: SolveResult
    rng: random.Random
    uses: dict[str, int] = field(init=False)  # elements each rule or data entry fixes
    inplace: InPlaceModel | None = field(default=None, init=False, repr=False)  # the base, for checks of edits

    def __post_init__(self) -> None:
        self.uses = dict(self.base.source_uses())

    def shuffled(self, items: list) -> list:
        items = list(items)
        self.rng.shuffle(items)
        return items

    def binding(self, row: str) -> bool:
        """Whether ``row`` holds with equality at the base model's optimum."""
        r = self.base.spec.rows[row]
        x = self.optimum.values
        activity = sum(c * x.get(v, 0.0) for v, c in r.coefs.items())
        return any(abs(activity - side) <= 1e-6 * max(1.0, abs(side)) for side in (r.lhs, r.rhs) if abs(side) != INF)

    def tight_first(self, rows: list[str]) -> list[str]:
        """``rows`` shuffled, those binding at the optimum first (a value moved in a row with
        slack rarely makes the model infeasible)."""
        rows = self.shuffled(rows)
        tight = {r for r in rows if self.binding(r)}
        return [r for r in rows if r in tight] + [r for r in rows if r not in tight]


def single_use(base: BaseModel, ref: str, uses: dict[str, int] | None = None, most: int = 1
               ) -> tuple[Table, str] | None:
    """(table, key) of a numeric table entry ``ref`` that fixes at least one and at most
    ``most`` elements of ``base``."""
    if "[" not in ref:
        return None
    name, _, key = ref.partition("[")
    key = key.rstrip("]")
    table = base.sheet.tables.get(name)
    if table is None or table.objective or isinstance(table.values.get(key), str) or key not in table.values:
        return None
    if not 1 <= (uses if uses is not None else base.source_uses()).get(ref, 0) <= most:
        return None
    return table, key
