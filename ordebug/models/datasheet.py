"""The specification a modeller works from: a business statement, data tables with units,
and the rules of the formulation. Every model is built *from* its data sheet, so the sheet
is the single source of truth, and a fault is a place where the model disagrees with it.

The text form (:meth:`DataSheet.render`) is what agents read; :func:`parse_tables` reads
the data back from that text, so a text-only agent can use it like a person would.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

from ordebug.solver.spec import fmt_num

Value = float | str

# Units whose values are often typed in the wrong unit (factor to the wrong unit).
UNIT_SLIPS: dict[str, tuple[str, float]] = {
    "hours": ("minutes", 60.0),
    "t": ("kg", 1000.0),
    "kg": ("g", 1000.0),
    "m3": ("litres", 1000.0),
    "EUR": ("kEUR", 0.001),
}


WHOLE_LOTS = "whole_lots"  # a family's listing of quantities (pinned ones, or routes) that come in whole units
MAX_LISTING_ENTRIES = 400  # entries SPEC shows of a yes/no listing (other tables: 40)
MAX_LOOSE_LOTS = 16  # routes outside any fixed total that may be listed as whole lots (large models stay light)


def key_of(*parts: str) -> str:
    """The table key of an index tuple: ``m1,t3``."""
    return ",".join(parts)


@dataclass
class Table:
    """One data table: ``name[dims]`` in ``unit``; values keyed by ``key_of(...)``."""

    name: str
    title: str
    unit: str
    dims: list[str]
    values: dict[str, Value] = field(default_factory=dict)
    objective: bool = False  # cost/price data (the objective); faults never touch it

    def __getitem__(self, key: str | tuple[str, ...]) -> Value:
        k = key if isinstance(key, str) else key_of(*key)
        return self.values[k]

    def num(self, *key: str) -> float:
        return float(self.values[key_of(*key)])

    def ref(self, *key: str) -> str:
        """How a rule or think text cites an entry: ``hours[m1,prod_2]``."""
        return f"{self.name}[{key_of(*key)}]" if key else self.name

    def render(self) -> str:
        vals = "; ".join(f"{k}={_fmt(v)}" for k, v in self.values.items())
        return f"- {self.name}[{','.join(self.dims)}] ({self.unit}) {self.title}: {vals}"

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "unit": self.unit, "dims": list(self.dims),
                "values": dict(self.values), "objective": self.objective}

    @classmethod
    def from_json(cls, d: dict) -> Table:
        return cls(d["name"], d["title"], d["unit"], list(d["dims"]), dict(d["values"]), bool(d.get("objective")))


def _fmt(v: Value) -> str:
    return v if isinstance(v, str) else fmt_num(float(v))


@dataclass
class DataSheet:
    """Statement, tables and formulation rules of one problem."""

    family: str
    title: str
    statement: str
    tables: dict[str, Table] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)  # rule id -> text (R1, R2, ...)

    def table(self, name: str, title: str, unit: str, dims: list[str], *, objective: bool = False) -> Table:
        t = Table(name, title, unit, dims, objective=objective)
        self.tables[name] = t
        return t

    def rule(self, text: str) -> str:
        rid = f"R{len(self.rules) + 1}"
        self.rules[rid] = text
        return rid

    def render(self, *, with_data: bool = True, max_chars: int | None = None) -> str:
        """The text an agent reads. Without data, tables are listed with their sizes only."""
        lines = [f"{self.title} (family: {self.family})", self.statement, "Rules:"]
        lines += [f"{rid}. {text}" for rid, text in self.rules.items()]
        lines.append("Data:")
        for t in self.tables.values():
            if with_data:
                lines.append(t.render())
            else:
                lines.append(f"- {t.name}[{','.join(t.dims)}] ({t.unit}) {t.title}: {len(t.values)} entries, "
                              f"see SPEC({t.name})")
        text = "\n".join(lines)
        if max_chars is not None and len(text) > max_chars:
            return self.render(with_data=False)
        return text

    def copy(self) -> DataSheet:
        return DataSheet.from_json(self.to_json())

    def to_json(self) -> dict:
        return {"family": self.family, "title": self.title, "statement": self.statement,
                "rules": dict(self.rules), "tables": [t.to_json() for t in self.tables.values()]}

    @classmethod
    def from_json(cls, d: dict) -> DataSheet:
        sheet = cls(d["family"], d["title"], d["statement"], rules=dict(d["rules"]))
        for t in d["tables"]:
            sheet.tables[t["name"]] = Table.from_json(t)
        return sheet

    def lookup(self, name: str, max_entries: int = 40) -> str | None:
        """The data-sheet entries about ``name``: a table, or every entry whose key has ``name``."""
        if name in self.tables:
            t = self.tables[name]
            items = list(t.values.items())
            if t.unit == "yes/no":  # a listing is read whole (its keys are short)
                max_entries = max(max_entries, MAX_LISTING_ENTRIES)
            shown = "; ".join(f"{k}={_fmt(v)}" for k, v in items[:max_entries])
            more = f" ... (+{len(items) - max_entries} more)" if len(items) > max_entries else ""
            return f"{t.name}[{','.join(t.dims)}] ({t.unit}) {t.title}: {shown}{more}"
        hits = []
        for t in self.tables.values():
            for k, v in t.values.items():
                if name in k.split(","):
                    hits.append(f"{t.name}[{k}]={_fmt(v)} {t.unit}")
        if not hits:
            return None
        more = f" ... (+{len(hits) - max_entries} more)" if len(hits) > max_entries else ""
        return "; ".join(hits[:max_entries]) + more


_TABLE_LINE = re.compile(
    r"^- (?P<name>\w+)\[(?P<dims>[^\]]*)\] \((?P<unit>[^)]*)\) (?P<title>[^:]+):(?: (?P<vals>.*))?$")


def parse_tables(text: str) -> dict[str, Table]:
    """Tables printed in full in a rendered data sheet (the inverse of :meth:`Table.render`)."""
    out: dict[str, Table] = {}
    for line in text.splitlines():
        m = _TABLE_LINE.match(line.strip())
        vals = (m.group("vals") or "") if m else ""
        if not m or vals.endswith(")") and "see SPEC(" in vals:
            continue
        t = Table(m.group("name"), m.group("title"), m.group("unit"), m.group("dims").split(","))
        for part in vals.split("; ") if vals else []:
            if "=" not in part:
                continue
            k, v = part.rsplit("=", 1)
            try:
                t.values[k] = float(v)
            except ValueError:
                t.values[k] = v
        out[t.name] = t
    return out


# -- realistic values --------------------------------------------------------------------


def amount(rng: random.Random, lo: float, hi: float, step: float = 1.0) -> float:
    """A value in [lo, hi] on a grid a person would type (``step`` 0.05, 0.25, 0.5, 1, 5 ...)."""
    x = rng.uniform(lo, hi)
    v = round(round(x / step) * step, 6)
    return float(max(step, v))


def up(x: float, step: float = 1.0) -> float:
    """Round up onto the grid."""
    return float(round(math.ceil(x / step - 1e-9) * step, 6))


FLOOR, CAP = "(a floor)", "(a cap)"  # how a rule states its direction where the name does not


def direction(rng: random.Random) -> str:
    """The direction of a neutrally named rule in this model: a floor (``>=``) or a cap (``<=``),
    drawn evenly, so that only the sheet tells which (no name or family has a usual sense)."""
    return ">=" if rng.random() < 0.5 else "<="


EXCEPTION_SHARE = 0.3  # directed rules that go the other way round for one listed entity


def exception_key(rng: random.Random, keys: list[str]) -> str | None:
    """The entity for which a directed rule goes the other way round (for some rules with three
    or more entities), so that an exception in the sheet is no sign of a fault."""
    return rng.choice(keys) if len(keys) > 2 and rng.random() < EXCEPTION_SHARE else None


def other_way(sense: str) -> str:
    return "<=" if sense == ">=" else ">="


def directed_text(head: str, lhs: str, sense: str, rhs: str) -> str:
    """The text of a rule whose direction the sheet states: ``head: lhs >= rhs (a floor).``"""
    return f"{head}: {lhs} {sense} {rhs} {FLOOR if sense == '>=' else CAP}."


MAX_LEFT_OUT = 0.45  # the largest share of a listed table's entities left out


def keep_some(rng: random.Random, *tables: Table) -> None:
    """Leave out some entries of each table (at least one kept; often none left out): a rule the
    sheet states for listed entities only. The share is drawn per table in the same way for every
    listed table (capacities, requirements, agreements), so the number of rows a family writes
    tells nothing about which rule it states or whether a fault can sit in it."""
    for table in tables:
        keys = list(table.values)
        n = min(len(keys) - 1, round(rng.uniform(0.0, MAX_LEFT_OUT) * len(keys)))
        for k in rng.sample(keys, max(0, n)):
            del table.values[k]


def booked(rng: random.Random, planned: float) -> float:
    """A volume booked in advance: a little under the planned one, often with a fractional part."""
    frac = 0.0 if rng.random() < 0.35 else rng.choice([0.2, 0.4, 0.5, 0.6, 0.8])
    return max(0, int(planned * rng.uniform(0.9, 1.0)) - 1) + frac


def booked_total(rng: random.Random, planned: float) -> float:
    """A total booked in advance over several routes: the planned volume rounded up, often with
    a fractional part (the other routes' headroom takes the little extra)."""
    frac = 0.0 if rng.random() < 0.35 else rng.choice([0.2, 0.4, 0.5, 0.6, 0.8])
    return float(math.ceil(planned) + frac)


def whole_lots(rng: random.Random, s: DataSheet, pinned: Table, var: str) -> Table:
    """The listing of ``pinned``'s quantities that come in whole units (their variable is an
    integer), with about half the whole-numbered entries listed, and its rule."""
    t = s.table(WHOLE_LOTS, f"{pinned.name} entries that come in whole units (listed only)", "yes/no",
                list(pinned.dims))
    for k, v in pinned.values.items():
        if float(v).is_integer() and rng.random() < 0.5:
            t.values[k] = "yes"
    s.rule(f"whole_lots: for each entry listed in both {pinned.name} and whole_lots, {var} takes whole values "
           "only (integer).")
    return t


def whole_members(rng: random.Random, s: DataSheet, what: str, dims: list[str], keys: list[str],
                  totals: Table, groups: dict[str, list[str]], var: str) -> Table:
    """The listing of ``var``'s entries (``keys``: each a ``what``, e.g. a lane) that come in
    whole units, and its rule. About half are listed (of at most :data:`MAX_LOOSE_LOTS`
    outside the totals). The members of a pinned total (``groups``: a ``totals`` key -> its
    member keys) are all listed but one half of the time: a total with a fraction then needs
    its one continuous member, and a fault elsewhere can make any of them the one."""
    t = s.table(WHOLE_LOTS, f"{what}s that carry whole units only (listed only)", "yes/no", list(dims))
    grouped = {k for ms in groups.values() for k in ms}
    rest = [k for k in keys if k not in grouped]
    for k in rng.sample(rest, min(len(rest), MAX_LOOSE_LOTS)):
        if rng.random() < 0.5:
            t.values[k] = "yes"
    for g, members in groups.items():
        fractional = not float(totals.values[g]).is_integer()
        if rng.random() < 0.5:
            picked = rng.sample(members, len(members) - 1)
        else:
            picked = [m for m in members if rng.random() < 0.5]
            if fractional and len(picked) == len(members):
                picked.remove(rng.choice(members))
        for k in picked:
            t.values[k] = "yes"
    s.rule(f"whole_lots: for each {what} ({','.join(dims)}) listed in whole_lots, {var} takes whole values "
           "only (integer).")
    return t


def table_grid(table: Table) -> float:
    """The coarsest step every number of ``table`` lies on (1 for whole numbers, 0.5, 0.05, ...)."""
    vals = [abs(float(v)) for v in table.values.values() if not isinstance(v, str)]
    for g in (100.0, 50.0, 10.0, 5.0, 1.0, 0.5, 0.25, 0.1, 0.05, 0.01):
        if vals and all(abs(v / g - round(v / g)) <= 1e-9 * max(1.0, v / g) for v in vals):
            return g
    return 0.001


def down(x: float, step: float = 1.0) -> float:
    """Round down onto the grid."""
    return float(round(math.floor(x / step + 1e-9) * step, 6))
