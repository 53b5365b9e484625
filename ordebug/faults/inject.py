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

from collections.abc import Callable, Iterable

from ordebug.faults import labels as lb
from ordebug.faults import perturb
from ordebug.faults.changes import SheetChange, build, changed
from ordebug.faults.fault import Context, Element
from ordebug.faults.taxonomy import PAIR_KINDS
from ordebug.faults.verify import (
    Injection,
    broken_base,
    difficulty,
    family_order,
    fault_of,
    members_to_check,
    reject,
    roundtrip,
    verify,
)
from ordebug.models.base import BaseModel
from ordebug.models.datasheet import DataSheet
from ordebug.solver.iis import Iis, compute_iis
from ordebug.solver.solve import (
    SolverTimeout,
    is_feasible,
    is_solver_failure,
)
from ordebug.solver.spec import ModelSpec, family

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
EXTRA_FOR_TARGET = 1  # verified candidates looked at beyond the first, to meet a target difficulty


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
    every None is counted in :data:`~ordebug.faults.verify.REJECTIONS`."""
    changes: list[SheetChange] = []
    for _ in range(n):
        c = perturb.draw(ctx, {x.ref for x in changes})
        if c is None:
            return reject(etype, "no conflict")
        changes.append(c)
    sheet = changed(ctx.base.sheet, changes)
    built = build(sheet)
    accept = None
    if etype in PRECHECKED:
        accept = _precheck(etype, built)
        if accept is None:
            return reject(etype, "no member can hold the type (checked before the IIS)")
    broken = roundtrip(built.spec)
    try:
        iis = compute_iis(broken, bound_check_limit=0.1, stop_when_uncertain=True, second_solver=False,
                          accept_rows=accept)
    except SolverTimeout:
        return reject(etype, "no conflict")
    if iis.rejected:
        return reject(etype, "no member can hold the type (the IIS rows)")
    return (sheet, broken, iis) if iis.certain else reject(etype, "no conflict")


def _single(ctx: Context, etype: str, sheet: DataSheet, broken: ModelSpec, iis: Iis, target: str | None):
    """The fault on a member drawn uniformly among those that can hold the type *and* have a
    natural value (or listing, or rule) that makes the specified model feasible: drawing among
    all eligible members and rejecting the conflict when the drawn one has none would favour
    members that need little to change, which a search reads off the solver."""
    base = broken_base(sheet, broken)
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
        return reject(etype, "no member can hold the type")
    if etype in EVERY_MEMBER_REALISABLE and len(realisable) < len(placements):
        return reject(etype, "a member that could hold the type has no value that fits")
    entries = sorted({lab.ref for lab in realisable.values()})
    if len(entries) < _need(etype):
        return reject(etype, "one rule of the conflict could be the reversed one" if etype == "A"
                       else "too few entries could hold the type")
    ref = ctx.rng.choice(entries)  # uniformly among the entries, then one of its rows
    member = ctx.rng.choice(sorted(m for m, lab in realisable.items() if lab.ref == ref))
    inj = verify(etype, base, sheet, iis, [realisable[member]], target)
    if inj is None:
        return reject(etype, "no verified placement")
    if etype == "A":
        others = [lab for lab in placements[member] if lab is not realisable[member]]
        if any(verify(etype, base, sheet, iis, [lab], None) is None for lab in others):
            # the scope drawn must not be the only one that passes: verification reads the specified
            # optimum, so keeping only the scopes that pass tied the scope to the objective (flipping
            # the family cost less than flipping the row for 66% of kept reversed rules, more for
            # 58% of kept missed exceptions), which a spec-blind search reads off the solver
            return reject(etype, "the other scope does not verify")
        # likewise the target difficulty: a reversed family needs one flip per row (medium at
        # least), a missed exception one; a conflict matches when either scope would
        members = members_to_check(broken, iis)
        fits = {difficulty(1, len(fault_of(lab, base, sheet).fixes), members) for lab in placements[member]}
        inj.miss = target is not None and target not in fits
    return inj


def _pair(ctx: Context, etype: str, sheet: DataSheet, broken: ModelSpec, iis: Iis, target: str | None):
    """E: two faults in the same IIS, neither enough alone. G: the second fault's conflict
    shows only once the first is fixed."""
    base = broken_base(sheet, broken)
    first = lb.draw(lb.PAIR_LABEL_KINDS, base, iis, ctx.rng)
    if first is None:
        return reject(etype, "no member can hold the type")
    order = family_order(broken) if etype == "G" else None  # G: the first fix keeps the row order
    for one in lb.realise(first, base, sheet, ctx.rng):
        after = lb.spec_model(sheet, [one]).spec
        if is_feasible(after):
            continue
        if etype == "E":
            second = lb.draw(lb.PAIR_LABEL_KINDS, base, iis, ctx.rng, avoid={one.element})
        else:
            try:
                iis2 = compute_iis(roundtrip(after, order), bound_check_limit=0.1,
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
    return reject(etype, "no verified pair")


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
            reject(etype, "solver error")
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
