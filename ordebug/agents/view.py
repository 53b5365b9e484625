"""Read back the observation text (the agents see only text, exactly like an LLM)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SECTION = re.compile(r"^## (.+)$", re.M)
_ROW = re.compile(r"^(?P<name>[^:\s]+): (?P<expr>.+?) (?P<sense><=|>=|=) (?P<rhs>\S+)$")
_BOUND = re.compile(
    r"^(?P<side>lower|upper) bound of (?P<var>\S+): (?P<lb>\S+) <= \S+ <= (?P<ub>\S+) \((?P<type>\w+)\)$"
)
_CFAM = re.compile(r"^- (?P<fam>[^:]+): (?P<n>\d+) rows; (?P<senses>[^;]+); rhs median (?P<med>\S+?)(?:, range \S+)?$")
_VFAM = re.compile(r"^- (?P<fam>[^:]+): (?P<n>\d+) vars; (?P<types>[^;]+)(?P<rest>.*)$")
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
        return self.name.split("(")[0]


@dataclass
class View:
    """The parts of an observation the heuristic reasons about."""

    status: str = ""
    steps_left: int = 0
    iis_rows: list[RowView] = field(default_factory=list)
    iis_bounds: list[dict] = field(default_factory=list)
    row_families: dict[str, dict] = field(default_factory=dict)
    var_families: dict[str, dict] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)


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
    for line in sections.get("Model structure", "").splitlines():
        c = _CFAM.match(line)
        if c:
            senses = {}
            for part in c.group("senses").split(", "):
                s, n = part.split(" x")
                senses[s] = int(n)
            v.row_families[c.group("fam")] = {
                "n": int(c.group("n")), "senses": senses, "rhs_median": num(c.group("med"))
            }
            continue
        f = _VFAM.match(line)
        if f:
            types = {}
            for part in f.group("types").split(", "):
                t, n = part.split(" x")
                types[t] = int(n)
            ub = re.search(r"ub median (\S+?)(?:,|$| \()", f.group("rest"))
            lb = re.search(r"lb median (\S+?)(?:,|;|$)", f.group("rest"))
            v.var_families[f.group("fam")] = {
                "n": int(f.group("n")), "types": types,
                "ub_median": num(ub.group(1)) if ub else None,
                "lb_median": num(lb.group(1)) if lb else None,
            }
    v.history = [h for h in sections.get("History", "").splitlines() if re.match(r"^\d+\. ", h)]
    return v
