"""What the environment shows of a problem's specification, and ``SPEC(name)`` look-ups.

Small problems print the whole data sheet in every observation; large ones print the
statement and rules with a list of tables, and the data is read through ``SPEC(name)``.
It answers with the specification, never with the row it assembles: a row or variable
gives the rule it follows and the data entries that rule reads for it; a row the
specification does not have gives the rule of its family and the entities the sheet lists
for it; a table gives its entries, an entity (``m1``, ``t3``) every entry about it. Putting
the row together (and seeing where the model departs from it) is the agent's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordebug.models import build_from_sheet
from ordebug.models.base import BaseModel
from ordebug.models.datasheet import WHOLE_LOTS, DataSheet
from ordebug.solver.spec import family, fmt_num

MAX_SPEC_CHARS = 6000  # a longer data sheet is consulted through SPEC(name) instead of printed
TYPE_WORD = {"C": "continuous", "I": "integer", "B": "binary"}
MAX_DATA_ENTRIES = 80  # data entries cited for one row (a longer row is read with INSPECT)


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

    def compact_text(self) -> str:
        """The title and rules, the tables by name only (their entries through ``SPEC``): the
        specification part of a compact observation (``env.observation: compact``)."""
        sh = self.sheet
        lines = [f"{sh.title} (family: {sh.family})", "Rules:", *(f"{rid}. {text}" for rid, text in sh.rules.items())]
        tables = "; ".join(f"{t.name}[{','.join(t.dims)}] ({t.unit})" for t in sh.tables.values())
        lines.append(f"Data: {tables}; see SPEC(table) for a table's entries")
        return "\n".join(lines)

    def answers(self, names: list[str]) -> list[tuple[str, str]]:
        """``SPEC(name)``'s answer for each of ``names``, the rule's text left to the Rules
        (``follows R8``; :func:`expand_answer` puts it back): what a compact observation
        prints about the members of the IIS. Never more text than the sheet it replaces: the
        members past that are reached with ``SPEC``."""
        budget = len(self.observation_text()) - len(self.compact_text())
        out = []
        for n in dict.fromkeys(names):
            text = elide_rules(self.lookup(n), self.sheet.rules, n)
            budget -= len(n) + len(text) + 6  # "- {n} -> {text}\n"
            if budget < 0:
                break
            out.append((n, text))
        return out

    def lookup(self, name: str) -> str:
        exp = self.expected
        if name in exp.spec.rows:
            return self._element(name, f"sense:{name}")
        if name in exp.spec.vars:
            return self._element(name, f"type:{name}")
        table = self.sheet.lookup(name)
        rule = self._family_rule(name)
        if rule is not None and table is not None and "(" not in name:  # a family named like its table
            return f"{rule}\n{table}"
        found = table or rule
        if found is not None:
            return found
        return (f"the specification has no rule, variable, table or entity named {name}; "
                f"its rules are {', '.join(self.sheet.rules)} (see the Specification section)")

    def _element(self, name: str, source: str) -> str:
        """The rule ``name`` follows and the data entries it reads for it."""
        exp = self.expected
        rule = exp.sources.get(source, "")
        if rule.startswith(f"{WHOLE_LOTS}["):  # an integer by the whole-lots listing
            rule = _rule_of(self.sheet, family(name)) or ""
        data = element_data(exp, name)
        items = list(data.items())
        more = len(items) - MAX_DATA_ENTRIES
        data = dict(items[:MAX_DATA_ENTRIES])
        lines = [f"{name} follows {rule}: {self.sheet.rules.get(rule, '')}"]
        lines += _data_line(data) + ([f"(+{more} more data entries: INSPECT the row and SPEC the tables)"]
                                      if more > 0 else [])
        if name in exp.spec.vars:
            src = exp.sources.get(f"type:{name}", "")
            why = f" ({src} = yes)" if src.startswith(f"{WHOLE_LOTS}[") else ""
            lines.append(f"type: {TYPE_WORD[exp.spec.vars[name].vtype]}{why}")
        return "\n".join(lines)

    def _family_rule(self, name: str) -> str | None:
        """For a row the specification does not have, or a family of rows named alone
        (``machine_hours``): the rule of its family and the entities the sheet lists for that
        rule (a rule stated for listed entities only)."""
        fam = family(name)
        rid = _rule_of(self.sheet, fam)
        if rid is None or ("(" not in name and not any(family(r) == fam for r in self.expected.spec.rows)):
            return None
        lines = [f"{fam} rows follow {rid}: {self.sheet.rules[rid]}"]
        for t in sorted({t.table for t in self.expected.rule_templates if family(t.name) == fam and t.table}
                        | {ref.partition("[")[0] for r, ref in self.expected.listed.items() if family(r) == fam}):
            lines.append(f"listed in {t}: {'; '.join(self.sheet.tables[t].values) or '(none)'}")
        return "\n".join(lines)


def elide_rules(answer: str, rules: dict[str, str], name: str) -> str:
    """``NAME follows R8: <R8's text>`` -> ``follows R8`` (and ``FAM rows follow R6: ...`` ->
    ``rows follow R6``) on the answer's first line."""
    first, _, rest = answer.partition("\n")
    for who, head in ((name, "follows "), (family(name), "rows follow ")):
        rid, _, text = first.removeprefix(f"{who} {head}").partition(": ")
        if first.startswith(f"{who} {head}") and rules.get(rid) == text:
            first = head + rid
            break
    return first + ("\n" + rest if rest else "")


def expand_answer(answer: str, rules: dict[str, str], name: str) -> str:
    """The inverse of :func:`elide_rules`: SPEC's own answer again."""
    first, _, rest = answer.partition("\n")
    for head, who in (("follows ", name), ("rows follow ", family(name))):
        rid = first.removeprefix(head)
        if first.startswith(head) and rid in rules:
            first = f"{who} {head}{rid}: {rules[rid]}"
            break
    return first + ("\n" + rest if rest else "")


def _rule_of(sheet: DataSheet, fam: str) -> str | None:
    """The id of the rule that states the rows of ``fam`` (its text starts with the name)."""
    return next((rid for rid, text in sheet.rules.items()
                 if text.startswith((f"{fam}(", f"{fam}:", f"{fam},"))), None)


def cite(sheet: DataSheet, ref: str) -> str | None:
    """``hours[m1,prod_2] = 2.75 hours`` for a data-sheet reference; None for a rule id."""
    tname, _, key = ref.partition("[")
    t = sheet.tables.get(tname)
    if t is None or not key:
        return None
    return f"{ref} = {fmt_num(t.num(*key.rstrip(']').split(',')))} {t.unit}"


def cited_value(text: str) -> float:
    """The number of an entry as :func:`cite` writes it (``hours[m1,p2] = 2.75 hours`` -> 2.75)."""
    return float(text.split(" = ", 1)[1].split()[0])


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
