"""Verification of an injected fault: every check a kept problem passes, and the records of
a verified injection (:class:`Injection`, its difficulty). The drawing of conflicts and
faults is in :mod:`ordebug.faults.inject`."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ordebug import actions as act
from ordebug.actions import apply_actions, apply_edit, parse_action
from ordebug.faults import labels as lb
from ordebug.faults.changes import build, changed, repair_actions
from ordebug.faults.fault import Fault
from ordebug.faults.taxonomy import OWN_DELETION_TYPES, REDUNDANT_FAULT_TYPES
from ordebug.models.base import BaseModel
from ordebug.models.datasheet import DataSheet
from ordebug.solver.iis import Iis
from ordebug.solver.lpformat import lp_body, read_model_text, write_lp
from ordebug.solver.solve import Verdict, is_feasible, same_objective, solve, verdict
from ordebug.solver.spec import ModelSpec, canonical_order, differing, family

FIX_TOL = 1e-6
# B: other integers whose relaxation also restores feasibility (two left a spec-blind search at
# 0.21-0.31 exact, against a 0.20 bound; four make five candidates; B draws stay cheap, ~2 s)
MIN_RELAX_DECOYS = 4
REJECTIONS: Counter[str] = Counter()  # why candidates were rejected (for the benchmark report)


def reject(etype: str, reason: str) -> None:
    """Count a rejection; returns None so callers can `return reject(...)`."""
    REJECTIONS[f"{etype}:{reason}"] += 1


@dataclass
class Injection:
    """A verified broken model with its specification and ground truth."""

    error_type: str
    broken: ModelSpec
    faults: list[Fault]
    iis: Iis
    sheet: DataSheet  # the specification
    original: ModelSpec  # the model it specifies
    objective: float
    alternatives: list[dict] = field(default_factory=list)
    miss: bool = False  # verified, but of another difficulty than the target

    @property
    def difficulty(self) -> str:
        return difficulty(len(self.faults), sum(len(f.fixes) for f in self.faults),
                          members_to_check(self.broken, self.iis))


def members_to_check(spec: ModelSpec, iis: Iis) -> int:
    """IIS members a modeller must compare with the specification: every row, every bound that
    comes from data (a lower bound of 0 is the rules' own "x >= 0": nothing to look up), and
    every general integer of the IIS rows (its type: whole lots or not)."""
    ints = {v for r in iis.constraints for v in spec.rows[r].coefs if spec.vars[v].vtype == "I"}
    return (len(iis.constraints) + len(ints)
            + sum(1 for v, side in iis.bounds if side == "upper" or spec.vars[v].lb != 0))


def difficulty(n_faults: int, n_fix_actions: int, members: int) -> str:
    """hard: two faults or a large conflict (>= 8 members to check); medium: 4-7 members or a
    multi-edit fix; easy: the rest."""
    if n_faults > 1 or members >= 8:
        return "hard"
    if members >= 4 or n_fix_actions > 1:
        return "medium"
    return "easy"


def family_order(spec: ModelSpec) -> list[str]:
    """The order of ``spec``'s row families in its record: drawn per model, seeded by its own
    LP text in canonical order (first line, the name, left out), so no family's name puts its
    rows first and the same model always gets the same order."""
    body = lp_body(write_lp(canonical_order(spec.copy())))
    fams = sorted({family(r) for r in spec.rows})
    random.Random(hashlib.sha256(body.encode()).hexdigest()).shuffle(fams)
    return fams


def roundtrip(spec: ModelSpec, families: list[str] | None = None) -> ModelSpec:
    """Through the LP text, rows grouped by family in ``families``' order (default: the drawn
    :func:`family_order`), natural order within a family. The IIS is computed on this order,
    which is the one the record writes, so the recorded IIS is the one SCIP finds on it."""
    spec = canonical_order(read_model_text(write_lp(spec), name=spec.name))
    return canonical_order(spec, family_order(spec) if families is None else families)


def deletion(spec: ModelSpec, kind: str, name: str, side: str = "") -> tuple[str, ModelSpec]:
    """Deleting one row (``kind`` "constraint") or one side of a variable's bounds, as
    (action text, edited copy)."""
    trial = spec.copy()
    if kind == "constraint":
        del trial.rows[name]
        return act.drop(name), trial
    var = trial.vars[name]
    action = (act.update_bounds(name, -float("inf"), var.ub) if side == "lower"
              else act.update_bounds(name, var.lb, float("inf")))
    apply_edit(trial, parse_action(action))
    return action, trial


def member_deletions(spec: ModelSpec, iis: Iis):
    """Each single deletion of an IIS member, as (action text, edited copy)."""
    for r in iis.constraints:
        yield deletion(spec, "constraint", r)
    for v, side in iis.bounds:
        yield deletion(spec, "bound", v, side)


def own_deletions(broken: ModelSpec, roots: Iterable[dict[str, str]]) -> set[str]:
    """The deletions of the faulty elements ``roots`` (rows, or one side of a variable's
    bounds; a record's ``ground_truth.root_cause``), as action texts."""
    return {deletion(broken, r["kind"], r["name"], r.get("side", ""))[0]
            for r in roots if r["kind"] in ("constraint", "bound")}


def discriminates(broken: ModelSpec, iis: Iis, objective: float, exempt: set[str],
                   seen: dict[str, Verdict]) -> bool:
    """Whether no single deletion of an IIS member restores the optimum, the deletions in
    ``exempt`` (action texts) aside; each verdict is kept in ``seen`` (by action) for
    :func:`alternatives`."""
    for action, trial in member_deletions(broken, iis):
        if action in exempt:
            continue
        seen[action] = verdict(solve(trial), objective)
        if seen[action].faithful:
            return False
    return True


def flip_like_drop(broken: ModelSpec, row: str, deletions: dict[str, Verdict]) -> bool:
    """Whether turning ``row`` round restores feasibility with the optimum of deleting it.

    For an IIS row whose deletion leaves an optimum this always holds (that optimum violates
    the row, so it satisfies the flipped row, which it then keeps), so "flip equals drop" is no
    signature of a reversed rule: a second inequality family in the IIS where this holds is a
    decoy for a search that reads it as one. Deletion verdicts are kept in ``deletions``."""
    if broken.rows[row].sense not in ("<=", ">="):
        return False
    trial = broken.copy()
    apply_edit(trial, parse_action(act.flip_sense(row)))
    flipped = solve(trial)
    if not flipped.optimal:
        return False
    action, dropped = deletion(broken, "constraint", row)
    if action not in deletions:
        deletions[action] = verdict(solve(dropped), None)
    drop = deletions[action].objective
    return drop is not None and same_objective(flipped.objective, drop, FIX_TOL)


def family_flip_decoy(broken: ModelSpec, iis: Iis, fams: set[str]) -> bool:
    """Whether another inequality family of the IIS (not in ``fams``) restores feasibility when
    its rows of that sense are all turned round, as the reversed rule's family does: without
    one, "the family whose flip makes the model feasible" names the fault to a spec-blind search."""
    for fam in dict.fromkeys(family(r) for r in iis.constraints if family(r) not in fams):
        for sense in dict.fromkeys(broken.rows[r].sense for r in iis.constraints if family(r) == fam):
            if sense not in ("<=", ">="):
                continue
            rows = [x for x in broken.rows if family(x) == fam and broken.rows[x].sense == sense]
            if is_feasible(apply_actions(broken, [act.flip_sense(r) for r in rows])):
                return True
    return False


def scope_hidden(broken: ModelSpec, row: str) -> bool:
    """Whether turning ``row`` round alone and turning its whole family round (its rows of
    that sense) both restore feasibility: a reversed rule (every row wrong) and a missed
    exception (this row alone) then look the same to a search that cannot read the sheet."""
    sense = broken.rows[row].sense
    fam = [r for r in broken.rows if family(r) == family(row) and broken.rows[r].sense == sense]
    scopes = [[row], fam] if len(fam) > 1 else [[row]]
    return all(is_feasible(apply_actions(broken, [act.flip_sense(r) for r in rows])) for rows in scopes)


def relax_decoys(broken: ModelSpec, iis: Iis, fault: str) -> int:
    """Integer variables of the IIS rows, besides ``fault``, whose relaxation alone restores
    feasibility: the candidates a search that cannot read the sheet must choose among."""
    ints = dict.fromkeys(v for r in iis.constraints for v in broken.rows[r].coefs
                         if broken.vars[v].vtype == "I" and v != fault)
    n = 0
    for v in ints:
        trial = broken.copy()
        trial.vars[v].vtype = "C"
        n += is_feasible(trial)
        if n >= MIN_RELAX_DECOYS:
            break
    return n


def alternatives(broken: ModelSpec, iis: Iis, fault: Fault, objective: float, seen: dict[str, Verdict]) -> list[dict]:
    """Single fixes that restore feasibility, with their objective impact (type I)."""
    out = []
    fixed = broken.copy()
    for a in fault.fixes:
        apply_edit(fixed, parse_action(a))
    for action, trial in [(" ; ".join(fault.fixes), fixed), *member_deletions(broken, iis)]:
        v = seen[action] if action in seen else verdict(solve(trial), objective)
        change = None if v.objective is None else (v.objective - objective) / max(1.0, abs(objective))
        out.append({"action": action, "feasible": v.feasible, "objective": v.objective,
                    "relative_change": change, "faithful": v.faithful})
    return out


# -- faults from labels ------------------------------------------------------------------------
def fault_of(lab: lb.Label, broken: BaseModel, sheet: DataSheet) -> Fault:
    """The fault a realised label makes: the edits that turn the broken model's element(s)
    into what the specification (``sheet`` plus the label's changes) builds."""
    target = build(sheet, lab.changes).spec
    kind, name = lab.element
    touched = {name}
    if lab.kind == "sense" and lab.changes[0].kind == "reverse":  # a reversed rule wrote every row wrong
        touched = {r for r in broken.spec.rows if family(r) == family(name)}
    elif lab.kind.startswith("coef"):  # every row the entry writes
        touched = {k.split(":")[1] for k, v in broken.sources.items() if k.startswith("coef:") and v == lab.ref}
    fixes = repair_actions(broken.spec, target, only=touched)
    also = [{"kind": "constraint", "name": r} for r in sorted(touched - {name})]
    source = lab.changes[0].ref if lab.changes and lab.changes[0].kind not in ("reverse", "except") else lab.ref
    return Fault(lab.kind.removesuffix("_def"), lab.root, fixes, note=lab.note, source=source, also=also)


def with_fixes(spec: ModelSpec, faults: list[Fault]) -> ModelSpec:
    out = spec.copy()
    for f in faults:
        for a in f.fixes:
            apply_edit(out, parse_action(a))
    return out


def in_iis(fault: Fault, iis: Iis, spec: ModelSpec) -> bool:
    kind, name, side = fault.element
    if kind == "constraint":
        return any(r["name"] in iis.constraints for r in fault.roots)
    if kind == "bound":
        return (name, side) in iis.bounds
    return any(name in spec.rows[r].coefs for r in iis.constraints)


def broken_base(sheet: DataSheet, broken: ModelSpec) -> BaseModel:
    """The model the sheet builds (its roles and sources), with the broken model as read back
    from its LP text (the one the IIS was computed on)."""
    base = build(sheet)
    base.spec = broken
    return base


def verify(etype: str, base: BaseModel, sheet: DataSheet, iis: Iis, labels: list[lb.Label],
           target: str | None) -> Injection | None:
    """The checks every kept problem passes; None when a candidate fails one. ``base``: the
    broken model with its sources (:func:`broken_base`), ``sheet`` the sheet it was built from."""
    broken = base.spec
    spec_sheet = changed(sheet, [c for lab in labels for c in lab.changes])
    try:
        faults = [fault_of(lab, base, sheet) for lab in labels]
    except (ValueError, KeyError):
        return reject(etype, "not a single-action fault")
    original = canonical_order(build(spec_sheet).spec)
    res = solve(original)
    if not res.optimal:
        return reject(etype, "specified model not optimal")
    if differing(with_fixes(broken, faults), original):
        return reject(etype, "fixes do not give the specified model")
    objective = float(res.objective)
    if len(faults) == 2 and any(is_feasible(with_fixes(broken, [f])) for f in faults):
        return reject(etype, "one fix alone suffices")
    exempt = (own_deletions(broken, [r for f in faults for r in f.roots])
              if etype in REDUNDANT_FAULT_TYPES | OWN_DELETION_TYPES else set())
    deletions: dict[str, Verdict] = {}
    if not discriminates(broken, iis, objective, exempt, deletions):
        return reject(etype, "a deletion restores the optimum")
    if etype == "A":  # a decoy: another inequality family of the IIS that turns round as the fault does
        fams = {family(r["name"]) for f in faults for r in f.roots}
        if not any(family(r) not in fams and flip_like_drop(broken, r, deletions) for r in iis.constraints):
            return reject(etype, "no other inequality family turns round like the fault")
        if not family_flip_decoy(broken, iis, fams):
            return reject(etype, "no other family restores feasibility when turned round")
        if not scope_hidden(broken, faults[0].roots[0]["name"]):
            return reject(etype, "only one of the row and its family restores feasibility when turned round")
    if etype == "B" and relax_decoys(broken, iis, faults[0].roots[0]["name"]) < MIN_RELAX_DECOYS:
        return reject(etype, "too few integers whose relaxation also restores feasibility")
    if etype == "F" and iis.size < 4:
        return reject(etype, "IIS too small")
    inj = Injection(etype, broken, faults, iis, spec_sheet, original, objective)
    if etype == "I":
        inj.alternatives = alternatives(broken, iis, faults[0], objective, deletions)
        if sum(1 for a in inj.alternatives if a["feasible"]) < 2:
            return reject(etype, "only one fix restores feasibility")
        if sum(1 for a in inj.alternatives if a["faithful"]) != 1:
            return reject(etype, "several faithful fixes")
    inj.miss = target is not None and inj.difficulty != target
    return inj
