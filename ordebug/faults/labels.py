"""Which member of a conflict is the fault, chosen after the conflict is drawn.

Given an infeasible model (built from a sheet) and its IIS, the members an error type can
hold are listed (:func:`eligible`); one is drawn uniformly, and the specification is the
sheet with that member's entry or rule changed so that the model disagrees with it there
(:func:`realise`). Since the conflict was drawn without regard to the type, and the member
uniformly among those the type can hold, a spec-blind method sees nothing that singles the
fault out among them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from ordebug.faults.changes import OUTLIER_MARGIN, SheetChange, build, harder, natural_values
from ordebug.faults.fault import Element, single_use
from ordebug.models.base import BaseModel, directed, exceptions, row_key, rule_sense
from ordebug.models.datasheet import WHOLE_LOTS, DataSheet
from ordebug.solver.iis import Iis
from ordebug.solver.spec import family

# the kinds of fault each single-fault type holds (E and G hold two of the value kinds)
TYPE_KINDS: dict[str, tuple[str, ...]] = {
    "A": ("sense",), "B": ("vtype",), "C": ("coef",), "D": ("rule",), "F": ("coef_def", "rhs_def"),
    "H": ("bound",), "I": ("rhs",),
}
PAIR_LABEL_KINDS = ("rhs", "coef", "bound", "rhs_def", "coef_def")
MAX_FAMILY_FAULT = 8  # rows a reversed rule may write (each needs its own FLIP_SENSE)
MAX_ENTRY_USES = 5  # rows a wrong coefficient entry may enter (each needs its own SET_COEF)
DATA_ROLES = ("requirement", "capacity", "rule")


@dataclass
class Label:
    """A fault placed on one member: the kind, the element and (once realised) the change of
    the specification that makes the model disagree with it there."""

    kind: str
    element: Element
    ref: str = ""  # the sheet entry or rule id behind it
    var: str = ""  # coef: the term's variable
    changes: list[SheetChange] = field(default_factory=list)
    note: str = ""

    @property
    def root(self) -> dict[str, str]:
        kind, name = self.element
        if self.kind == "bound":
            return {"kind": "bound", "name": name, "side": "upper"}
        if self.kind == "vtype":
            return {"kind": "variable", "name": name}
        return {"kind": "constraint", "name": name}


def _row_value_labels(base: BaseModel, row: str, kind: str, roles: tuple[str, ...]) -> list[Label]:
    if base.roles.get(row) not in roles:
        return []
    r, out = base.spec.rows[row], []
    if kind.startswith("rhs") and r.sense != "range" and single_use(base, base.sources.get(f"rhs:{row}", "")):
        out.append(Label(kind, ("c", row), base.sources[f"rhs:{row}"]))
    if kind.startswith("coef"):
        for v in r.coefs:
            ref = base.sources.get(f"coef:{row}:{v}", "")
            if single_use(base, ref, most=MAX_ENTRY_USES):
                out.append(Label(kind, ("c", row), ref, var=v))
    return out


def _sense_label(base: BaseModel, row: str) -> list[Label]:
    r = base.spec.rows[row]
    rid = base.sources.get(f"sense:{row}", "")
    rule = base.sheet.rules.get(rid, "")
    if (base.roles.get(row) not in DATA_ROLES or r.sense not in ("<=", ">=") or rule_sense(rule, family(row)) is None
            or not directed(rule)):
        return []  # only a rule whose direction the sheet states can be the wrong way round
    fam = [x for x in base.spec.rows if family(x) == family(row)]
    if len(fam) > MAX_FAMILY_FAULT or row_key(row) in exceptions(rule):
        return []  # (a row the rule's exception turns round: the fault is placed on the others)
    out = [Label("sense", ("c", row), rid, changes=[SheetChange("reverse", rid)],
                 note="whole family" if len(fam) > 1 else "")]
    if len(fam) > 1:
        # the rule goes the other way for this row's entity, and the model missed the exception
        out.append(Label("sense", ("c", row), rid, changes=[SheetChange("except", rid, row_key(row))],
                         note="one row"))
    return out


def eligible(kind: str, base: BaseModel, iis: Iis) -> list[Label]:
    """Every placement of a fault of ``kind`` on a member of ``iis`` (the model ``base``)."""
    out: list[Label] = []
    if kind == "rhs":
        for r in iis.constraints:
            out += _row_value_labels(base, r, kind, DATA_ROLES)
    elif kind == "coef":  # a coefficient typed wrong, in whatever row it enters
        for r in iis.constraints:
            out += _row_value_labels(base, r, kind, DATA_ROLES + ("link", "definition", "balance"))
    elif kind in ("rhs_def", "coef_def"):
        for r in iis.constraints:
            out += _row_value_labels(base, r, kind, ("definition", "balance", "link"))
    elif kind == "bound":
        for v, side in iis.bounds:
            ref = base.sources.get(f"ub:{v}", "")
            if side == "upper" and single_use(base, ref):
                out.append(Label("bound", ("v", v), ref))
    elif kind == "rule":
        out = [Label("rule", ("c", r), base.listed[r], changes=[SheetChange("unlist", base.listed[r])],
                     note="not in the specification") for r in iis.constraints if r in base.listed]
    elif kind == "sense":
        for r in iis.constraints:
            out += _sense_label(base, r)
    elif kind == "vtype":
        ints = dict.fromkeys(v for r in iis.constraints for v in base.spec.rows[r].coefs
                             if base.spec.vars[v].vtype == "I")
        for v in ints:
            ref = base.sources.get(f"type:{v}", "")
            if ref.startswith(f"{WHOLE_LOTS}["):
                out.append(Label("vtype", ("v", v), ref, changes=[SheetChange("unlist", ref)]))
    else:
        raise ValueError(f"unknown fault kind {kind!r}")
    return out


def placements(kinds: tuple[str, ...], base: BaseModel, iis: Iis, avoid: set[Element] = frozenset()
               ) -> dict[Element, list[Label]]:  # type: ignore[assignment]
    """The placements of ``kinds`` on the members of ``iis``, by member."""
    by_member: dict[Element, list[Label]] = {}
    for k in kinds:
        for lab in eligible(k, base, iis):
            if lab.element not in avoid:
                by_member.setdefault(lab.element, []).append(lab)
    return by_member


def draw(kinds: tuple[str, ...], base: BaseModel, iis: Iis, rng: random.Random, avoid: set[Element] = frozenset()
         ) -> Label | None:  # type: ignore[assignment]
    """A member drawn uniformly among those that can hold one of ``kinds``, then one of its
    placements uniformly (a kind, a term); None when no member can."""
    by_member = placements(kinds, base, iis, avoid)
    if not by_member:
        return None
    member = rng.choice(sorted(by_member))
    return rng.choice(by_member[member])


def _value_of(base: BaseModel, lab: Label) -> tuple[float, int]:
    """(the model's value, the direction that makes the element easier to satisfy)."""
    kind, name = lab.element
    if lab.kind == "bound":
        return base.spec.vars[name].ub, 1
    row = base.spec.rows[name]
    if lab.kind.startswith("coef"):
        return abs(row.coefs[lab.var]), -harder(row.sense, coef=True, sign=row.coefs[lab.var])
    return row.bound, -harder(row.sense)


def realise(lab: Label, base: BaseModel, sheet: DataSheet, rng: random.Random) -> Iterator[Label]:
    """The label with concrete changes of the specification: for a value, each natural value
    on the easier side (in random order); for a rule, a reversal, a whole-lot listing, the one
    change it has."""
    if lab.changes:
        yield lab
        return
    found = single_use(base, lab.ref, most=MAX_ENTRY_USES)
    if found is None:
        return
    table, key = found
    value, direction = _value_of(base, lab)
    others = [float(x) for k, x in table.values.items() if k != key and not isinstance(x, str)]
    for v in natural_values(table, value, direction, rng):
        if others and not min(*others, v) / OUTLIER_MARGIN <= value <= max(*others, v) * OUTLIER_MARGIN:
            continue  # the model's value would stand outside the specified table's range
        yield Label(lab.kind, lab.element, lab.ref, lab.var, [SheetChange("value", lab.ref, v)], note="stale value")


def spec_model(sheet: DataSheet, labels: list[Label]) -> BaseModel:
    return build(sheet, [c for lab in labels for c in lab.changes])
