"""Inject one error type into a base model and verify it with the solver.

A candidate is kept only when the broken model is infeasible, applying the recorded
fix(es) gives back the original optimum (1e-6 relative), the type's own property
holds, and no single deletion of an IIS member restores the original optimum
(A and D are exempt: deleting their faulty row restores the optimum by necessity).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from ordebug import actions as act
from ordebug.actions import apply_edit, parse_action
from ordebug.errors import nameform
from ordebug.errors.faults import (
    Context,
    Fault,
    bound_faults,
    coef_faults,
    rhs_faults,
    rule_faults,
    sense_faults,
    struct_faults,
    vtype_faults,
)
from ordebug.errors.taxonomy import PAIR_KINDS, REDUNDANT_FAULT_TYPES, SINGLE_FAULT_KINDS
from ordebug.solver.iis import Iis, compute_iis
from ordebug.solver.lpformat import read_model_text, write_lp
from ordebug.solver.solve import (
    SolverTimeout,
    Verdict,
    is_feasible,
    is_solver_failure,
    same_objective,
    solve,
    verdict,
)
from ordebug.solver.spec import ModelSpec, canonical_order, satisfies

FIX_TOL = 1e-6  # a recorded fix must restore the optimum this closely
MAX_CANDIDATES = 16  # per base model: past this many, a fresh model is drawn (cheaper than a long tail)
EXTRA_FOR_TARGET = 1  # verified candidates looked at beyond the first, to meet a target difficulty
ONE_ROW_TYPES = frozenset({"B"})  # a quantity the sheet pins to a fraction meets its one pinning row
ONE_ROW_KEEP = 0.05  # share of one-row IIS candidates kept (a one-row IIS is the exception)
REJECTIONS: Counter[str] = Counter()  # why candidates were rejected (for the benchmark report)


def _reject(etype: str, reason: str) -> None:
    """Count a rejection; returns None so callers can `return _reject(...)`."""
    REJECTIONS[f"{etype}:{reason}"] += 1


@dataclass
class Injection:
    """A verified broken model with its ground truth."""

    error_type: str
    broken: ModelSpec
    faults: list[Fault]
    iis: Iis
    alternatives: list[dict] = field(default_factory=list)
    miss: bool = False  # verified, but of another difficulty than the target

    @property
    def difficulty(self) -> str:
        return difficulty(len(self.faults), sum(len(f.fixes) for f in self.faults),
                          members_to_check(self.broken, self.iis))


def members_to_check(spec: ModelSpec, iis: Iis) -> int:
    """IIS members a modeller must compare with the specification: every row, and every bound
    that comes from data (a lower bound of 0 is the rules' own "x >= 0": nothing to look up)."""
    return len(iis.constraints) + sum(1 for v, side in iis.bounds if side == "upper" or spec.vars[v].lb != 0)


def difficulty(n_faults: int, n_fix_actions: int, members: int) -> str:
    """hard: two faults or a large conflict (>= 8 members to check); medium: 4-7 members or a
    multi-edit fix; easy: the rest."""
    if n_faults > 1 or members >= 8:
        return "hard"
    if members >= 4 or n_fix_actions > 1:
        return "medium"
    return "easy"


def fault_stream(kind: str, ctx: Context) -> Iterator[Fault]:
    if kind == "sense":
        return sense_faults(ctx)
    if kind == "vtype":
        return vtype_faults(ctx)
    if kind == "coef":
        return coef_faults(ctx, ("requirement", "capacity", "link", "rule"))
    if kind == "coef_def":
        return coef_faults(ctx, ("definition", "balance", "link"))
    if kind == "struct":
        return struct_faults(ctx, ("requirement", "capacity", "rule"))
    if kind == "struct_def":
        return struct_faults(ctx, ("definition", "balance", "link"))
    if kind == "rhs_def":
        return rhs_faults(ctx, ("definition", "balance"))
    if kind == "rhs":
        return rhs_faults(ctx, ("requirement", "capacity"))
    if kind == "bound":
        return bound_faults(ctx)
    if kind == "rule":
        return rule_faults(ctx)
    raise ValueError(kind)


def in_iis(fault: Fault, iis: Iis, spec: ModelSpec) -> bool:
    kind, name, side = fault.element
    if kind == "constraint":
        return any(r["name"] in iis.constraints for r in fault.roots)
    if kind == "bound":
        return (name, side) in iis.bounds
    return any(name in spec.rows[r].coefs for r in iis.constraints)


def _apply(spec: ModelSpec, faults: list[Fault]) -> ModelSpec:
    out = spec.copy()
    for f in faults:
        f.apply(out)
    return out


def _roundtrip(spec: ModelSpec) -> ModelSpec:
    """Through the LP text, in canonical row order (so nothing depends on where a row was added)."""
    return canonical_order(read_model_text(write_lp(spec), name=spec.name))


def deletion(spec: ModelSpec, kind: str, name: str, side: str = "") -> tuple[str, ModelSpec]:
    """Deleting one row (``kind`` "constraint") or one side of a variable's bounds, as
    (action text, edited copy)."""
    trial = spec.copy()
    if kind == "constraint":
        del trial.rows[name]
        return act.drop(name), trial
    var = trial.vars[name]
    if side == "lower":
        action = act.update_bounds(name, -float("inf"), var.ub)
    else:
        action = act.update_bounds(name, var.lb, float("inf"))
    apply_edit(trial, parse_action(action))
    return action, trial


def member_deletions(spec: ModelSpec, iis: Iis) -> Iterator[tuple[str, ModelSpec]]:
    """Each single deletion of an IIS member, as (action text, edited copy)."""
    for r in iis.constraints:
        yield deletion(spec, "constraint", r)
    for v, side in iis.bounds:
        yield deletion(spec, "bound", v, side)


def _discriminates(
    broken: ModelSpec, iis: Iis, objective: float, exempt: set[str], seen: dict[str, Verdict] | None = None
) -> bool:
    """Whether no single deletion of a (non-exempt) IIS member restores the optimum; each
    verdict is kept in ``seen`` (by action) for :func:`alternatives`."""
    seen = {} if seen is None else seen
    for action, trial in member_deletions(broken, iis):
        parsed = parse_action(action)
        if parsed.name == "DROP_CONSTRAINT" and act.target(parsed) in exempt:
            continue
        seen[action] = verdict(solve(trial), objective)
        if seen[action].faithful:
            return False
    return True


def _deletion_restores(broken: ModelSpec, fault: Fault, objective: float, exempt: set[str]) -> bool:
    """Whether deleting the faulty row (or bound) alone restores the optimum. The fault must
    be in the IIS, so such a candidate fails :func:`_discriminates` anyway: one solve here
    spares its IIS search."""
    kind, name, side = fault.element
    deletable = (kind == "constraint" and name in broken.rows and name not in exempt) or (
        kind == "bound" and name in broken.vars)
    if not deletable:
        return False
    return verdict(solve(deletion(broken, kind, name, side)[1]), objective).faithful


def verify(ctx: Context, etype: str, faults: list[Fault], target: str | None = None) -> Injection | None:
    """The checks every kept problem passes; None when a candidate fails one.

    With a ``target`` difficulty, a verified candidate of another difficulty is marked ``miss``."""
    base = ctx.base.spec
    objective = ctx.optimum.objective
    try:
        broken = _apply(base, faults)
    except (ValueError, KeyError):
        return _reject(etype, "not applicable")
    if _optimum_holds(ctx, broken, faults) or is_feasible(broken):
        return _reject(etype, "still feasible")
    fixed = broken.copy()
    for f in faults:
        f.undo(fixed)
    res = solve(fixed)
    if not res.optimal or not same_objective(res.objective, objective, FIX_TOL):
        return _reject(etype, "fix does not restore optimum")
    if len(faults) == 2:
        for f in faults:
            alone = broken.copy()
            f.undo(alone)
            if is_feasible(alone):
                return _reject(etype, "one fix alone suffices")
    exempt = {r["name"] for f in faults for r in f.roots} if etype in REDUNDANT_FAULT_TYPES else set()
    if etype != "G" and _deletion_restores(broken, faults[0], objective, exempt):
        return _reject(etype, "a deletion restores the optimum")  # seen before paying for the IIS
    one_row_ok = etype in ONE_ROW_TYPES or ctx.rng.random() < ONE_ROW_KEEP
    if not one_row_ok and _alone_infeasible(broken, faults):
        return _reject(etype, "one-row IIS")  # a faulty row that conflicts with its own bounds
    broken = _roundtrip(broken)
    try:
        iis = compute_iis(broken, bound_check_limit=0.1, stop_when_uncertain=True, min_rows=1 if one_row_ok else 2)
    except SolverTimeout:
        return _reject(etype, "solver timeout")
    if len(iis.constraints) <= 1 and not one_row_ok:
        return _reject(etype, "one-row IIS")
    if not iis.certain:
        return _reject(etype, "IIS uncertain")
    if etype != "G" and not in_iis(faults[0], iis, broken):
        return _reject(etype, "fault not in IIS")
    if etype == "F" and iis.size < 4:
        return _reject(etype, "IIS too small")
    if etype == "G":
        first = [f for f in faults if in_iis(f, iis, broken)]
        if len(first) != 1:
            return _reject(etype, "IIS does not hold exactly one fault")
        second = [f for f in faults if f is not first[0]][0]
        after = broken.copy()
        first[0].undo(after)
        if is_feasible(after) or not in_iis(second, compute_iis(after, bound_check_limit=0.2), after):
            return _reject(etype, "second fault not revealed")
        faults = [first[0], second]
    deletions: dict[str, Verdict] = {}
    if not _discriminates(broken, iis, objective, exempt, deletions):
        return _reject(etype, "a deletion restores the optimum")
    inj = Injection(etype, broken, faults, iis)
    if etype == "I":
        inj.alternatives = alternatives(broken, iis, faults[0], objective, deletions)
        if sum(1 for a in inj.alternatives if a["feasible"]) < 2:
            return _reject(etype, "only one fix restores feasibility")
        if sum(1 for a in inj.alternatives if a["faithful"]) != 1:
            return _reject(etype, "several faithful fixes")
    inj.miss = target is not None and inj.difficulty != target
    return inj


def _optimum_holds(ctx: Context, broken: ModelSpec, faults: list[Fault]) -> bool:
    """Whether the base model's optimum still satisfies ``broken``; only the rows and
    variables the faults touched are checked (the optimum satisfies the rest already)."""
    rows: set[str] = set()
    variables: set[str] = set()
    for f in faults:
        if f.added_row is not None:
            rows.add(f.added_row.name)
        for a in f.breaks:
            target = act.target(parse_action(a))
            (variables if target in broken.vars else rows).add(target)
    return satisfies(broken, ctx.optimum.values, rows=rows, variables=variables)


def _alone_infeasible(broken: ModelSpec, faults: list[Fault]) -> bool:
    """Whether a faulty row is infeasible on its own, with just its variables' bounds (then an
    IIS of that one row exists; cheap to see before the IIS search)."""
    for f in faults:
        kind, name, _ = f.element
        if kind == "constraint" and name in broken.rows and not _row_feasible(broken, name):
            return True
    return False


def _row_feasible(spec: ModelSpec, name: str) -> bool:
    """Whether one row can hold within its variables' bounds: the range of its activity
    decides for continuous variables (no solve); integer ones go to SCIP when the range allows."""
    r = spec.rows[name]
    low = high = 0.0
    for v, c in r.coefs.items():
        lb, ub = spec.var_bounds(v)
        low += c * (lb if c > 0 else ub)
        high += c * (ub if c > 0 else lb)
    tol = 1e-6
    if low > r.rhs + tol * max(1.0, abs(r.rhs)) or high < r.lhs - tol * max(1.0, abs(r.lhs)):
        return False
    if all(spec.vars[v].vtype == "C" for v in r.coefs):
        return True
    return is_feasible(spec, rows=[name])


def alternatives(
    broken: ModelSpec, iis: Iis, fault: Fault, objective: float, seen: dict[str, Verdict] | None = None
) -> list[dict]:
    """Single fixes that restore feasibility, with their objective impact (type I); verdicts
    already in ``seen`` (by action) are not solved again."""
    seen = seen or {}
    out = []
    trials = [(" ; ".join(fault.fixes), _fixed(broken, fault)), *member_deletions(broken, iis)]
    for action, trial in trials:
        v = seen[action] if action in seen else verdict(solve(trial), objective)
        change = None if v.objective is None else (v.objective - objective) / max(1.0, abs(objective))
        out.append({"action": action, "feasible": v.feasible, "objective": v.objective,
                    "relative_change": change, "faithful": v.faithful})
    return out


def _fixed(spec: ModelSpec, fault: Fault) -> ModelSpec:
    out = spec.copy()
    fault.undo(out)
    return out


def candidates(etype: str, ctx: Context) -> Iterator[list[Fault]]:
    """Candidate fault lists for one error type, in the RNG's order."""
    if etype in PAIR_KINDS:
        yield from _pairs(etype, ctx)
        return
    kinds = SINGLE_FAULT_KINDS[etype]
    streams = [fault_stream(k, ctx) for k in kinds]
    for group in itertools.zip_longest(*streams):
        for f in group:
            if f is not None:
                yield [f]


def _pairs(etype: str, ctx: Context) -> Iterator[list[Fault]]:
    """Pairs of faults that each break the model alone, over the type's kind pairs."""

    def breaks(f: Fault) -> bool:
        try:
            alone = _apply(ctx.base.spec, [f])
        except (ValueError, KeyError):
            return False
        if _optimum_holds(ctx, alone, [f]) or is_feasible(alone):
            return False
        return not _alone_infeasible(alone, [f])  # its row would be a one-row IIS of any pair

    pool: dict[str, list[Fault]] = {}

    def faults_of(kind: str) -> list[Fault]:
        if kind not in pool:
            tried = itertools.islice(fault_stream(kind, ctx), 8)
            pool[kind] = list(itertools.islice((f for f in tried if breaks(f)), 4))
        return pool[kind]

    for k1, k2 in ctx.shuffled(list(PAIR_KINDS[etype])):
        for f1 in faults_of(k1):
            for f2 in faults_of(k2):
                if f2.root["name"] != f1.root["name"]:
                    yield [f1, f2]


def _safe_verify(ctx: Context, etype: str, faults: list[Fault], target: str | None = None) -> Injection | None:
    """``verify``, with a solver failure counted as a rejected candidate."""
    try:
        return verify(ctx, etype, faults, target)
    except Exception as exc:  # SCIP's LP solver can fail on a candidate; the next one is tried
        if not is_solver_failure(exc):
            raise
        return _reject(etype, "solver error")


def inject(etype: str, ctx: Context, target: str | None = None) -> Injection | None:
    """A verified injection of the target difficulty among the type's candidates, else the
    first verified one of another difficulty, else None."""
    fallback: Injection | None = None
    looked = 0
    names = list(ctx.base.spec.rows)
    for faults in itertools.islice(candidates(etype, ctx), MAX_CANDIDATES):
        root = faults[0].root
        if root["kind"] == "constraint":
            everyone = names + [f.added_row.name for f in faults if f.added_row is not None]
            if not nameform.keep(root["name"], everyone, ctx.rng):
                _reject(etype, "name form over-represented")
                continue
        inj = _safe_verify(ctx, etype, faults, target)
        if inj is None:
            continue
        if not inj.miss:
            return inj
        fallback = fallback or inj
        looked += 1
        if looked > EXTRA_FOR_TARGET:
            break
    return fallback
