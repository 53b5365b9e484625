"""Shared pieces of the model families: a builder that records where every element of
the model comes from in the data sheet, and the generated base model."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ordebug.models.datasheet import CAP, FLOOR, WHOLE_LOTS, DataSheet, Table
from ordebug.solver.spec import INF, ModelSpec, Row, Var

# Row roles steer the error injectors; they are never written into a problem record.
ROLES = ("requirement", "capacity", "definition", "link", "rule", "balance")


@dataclass
class RuleTemplate:
    """A business rule that the data sheet does *not* contain (type D adds one, with a value
    that contradicts the rest of the model)."""

    name: str
    coefs: dict[str, float]
    sense: str
    table: str = ""  # the listed table an entry would add this rule to
    key: str = ""


_RULE_OP = re.compile(r"(<=|>=|=)")


def rule_sense(text: str, family: str) -> str | None:
    """The sense a rule's text gives the rows of ``family`` (its last comparison), if the text
    defines that family (``machine_hours(m,t): ... <= available[m,t].``)."""
    if not re.match(rf"^{re.escape(family)}\b", text):
        return None
    ops = _RULE_OP.findall(text.split(":", 1)[-1])
    return ops[-1] if ops else None


def directed(text: str) -> bool:
    """Whether a rule states its direction in words (a floor or a cap of a neutrally named
    quantity): the rules that can be written the wrong way round (type A) without the sheet
    contradicting itself, since neither the name nor the statement says which way."""
    return FLOOR in text or CAP in text


def reverse_rule(text: str) -> str:
    """The rule with its last inequality turned round (``<=`` <-> ``>=``), and its stated
    direction with it (a floor <-> a cap)."""
    head, sep, body = text.partition(":")
    ops = list(re.finditer(r"<=|>=", body))
    if not ops:
        raise ValueError(f"rule has no inequality to reverse: {text!r}")
    m = ops[-1]
    op = ">=" if m.group() == "<=" else "<="
    body = body[:m.start()] + op + body[m.end():]
    if FLOOR in body or CAP in body:
        body = body.replace(FLOOR, "\0").replace(CAP, FLOOR).replace("\0", CAP)
    return head + sep + body


@dataclass
class BaseModel:
    """A feasible base model, its data sheet, and where each element comes from.

    ``sources`` maps element keys to the data-sheet entry that fixes them:
    ``rhs:ROW``, ``sense:ROW``, ``coef:ROW:VAR``, ``ub:VAR``, ``lb:VAR``, ``type:VAR``
    -> ``table[key]`` or a rule id (``R3``)."""

    family: str
    spec: ModelSpec
    sheet: DataSheet
    roles: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    rule_templates: list[RuleTemplate] = field(default_factory=list)
    listed: dict[str, str] = field(default_factory=dict)  # row -> the entry that lists it (``min_use[hub_2]``)
    pinned: dict[str, list[str]] = field(default_factory=dict)  # pinning row -> its variables
    lots: dict[str, str] = field(default_factory=dict)  # variable -> its whole-lots key (listed or not)

    def source_uses(self) -> Counter[str]:
        """How many elements of the model each rule or data entry fixes."""
        return Counter(self.sources.values())

    def rows_with(self, *roles: str) -> list[str]:
        return [r for r, role in self.roles.items() if role in roles and r in self.spec.rows]


class Builder:
    """Collects variables and rows in order, with a role per row and the source of each element."""

    def __init__(self, sheet: DataSheet, sense: str = "minimize") -> None:
        self.base = BaseModel(sheet.family, ModelSpec(name=sheet.family, sense=sense), sheet)

    def var(self, name: str, lb: float = 0.0, ub: float = INF, vtype: str = "C", obj: float = 0.0,
            *, rule: str, ub_src: str | None = None, lb_src: str | None = None) -> str:
        self.base.spec.add_var(Var(name, float(lb), float(ub), vtype, float(obj)))
        src = self.base.sources
        src[f"type:{name}"] = rule
        src[f"ub:{name}"] = ub_src or rule
        src[f"lb:{name}"] = lb_src or rule
        return name

    def row(self, name: str, coefs: dict[str, float], sense: str, rhs: float, role: str, *, rule: str,
            rhs_src: str | None = None, coef_src: dict[str, str] | None = None) -> str:
        assert role in ROLES, role
        stated = rule_sense(self.base.sheet.rules.get(rule, ""), name.split("(")[0])
        if sense in ("<=", ">=") and stated in ("<=", ">="):
            sense = stated  # the sheet's rule states the direction
        self.base.spec.add_row(Row.make(name, {k: float(v) for k, v in coefs.items() if v != 0}, sense, rhs))
        self.base.roles[name] = role
        src = self.base.sources
        src[f"sense:{name}"] = rule
        src[f"rhs:{name}"] = rhs_src or rule
        if rhs_src and "[" in rhs_src and "listed in" in self.base.sheet.rules.get(rule, ""):
            self.base.listed[name] = rhs_src  # a rule stated for the entities its table lists
        for v in coefs:
            src[f"coef:{name}:{v}"] = (coef_src or {}).get(v, rule)
        return name

    def template(self, name: str, coefs: dict[str, float], sense: str, table: str = "", key: str = "") -> None:
        self.base.rule_templates.append(RuleTemplate(name, {k: float(v) for k, v in coefs.items()}, sense, table, key))

    def pinned_row(self, name: str, var: str, table: Table, key: str, role: str, *, rule: str) -> None:
        """``var = table[key]``: a quantity the sheet fixes (often fractional). The variable is an
        integer where the family's :data:`WHOLE_LOTS` table lists ``key``."""
        self.pinned_total(name, {var: key}, table, key, role, rule=rule)

    def pinned_total(self, name: str, members: dict[str, str], table: Table, key: str, role: str, *,
                     rule: str) -> None:
        """``sum of members = table[key]``: a total the sheet fixes (often fractional) over
        variables (-> their :data:`WHOLE_LOTS` keys), each an integer where that table lists it."""
        self.row(name, dict.fromkeys(members, 1.0), "=", table.num(key), role, rule=rule, rhs_src=table.ref(key))
        self.base.pinned[name] = list(members)
        if "listed in" in self.base.sheet.rules.get(rule, ""):
            self.base.listed[name] = table.ref(key)
        for var, lot in members.items():
            self.whole(var, lot)

    def whole(self, var: str, key: str) -> None:
        """``var`` may come in whole units: an integer where :data:`WHOLE_LOTS` lists ``key``."""
        self.base.lots[var] = key
        whole = self.base.sheet.tables.get(WHOLE_LOTS)
        if whole is not None and whole.values.get(key) == "yes":
            self.base.spec.vars[var].vtype = "I"
            self.base.sources[f"type:{var}"] = whole.ref(key)

    def listed_row(self, name: str, coefs: dict[str, float], sense: str, table: Table, key: str, role: str, *,
                   rule: str, coef_src: dict[str, str] | None = None) -> None:
        """A rule the sheet states for the entities ``table`` lists only: the row where ``key`` is
        listed (its right-hand side from the table), else a template for a rule the sheet lacks."""
        if key in table.values:
            self.row(name, coefs, sense, table.num(key), role, rule=rule, rhs_src=table.ref(key), coef_src=coef_src)
        else:
            stated = rule_sense(self.base.sheet.rules.get(rule, ""), name.split("(")[0])
            self.template(name, coefs, stated if stated in ("<=", ">=") and sense != "=" else sense, table.name, key)
