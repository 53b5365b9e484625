"""What the environment shows of a problem's specification, and ``SPEC(name)`` look-ups.

Small problems print the whole data sheet in every observation; large ones print the
statement and rules with a list of tables, and the data is read through ``SPEC(name)``:
a row or variable gives what the specification says it must be (and the data it comes
from), a table gives its entries, an entity (``m1``, ``t3``) every entry about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordebug.models import build_from_sheet
from ordebug.models.base import BaseModel
from ordebug.models.datasheet import DataSheet
from ordebug.solver.spec import fmt_num, render_expr

MAX_SPEC_CHARS = 6000  # a longer data sheet is consulted through SPEC(name) instead of printed
MAX_EXPECTED_TERMS = 80


@dataclass
class SpecView:
    sheet: DataSheet
    tier: str = "small"
    _expected: BaseModel | None = field(default=None, repr=False)

    @classmethod
    def from_record(cls, problem: dict) -> SpecView | None:
        spec = problem.get("spec")
        if not spec:
            return None
        return cls(DataSheet.from_json(spec), str(problem.get("tier", "small")))

    @property
    def expected(self) -> BaseModel:
        """The model the specification defines (built lazily, once)."""
        if self._expected is None:
            self._expected = build_from_sheet(self.sheet)
        return self._expected

    def observation_text(self) -> str:
        if self.tier == "large":
            return self.sheet.render(with_data=False)
        return self.sheet.render(with_data=True, max_chars=MAX_SPEC_CHARS)

    def lookup(self, name: str) -> str:
        exp = self.expected
        if name in exp.spec.rows:
            return self._row(name)
        if name in exp.spec.vars:
            return self._var(name)
        found = self.sheet.lookup(name)
        if found is not None:
            return found
        return (f"the specification has no rule, variable, table or entity named {name}; "
                f"its rules are {', '.join(self.sheet.rules)} (see the Specification section)")

    def _row(self, name: str) -> str:
        exp = self.expected
        row = exp.spec.rows[name]
        rule = exp.sources.get(f"sense:{name}", "")
        coefs = dict(list(row.coefs.items())[:MAX_EXPECTED_TERMS])
        more = f" ... (+{len(row.coefs) - MAX_EXPECTED_TERMS} more terms)" if len(row.coefs) > len(coefs) else ""
        expr = render_expr(coefs) + more
        sides = (f"{fmt_num(row.lhs)} <= {expr} <= {fmt_num(row.rhs)}" if row.sense == "range"
                 else f"{expr} {row.sense} {fmt_num(row.bound)}")
        lines = [f"{name} follows {rule}: {self.sheet.rules.get(rule, '')}", f"specified: {name}: {sides}"]
        return "\n".join(lines + _data_line(element_data(exp, name)))

    def _var(self, name: str) -> str:
        exp = self.expected
        v = exp.spec.vars[name]
        lb, ub = exp.spec.var_bounds(name)
        word = {"C": "continuous", "I": "integer", "B": "binary"}[v.vtype]
        rule = exp.sources.get(f"type:{name}", "")
        lines = [f"{name} follows {rule}: {self.sheet.rules.get(rule, '')}",
                 f"specified: {fmt_num(lb)} <= {name} <= {fmt_num(ub)} ({word})"]
        return "\n".join(lines + _data_line(element_data(exp, name)))


def cite(sheet: DataSheet, ref: str) -> str | None:
    """``hours[m1,prod_2] = 2.75 hours`` for a data-sheet reference; None for a rule id."""
    tname, _, key = ref.partition("[")
    t = sheet.tables.get(tname)
    if t is None or not key:
        return None
    return f"{ref} = {fmt_num(t.num(*key.rstrip(']').split(',')))} {t.unit}"


def element_data(model: BaseModel, name: str) -> dict[str, str]:
    """The data entries behind a row (``rhs`` and each variable's coefficient) or a variable
    (``lb``, ``ub``) of the specified model, cited as :func:`cite` writes them."""
    if name in model.spec.rows:
        keys = ["rhs", *model.spec.rows[name].coefs]
        sources = [f"rhs:{name}", *(f"coef:{name}:{v}" for v in model.spec.rows[name].coefs)]
    else:
        keys, sources = ["lb", "ub"], [f"lb:{name}", f"ub:{name}"]
    out = {}
    for key, src in zip(keys, sources, strict=True):
        text = cite(model.sheet, model.sources.get(src, ""))
        if text:
            out[key] = text
    return out


def parse_data_line(text: str) -> dict[str, str]:
    """The inverse of the ``data:`` line of a look-up (``rhs: available[m1,t3] = 340 hours; ...``)."""
    out = {}
    for part in text.split("; "):
        key, sep, value = part.partition(": ")
        if sep:
            out[key] = value
    return out


def _data_line(data: dict[str, str]) -> list[str]:
    return [f"data: {'; '.join(f'{k}: {v}' for k, v in data.items())}"] if data else []
