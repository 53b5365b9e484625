"""Inject one error type into a base model and verify it with the solver.

A conflict is drawn the same way for every type (:mod:`ordebug.faults.perturb`); the fault
is then placed on a member of its IIS drawn uniformly among those the type can hold
(:mod:`ordebug.faults.labels`), and the specification is the data sheet with that member
changed. A candidate is kept only when the broken model is infeasible, the specified model
is optimal and differs from the broken one exactly where the faults are, the type's own
property holds, and no single deletion of an IIS member restores the specified optimum (A
and D are exempt: deleting their faulty row restores it by necessity; in H the fault's own
deletion may restore it, see :data:`~ordebug.faults.taxonomy.OWN_DELETION_TYPES`).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ordebug import actions as act
from ordebug.actions import apply_actions, apply_edit, parse_action
from ordebug.faults import labels as lb
from ordebug.faults import perturb
from ordebug.faults.changes import SheetChange, build, changed, repair_actions
from ordebug.faults.fault import Context, Element, Fault
from ordebug.faults.taxonomy import OWN_DELETION_TYPES, PAIR_KINDS, REDUNDANT_FAULT_TYPES
from ordebug.models.base import BaseModel
from ordebug.models.datasheet import DataSheet
from ordebug.solver.iis import Iis, compute_iis
from ordebug.solver.lpformat import lp_body, read_model_text, write_lp
from ordebug.solver.solve import (
    SolverTimeout,
    Verdict,
    is_feasible,
    is_solver_failure,
    same_objective,
    solve,
    verdict,
)
from ordebug.solver.spec import ModelSpec, canonical_order, differing, family

FIX_TOL = 1e-6
MAX_CONFLICTS = 12  # conflicts drawn per base model before a fresh model is drawn
# A: rules of the conflict, each stating its direction in words, that could each be the one
# written the wrong way round (reversing it gives a feasible specified model). The fault is
# drawn among them, so which one it is comes from the sheet alone: a spec-blind reader sees
# two directed rules in conflict and no reason to pick either.
MIN_REVERSIBLE_RULES = 2
# Value faults (C, F, H, I) and added rules (D): kept only where every member of the conflict
# that could hold the type has a natural value (or listing) that makes the specified model
# feasible. Drawing among the realisable members alone let a spec-blind ranker find the fault
# by how little a member must move to restore feasibility (the perturbed member is always
# realisable, most others are not): measured 0.60 top-1 on I against chance 0.16.
EVERY_MEMBER_REALISABLE = frozenset("CDFHI")
# Entries of the sheet behind members of the conflict that could hold the type (each with a
# value that fits; an entry that enters several rows counts once). D: with one
# listed rule the added one is named to a search that drops listed rows; with two, a spec-blind
# search still repaired 0.21-0.36 of D. C, F, H, I: with one, a ranker that guesses the type
# from the conflict's shape names the fault (eligible members alone: 1/n was 0.62 for C, 0.48
# for F, 0.56 for H, 0.85 for I on kept problems; the learned adversary found C +21 and F +14
# points over chance). I keeps two: its one-faithful-fix rule rejects most wider conflicts.
MIN_CANDIDATES = {"C": 3, "D": 3, "F": 3, "H": 3, "I": 2}
# types whose conflicts are checked for candidates before (and during) the IIS
PRECHECKED = frozenset("ABCDFHI")
# the fault kinds whose rows (or bounds) a precheck drops
ROW_KINDS = {"A": ("sense",), "C": ("coef",), "D": ("rule",), "F": ("coef_def", "rhs_def"), "I": ("rhs",)}
# B: other integers whose relaxation also restores feasibility (two left a spec-blind search at
# 0.21-0.31 exact, against a 0.20 bound; four make five candidates; B draws stay cheap, ~2 s)
MIN_RELAX_DECOYS = 4
EXTRA_FOR_TARGET = 1  # verified candidates looked at beyond the first, to meet a target difficulty
REJECTIONS: Counter[str] = Counter()  # why candidates were rejected (for the benchmark report)


def _reject(etype: str, reason: str) -> None:
    """Count a rejection; returns None so callers can `return _reject(...)`."""
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


def _roundtrip(spec: ModelSpec, families: list[str] | None = None) -> ModelSpec:
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


def _discriminates(broken: ModelSpec, iis: Iis, objective: float, exempt: set[str],
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


def _relax_decoys(broken: ModelSpec, iis: Iis, fault: str) -> int:
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
def _fault(lab: lb.Label, broken: BaseModel, sheet: DataSheet) -> Fault:
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


def _with(spec: ModelSpec, faults: list[Fault]) -> ModelSpec:
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


def _broken_base(sheet: DataSheet, broken: ModelSpec) -> BaseModel:
    """The model the sheet builds (its roles and sources), with the broken model as read back
    from its LP text (the one the IIS was computed on)."""
    base = build(sheet)
    base.spec = broken
    return base


def verify(etype: str, base: BaseModel, sheet: DataSheet, iis: Iis, labels: list[lb.Label],
           target: str | None) -> Injection | None:
    """The checks every kept problem passes; None when a candidate fails one. ``base``: the
    broken model with its sources (:func:`_broken_base`), ``sheet`` the sheet it was built from."""
    broken = base.spec
    spec_sheet = changed(sheet, [c for lab in labels for c in lab.changes])
    try:
        faults = [_fault(lab, base, sheet) for lab in labels]
    except (ValueError, KeyError):
        return _reject(etype, "not a single-action fault")
    original = canonical_order(build(spec_sheet).spec)
    res = solve(original)
    if not res.optimal:
        return _reject(etype, "specified model not optimal")
    if differing(_with(broken, faults), original):
        return _reject(etype, "fixes do not give the specified model")
    objective = float(res.objective)
    if len(faults) == 2 and any(is_feasible(_with(broken, [f])) for f in faults):
        return _reject(etype, "one fix alone suffices")
    exempt = (own_deletions(broken, [r for f in faults for r in f.roots])
              if etype in REDUNDANT_FAULT_TYPES | OWN_DELETION_TYPES else set())
    deletions: dict[str, Verdict] = {}
    if not _discriminates(broken, iis, objective, exempt, deletions):
        return _reject(etype, "a deletion restores the optimum")
    if etype == "A":  # a decoy: another inequality family of the IIS that turns round as the fault does
        fams = {family(r["name"]) for f in faults for r in f.roots}
        if not any(family(r) not in fams and flip_like_drop(broken, r, deletions) for r in iis.constraints):
            return _reject(etype, "no other inequality family turns round like the fault")
        if not family_flip_decoy(broken, iis, fams):
            return _reject(etype, "no other family restores feasibility when turned round")
        if not scope_hidden(broken, faults[0].roots[0]["name"]):
            return _reject(etype, "only one of the row and its family restores feasibility when turned round")
    if etype == "B" and _relax_decoys(broken, iis, faults[0].roots[0]["name"]) < MIN_RELAX_DECOYS:
        return _reject(etype, "too few integers whose relaxation also restores feasibility")
    if etype == "F" and iis.size < 4:
        return _reject(etype, "IIS too small")
    inj = Injection(etype, broken, faults, iis, spec_sheet, original, objective)
    if etype == "I":
        inj.alternatives = alternatives(broken, iis, faults[0], objective, deletions)
        if sum(1 for a in inj.alternatives if a["feasible"]) < 2:
            return _reject(etype, "only one fix restores feasibility")
        if sum(1 for a in inj.alternatives if a["faithful"]) != 1:
            return _reject(etype, "several faithful fixes")
    inj.miss = target is not None and inj.difficulty != target
    return inj


# -- drawing --------------------------------------------------------------------------------
def _count(etype: str, held: dict[Element, list[lb.Label]]) -> int:
    """How many candidates for a fault of ``etype`` the placements ``held`` give: distinct
    entries of the sheet (A: reversible rules; C, F: coefficient entries, which may enter
    several rows; D: listings; H, I: bounds and right-hand sides). Counting rows called a
    knapsack conflict with one item's weight in three trucks' rows three candidates; a
    spec-blind ranker that picked any of those rows found the fault 0.88 of the time."""
    return len({lab.ref for labs in held.values() for lab in labs})


def _candidates(etype: str, base: BaseModel, rows: Iterable[str]) -> int:
    """How many candidates for a fault of ``etype`` ``rows`` hold (see :func:`_count`)."""
    return _count(etype, lb.placements(ROW_KINDS[etype], base, Iis(list(rows))))


def _need(etype: str) -> int:
    return MIN_REVERSIBLE_RULES if etype == "A" else MIN_CANDIDATES.get(etype, 1)


def _precheck(etype: str, base: BaseModel) -> Callable[[list[str]], bool] | None:
    """For the types that reject most conflicts for want of candidates (:data:`PRECHECKED`),
    what every kept problem has, checked before the IIS is paid for: dropping every row a
    fault of the type could sit in (A: whole families of directed rules; C, F, I: rows with a
    data entry of the kind; D: listed rules; H: freeing every upper bound from the sheet; B:
    relaxing every integer the sheet lists as whole lots) restores feasibility (the fix
    changes only those, and dropping relaxes more than any fix), and the model has enough
    candidates. Returns None when the conflict cannot be kept, else a check of the IIS rows
    (enough candidates among them; H: always yes, its members are bounds) for
    :func:`compute_iis` to stop on before its bound filter. Only conflicts that would be
    rejected later are rejected, so what is kept follows the same distribution as before
    (the random stream moves on differently). ``base``: the model the sheet builds (before
    the LP-text round trip, which only rounds numbers to ten digits)."""
    broken = base.spec
    free: list[tuple[str, str]] = []
    keep = list(broken.rows)
    if etype == "B":
        lots = [lab.element[1] for lab in lb.eligible("vtype", base, Iis(list(broken.rows)))]
        if not lots:
            return None
        broken = broken.copy()
        for v in lots:
            broken.vars[v].vtype = "C"
    elif etype == "H":
        labels = lb.eligible("bound", base, Iis([], [(v, "upper") for v in broken.vars]))
        if len(labels) < _need(etype):
            return None
        free = [(lab.element[1], "upper") for lab in labels]
    else:
        held = lb.placements(ROW_KINDS[etype], base, Iis(list(broken.rows)))
        if _count(etype, held) < _need(etype):
            return None
        if etype == "A":
            fams = {family(el[1]) for el in held}
            keep = [r for r in broken.rows if family(r) not in fams]
        else:
            keep = [r for r in broken.rows if ("c", r) not in held]
    try:
        if not is_feasible(broken, rows=keep, free_bounds=free):
            return None
    except SolverTimeout:
        pass  # undecided: not a reason to reject; the IIS decides
    if etype == "H":
        return lambda rows: True
    if etype == "B":
        return lambda rows: bool(lb.placements(("vtype",), base, Iis(list(rows))))
    return lambda rows: _candidates(etype, base, rows) >= _need(etype)


def _conflict(ctx: Context, n: int, etype: str) -> tuple[DataSheet, ModelSpec, Iis] | None:
    """``n`` conflicts drawn on the base model: the sheet with them, the broken model (through
    the LP text, in canonical order) and its IIS (None when no certain IIS is found, or, for
    a type in :data:`PRECHECKED`, when the conflict cannot hold it: see :func:`_precheck`);
    every None is counted in :data:`REJECTIONS`."""
    changes: list[SheetChange] = []
    for _ in range(n):
        c = perturb.draw(ctx, {x.ref for x in changes})
        if c is None:
            return _reject(etype, "no conflict")
        changes.append(c)
    sheet = changed(ctx.base.sheet, changes)
    built = build(sheet)
    accept = None
    if etype in PRECHECKED:
        accept = _precheck(etype, built)
        if accept is None:
            return _reject(etype, "no member can hold the type (checked before the IIS)")
    broken = _roundtrip(built.spec)
    try:
        iis = compute_iis(broken, bound_check_limit=0.1, stop_when_uncertain=True, second_solver=False,
                          accept_rows=accept)
    except SolverTimeout:
        return _reject(etype, "no conflict")
    if iis.rejected:
        return _reject(etype, "no member can hold the type (the IIS rows)")
    return (sheet, broken, iis) if iis.certain else _reject(etype, "no conflict")


def _single(ctx: Context, etype: str, sheet: DataSheet, broken: ModelSpec, iis: Iis, target: str | None):
    """The fault on a member drawn uniformly among those that can hold the type *and* have a
    natural value (or listing, or rule) that makes the specified model feasible: drawing among
    all eligible members and rejecting the conflict when the drawn one has none would favour
    members that need little to change, which a search reads off the solver."""
    base = _broken_base(sheet, broken)
    placements = lb.placements(lb.TYPE_KINDS[etype], base, iis)
    realisable: dict[tuple[str, str], lb.Label] = {}
    for member in sorted(placements):
        for lab in ctx.shuffled(placements[member]):
            real = next((r for r in lb.realise(lab, base, sheet, ctx.rng)
                         if is_feasible(lb.spec_model(sheet, [r]).spec)), None)
            if real is not None:
                realisable[member] = real
                break
    if not realisable:
        return _reject(etype, "no member can hold the type")
    if etype in EVERY_MEMBER_REALISABLE and len(realisable) < len(placements):
        return _reject(etype, "a member that could hold the type has no value that fits")
    entries = sorted({lab.ref for lab in realisable.values()})
    if len(entries) < _need(etype):
        return _reject(etype, "one rule of the conflict could be the reversed one" if etype == "A"
                       else "too few entries could hold the type")
    ref = ctx.rng.choice(entries)  # uniformly among the entries, then one of its rows
    member = ctx.rng.choice(sorted(m for m, lab in realisable.items() if lab.ref == ref))
    inj = verify(etype, base, sheet, iis, [realisable[member]], target)
    if inj is None:
        return _reject(etype, "no verified placement")
    if etype == "A":
        others = [lab for lab in placements[member] if lab is not realisable[member]]
        if any(verify(etype, base, sheet, iis, [lab], None) is None for lab in others):
            # the scope drawn must not be the only one that passes: verification reads the specified
            # optimum, so keeping only the scopes that pass tied the scope to the objective (flipping
            # the family cost less than flipping the row for 66% of kept reversed rules, more for
            # 58% of kept missed exceptions), which a spec-blind search reads off the solver
            return _reject(etype, "the other scope does not verify")
        # likewise the target difficulty: a reversed family needs one flip per row (medium at
        # least), a missed exception one; a conflict matches when either scope would
        members = members_to_check(broken, iis)
        fits = {difficulty(1, len(_fault(lab, base, sheet).fixes), members) for lab in placements[member]}
        inj.miss = target is not None and target not in fits
    return inj


def _pair(ctx: Context, etype: str, sheet: DataSheet, broken: ModelSpec, iis: Iis, target: str | None):
    """E: two faults in the same IIS, neither enough alone. G: the second fault's conflict
    shows only once the first is fixed."""
    base = _broken_base(sheet, broken)
    first = lb.draw(lb.PAIR_LABEL_KINDS, base, iis, ctx.rng)
    if first is None:
        return _reject(etype, "no member can hold the type")
    order = family_order(broken) if etype == "G" else None  # G: the first fix keeps the row order
    for one in lb.realise(first, base, sheet, ctx.rng):
        after = lb.spec_model(sheet, [one]).spec
        if is_feasible(after):
            continue
        if etype == "E":
            second = lb.draw(lb.PAIR_LABEL_KINDS, base, iis, ctx.rng, avoid={one.element})
        else:
            try:
                iis2 = compute_iis(_roundtrip(after, order), bound_check_limit=0.1,
                                   stop_when_uncertain=True, second_solver=False)
            except SolverTimeout:
                continue
            shown = set(iis2.constraints) | {v for v, _ in iis2.bounds}
            if not iis2.certain or one.element[1] in shown:
                continue
            base2 = build(changed(sheet, one.changes))
            second = lb.draw(lb.PAIR_LABEL_KINDS, base2, iis2, ctx.rng,
                             avoid={("c", r) for r in iis.constraints} | {("v", v) for v, _ in iis.bounds})
        if second is None:
            continue
        for two in lb.realise(second, base, sheet, ctx.rng):
            if not is_feasible(lb.spec_model(sheet, [one, two]).spec):
                continue
            inj = verify(etype, base, sheet, iis, [one, two], target)
            if inj is not None:
                return inj
    return _reject(etype, "no verified pair")


def inject(etype: str, ctx: Context, target: str | None = None) -> Injection | None:
    """A verified injection of the target difficulty, else the first verified one of another
    difficulty, else None."""
    fallback: Injection | None = None
    looked = 0
    for _ in range(MAX_CONFLICTS):
        try:
            found = _conflict(ctx, 2 if etype == "G" else 1, etype)
            if found is None:  # (counted by _conflict)
                continue
            make = _pair if etype in PAIR_KINDS else _single
            inj = make(ctx, etype, *found, target)
        except Exception as exc:  # SCIP's LP solver can fail on a candidate; the next one is tried
            if not is_solver_failure(exc):
                raise
            _reject(etype, "solver error")
            continue
        if inj is None:
            continue
        if not inj.miss:
            return inj
        fallback = fallback or inj
        looked += 1
        if looked > EXTRA_FOR_TARGET:
            break
    return fallback
