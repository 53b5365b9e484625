"""Candidate repairs a spec-blind search tries on the IIS members, each solved.

Per row of the IIS: delete it, flip it (alone and with its whole family of that sense),
undo a slip of its right-hand side or of a coefficient (swapped digits, factors of ten and
of units), set a coefficient to what the same term has in the sibling rows, move a term to
a neighbouring index, add the term its siblings have and it lacks. Per IIS bound: delete
it, undo a slip. Per integer variable of the IIS rows: make it continuous, alone, with its
index group and with its whole family. The solver's answer on each (status, objective)
becomes the features the search agent learns from.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from ordebug import actions as act
from ordebug.actions import ActionError, apply_edit, parse_action
from ordebug.bench.adversary.blind import Blind, Element
from ordebug.bench.adversary.values import NAN, value_form
from ordebug.faults.slips import slips
from ordebug.solver.solve import is_solver_failure, solve
from ordebug.solver.spec import INF, ModelSpec, family

MAX_TERMS = 12  # terms of one row whose coefficients are tried
MAX_SIBLINGS = 8  # sibling rows read for the analog of a term
MAX_MOVES = 16  # term moves per row
MAX_FAMILY_FLIP = 8
MAX_EDITS = 160  # candidates solved per problem (structural ones first, then value slips)
NODE_LIMIT = 500  # branch-and-bound nodes per candidate solve (MILPs of the large tier)
STATUS = {"optimal": 0.0, "infeasible": 1.0, "unbounded": 2.0}
PRIORITY = {"drop": 0, "flip": 0, "flip_family": 0, "relax": 0, "relax_group": 0, "relax_family": 0,
            "drop_bound": 0, "analog": 1, "add": 1, "move": 2}


@dataclass
class Edit:
    """One candidate repair: the element it acts on and the actions that make it."""

    element: Element
    kind: str
    actions: list[str]
    old: float = NAN
    new: float = NAN
    transform: str = ""
    support: float = NAN  # analog/add: share of sibling rows that agree on the value
    status: str = ""
    objective: float | None = None
    features: dict = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.status in ("optimal", "unbounded")


def _index(name: str) -> list[str]:
    inner = name.partition("(")[2].rstrip(")")
    return inner.split(",") if inner else []


def _with_index(fam: str, idx: list[str]) -> str:
    return f"{fam}({','.join(idx)})" if idx else fam


def _neighbours(spec: ModelSpec, v: str) -> list[str]:
    """Variables of ``v``'s family whose index differs from ``v``'s in exactly one place."""
    fam, idx = family(v), _index(v)
    out = []
    for w in spec.vars:
        if w == v or family(w) != fam:
            continue
        j = _index(w)
        if len(j) == len(idx) and sum(a != b for a, b in zip(idx, j, strict=True)) == 1:
            out.append(w)
    return out


def _substitute(var: str, mapping: dict[str, str]) -> str:
    return _with_index(family(var), [mapping.get(t, t) for t in _index(var)])


def _analogs(b: Blind, row: str) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """For each term of ``row``, the coefficients the corresponding term has in sibling rows;
    and for each variable not in ``row`` whose counterpart is in a sibling, those coefficients."""
    spec = b.spec
    mine, idx = spec.rows[row], _index(row)
    same: dict[str, list[float]] = {}
    missing: dict[str, list[float]] = {}
    sibs = [r for r in b.row_families[family(row)] if r != row][:MAX_SIBLINGS]
    for r in sibs:
        j = _index(r)
        if len(j) != len(idx):
            continue
        there = {a: c for a, c in zip(idx, j, strict=True) if a != c}
        back = {c: a for a, c in there.items()}
        for v in mine.coefs:
            w = _substitute(v, there)
            if w in spec.rows[r].coefs:
                same.setdefault(v, []).append(spec.rows[r].coefs[w])
        for w, c in spec.rows[r].coefs.items():
            v = _substitute(w, back)
            if v not in mine.coefs and v in spec.vars:
                missing.setdefault(v, []).append(c)
    return same, missing


def _mode(values: list[float]) -> tuple[float, float]:
    value, count = Counter(values).most_common(1)[0]
    return value, count / len(values)


def _row_edits(b: Blind, r: str) -> list[Edit]:
    spec, row, el = b.spec, b.spec.rows[r], ("c", r)
    out = [Edit(el, "drop", [act.drop(r)])]
    if row.sense in ("<=", ">="):
        out.append(Edit(el, "flip", [act.flip_sense(r)]))
        fam = [x for x in b.row_families[family(r)] if spec.rows[x].sense == row.sense]
        if 1 < len(fam) <= MAX_FAMILY_FLIP:
            out.append(Edit(el, "flip_family", [act.flip_sense(x) for x in fam]))
    if row.sense != "range":
        out += [Edit(el, "rhs", [act.update_rhs(r, y)], row.bound, y, kind) for kind, y in slips(row.bound)]
    same, missing = _analogs(b, r)
    terms = list(row.coefs.items())[:MAX_TERMS]
    for v, c in terms:
        if abs(c) != 1:
            out += [Edit(el, "coef", [act.set_coef(r, v, y)], c, y, kind) for kind, y in slips(c) if y]
        if v in same:
            y, share = _mode(same[v])
            if y != c:
                out.append(Edit(el, "analog", [act.set_coef(r, v, y)], c, y, "analog", share))
    moves = 0
    for v, c in terms:
        for w in _neighbours(spec, v):
            if w in row.coefs or moves >= MAX_MOVES:
                continue
            moves += 1
            out.append(Edit(el, "move", [act.set_coef(r, v, 0), act.set_coef(r, w, c)], c, c, "move"))
    for w, values in sorted(missing.items())[:MAX_MOVES]:
        y, share = _mode(values)
        out.append(Edit(el, "add", [act.set_coef(r, w, y)], 0.0, y, "add", share))
    return out


def _bound_edits(b: Blind, v: str, side: str) -> list[Edit]:
    lb, ub = b.spec.var_bounds(v)
    el = ("v", v)
    if side == "upper":
        out = [Edit(el, "drop_bound", [act.update_bounds(v, lb, INF)], ub, INF)]
        out += [Edit(el, "bound", [act.update_bounds(v, lb, y)], ub, y, k) for k, y in slips(ub) if y >= lb]
    else:
        out = [Edit(el, "drop_bound", [act.update_bounds(v, -INF, ub)], lb, -INF)]
        out += [Edit(el, "bound", [act.update_bounds(v, y, ub)], lb, y, k) for k, y in slips(lb) if y <= ub]
    return out


def _int_edits(b: Blind, v: str) -> list[Edit]:
    spec, el = b.spec, ("v", v)
    out = [Edit(el, "relax", [act.set_var_type(v, "C")])]
    fam = [w for w in b.var_families[family(v)] if spec.vars[w].vtype != "C"]
    first = _index(v)[:1]
    group = [w for w in fam if _index(w)[:1] == first]
    if 1 < len(group) < len(fam):
        out.append(Edit(el, "relax_group", [act.set_var_type(w, "C") for w in group]))
    if len(fam) > 1:
        out.append(Edit(el, "relax_family", [act.set_var_type(w, "C") for w in fam]))
    return out


def candidate_edits(b: Blind) -> list[Edit]:
    """Every candidate repair of the IIS members (deduplicated by their actions)."""
    out: list[Edit] = []
    for r in b.iis_rows:
        out += _row_edits(b, r)
    for v, side in b.iis_bounds:
        out += _bound_edits(b, v, side)
    for v in b.int_vars:
        out += _int_edits(b, v)
    seen: set[tuple[str, ...]] = set()
    uniq = []
    for e in out:
        key = tuple(e.actions)
        if key not in seen:
            seen.add(key)
            uniq.append(e)
    if len(uniq) > MAX_EDITS:  # a large conflict: structural candidates first, slips last
        uniq = sorted(uniq, key=lambda e: PRIORITY.get(e.kind, 3))[:MAX_EDITS]
    return uniq


def edited(spec: ModelSpec, actions: list[str]) -> ModelSpec | None:
    """A copy of ``spec`` with the actions applied; None when one cannot apply."""
    out = spec.copy()
    try:
        for a in actions:
            apply_edit(out, parse_action(a))
    except ActionError:
        return None
    return out


def solve_edits(b: Blind, edits: list[Edit]) -> list[Edit]:
    """Solve each candidate; the ones that cannot apply are dropped."""
    kept = []
    for e in edits:
        trial = edited(b.spec, e.actions)
        if trial is None:
            continue
        try:
            res = solve(trial, node_limit=NODE_LIMIT)
        except Exception as exc:
            if not is_solver_failure(exc):
                raise
            e.status = "error"
        else:
            e.status, e.objective = res.status, res.objective
        kept.append(e)
    return kept


# -- features ---------------------------------------------------------------------------
DELETE_KINDS = ("drop", "drop_bound", "relax")


def _rank(values: list[float], x: float) -> float:
    if not values:
        return NAN
    return (sum(1 for v in values if v < x) + 0.5 * sum(1 for v in values if v == x)) / len(values)


def _rel(a: float | None, b: float | None) -> float:
    if a is None or b is None:
        return NAN
    return (a - b) / max(1.0, abs(b))


def annotate(b: Blind, edits: list[Edit]) -> dict[Element, dict]:
    """Fill each edit's features; returns each member's features (static and solver ones)."""
    direction = 1.0 if b.spec.sense == "minimize" else -1.0
    feasible = [e for e in edits if e.status == "optimal"]
    objs = [direction * e.objective for e in feasible if e.objective is not None]
    deletion: dict[Element, Edit] = {}
    for e in edits:
        if e.kind in DELETE_KINDS and e.element not in deletion:
            deletion[e.element] = e
    del_objs = [direction * e.objective for e in deletion.values() if e.objective is not None]
    by_kind = Counter(e.kind for e in edits if e.feasible)
    by_element = Counter(e.element for e in edits if e.feasible)
    members: dict[Element, dict] = {}
    for el in b.members:
        f = b.member_features(el)
        mine = [e for e in edits if e.element == el]
        d = deletion.get(el)
        f["del_feas"] = float(d.feasible) if d else NAN
        f["del_rank"] = _rank(del_objs, direction * d.objective) if d and d.objective is not None else NAN
        for kind in ("flip", "flip_family", "relax_family", "relax_group"):
            e = next((x for x in mine if x.kind == kind), None)
            f[f"{kind}_feas"] = float(e.feasible) if e else NAN
            f[f"{kind}_vs_del"] = _rel(e.objective, d.objective) * direction if e and d else NAN
        f["n_feas_edits"] = float(sum(1 for e in mine if e.feasible))
        f["n_feas_value"] = float(sum(1 for e in mine if e.feasible and e.kind in ("rhs", "bound", "coef")))
        members[el] = f
    n_feas = len(feasible)
    for e in edits:
        d = deletion.get(e.element)
        f = {f"m_{k}": v for k, v in members[e.element].items()}
        f.update({
            "kind_e": e.kind, "tf": e.transform or e.kind, "n_actions": float(len(e.actions)),
            "feas": float(e.feasible), "status": STATUS.get(e.status, 3.0),
            "vs_del": _rel(e.objective, d.objective) * direction if d and d is not e else NAN,
            "eq_del": float(abs(_rel(e.objective, d.objective)) <= 1e-7) if d and d is not e and
            e.objective is not None and d.objective is not None else NAN,
            "obj_rank": _rank(objs, direction * e.objective) if e.objective is not None else NAN,
            "n_feas": float(n_feas), "share_feas": n_feas / max(1, len(edits)),
            "n_feas_kind": float(by_kind[e.kind]), "n_feas_el": float(by_element[e.element]),
            "support": e.support,
            "log_ratio": math.log10(abs(e.new / e.old)) if e.old and e.new and math.isfinite(e.new)
            and math.isfinite(e.old) else NAN,
        })
        if math.isfinite(e.new) and e.kind in ("rhs", "bound", "coef", "analog"):
            sibs = _siblings_of(b, e)
            old_f = value_form(e.old, sibs, "")
            new_f = value_form(e.new, sibs, "")
            f.update({"new_dup": new_f["dup"], "new_dec": new_f["dec"], "new_grid": new_f["grid"],
                      "grid_gain": old_f["grid"] - new_f["grid"],
                      "dev_gain": abs(old_f["logdev"]) - abs(new_f["logdev"])})
        e.features = f
    return members


def _siblings_of(b: Blind, e: Edit) -> list[float]:
    """The values the edited number is compared with: the family's right-hand sides, bounds,
    or the row's coefficients of the same variable family."""
    spec = b.spec
    kind, name = e.element
    if e.kind == "rhs":
        return [spec.rows[r].bound for r in b.row_families[family(name)] if r != name
                and spec.rows[r].sense != "range"]
    if e.kind == "bound":
        side = 1 if "upper" in [s for v, s in b.iis_bounds if v == name] else 0
        return [spec.var_bounds(w)[side] for w in b.var_families[family(name)] if w != name]
    row = spec.rows[name]
    var = parse_action(e.actions[0]).args[1]
    return [c for v, c in row.coefs.items() if v != var and family(v) == family(str(var))]


def extract(b: Blind) -> tuple[list[Edit], dict[Element, dict]]:
    """Candidate edits of a problem, solved and annotated, and its members' features."""
    edits = solve_edits(b, candidate_edits(b))
    members = annotate(b, edits)
    return edits, members
