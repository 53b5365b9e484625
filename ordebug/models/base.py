"""Shared pieces of the model families: a builder that records where every element of
the model comes from in the data sheet, and the generated base model."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ordebug.models.datasheet import CAP, FLOOR, WHOLE_LOTS, DataSheet, Table, other_way
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
# A directed rule may name entities for which it goes the other way: "Except for calcium, where it
# is the other way round (a floor)." (guidelines cap most nutrients and set a floor for some).
_EXCEPTION = re.compile(rf" Except for (\S+?), where it is the other way round ({re.escape(FLOOR)}|{re.escape(CAP)})\.")


def _stated_op(text: str) -> str | None:
    """A rule's own comparison: the last one of its text after the colon, exceptions left out."""
    ops = _RULE_OP.findall(_EXCEPTION.sub("", text).split(":", 1)[-1])
    return ops[-1] if ops else None


def rule_sense(text: str, family: str) -> str | None:
    """The sense a rule's text gives the rows of ``family`` (its last comparison, exceptions
    left out), if the text defines that family (``machine_hours(m,t): ... <= available[m,t].``)."""
    if not re.match(rf"^{re.escape(family)}\b", text):
        return None
    return _stated_op(text)


def exceptions(text: str) -> dict[str, str]:
    """The entities a directed rule names as going the other way, with their sense."""
    return {m.group(1): ">=" if m.group(2) == FLOOR else "<=" for m in _EXCEPTION.finditer(text)}


def row_key(row: str) -> str:
    """The index of a row (``guideline(calcium)`` -> ``calcium``; ``cap(m1,t2)`` -> ``m1,t2``)."""
    return row.partition("(")[2].removesuffix(")")


def row_sense(text: str, row: str) -> str | None:
    """The sense a rule's text gives the row ``row``: the rule's own, or the other way round
    where the rule names the row's entity as an exception."""
    stated = rule_sense(text, row.split("(")[0])
    if stated not in ("<=", ">="):
        return stated
    return exceptions(text).get(row_key(row), stated)


def add_exception(text: str, key: str) -> str:
    """The directed rule with ``key``'s row going the other way round."""
    op = _stated_op(text)
    if op not in ("<=", ">=") or not directed(text):
        raise ValueError(f"only a rule stating its direction can have an exception: {text!r}")
    if key in exceptions(text):
        raise ValueError(f"{key} is already an exception of {text!r}")
    return f"{text} Except for {key}, where it is the other way round {CAP if op == '>=' else FLOOR}."


def name_exception(sheet: DataSheet, rid: str, table: Table, key: str | None) -> None:
    """State in rule ``rid`` that it goes the other way round for ``key`` (drawn by
    :func:`~ordebug.models.datasheet.exception_key`), if ``table`` still lists it."""
    if key is not None and key in table.values:
        sheet.rules[rid] = add_exception(sheet.rules[rid], key)


def directed(text: str) -> bool:
    """Whether a rule states its direction in words (a floor or a cap of a neutrally named
    quantity): the rules that can be written the wrong way round (type A) without the sheet
    contradicting itself, since neither the name nor the statement says which way."""
    return FLOOR in text or CAP in text


def reverse_rule(text: str) -> str:
    """The rule with its last inequality turned round (``<=`` <-> ``>=``), and its stated
    direction with it (a floor <-> a cap), its exceptions too (they stay the other way round)."""
    head, sep, body = text.partition(":")
    main = _EXCEPTION.sub("", body)
    ops = list(re.finditer(r"<=|>=", main))
    if not ops:
        raise ValueError(f"rule has no inequality to reverse: {text!r}")
    m = ops[-1]
    body = body[:m.start()] + other_way(m.group()) + body[m.end():]
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
        stated = row_sense(self.base.sheet.rules.get(rule, ""), name)
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
            stated = row_sense(self.base.sheet.rules.get(rule, ""), name)
            self.template(name, coefs, stated if stated in ("<=", ">=") and sense != "=" else sense, table.name, key)
