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

    def _cite(self, refs: list[str]) -> str:
        parts = []
        for ref in dict.fromkeys(refs):
            tname, _, key = ref.partition("[")
            t = self.sheet.tables.get(tname)
            if t is None or not key:
                continue
            parts.append(f"{ref} = {fmt_num(t.num(*key.rstrip(']').split(',')))} {t.unit}")
        return "; ".join(parts)

    def _row(self, name: str) -> str:
        exp = self.expected
        row = exp.spec.rows[name]
        rule = exp.sources.get(f"sense:{name}", "")
        coefs = dict(list(row.coefs.items())[:MAX_EXPECTED_TERMS])
        more = f" ... (+{len(row.coefs) - MAX_EXPECTED_TERMS} more terms)" if len(row.coefs) > len(coefs) else ""
        expr = render_expr(coefs) + more
        sides = (f"{fmt_num(row.lhs)} <= {expr} <= {fmt_num(row.rhs)}" if row.sense == "range"
                 else f"{expr} {row.sense} {fmt_num(row.bound)}")
        refs = [exp.sources.get(f"rhs:{name}", "")] + [exp.sources.get(f"coef:{name}:{v}", "") for v in row.coefs]
        data = self._cite([r for r in refs if "[" in r])
        lines = [f"{name} follows {rule}: {self.sheet.rules.get(rule, '')}", f"specified: {name}: {sides}"]
        if data:
            lines.append(f"data: {data}")
        return "\n".join(lines)

    def _var(self, name: str) -> str:
        exp = self.expected
        v = exp.spec.vars[name]
        lb, ub = exp.spec.var_bounds(name)
        word = {"C": "continuous", "I": "integer", "B": "binary"}[v.vtype]
        rule = exp.sources.get(f"type:{name}", "")
        refs = [exp.sources.get(f"lb:{name}", ""), exp.sources.get(f"ub:{name}", "")]
        data = self._cite([r for r in refs if "[" in r])
        lines = [f"{name} follows {rule}: {self.sheet.rules.get(rule, '')}",
                 f"specified: {fmt_num(lb)} <= {name} <= {fmt_num(ub)} ({word})"]
        if data:
            lines.append(f"data: {data}")
        return "\n".join(lines)
