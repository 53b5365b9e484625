"""HeuristicAgent: diagnoses like a careful modeller, against the problem's specification.

It reads only the observation text. For each member of the IIS it compares the model with
what the specification says: a row's terms, sense and right-hand side with the rule and data
they come from, a bound with its data entry, an integer variable with the rule that declares
its type. The first disagreement is repaired with the specification's own value; a row the
specification does not contain is deleted. It never guesses by statistics (no "odd one out",
no powers of ten) and never deletes or loosens a rule the specification has.

Where the data sheet is printed (small problems) it works out what each IIS row should be
from the printed tables, with the standard formulation of the family; where it is not
(large problems) it asks ``SPEC(name)`` for each member it has not checked yet. Rows cut
short in the IIS are read whole with ``INSPECT`` first. A conflict larger than the
observation shows is named in full with ``GET_IIS()`` first; one with more members than steps
left is checked family by family (``SPEC(family)``: which entities each rule is stated for)
before row by row. If the IIS holds no disagreement, it submits rather than guess.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from ordebug import actions as act
from ordebug.agents.base import answer
from ordebug.agents.view import RowView, View, parse_observation, parse_row, split_names
from ordebug.env.specview import TYPE_WORD, cited_value, element_data, parse_data_line
from ordebug.models import FAMILIES, build_from_sheet
from ordebug.models.base import BaseModel, exceptions, row_key, row_sense
from ordebug.models.datasheet import WHOLE_LOTS, DataSheet, parse_tables
from ordebug.solver.spec import INF, family, fmt_num, natural_key

TYPE_LETTER = {word: letter for letter, word in TYPE_WORD.items()}
TOL = 1e-9
CUT = re.compile(r"\(\+\d+ chars\)")  # the history's mark of an answer cut short
MAX_SINGLE_TYPE_LOOKUPS = 3  # more integers in the conflict than this: read the whole-lots listing instead


@dataclass
class Expected:
    """What the specification says one element must be, and where it says so."""

    row: RowView | None = None  # None with absent=True: the specification has no such row
    absent: bool = False
    bounds: tuple[float, float, str] | None = None  # lb, ub, type letter
    rule: str = ""  # "R4: machine_hours(m,t): ..."
    data: dict[str, str] | None = None  # element ("rhs", var name, "ub", "lb") -> "table[key] = v unit"
    stated: str = ""  # SPEC's answer: the rule's text, from which (with the data) the row is put together
    vtype: str = ""  # SPEC's answer for a variable: its type letter


def assemble(row: RowView, exp: Expected) -> RowView:
    """The row the specification states, put together as a modeller would from SPEC's answer:
    the rule's sense, and each data entry it reads in place of the model's number (the
    model's own sign kept); terms and numbers the rule fixes itself are the model's."""
    data = exp.data or {}
    stated = row_sense(exp.stated, row.name)
    sense = stated if stated and row.sense in ("<=", ">=") else row.sense
    coefs = {v: math.copysign(cited_value(data[v]), c) if v in data else c for v, c in row.coefs.items()}
    rhs = math.copysign(cited_value(data["rhs"]), row.rhs) if "rhs" in data else row.rhs
    return RowView(row.name, coefs, sense, rhs)


@dataclass
class Fix:
    action: str
    element: str
    thoughts: list[str]


def _unseen(name: str) -> RowView:
    """A row known by name only (not shown, not read yet)."""
    return RowView(name, {}, "", 0.0)


def _listed(body: str) -> set[str]:
    """The entities a family answer of SPEC lists (``listed in table: a; b``)."""
    return {k for line in re.findall(r"^listed in \w+: (.*)$", body, re.M) for k in line.split("; ")}


def _same(a: float, b: float) -> bool:
    if INF in (abs(a), abs(b)):
        return a == b
    return abs(a - b) <= TOL * max(1.0, abs(b))


def _pick(options: list[str], *key: str) -> str:
    """A wording chosen by a stable hash of the situation (varied, reproducible)."""
    h = int(hashlib.sha256("|".join(key).encode()).hexdigest()[:8], 16)
    return options[h % len(options)]


class HeuristicAgent:
    name = "heuristic"

    def __init__(self) -> None:
        self.reset()

    def reset(self, seed: int = 0) -> None:
        self.expected: dict[str, Expected] = {}
        self.model: BaseModel | None = None
        self.sheet_read = False
        self.inspected: dict[str, RowView] = {}
        self.asked: set[str] = set()
        self.fixed: list[str] = []
        self.fixed_elements: list[str] = []
        self.queue: list[Fix] = []  # further disagreements of the element being repaired
        self.siblings: list[str] = []  # rows written from the same rule or entry as a repaired row: check them too
        self.sibling_kind = "FLIP_SENSE("  # the repair those rows may need
        self.looked: set[str] = set()  # siblings already asked for with INSPECT
        self.slack: dict[str, float] = {}  # without a specification: IIS row -> violation (this model version)
        self.hidden: list[str] = []  # IIS rows the observation leaves out, as GET_IIS() named them
        self.asked_iis = False
        self.repairs_seen = 0  # repairs made when the conflict was last taken in (another one after each)
        self.short: bool | None = None  # more members to look up than steps: families first (decided once)
        # a reversed rule repaired without the sheet's model (a compact observation): the family whose
        # other rows SPEC(family) will name, and the sense the rule was written with by mistake
        self.pending_family: str | None = None
        self.reversed_sense = ""

    # ---------------------------------------------------------------------------------
    def act(self, observation: str) -> str:
        v = parse_observation(observation)
        self._read_history(v)
        self._read_answers(v)
        if self.queue and v.steps_left > 1:
            fix = self.queue.pop(0)
            self.fixed.append(fix.action)
            return answer([f"{fix.element} still disagrees with the specification in another place.", *fix.thoughts],
                          fix.action)
        if self.pending_family and v.steps_left > 2 and self.pending_family not in self.asked:
            fam, last = self.pending_family, self.fixed_elements[-1]
            self.asked.add(fam)
            return answer([f"{last} follows a rule written the wrong way round, and that rule writes other {fam} "
                           f"rows too; I ask which entities it is stated for to check them."], act.spec(fam))
        if self.siblings and v.steps_left > 1:
            step = self._check_siblings(v)
            if step:
                return step
        if v.status in ("FEASIBLE", "UNBOUNDED"):
            return answer(self._submit_thoughts(v), act.submit())
        if v.steps_left <= 1:
            return answer(["Only one step is left; I submit what I have."], act.submit())
        if not v.has_spec:
            return self._without_spec(v)
        self._read_sheet(v)
        lead = self._lead(v)
        # 0. a conflict larger than the observation shows: the names of the rest first (again
        # after a repair: the conflict is another one)
        if self.repairs_seen != len(self.fixed):
            self.repairs_seen = len(self.fixed)
            self.hidden, self.short, self.asked_iis = [], None, False
        if v.hidden_rows and not self.asked_iis:
            self.asked_iis = True
            return answer([lead, _pick([
                f"The observation shows part of the conflict; {v.hidden_rows} more constraints are in it, and I "
                "need their names to check them too.",
                f"{v.hidden_rows} constraints of the conflict are not listed; I ask for the whole IIS before "
                "checking it.",
            ], v.problem_id, "hidden")], act.get_iis())
        shown = [r.name for r in v.iis_rows]
        on_view = set(shown)
        rows = shown + [r for r in self.hidden if r not in on_view]
        # too many members to look up one by one: the rule of each family stated for listed
        # entities only, once (which entities it is stated for), then the rows themselves
        if self.short is None:
            todo = [r for r in rows if r not in self.expected] + [b["var"] for b in v.iis_bounds
                                                                   if b["var"] not in self.expected]
            self.short = self.model is None and len(todo) > v.steps_left - 3
        short = self.short
        if short:
            for fam in sorted({family(r) for r in rows}):
                if fam not in self.asked and re.search(rf"^R\d+\. {re.escape(fam)}\(.*\blisted in\b", v.spec_text,
                                                       re.M):
                    self.asked.add(fam)
                    return answer([lead, _pick([
                        f"The conflict has {len(rows)} rows, more than I can look up one at a time; I read the rule "
                        f"behind the {fam} rows once, with the entities it is stated for.",
                        f"Rather than one look-up per row, I ask what the specification says about {fam} as a "
                        "whole.",
                    ], v.problem_id, fam)], act.spec(fam))
        # 1. learn what the specification says about each row and bound (SPEC where not printed)
        # rows first, then finite upper bounds (data), then lower bounds and integer variables
        # (mostly the rules' own "x >= 0" and types): each look-up costs a step
        groups = [rows,
                  [b["var"] for b in v.iis_bounds if b["side"] == "upper"],
                  [b["var"] for b in v.iis_bounds if b["side"] == "lower"] + list(v.int_vars)]
        for i, names in enumerate(groups):
            if (i or short) and self._fixes(v):
                break
            ask = self._ask_listing(v) if i == len(groups) - 1 else None
            ask = ask or self._to_ask(v, names)
            if ask:
                return ask
        # 2. read rows whose terms are cut off, and the rows the observation does not show
        fixes = self._fixes(v)
        for row in [] if short and fixes else v.iis_rows:
            if row.truncated and row.name not in self.inspected and not self._row_fixes(row, v):
                self.inspected[row.name] = row
                return answer([lead, f"{row.name} is shown cut short; I read it whole before comparing it "
                                     "with the specification."], act.inspect(row.name))
        for name in [] if fixes else rows[len(shown):]:
            if name not in self.inspected and not self._known_absent(name):
                self.inspected[name] = _unseen(name)  # (replaced by INSPECT's answer)
                return answer([lead, f"{name} is in the conflict but not shown; I read it before comparing it "
                                     "with the specification."], act.inspect(name))
        # 3. the first disagreement, repaired with the specification's value
        if fixes:
            fix = fixes[0]
            # the same element's other places; a fix found twice (e.g. an integer both in the IIS
            # rows and listed by the sheet) is applied once, never again once the model is feasible
            self.queue = [f for f in fixes[1:] if f.element == fix.element and f.action != fix.action]
            self.fixed.append(fix.action)
            self.fixed_elements.append(fix.element)
            self.siblings, self.sibling_kind = self._sharing(fix, v), fix.action.split("(")[0] + "("
            return answer([lead, *fix.thoughts], fix.action)
        return answer([lead, "Every member of the IIS agrees with the specification as far as I can read it, so I "
                             "have no correction I can justify; I submit rather than delete a rule."], act.submit())

    def _sharing(self, fix: Fix, v: View) -> list[str]:
        """Rows written from the same rule or data entry as the one just repaired, which the
        same mistake may have written wrong too: a reversed rule reverses its whole family (a
        row its exception turns round was missed alone), and
        a wrong entry (``hours[m1,prod_2]``) is wrong in every row it enters."""
        if self.model is None:
            exp = self.expected.get(fix.element)
            row = next((r for r in v.iis_rows if r.name == fix.element), None)
            if (fix.action.startswith("FLIP_SENSE(") and exp is not None and row is not None
                    and row_key(fix.element) not in exceptions(exp.stated)):
                self.pending_family, self.reversed_sense = family(fix.element), row.sense
            return []  # (siblings of a reversed rule: once SPEC(family) names them)
        if fix.action.startswith("FLIP_SENSE("):
            rule = self.model.sheet.rules.get(self.model.sources.get(f"sense:{fix.element}", ""), "")
            if row_key(fix.element) in exceptions(rule):  # a missed exception: this row alone
                return []
            rows = [r for r in self.model.spec.rows if family(r) == family(fix.element)]
        elif fix.action.startswith("SET_COEF("):
            var = act.parse_action(fix.action).args[1]
            ref = self.model.sources.get(f"coef:{fix.element}:{var}", "")
            rows = [k.split(":")[1] for k, src in self.model.sources.items() if k.startswith("coef:") and src == ref]
        else:
            return []
        return [r for r in rows if r != fix.element and r not in self.fixed_elements]

    def _check_siblings(self, v: View) -> str | None:
        """A reversed rule or a wrong data entry writes every row made from it: read each such
        row (INSPECT) and repair those that disagree the same way, before judging the model."""
        shown = {r.name: r for r in v.iis_rows}
        while self.siblings:
            name = self.siblings[0]
            row = shown.get(name) or self.inspected.get(name)
            if row is None and self.sibling_kind == "FLIP_SENSE(" and v.steps_left <= 2 * len(self.siblings) + 1:
                # too few steps to read every row a reversed rule wrote: it wrote them all the same way
                self.siblings.pop(0)
                last = self.fixed_elements[-1]
                self.fixed.append(act.flip_sense(name))
                self.fixed_elements.append(name)
                return answer([f"{name} is written from the same rule as {last}, which the model has the wrong way "
                               f"round; with {v.steps_left} steps left I turn it round without reading it first."],
                              act.flip_sense(name))
            if row is None:
                if name in self.looked:  # asked already, and the model has no such row
                    self.siblings.pop(0)
                    continue
                self.looked.add(name)
                last = self.fixed_elements[-1]
                if self.sibling_kind == "FLIP_SENSE(":
                    options = [
                        f"{last} was written from the same rule as {name}; a reversed rule reverses every row "
                        f"it writes, so I read {name} too.",
                        f"The rule behind {last} also gives {name}; I check that row's sense.",
                        f"If the rule itself was reversed, {name} carries the same wrong inequality as {last}; "
                        "I look at it.",
                        f"{name} belongs to the family of {last}; I read it before I trust the rest.",
                        f"{last} and {name} come from one rule: if its inequality was typed the wrong way round, "
                        f"{name} is wrong too, so I inspect it.",
                        f"Before submitting I read {name}, a sibling of {last} under the same rule, for the "
                        "same reversal.",
                    ]
                else:
                    options = [
                        f"The data entry I corrected in {last} enters {name} as well; the same wrong value "
                        f"would be there, so I read {name}.",
                        f"What I repaired in {last} also enters {name}; I check that row.",
                        f"A value typed wrong once is wrong wherever it is used: {name} uses it too, so I "
                        "inspect it.",
                        f"{name} reads the same entry as {last}; I look at its coefficient before moving on.",
                    ]
                return answer([_pick(options, v.problem_id, name)], act.inspect(name))
            self.siblings.pop(0)
            if self.model is None and self.sibling_kind == "FLIP_SENSE(":  # the rule's other rows, read whole
                if row.sense != self.reversed_sense:
                    continue
                last = self.fixed_elements[-1]
                self.fixed.append(act.flip_sense(name))
                self.fixed_elements.append(name)
                return answer([f"{name} comes from the same rule as {last} and has the same {row.sense}, the wrong "
                               "way round as well."], act.flip_sense(name))
            fixes = [f for f in self._row_fixes(row, v) if f.action.startswith(self.sibling_kind)]
            if fixes:
                self.fixed.append(fixes[0].action)
                self.fixed_elements.append(name)
                why = ("comes from the same rule and is reversed as well" if self.sibling_kind == "FLIP_SENSE("
                       else "uses the same data entry and carries the same wrong value")
                return answer([f"{name} {why}.", *fixes[0].thoughts], fixes[0].action)
        return None

    # -- without a specification: only what the solver can verify ------------------------
    def _without_spec(self, v: View) -> str:
        """No specification to compare with: the one thing that can be verified is
        feasibility. Among the IIS rows, find those violated at the point that violates the
        model's rows least (``CHECK_SLACK``) and relax one by exactly its violation: the
        smallest change of that row the solver confirms. A variable whose lower bound lies
        above its upper bound gets them swapped (both values are the model's own). Other
        conflicts of bounds alone, or no violated row within reach: submit rather than guess."""
        if v.history:
            m = re.match(r"^\d+\. CHECK_SLACK\((.+?)\) -> .*?: (?:violated by (\S+)|satisfied)", v.history[-1])
            if m:
                self.slack[m.group(1)] = float(m.group(2)) if m.group(2) else 0.0
        intro = ("This model came without a specification, so no member of the IIS can be checked against what "
                 "was intended; what I can verify is feasibility.")
        crossed = sorted({b["var"]: b for b in v.iis_bounds if b["lb"] > b["ub"]}.values(),
                         key=lambda b: natural_key(b["var"]))
        if crossed:
            b = crossed[0]
            self.fixed.append(act.update_bounds(b["var"], b["ub"], b["lb"]))
            return answer([intro, f"{b['var']} has lower bound {fmt_num(b['lb'])} above its upper bound "
                                  f"{fmt_num(b['ub'])}, which no value can satisfy.",
                           "Swapping them keeps both values the model states, in the order that can hold; the "
                           "solver will confirm feasibility."], self.fixed[-1])
        rows = sorted((r.name for r in v.iis_rows), key=natural_key)
        if not rows:
            return answer([intro, "The conflict lies in variable bounds alone, and nothing tells me which bound was "
                                  "meant; I submit rather than guess."], act.submit())
        violated = [(self.slack[r], r) for r in rows if self.slack.get(r, 0.0) > 0]
        if violated:
            amount, row = max(violated, key=lambda x: (x[0], natural_key(x[1])))
            self.slack = {}
            widen = float(f"{amount * (1 + 1e-6) + 1e-9:.7g}")
            self.fixed.append(act.relax(row, widen))
            return answer([intro, f"At the point that violates the rows least, {row} is violated by "
                                  f"{fmt_num(amount)}: relaxing it by that much is the smallest change of one row "
                                  "that removes this conflict there.",
                           "The solver will confirm feasibility; whether this is the intended repair cannot be "
                           "checked without a specification."], act.relax(row, widen))
        todo = [r for r in rows if r not in self.slack]
        if todo and v.steps_left > 2:
            return answer([intro, _pick([f"I measure how far {todo[0]} is from holding at the least-violation point.",
                                         f"I check {todo[0]}'s violation at the point that violates the rows least."],
                                        v.problem_id, todo[0], str(len(v.history)))], act.check_slack(todo[0]))
        return answer([intro, "No row of the conflict that I could check is violated at the least-violation point, "
                              "so I have no change I can justify; I submit."], act.submit())

    # -- reading -------------------------------------------------------------------------
    def _read_sheet(self, v: View) -> None:
        if self.sheet_read:
            return
        self.sheet_read = True
        tables = parse_tables(v.spec_text)
        if v.family not in FAMILIES or not tables or "see SPEC(" in v.spec_text:
            return
        lines = v.spec_text.splitlines()
        rules = dict(re.findall(r"^(R\d+)\. (.*)$", v.spec_text, re.M))
        sheet = DataSheet(v.family, lines[0].split(" (family:")[0], lines[1] if len(lines) > 1 else "",
                          tables, rules)
        try:
            self.model = build_from_sheet(sheet)
        except (KeyError, ValueError, IndexError):
            self.model = None
            return
        for name, row in self.model.spec.rows.items():
            self.expected[name] = Expected(row=RowView(name, dict(row.coefs), row.sense, row.bound),
                                           rule=self._rule_text(rules, self.model.sources.get(f"sense:{name}", "")),
                                           data=element_data(self.model, name))
        for name in self.model.spec.vars:
            lb, ub = self.model.spec.var_bounds(name)
            self.expected[name] = Expected(bounds=(lb, ub, self.model.spec.vars[name].vtype),
                                           rule=self._rule_text(rules, self.model.sources.get(f"type:{name}", "")),
                                           data=element_data(self.model, name))

    @staticmethod
    def _rule_text(rules: dict[str, str], rid: str) -> str:
        return f"{rid}: {rules[rid]}" if rid in rules else rid

    def _read_history(self, v: View) -> None:
        """Take in the answer to the last SPEC or INSPECT."""
        if not v.history:
            return
        last = v.history[-1]
        iis = re.match(r"^\d+\. GET_IIS\(\) -> .*?(\d+) constraints not shown above: ([^;]*)", last, re.S)
        if iis and not CUT.search(last):  # (an answer cut short would name only some)
            self.hidden = split_names(iis.group(2))
            return
        m = re.match(r"^\d+\. (SPEC|INSPECT)\((.+?)\) -> (.*)$", last, re.S)
        if not m:
            return
        kind, name, body = m.group(1), m.group(2), m.group(3)
        if kind == "INSPECT":
            row = parse_row(body.splitlines()[0])
            if row is not None and row.name == name:
                self.inspected[name] = row
            return
        self._take_spec(name, body, v)

    def _read_answers(self, v: View) -> None:
        """A compact observation's SPEC answers about the IIS members, taken in like the
        answers to SPEC actions (a member already answered for is not read again)."""
        for name, body in v.spec_answers:
            if name not in self.expected:
                self._take_spec(name, body, v)

    def _take_spec(self, name: str, body: str, v: View) -> None:
        """What SPEC(name) answered."""
        if name == WHOLE_LOTS:
            self._read_listing(body, v)
            return
        if body.startswith("the specification has no rule"):
            self.expected[name] = Expected(absent=True, rule=body)
            return
        first = body.splitlines()[0]
        if "(" not in name and first.startswith(f"{name} rows follow "):  # a family's rule and its entities
            self._read_family(name, body, v)
            return
        if first.startswith(f"{family(name)} rows follow "):  # a row the specification does not state
            listed = _listed(body)
            entity = name.partition("(")[2].rstrip(")")
            self.expected[name] = Expected(absent=entity not in listed, rule=first.split(" follows ", 1)[-1],
                                           data={"entity": entity})
            return
        rule = first.split(" follows ", 1)[-1]
        dm = re.search(r"^data: (.*)$", body, re.M)
        data = parse_data_line(dm.group(1)) if dm else {}
        stated = rule.split(": ", 1)[-1]
        tm = re.search(r"^type: (\w+)", body, re.M)
        self.expected[name] = Expected(rule=rule, data=data, stated=stated,
                                       vtype=TYPE_LETTER[tm.group(1)] if tm else "")

    def _known_absent(self, name: str) -> bool:
        """Whether the specification is known to lack the row ``name``."""
        exp = self.expected.get(name)
        return exp.absent if exp is not None else self.model is not None and name not in self.model.spec.rows

    def _read_family(self, fam: str, body: str, v: View) -> None:
        """SPEC(family)'s answer: a row of the conflict whose entity the rule's listing lacks is
        a rule the specification does not contain (rows of listed entities are judged one by one)."""
        listed = _listed(body)
        if fam == self.pending_family:  # the other rows of a reversed rule, to check next
            self.pending_family = None
            self.siblings = [] if CUT.search(body) else [
                r for r in (f"{fam}({e})" for e in listed) if r not in self.fixed_elements]
        if not listed or CUT.search(body):  # an answer cut short would leave entities out
            return
        rule = body.splitlines()[0].split(" follows ", 1)[-1]
        for name in [r.name for r in v.iis_rows] + self.hidden:
            entity = name.partition("(")[2].rstrip(")")
            if family(name) == fam and entity and entity not in listed and name not in self.expected:
                self.expected[name] = Expected(absent=True, rule=rule, data={"entity": entity})

    def _ask_listing(self, v: View) -> str | None:
        """Many integers in the conflict and the sheet not printed: read the whole-lots listing
        once (one look-up instead of one per variable)."""
        todo = [x for x in v.int_vars if x not in self.expected and x not in self.asked]
        if self.model is not None or len(todo) <= MAX_SINGLE_TYPE_LOOKUPS or WHOLE_LOTS in self.asked \
                or f"{WHOLE_LOTS}[" not in v.spec_text:
            return None
        self.asked.add(WHOLE_LOTS)
        return answer([self._lead(v), f"{len(todo)} integer variables are in the conflict; rather than look each "
                                      f"one up, I read the {WHOLE_LOTS} listing, which says which come in whole "
                                      "units."], act.spec(WHOLE_LOTS))

    def _read_listing(self, body: str, v: View) -> None:
        """SPEC(whole_lots)'s answer: each integer whose index is a key of the listing is whole
        where it is listed and continuous where it is not."""
        m = re.match(rf"^{WHOLE_LOTS}\[([^\]]*)\]", body)
        if not m:
            return
        ndims = len(m.group(1).split(","))
        listed = {k for k, val in re.findall(r"([^\s;:]+)=(yes|no)", body) if val == "yes"}
        cut = re.search(r"\.\.\. \(\+\d+ (more|chars)\)", body) is not None  # then "not listed" is unknown
        for var in v.int_vars:
            key = var.partition("(")[2].rstrip(")")
            if key and len(key.split(",")) == ndims and var not in self.expected and (key in listed or not cut):
                self.expected[var] = Expected(
                    rule=f"the {WHOLE_LOTS} listing ({key} {'listed' if key in listed else 'not listed'})",
                    vtype="I" if key in listed else "C")

    def _to_ask(self, v: View, names: list[str]) -> str | None:
        if self.model is not None:
            return None
        for name in sorted(dict.fromkeys(names), key=natural_key):
            if name not in self.expected and name not in self.asked:
                self.asked.add(name)
                return answer([self._lead(v), _pick([
                    f"The data sheet is not printed in full, so I look up what the specification says about {name}.",
                    f"Before judging {name} I need its specification entry; I ask for it.",
                    f"I check {name} against the specification first.",
                    f"{name} is part of the conflict; its entry in the data sheet tells me what it should be.",
                    f"Without the sheet's entry for {name} I cannot judge it, so I look it up "
                    f"({v.steps_left} step(s) left).",
                ], v.problem_id, name)], act.spec(name))
        return None

    @staticmethod
    def _lead(v: View) -> str:
        names = [r.name for r in v.iis_rows] + [f"{b['side']} bound of {b['var']}" for b in v.iis_bounds]
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        step = len(v.history)
        first = v.iis_rows[0] if v.iis_rows else None
        options = [
            f"The model is infeasible; the conflict (IIS) is {shown}.",
            f"Infeasible. The irreducible conflict has {len(v.iis_rows)} rows and {len(v.iis_bounds)} bounds: {shown}.",
            f"SCIP cannot satisfy {shown} together.",
            f"After {step} step(s) the status is still INFEASIBLE, with {v.steps_left} step(s) left; the IIS "
            f"lists {shown}.",
            f"These members cannot all hold at once: {shown}. One of them must disagree with the specification.",
            f"The irreducible infeasible subsystem is small enough to check member by member: {shown}.",
        ]
        if first is not None:
            options.append(f"The conflict involves {first.name} ({first.sense} {fmt_num(first.rhs)}, "
                           f"{len(first.coefs)} term(s)) and {len(names) - 1} other member(s): {shown}.")
        return _pick(options, v.problem_id, str(step))

    def _submit_thoughts(self, v: View) -> list[str]:
        """Why the repaired model is submitted, citing the solver's answer and the corrections."""
        status = v.status.lower()
        m = re.search(r"objective (\S+?)\)?$", v.history[-1]) if v.history else None
        obj = f" (objective {m.group(1)})" if m else ""
        n = len(self.fixed)
        if not self.fixed:
            return [f"The solver reports the model {status}{obj} as it stands.",
                    "There is nothing to correct, so I submit it unchanged."]
        fixes = ", ".join(self.fixed)
        last = self.fixed_elements[-1] if self.fixed_elements else self.fixed[-1]
        key = (v.problem_id, str(n), "submit")
        first = _pick([
            f"The solver reports the model {status}{obj} after {n} correction(s) ({fixes}).",
            f"The last edit left the model {status}{obj}; the corrections were {fixes}.",
            f"{v.status}{obj}: the conflict is gone after {n} correction(s).",
            f"No IIS any more. After {fixes} the solver answers {status}{obj}.",
            f"The status line now reads {v.status}{obj}, {len(v.history)} step(s) in.",
            f"The repair worked: {fixes} made the model {status}{obj}.",
        ], *key)
        second = _pick([
            "Every element I changed now says what the specification says, so I submit.",
            "Each change put back a value the specification states, and nothing it contains was deleted; I submit.",
            "I changed only elements that disagreed with the data sheet, so the model should match it again; "
            "time to submit.",
            f"{last} now matches its specification entry, and nothing else needs a change; I submit.",
            "Further edits could only move the model away from the specification, so I submit it for the "
            "solver's verdict.",
        ], *key, "2")
        return [first, second]

    # -- diagnosis -----------------------------------------------------------------------
    def _fixes(self, v: View) -> list[Fix]:
        out: list[Fix] = []
        shown = {r.name: r for r in v.iis_rows}
        for name in sorted({*shown, *self.hidden}, key=natural_key):
            row = self.inspected.get(name, shown.get(name))
            if row is None:  # not shown and not read yet: only "the specification lacks it" can be judged
                out += [f for f in self._row_fixes(_unseen(name), v) if f.action.startswith("DROP_CONSTRAINT(")]
            elif row.sense:
                out += self._row_fixes(row, v)
        for b in v.iis_bounds:
            out += self._bound_fixes(b["var"], b["lb"], b["ub"], TYPE_LETTER.get(b["type"], "C"), v)
        for var in v.int_vars:
            exp = self.expected.get(var)
            if exp and (exp.bounds[2] if exp.bounds else exp.vtype) == "C":
                out.append(Fix(act.set_var_type(var, "C"), var, [
                    f"{var} is declared integer, but {exp.rule} calls it continuous.",
                    _pick([f"Integrality the specification does not ask for can make {var}'s rows impossible; "
                           "I declare it continuous again.",
                           f"I give {var} back the continuous type the specification states."], v.problem_id, var),
                ]))
        return out

    def _row_fixes(self, row: RowView, v: View) -> list[Fix]:
        exp = self.expected.get(row.name)
        if exp is None and self.model is not None:
            exp = Expected(absent=True)
        if exp is None:
            return []
        if exp.absent and exp.data and "entity" in exp.data:
            rid = exp.rule.split(":")[0]
            return [Fix(act.drop(row.name), row.name, [
                _pick([f"{rid} states {row.family} only for the entities its table lists, and "
                       f"{exp.data['entity']} is not among them: {row.name} is a rule the specification lacks.",
                       f"The specification lists no {exp.data['entity']} for {row.family} ({rid}), yet the model "
                       f"has {row.name}."], v.problem_id, row.name),
                "Deleting it is the repair here, because the specification does not contain it.",
            ])]
        if exp.absent:
            return [Fix(act.drop(row.name), row.name, [
                _pick([f"The specification has no rule that gives {row.name}: none of its rules describes it.",
                       f"{row.name} is not part of the specification; it is a rule nobody asked for.",
                       f"I find no rule and no data entry for {row.name} in the specification."],
                      v.problem_id, row.name),
                "Deleting it is the repair here, because the specification does not contain it.",
            ])]
        want = exp.row if exp.row is not None else assemble(row, exp) if exp.stated else None
        if want is None:
            return []
        data = exp.data or {}
        if want.sense != row.sense:
            return [Fix(act.flip_sense(row.name), row.name, [
                _pick([f"{row.name} reads '{row.sense} {fmt_num(row.rhs)}', but {exp.rule} states it with "
                       f"'{want.sense}'.",
                       f"The specification's rule {exp.rule} asks for '{want.sense}' in {row.name}; the model has "
                       f"'{row.sense} {fmt_num(row.rhs)}'.",
                       f"Comparing {row.name} with its rule: sense '{row.sense}' in the model, '{want.sense}' in "
                       f"the specification ({exp.rule})."], v.problem_id, row.name, "why"),
                _pick(["The sense is the wrong way round; I flip it back.",
                       "A reversed inequality: flipping it restores the rule as written.",
                       f"I flip {row.name} to {want.sense} as the specification says."], v.problem_id, row.name),
            ])]
        fixes: list[Fix] = []
        if not row.truncated or row.name in self.inspected:
            for var in sorted(set(row.coefs) | set(want.coefs), key=natural_key):
                have, should = row.coefs.get(var, 0.0), want.coefs.get(var, 0.0)
                if _same(have, should):
                    continue
                where = data.get(var)
                src = f" ({where})" if where else ""
                if have == 0:
                    why = _pick([f"{row.name} lacks the term {fmt_num(should)} {var}{src}, which the "
                                 f"specification's rule {exp.rule} requires.",
                                 f"The rule {exp.rule} includes {var} in {row.name} with coefficient "
                                 f"{fmt_num(should)}{src}; the model's row lacks it, unlike the specification."],
                                v.problem_id, row.name, var, "why")
                elif should == 0:
                    why = (f"{row.name} has a term in {var}, which the specification's rule {exp.rule} "
                           "does not include.")
                else:
                    why = _pick([f"In {row.name} the coefficient of {var} is {fmt_num(have)}, but the specification "
                                 f"gives {fmt_num(should)}{src}.",
                                 f"{var} enters {row.name} with {fmt_num(have)}; the specification's data sheet "
                                 f"says {fmt_num(should)}{src}.",
                                 f"By the specification the coefficient of {var} in {row.name} is "
                                 f"{fmt_num(should)}{src}, not {fmt_num(have)}."], v.problem_id, row.name, var, "why")
                fixes.append(Fix(act.set_coef(row.name, var, should), row.name, [why, _pick([
                    "I set it to the specified value.", "I correct the coefficient to match the data sheet.",
                    "That term is what disagrees with the specification; I put the specified value back."],
                    v.problem_id, row.name, var)]))
        if not _same(row.rhs, want.rhs):
            src = data.get("rhs")
            cite = f" ({src})" if src else ""
            fixes.append(Fix(act.update_rhs(row.name, want.rhs), row.name, [
                _pick([f"{row.name} has right-hand side {fmt_num(row.rhs)}, but the specification says "
                       f"{fmt_num(want.rhs)}{cite}.",
                       f"The specification gives {fmt_num(want.rhs)}{cite} for the right-hand side of {row.name}; "
                       f"the model has {fmt_num(row.rhs)}.",
                       f"{row.name}: {fmt_num(row.rhs)} in the model against {fmt_num(want.rhs)} in the "
                       f"specification{cite}; the terms and the sense agree."], v.problem_id, row.name, "why"),
                _pick(["I restore the specified value.", "The right-hand side was typed wrong; I correct it.",
                       f"I set {row.name}'s right-hand side back to {fmt_num(want.rhs)}."], v.problem_id, row.name),
            ]))
        return fixes

    def _bound_fixes(self, var: str, lb: float, ub: float, vtype: str, v: View) -> list[Fix]:
        exp = self.expected.get(var)
        if exp is None or exp.bounds is None and not exp.vtype:
            return []
        if exp.bounds is not None:
            wlb, wub, wtype = exp.bounds
        else:  # SPEC's answer: the data entries of the bounds (the rule's own where none is cited)
            data = exp.data or {}
            wlb = cited_value(data["lb"]) if "lb" in data else lb
            wub = cited_value(data["ub"]) if "ub" in data else ub
            wtype = exp.vtype
        out = []
        if not (_same(lb, wlb) and _same(ub, wub)):
            data = exp.data or {}
            src = data.get("ub") if not _same(ub, wub) else data.get("lb")
            cite = f" ({src})" if src else ""
            out.append(Fix(act.update_bounds(var, wlb, wub), var, [
                _pick([f"{var} has bounds [{fmt_num(lb)}, {fmt_num(ub)}] in the model, but the specification gives "
                       f"[{fmt_num(wlb)}, {fmt_num(wub)}]{cite}.",
                       f"The specification bounds {var} by [{fmt_num(wlb)}, {fmt_num(wub)}]{cite}; the model says "
                       f"[{fmt_num(lb)}, {fmt_num(ub)}].",
                       f"{var}'s bound in the IIS, [{fmt_num(lb)}, {fmt_num(ub)}], is not the specification's "
                       f"[{fmt_num(wlb)}, {fmt_num(wub)}]{cite}."], v.problem_id, var, "why"),
                _pick(["I restore the specified bounds.", "The bound was typed wrong; I correct it.",
                       "I set the bounds the data sheet states."], v.problem_id, var),
            ]))
        if vtype != wtype and wtype == "C":
            out.append(Fix(act.set_var_type(var, "C"), var, [
                f"{var} is declared integer, but {exp.rule} calls it continuous.",
                "I declare it continuous again, as specified.",
            ]))
        return out
