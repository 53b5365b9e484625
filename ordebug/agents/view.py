"""Read back the observation text (the agents see only text, exactly like an LLM)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ordebug.env.observation import SPEC_SECTION
from ordebug.env.specview import expand_answer
from ordebug.solver.spec import family

_SECTION = re.compile(r"^## (.+)$", re.M)
_ROW = re.compile(r"^(?P<name>[^:\s]+): (?P<expr>.+?) (?P<sense><=|>=|=) (?P<rhs>\S+)$")
_BOUND = re.compile(
    r"^(?P<side>lower|upper) bound of (?P<var>\S+): (?P<lb>\S+) <= \S+ <= (?P<ub>\S+) \((?P<type>\w+)\)$"
)
_TERM = re.compile(r"([+-])\s*(?:([0-9.eE+-]+)\s+)?(\S+)")


def num(text: str) -> float:
    return float(text)


@dataclass
class RowView:
    name: str
    coefs: dict[str, float]
    sense: str
    rhs: float
    truncated: bool = False

    @property
    def family(self) -> str:
        return family(self.name)


@dataclass
class View:
    """The parts of an observation the heuristic reasons about."""

    status: str = ""
    steps_left: int = 0
    problem_id: str = ""
    spec_text: str = ""
    family: str | None = None  # the model family the specification names
    iis_rows: list[RowView] = field(default_factory=list)
    iis_bounds: list[dict] = field(default_factory=list)
    int_vars: list[str] = field(default_factory=list)
    hidden_rows: int = 0  # IIS rows the observation leaves out (GET_IIS() names them)
    history: list[str] = field(default_factory=list)  # one entry per step, continuation lines joined
    spec_answers: list[tuple[str, str]] = field(default_factory=list)  # a compact observation's SPEC answers

    @property
    def has_spec(self) -> bool:
        return self.family is not None


def split_names(text: str) -> list[str]:
    """``a, ship(p1,store_4), b`` -> the names (commas inside an index are not separators)."""
    return [x for x in re.split(r", (?![^()]*\))", text.strip()) if x]


def parse_row(text: str) -> RowView | None:
    truncated = " ... (+" in text
    text = re.sub(r" \.\.\. \(\+\d+ more terms\)", "", text)
    m = _ROW.match(text.strip())
    if not m:
        return None
    expr = m.group("expr").strip()
    if not expr.startswith("-"):
        expr = "+ " + expr
    coefs: dict[str, float] = {}
    for sign, mag, var in _TERM.findall(expr):
        c = float(mag) if mag else 1.0
        coefs[var] = -c if sign == "-" else c
    return RowView(m.group("name"), coefs, m.group("sense"), num(m.group("rhs")), truncated)


def parse_observation(obs: str) -> View:
    parts = _SECTION.split(obs)
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    v = View()
    status = sections.get("Status", "")
    v.status = status.split(" ")[0]
    m = re.search(r"; (\d+) left\)", status)
    v.steps_left = int(m.group(1)) if m else 0
    for line in sections.get("IIS", "").splitlines()[1:]:
        if line.startswith("Integer or binary variables in these rows: "):
            rest = line.split(": ", 1)[1]
            v.int_vars = [] if rest == "none" else split_names(rest)
            continue
        cut = re.match(r"^\.\.\. \(\+(\d+) more constraints", line)
        if cut:
            v.hidden_rows = int(cut.group(1))
            continue
        b = _BOUND.match(line)
        if b:
            v.iis_bounds.append(
                {"var": b.group("var"), "side": b.group("side"), "lb": num(b.group("lb")),
                 "ub": num(b.group("ub")), "type": b.group("type")}
            )
            continue
        row = parse_row(line)
        if row:
            v.iis_rows.append(row)
    v.history = _history(sections.get("History", ""))
    v.problem_id = sections.get("Problem", "").replace("ID:", "").strip()
    v.spec_text = sections.get("Specification", "")
    rules = dict(re.findall(r"^(R\d+)\. (.*)$", v.spec_text, re.M))
    v.spec_answers = [(n, expand_answer(a, rules, n)) for n, a in _answers(sections.get(SPEC_SECTION, ""))]
    fam = re.search(r"\(family: (\w+)\)", v.spec_text.splitlines()[0] if v.spec_text else "")
    v.family = fam.group(1) if fam else None
    return v


def _answers(text: str) -> list[tuple[str, str]]:
    """``- name -> answer`` entries (continuation lines indented) as (name, answer)."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        m = re.match(r"^- (\S+) -> (.*)$", line)
        if m:
            out.append((m.group(1), m.group(2)))
        elif out and line.startswith("   "):
            out[-1] = (out[-1][0], out[-1][1] + "\n" + line[3:])
    return out


def _history(text: str) -> list[str]:
    entries: list[str] = []
    for line in text.splitlines():
        if re.match(r"^\d+\. ", line):
            entries.append(line)
        elif entries and line.startswith("   "):
            entries[-1] += "\n" + line[3:]
    return entries
