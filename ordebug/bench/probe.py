"""Probes that look for the injected fault without diagnosing anything.

A benchmark whose faults are the odd ones out can be solved by statistics. Two probes
measure that:

* :func:`structural_probe` sees only the observation an agent sees (the IIS as shown) and
  applies fixed oddity rules, first firing rule wins: a row whose sense is the minority of
  its family, a variable whose type is the minority of its family, a row with one lone odd
  coefficient in a family of equal ones, a right-hand side or bound far from its family's
  median; otherwise the first IIS member as shown.
* :func:`outlier_scan` sees the whole broken model (no IIS) and picks its single most
  extreme value relative to its group's median.

Both score a pick against ``ground_truth.root_cause`` (a bound or a type counts as its
variable); ties count fractionally, as a random tie-break would. A leak-free benchmark keeps
both near chance.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

from ordebug.agents.view import View, parse_observation
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.spec import INF, ModelSpec, family

Element = tuple[str, str]  # ("c", row name) or ("v", variable name)
FAR = 0.5  # log10 distance from the family median that counts as far (a factor of ~3.16)
MIN_GROUP = 2  # a lone value has no family to differ from
RULES = ("sense", "vtype", "coef", "value", "first")
_MORE = re.compile(r" \(\+\d+ more\)$")


def root_elements(rec: dict) -> set[Element]:
    """The root-cause elements of a record: constraints as rows, bounds and types as variables."""
    return {("c" if r["kind"] == "constraint" else "v", r["name"]) for r in rec["ground_truth"]["root_cause"]}


def log_distance(value: float, ref: float) -> float:
    """|log10(|value| / |ref|)|; infinite when exactly one of them is zero."""
    a, b = abs(value), abs(ref)
    if a == 0 or b == 0:
        return 0.0 if a == b else INF
    return abs(math.log10(a / b))


def center(values: Iterable[float]) -> float:
    """The median magnitude, in log space: of an even count, the geometric mean of the middle two
    (so a pair of values is split evenly and neither is singled out)."""
    mags = sorted(abs(v) for v in values)
    n = len(mags)
    return mags[n // 2] if n % 2 else math.sqrt(mags[n // 2 - 1] * mags[n // 2])


def _credit(tied: Sequence[Element], roots: set[Element]) -> float:
    return sum(1 for e in tied if e in roots) / len(tied) if tied else 0.0


def _most_extreme(scored: list[tuple[float, Element]], floor: float) -> list[Element]:
    """Elements with the largest distance, if it is at least ``floor`` (deduplicated)."""
    if not scored:
        return []
    best = max(d for d, _ in scored)
    if best < floor or best == 0:
        return []
    return list(dict.fromkeys(e for d, e in scored if d == best))


# -- structural probe (observation only) ---------------------------------------------------
def candidates(view: View) -> list[Element]:
    """IIS members as shown: rows, then bound variables, then integer variables of the rows."""
    out = [("c", r.name) for r in view.iis_rows] + [("v", b["var"]) for b in view.iis_bounds]
    out += [("v", _MORE.sub("", v)) for v in view.int_vars]
    return list(dict.fromkeys(out))


def _rule_sense(view: View) -> list[Element]:
    fams: dict[str, list] = defaultdict(list)
    for r in view.iis_rows:
        fams[r.family].append(r)
    out = []
    for rows in fams.values():
        counts = Counter(r.sense for r in rows)
        if len(counts) > 1:
            top = max(counts.values())
            out += [("c", r.name) for r in rows if counts[r.sense] < top]
    return out


def _rule_vtype(view: View) -> list[Element]:
    ints = {_MORE.sub("", v) for v in view.int_vars}
    ints |= {b["var"] for b in view.iis_bounds if b["type"] != "continuous"}
    seen = {v for r in view.iis_rows for v in r.coefs} | {b["var"] for b in view.iis_bounds}
    fams: dict[str, list[str]] = defaultdict(list)
    for v in sorted(seen):
        fams[family(v)].append(v)
    out = []
    for members in fams.values():
        n_int = sum(1 for v in members if v in ints)
        if 0 < n_int < len(members) - n_int:
            out += [("v", v) for v in members if v in ints]
        elif 0 < len(members) - n_int < n_int:
            out += [("v", v) for v in members if v not in ints]
    return out


def _rule_coef(view: View) -> list[Element]:
    out = []
    for r in view.iis_rows:
        fams: dict[str, list[float]] = defaultdict(list)
        for v, c in r.coefs.items():
            fams[family(v)].append(c)
        for values in fams.values():
            counts = Counter(values)
            if len(values) >= 3 and len(counts) == 2 and min(counts.values()) == 1:  # others agree
                out.append(("c", r.name))
                break
    return out


def _rule_value(view: View) -> list[Element]:
    groups: dict[tuple, list[tuple[float, Element]]] = defaultdict(list)
    for r in view.iis_rows:
        groups[("c", r.family)].append((r.rhs, ("c", r.name)))
    for b in {b["var"]: b for b in view.iis_bounds}.values():  # both sides are shown, whichever is in the IIS
        for side, key in (("lower", "lb"), ("upper", "ub")):
            if math.isfinite(b[key]):
                groups[("v", family(b["var"]), side)].append((b[key], ("v", b["var"])))
    scored = []
    for members in groups.values():
        if len(members) < MIN_GROUP:
            continue
        med = center(v for v, _ in members)
        scored += [(log_distance(v, med), e) for v, e in members]
    return _most_extreme(scored, FAR)


STRUCTURAL_RULES: dict[str, Callable[[View], list[Element]]] = {
    "sense": _rule_sense, "vtype": _rule_vtype, "coef": _rule_coef, "value": _rule_value,
}


def structural_pick(view: View) -> tuple[str, list[Element]]:
    """(rule that fired, the elements it singles out); ``first`` when no rule fires."""
    for name, rule in STRUCTURAL_RULES.items():
        tied = list(dict.fromkeys(rule(view)))
        if tied:
            return name, tied
    cands = candidates(view)
    return "first", cands[:1]


def observation_of(rec: dict) -> str:
    """The observation an agent gets at the start of an episode on ``rec``."""
    from ordebug.env.environment import RepairEnv  # the environment imports much; keep this module light

    return RepairEnv().reset(rec)[0]


def _type_table() -> dict:
    return defaultdict(lambda: {"hits": 0.0, "chance": 0.0, "n": 0})


def _finish_types(table: dict) -> dict[str, dict]:
    out = {}
    for t in sorted(table):
        s = table[t]
        n = max(s["n"], 1)
        out[t] = {"hits": s["hits"], "hit_rate": s["hits"] / n, "chance": s["chance"] / n, "n": s["n"]}
    return out


def structural_probe(records: Iterable[dict], observations: Sequence[str] | None = None) -> dict:
    """Hit rate of the observation-only rule probe against chance, overall, per type and per rule.

    ``observations`` (one per record) skips rendering; by default each record is reset in a
    fresh :class:`RepairEnv`. ``chance`` is the mean of 1 / |candidates| (IIS rows, IIS bound
    variables and integer variables of the IIS rows, as shown); ``random_pick`` the mean share
    of candidates that are root causes; ``root_shown`` how often a root cause is a candidate.
    ``first_position`` / ``last_position`` score always picking the first / last IIS member
    as shown (rows, then bounds).
    """
    records = list(records)
    obs = list(observations) if observations is not None else [observation_of(r) for r in records]
    if len(obs) != len(records):
        raise ValueError(f"{len(obs)} observations for {len(records)} records")
    hits = chance = rand = shown = first = last = 0.0
    n = 0
    by_type = _type_table()
    rules = {r: {"fired": 0, "hits": 0.0} for r in RULES}
    for rec, text in zip(records, obs, strict=True):
        view = parse_observation(text)
        cands = candidates(view)
        if not cands:
            continue
        roots = root_elements(rec)
        rule, tied = structural_pick(view)
        credit = _credit(tied, roots)
        members = [("c", r.name) for r in view.iis_rows] + [("v", b["var"]) for b in view.iis_bounds] or cands
        n += 1
        hits += credit
        chance += 1 / len(cands)
        rand += _credit(cands, roots)
        shown += any(c in roots for c in cands)
        first += members[0] in roots
        last += members[-1] in roots
        rules[rule]["fired"] += 1
        rules[rule]["hits"] += credit
        t = by_type[rec["error_type"]]
        t["hits"] += credit
        t["chance"] += 1 / len(cands)
        t["n"] += 1
    d = max(n, 1)
    return {
        "problems": n,
        "hit_rate": hits / d,
        "chance": chance / d,
        "random_pick": rand / d,
        "root_shown": shown / d,
        "first_position": first / d,
        "last_position": last / d,
        "by_type": _finish_types(by_type),
        "rules": {r: {"fired": s["fired"], "hit_rate": s["hits"] / s["fired"] if s["fired"] else 0.0}
                  for r, s in rules.items()},
    }


# -- outlier scan (whole model, no IIS) ----------------------------------------------------
def model_values(spec: ModelSpec) -> dict[tuple, list[tuple[float, Element]]]:
    """Every numeric element of a model in its group: right-hand sides by row family,
    coefficients by (row family, variable family), finite bounds by (variable family, side)."""
    groups: dict[tuple, list[tuple[float, Element]]] = defaultdict(list)
    for row in spec.rows.values():
        rf, el = family(row.name), ("c", row.name)
        sides = {"rhs": row.bound} if row.sense != "range" else {"lhs": row.lhs, "rhs": row.rhs}
        for side, value in sides.items():
            groups[("rhs", rf, side)].append((value, el))
        for v, c in row.coefs.items():
            groups[("coef", rf, family(v))].append((c, el))
    for name in spec.vars:
        lb, ub = spec.var_bounds(name)
        for side, value in (("lower", lb), ("upper", ub)):
            if math.isfinite(value):
                groups[("bound", family(name), side)].append((value, ("v", name)))
    return groups


def scan_distances(groups: dict[tuple, list[tuple[float, Element]]]) -> list[tuple[float, Element]]:
    """(distance, element) per value: the log10 distance of its magnitude from the group's
    :func:`center`, infinite for the only value of its sign in a group; 0 for a lone value."""
    out = []
    for members in groups.values():
        if len(members) < MIN_GROUP:
            out += [(0.0, e) for _, e in members]
            continue
        med = center(v for v, _ in members)
        signs = Counter(v > 0 for v, _ in members if v != 0)
        for v, e in members:
            d = log_distance(v, med)
            if v != 0 and len(signs) == 2 and signs[v > 0] == 1:
                d = INF
            out.append((d, e))
    return out


def outlier_pick(spec: ModelSpec) -> tuple[list[Element], int]:
    """(the model's most extreme elements, number of values scanned)."""
    scored = scan_distances(model_values(spec))
    return _most_extreme(scored, 0.0), len(scored)


def outlier_scan(records: Iterable[dict], specs: Sequence[ModelSpec] | None = None) -> dict:
    """Hit rate of picking the whole broken model's most extreme value, against chance
    (1 / number of values scanned), overall and per type. ``specs`` skips parsing."""
    records = list(records)
    specs = list(specs) if specs is not None else [read_model_text(r["model"]) for r in records]
    hits = chance = 0.0
    n = 0
    by_type = _type_table()
    for rec, spec in zip(records, specs, strict=True):
        tied, scanned = outlier_pick(spec)
        if not scanned:
            continue
        credit = _credit(tied, root_elements(rec))
        n += 1
        hits += credit
        chance += 1 / scanned
        t = by_type[rec["error_type"]]
        t["hits"] += credit
        t["chance"] += 1 / scanned
        t["n"] += 1
    d = max(n, 1)
    return {"problems": n, "hit_rate": hits / d, "chance": chance / d, "by_type": _finish_types(by_type)}


# -- sibling probe (whole model + IIS; an agent can read every row with INSPECT) -----------------
SIBLING_RULES = ("sense", "pattern", "terms", "duplicate_rhs", "far_rhs")
MIN_SIBLINGS = 3


def _family_rows(spec: ModelSpec) -> dict[str, list[str]]:
    fams: dict[str, list[str]] = defaultdict(list)
    for r in spec.rows:
        fams[family(r)].append(r)
    return fams


def _sibling_rule(rule: str, row: str, spec: ModelSpec, sibs: list[str]) -> bool:
    """Whether ``row`` stands out from the other rows of its family under ``rule``."""
    r = spec.rows[row]
    others = [spec.rows[s] for s in sibs if s != row]
    if rule == "sense":
        senses = Counter(x.sense for x in [r, *others])
        return senses[r.sense] < max(senses.values())
    if rule == "pattern":
        pats = Counter(frozenset(family(v) for v in x.coefs) for x in [r, *others])
        mine = frozenset(family(v) for v in r.coefs)
        return pats[mine] < max(pats.values())
    if rule == "terms":
        return all(len(x.coefs) != len(r.coefs) for x in others)
    if r.sense == "range":
        return False
    if rule == "duplicate_rhs":
        return r.bound != 0 and any(x.sense != "range" and x.bound == r.bound for x in others)
    bounds = [x.bound for x in [r, *others] if x.sense != "range"]
    return log_distance(r.bound, center(bounds)) >= FAR


def sibling_probe(records: Iterable[dict], specs: Sequence[ModelSpec] | None = None) -> dict:
    """Hit rate of comparing each IIS row with the other rows of its family in the whole model.

    Rules, first firing wins: the row's sense is a minority of its family; its set of variable
    families differs from the majority's; its number of terms is shared by no sibling; its
    non-zero right-hand side equals a sibling's (the trace a neighbour's value leaves); its
    right-hand side is >= 10^0.5 from the family median. Families of fewer than three rows are
    not judged. Candidates are the IIS rows, the IIS bound variables and the integer variables
    of the IIS rows; without a firing rule the pick is uniform over them (chance credit)."""
    records = list(records)
    specs = list(specs) if specs is not None else [read_model_text(r["model"]) for r in records]
    hits = chance = 0.0
    n = 0
    by_type = _type_table()
    rules = {r: {"fired": 0, "hits": 0.0} for r in SIBLING_RULES}
    for rec, spec in zip(records, specs, strict=True):
        rows = [r for r in rec["iis"]["constraints"] if r in spec.rows]
        cands: list[Element] = [("c", r) for r in rows] + [("v", b["variable"]) for b in rec["iis"]["bounds"]]
        cands += [("v", v) for r in rows for v in spec.rows[r].coefs if spec.vars[v].vtype != "C"]
        cands = list(dict.fromkeys(cands))
        if not cands:
            continue
        roots = root_elements(rec)
        fams = _family_rows(spec)
        tied: list[Element] = list(cands)
        for rule in SIBLING_RULES:
            picked = [("c", r) for r in rows
                      if len(fams[family(r)]) >= MIN_SIBLINGS and _sibling_rule(rule, r, spec, fams[family(r)])]
            if picked:
                tied = picked
                rules[rule]["fired"] += 1
                rules[rule]["hits"] += _credit(picked, roots)
                break
        credit = _credit(tied, roots)
        n += 1
        hits += credit
        chance += 1 / len(cands)
        t = by_type[rec["error_type"]]
        t["hits"] += credit
        t["chance"] += 1 / len(cands)
        t["n"] += 1
    d = max(n, 1)
    return {"problems": n, "hit_rate": hits / d, "chance": chance / d, "by_type": _finish_types(by_type),
            "rules": {r: {"fired": s["fired"], "precision": s["hits"] / s["fired"] if s["fired"] else 0.0}
                      for r, s in rules.items()}}
