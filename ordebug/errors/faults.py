"""Single faults: a place where the model disagrees with its data sheet, and the edits that
make them agree again.

Every wrong value is one the model could plausibly have had: digits transposed, the
neighbouring entity's or period's value, a dropped or extra digit, a wrong unit (only where
the sheet states one), a missing term, the wrong variable in a sum. A wrong value never
leaves the range of its table (it is not the outlier of its family), and every fix value is
stated in the data sheet. Faults are expressed with the environment's own actions.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from ordebug import actions as act
from ordebug.actions import apply_edit, parse_action
from ordebug.models.base import BaseModel
from ordebug.models.datasheet import UNIT_SLIPS, Table
from ordebug.solver.solve import SolveResult, solve
from ordebug.solver.spec import INF, ModelSpec, Row, family, fmt_num, natural_key

OUTLIER_MARGIN = 1.25  # a wrong value stays within [min / m, max * m] of its table
_REF = re.compile(r"^(\w+)\[(.*)\]$")


@dataclass
class Fault:
    """One injected mistake: the edits that break the model and the edits that fix it."""

    kind: str  # sense | vtype | coef | struct | rule | bound | rhs
    root: dict[str, str]  # {"kind": "constraint"|"bound"|"variable", "name": ..., ["side": ...]}
    fixes: list[str]
    breaks: list[str] = field(default_factory=list)
    added_row: Row | None = None
    note: str = ""  # how the value went wrong (transposed, neighbour, digit, unit, ...)
    source: str = ""  # the data-sheet entry the fix restores
    also: list[dict[str, str]] = field(default_factory=list)  # further rows the same mistake wrote (a family)

    def apply(self, spec: ModelSpec) -> None:
        if self.added_row is not None:
            r = self.added_row
            spec.add_row(Row(r.name, dict(r.coefs), r.lhs, r.rhs))
        for a in self.breaks:
            apply_edit(spec, parse_action(a))

    def undo(self, spec: ModelSpec) -> None:
        for a in self.fixes:
            apply_edit(spec, parse_action(a))

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
    """A base model, its optimum and the RNG that drives choices."""

    base: BaseModel
    optimum: SolveResult
    rng: random.Random
    uses: dict[str, int] = field(init=False)  # elements each rule or data entry fixes
    families: dict[str, list[str]] = field(init=False)  # row names by family

    def __post_init__(self) -> None:
        self.uses = dict(self.base.source_uses())
        self.families = family_rows(self.base.spec)

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
        """``rows`` shuffled, the ones binding at the optimum first: a value slipped in a row with
        slack at the optimum rarely makes the model infeasible, and where it does, deleting the row
        gives the optimum back (the benchmark rejects both), so trying them last saves solves."""
        rows = self.shuffled(rows)
        tight = {r for r in rows if self.binding(r)}
        return [r for r in rows if r in tight] + [r for r in rows if r not in tight]

    def table_of(self, ref: str) -> tuple[Table, str] | None:
        """The table and key a source reference (``hours[m1,prod_2]``) points to, if the entry is
        used by exactly one element of the model.

        An entry used in several places (a rate that bounds a product in every period) would,
        mistyped in one place only, be the lone odd copy among identical ones: a fault that
        statistics find without diagnosis, so those entries are not faulted."""
        m = _REF.match(ref)
        if not m or m.group(1) not in self.base.sheet.tables:
            return None
        if self.uses.get(ref, 0) != 1:
            return None
        return self.base.sheet.tables[m.group(1)], m.group(2)



# -- a faulty row must not stand out from its family ----------------------------------------


def _shape(row: Row) -> tuple[str, frozenset[str], int]:
    """What a glance at a row shows without reading its data: sense, variable families, term count."""
    return row.sense, frozenset(family(v) for v in row.coefs), len(row.coefs)


def family_rows(spec: ModelSpec) -> dict[str, list[str]]:
    """Row names by family (``cap(m1)`` -> ``cap``)."""
    out: dict[str, list[str]] = {}
    for n in spec.rows:
        out.setdefault(family(n), []).append(n)
    return out


def stands_out(spec: ModelSpec, name: str, changed: Row, families: dict[str, list[str]] | None = None) -> bool:
    """Whether ``changed`` (the faulty version of row ``name``) would be the odd one of its family
    (three rows or more): a sense or a set of variable families that fewer rows of the family
    have than the most common one, or a number of terms no sibling has. Such a fault is found
    by comparing rows, without the specification, so the benchmark does not make it."""
    rows_of_family = (families or family_rows(spec)).get(family(name), [])
    sibs = [spec.rows[n] for n in rows_of_family if n != name]
    if len(sibs) < 2:
        return False
    mine = _shape(changed)
    shapes = [_shape(r) for r in sibs] + [mine]
    for i in (0, 1):
        counts = Counter(sh[i] for sh in shapes)
        if counts[mine[i]] < max(counts.values()):
            return True
    return all(sh[2] != mine[2] for sh in shapes[:-1])


def _changed_row(spec: ModelSpec, name: str, breaks: list[str]) -> Row:
    trial = ModelSpec(spec.name, spec.sense)
    trial.vars = spec.vars
    r = spec.rows[name]
    trial.rows = {name: Row(name, dict(r.coefs), r.lhs, r.rhs)}
    for a in breaks:
        apply_edit(trial, parse_action(a))
    return trial.rows[name]


# -- plausible wrong values ----------------------------------------------------------------


def _transpositions(x: float) -> list[float]:
    text = fmt_num(x)
    out = []
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    for a, b in zip(digits, digits[1:], strict=False):
        if b != a + 1 or text[a] == text[b] or (a == 0 and text[b] == "0"):
            continue
        swapped = text[:a] + text[b] + text[a] + text[b + 1:]
        out.append(float(swapped))
    return out


def _neighbours(table: Table, key: str) -> list[float]:
    """Values of entries that share all but one index with ``key`` (or any entry of a 1-D table)."""
    parts = key.split(",")
    out = []
    for k, v in table.values.items():
        if k == key or isinstance(v, str):
            continue
        other = k.split(",")
        if len(other) == len(parts) and sum(a != b for a, b in zip(other, parts, strict=True)) == 1:
            out.append(float(v))
    return out


def wrong_values(table: Table, key: str, rng: random.Random) -> list[tuple[str, float]]:
    """Plausible wrong values for one table entry, most plausible kinds first (shuffled within)."""
    x = table.num(*key.split(","))
    cands: list[tuple[str, float]] = []
    neigh = sorted(set(_neighbours(table, key)) - {x})
    rng.shuffle(neigh)
    cands += [("neighbour", v) for v in neigh[:3]]
    cands += [("transposed", v) for v in _transpositions(x)]
    rng.shuffle(cands)
    slips = [("digit", x * 10), ("digit", x / 10)]
    if table.unit in UNIT_SLIPS:
        slips.append(("unit", x * UNIT_SLIPS[table.unit][1]))
    rng.shuffle(slips)
    return cands + slips


def within_range(table: Table, wrong: float, note: str = "neighbour") -> bool:
    """Whether ``wrong`` could be an entry of its table: positive, whole where every entry is
    whole, and inside the table's own range (so it is no statistical outlier). A slipped digit
    or unit must even stay between the table's smallest and largest entry, and needs a table
    of at least three entries to hide among."""
    vals = [float(v) for v in table.values.values() if not isinstance(v, str)]
    if wrong <= 0 or (all(v.is_integer() for v in vals) and not float(wrong).is_integer()):
        return False
    if note in ("digit", "unit"):
        return len(vals) >= 3 and min(vals) <= wrong <= max(vals)
    if len(vals) < 3:
        return True
    return min(vals) / OUTLIER_MARGIN <= wrong <= max(vals) * OUTLIER_MARGIN


def _harder(sense: str, old: float, new: float, *, coef: bool) -> bool:
    """Whether moving a right-hand side (or a coefficient of a non-negative variable) makes the row harder."""
    if sense == "=":
        return new != old
    if coef:
        return new > old if sense == "<=" else new < old
    return new < old if sense == "<=" else new > old


def _value_faults(ctx: Context, ref: str, sense: str, *, coef: bool) -> Iterator[tuple[str, float, float]]:
    found = ctx.table_of(ref)
    if found is None:
        return
    table, key = found
    old = table.num(*key.split(","))
    ok = []
    for note, wrong in wrong_values(table, key, ctx.rng):
        wrong = round(wrong, 6)
        if wrong != old and within_range(table, wrong, note) and _harder(sense, old, wrong, coef=coef):
            ok.append((note, old, wrong))
    # the neighbour's value that strains the row most goes first (it is still a value of the table)
    neigh = [c for c in ok if c[0] == "neighbour"]
    if neigh:
        worst = max(neigh, key=lambda c: abs(c[2] - old))
        ok.remove(worst)
        ok.insert(0, worst)
    yield from ok


# -- fault streams, one per kind -------------------------------------------------------------


MAX_FAMILY_FAULT = 4  # rows a family-wide sense fault may span (each needs its own FLIP_SENSE)
LARGE_FAMILY = 10  # a family this large is not read row by row: one reversed row may be the last resort


def sense_faults(ctx: Context) -> Iterator[Fault]:
    """A: a ``<=`` written as ``>=`` or the reverse (the sheet's rule states the sense).

    A family's rows are written from one rule, so a reversed rule reverses all of them: where
    a single reversed row would be the odd one of its family, the whole family (up to
    :data:`MAX_FAMILY_FAULT` rows of that sense) is reversed instead, and each of its rows
    must be flipped back."""
    spec = ctx.base.spec
    done: set[str] = set()
    lone: list[Fault] = []
    for r in ctx.shuffled(ctx.base.rows_with("capacity", "requirement", "rule")):
        sense = spec.rows[r].sense
        if sense not in ("<=", ">="):
            continue
        a = act.flip_sense(r)
        src = ctx.base.sources.get(f"sense:{r}", "")
        if not stands_out(spec, r, _changed_row(spec, r, [a]), ctx.families):
            yield Fault("sense", {"kind": "constraint", "name": r}, [a], breaks=[a], source=src)
            continue
        members = sorted((x for x in ctx.families.get(family(r), []) if spec.rows[x].sense == sense),
                         key=natural_key)
        if len(members) >= LARGE_FAMILY:
            lone.append(Fault("sense", {"kind": "constraint", "name": r}, [a], breaks=[a], source=src))
        if family(r) in done or len(members) > MAX_FAMILY_FAULT:
            continue
        done.add(family(r))
        flips = [act.flip_sense(x) for x in members]
        yield Fault("sense", {"kind": "constraint", "name": r}, flips, breaks=flips, source=src, note="whole family",
                    also=[{"kind": "constraint", "name": x} for x in members if x != r])
    # last resort, in families too large to read row by row (the large tier): one reversed row
    yield from lone


def vtype_faults(ctx: Context) -> Iterator[Fault]:
    """B: a quantity the sheet calls continuous declared integer."""
    spec = ctx.base.spec
    hinted = [v for v in ctx.base.integrality_candidates if spec.vars[v].vtype == "C"]
    frac = [v for v, x in ctx.optimum.values.items()
            if spec.vars[v].vtype == "C" and abs(x - round(x)) > 1e-6 and v not in hinted]
    for v in ctx.shuffled(hinted) + ctx.shuffled(frac):
        yield Fault("vtype", {"kind": "variable", "name": v}, [act.set_var_type(v, "C")],
                    breaks=[act.set_var_type(v, "I")], source=ctx.base.sources.get(f"type:{v}", ""))


def coef_faults(ctx: Context, roles: tuple[str, ...]) -> Iterator[Fault]:
    """C/F: a coefficient from the sheet typed wrong (transposed, neighbour's, digit, unit)."""
    spec, src = ctx.base.spec, ctx.base.sources
    for r in ctx.tight_first(ctx.base.rows_with(*roles)):
        row = spec.rows[r]
        for v in ctx.shuffled(list(row.coefs))[:4]:
            ref = src.get(f"coef:{r}:{v}", "")
            sign = 1.0 if row.coefs[v] > 0 else -1.0
            # a negative coefficient on the left is a positive one moved right: harder means smaller
            sense = row.sense if sign > 0 else {"<=": ">=", ">=": "<=", "=": "="}[row.sense]
            for note, old, wrong in list(_value_faults(ctx, ref, sense, coef=True))[:2]:
                yield Fault("coef", {"kind": "constraint", "name": r}, [act.set_coef(r, v, sign * old)],
                            breaks=[act.set_coef(r, v, sign * wrong)], note=note, source=ref)


def struct_faults(ctx: Context, roles: tuple[str, ...]) -> Iterator[Fault]:
    """C/F: a term missing from a sum, or the wrong variable in it (a neighbouring index)."""
    spec = ctx.base.spec
    for r in ctx.tight_first(ctx.base.rows_with(*roles)):
        row = spec.rows[r]
        if len(row.coefs) < 2:
            continue
        for v in ctx.shuffled(list(row.coefs))[:3]:
            c = row.coefs[v]
            swaps = _sibling_vars(spec, v)
            ctx.rng.shuffle(swaps)
            if swaps and ctx.rng.random() < 0.6:
                w = swaps[0]
                old_w = row.coefs.get(w, 0.0)
                breaks = [act.set_coef(r, v, 0), act.set_coef(r, w, old_w + c)]
                if not stands_out(spec, r, _changed_row(spec, r, breaks), ctx.families):
                    yield Fault("struct", {"kind": "constraint", "name": r},
                                [act.set_coef(r, v, c), act.set_coef(r, w, old_w)], breaks=breaks,
                                note="wrong_variable", source=ctx.base.sources.get(f"coef:{r}:{v}", ""))
            breaks = [act.set_coef(r, v, 0)]
            # (one term short of every sibling would stand out)
            if not stands_out(spec, r, _changed_row(spec, r, breaks), ctx.families):
                yield Fault("struct", {"kind": "constraint", "name": r}, [act.set_coef(r, v, c)], breaks=breaks,
                            note="missing_term", source=ctx.base.sources.get(f"coef:{r}:{v}", ""))


def _sibling_vars(spec: ModelSpec, v: str) -> list[str]:
    """Variables of the same family whose index differs from ``v``'s in exactly one place."""
    fam, _, rest = v.partition("(")
    idx = rest.rstrip(")").split(",")
    out = []
    for w in spec.vars:
        f2, _, r2 = w.partition("(")
        j = r2.rstrip(")").split(",")
        if w != v and f2 == fam and len(j) == len(idx) and sum(a != b for a, b in zip(idx, j, strict=True)) == 1:
            out.append(w)
    return out


def rhs_faults(ctx: Context, roles: tuple[str, ...]) -> Iterator[Fault]:
    """I/F: a right-hand side from the sheet typed wrong."""
    spec, src = ctx.base.spec, ctx.base.sources
    for r in ctx.tight_first(ctx.base.rows_with(*roles)):
        row = spec.rows[r]
        ref = src.get(f"rhs:{r}", "")
        sibling_rhs = {spec.rows[n].bound for n in ctx.families.get(family(r), []) if n != r}
        values = [c for c in _value_faults(ctx, ref, row.sense, coef=False) if c[2] not in sibling_rhs]
        for note, old, wrong in values[:3]:  # (a sibling's value, copied, would be the family's lone twin)
            yield Fault("rhs", {"kind": "constraint", "name": r}, [act.update_rhs(r, old)],
                        breaks=[act.update_rhs(r, wrong)], note=note, source=ref)


def bound_faults(ctx: Context) -> Iterator[Fault]:
    """H: a variable bound from the sheet typed wrong (binding bounds first)."""
    spec, src = ctx.base.spec, ctx.base.sources
    binding, other = [], []
    for v, var in spec.vars.items():
        if var.vtype == "B" or var.ub == INF:
            continue
        x = ctx.optimum.values.get(v, 0.0)
        (binding if abs(x - var.ub) <= 1e-6 * max(1.0, abs(var.ub)) else other).append(v)
    for v in ctx.shuffled(binding) + ctx.shuffled(other):
        var = spec.vars[v]
        ref = src.get(f"ub:{v}", "")
        for note, old, wrong in list(_value_faults(ctx, ref, "<=", coef=False))[:2]:
            if wrong < var.lb:
                continue
            yield Fault("bound", {"kind": "bound", "name": v, "side": "upper"},
                        [act.update_bounds(v, var.lb, old)], breaks=[act.update_bounds(v, var.lb, wrong)],
                        note=note, source=ref)


def rule_faults(ctx: Context) -> Iterator[Fault]:
    """D: a business rule the sheet does not contain, stated with a value the model cannot meet.

    The value lies beyond what the rest of the model allows, but (for a rule on one variable)
    within that variable's own bounds, so that the conflict runs through other rows of the
    model and not just the variable's bound."""
    spec = ctx.base.spec
    for t in ctx.shuffled(ctx.base.rule_templates):
        if t.name in spec.rows:
            continue
        probe = spec.copy()
        for v in probe.vars.values():
            v.obj = 0.0
        for v, c in t.coefs.items():
            probe.vars[v].obj = c
        up = t.sense in (">=", "=")
        probe.sense = "maximize" if up else "minimize"
        res = solve(probe)
        if not res.optimal or res.objective is None:
            continue
        reach = res.objective
        limit = None
        if len(t.coefs) == 1:
            (v, c), = t.coefs.items()
            lb, ub = spec.var_bounds(v)
            limit = (ub if c > 0 else -lb) if up else (lb if c > 0 else -ub)
        fam = t.name.split("(")[0]
        siblings = [spec.rows[r].bound for r in spec.rows if r.split("(")[0] == fam]
        frac = any(not b.is_integer() for b in siblings)
        rhs = _rule_value(ctx, reach, limit, up, frac, bool(siblings))
        if rhs is None:
            continue
        yield Fault("rule", {"kind": "constraint", "name": t.name}, [act.drop(t.name)],
                    added_row=Row.make(t.name, t.coefs, t.sense, rhs), note="not in the specification")


def _rule_value(ctx: Context, reach: float, limit: float | None, up: bool, frac: bool, whole: bool) -> float | None:
    """A right-hand side past ``reach`` (what the model allows) and short of ``limit`` (the
    variable's own bound), written like the family's other entries."""
    if limit is not None and abs(limit) != INF:
        room = (limit - reach) if up else (reach - limit)
        if room < 1.0:
            return None  # only the bound stops it: the conflict would be the bound alone
        rhs = reach + (1 if up else -1) * room * ctx.rng.uniform(0.3, 0.8)
    else:
        rhs = reach * ctx.rng.uniform(1.05, 1.3) + 1 if up else reach * ctx.rng.uniform(0.7, 0.95) - 1
    rhs = float(math.ceil(rhs) if up else math.floor(rhs))
    if frac:
        rhs += ctx.rng.choice([0.2, 0.4, 0.5, 0.6, 0.8]) * (1 if up else -1)
    if (up and rhs <= reach + 1e-6) or (not up and (rhs >= reach - 1e-6 or rhs < 1)):
        return None
    if limit is not None and abs(limit) != INF and ((up and rhs > limit) or (not up and rhs < limit)):
        return None
    return rhs
