"""Irreducible infeasible subsystems over constraints *and* variable bounds.

SCIP's ``generateIIS()`` finds the constraints; it never lists bounds (its sub-model
keeps every bound), so a deletion filter over the bounds of the IIS rows' variables
finishes the job. Dropping bounds only weakens the system, so the rows stay irreducible.

Deterministic: every SCIP solve is limited by work (branch-and-bound nodes), never by
the clock, so the same model gives the same IIS on any machine under any load. An
optional wall-clock ``time_limit`` only stops the search early and marks the answer
uncertain. A solve that fails (SCIP's LP solver gives up) is retried with safer
settings; a member whose check stays undecided is kept and the answer marked uncertain.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyscipopt as ps

from ordebug.solver import highs
from ordebug.solver.errors import FeasibleModelError, OrDebugError
from ordebug.solver.solve import SCIP_INF, SolverTimeout, to_scip
from ordebug.solver.spec import INF, ModelSpec, Row, Var

#: branch-and-bound nodes one feasibility check (and one step of SCIP's IIS search) may use
NODE_LIMIT = 2000
#: how ``bound_check_limit`` (seconds, the old wall-clock API) maps onto a node limit
NODES_PER_SECOND = 1000
#: below this many candidates the row filter drops rows one at a time (in model order)
ROW_CHUNK_MIN = 32
#: SCIP's feasibility tolerance, for rows without entries
FEASTOL = 1e-6
#: rows widened by this much (relative) must stay infeasible: an answer that does not is
#: infeasible only within the solver's tolerance (nearly feasible, solutions at 1e8 and beyond)
RELAX = 1e-6

# settings tried in turn when a solve fails or ends undecided for a reason other than a
# limit: SCIP's defaults, then no presolve with primal simplex, then dual simplex with
# tighter feasibility tolerances and no scaling
RETRY_SETTINGS: list[dict[str, object]] = [
    {},
    {"presolving/maxrounds": 0, "lp/initalgorithm": "p", "lp/resolvealgorithm": "p"},
    {
        "presolving/maxrounds": 0,
        "lp/initalgorithm": "d",
        "lp/resolvealgorithm": "d",
        "lp/scaling": 0,
        "numerics/lpfeastolfactor": 0.1,
        "lp/checkstability": True,
    },
]


class IisUndecided(SolverTimeout, OrDebugError):
    """SCIP could not decide whether the model itself is feasible."""


@dataclass
class Iis:
    """Constraint names (in model order) and bounds as ``(variable, side)`` pairs."""

    constraints: list[str] = field(default_factory=list)
    bounds: list[tuple[str, str]] = field(default_factory=list)
    certain: bool = True  # False when a check stayed undecided and a member was kept to be safe
    reasons: list[str] = field(default_factory=list, compare=False)  # why it is uncertain
    rejected: bool = field(default=False, compare=False)  # stopped: the caller's accept_rows said no

    @property
    def size(self) -> int:
        return len(self.constraints) + len(self.bounds)

    def to_json(self) -> dict[str, list]:
        return {
            "constraints": list(self.constraints),
            "bounds": [{"variable": v, "side": s} for v, s in self.bounds],
        }

    @classmethod
    def from_json(cls, data: dict) -> Iis:
        return cls(list(data["constraints"]), [(b["variable"], b["side"]) for b in data["bounds"]])


class _Budget:
    """An optional wall-clock deadline for the whole search."""

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float:
        return 1e20 if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def _set_params(m: ps.Model, params: dict[str, object]) -> None:
    for k, v in params.items():
        m.setParam(k, v)


def _reset_params(m: ps.Model, params: dict[str, object]) -> None:
    for k in params:
        m.resetParam(k)


def _bounds_alone(spec: ModelSpec) -> Iis | None:
    """The IIS when bounds alone conflict (lb > ub, or an integer variable whose bounds
    hold no integer), or when a row without entries cannot hold (``0 >= 5``)."""
    for name, v in spec.vars.items():
        lb, ub = spec.var_bounds(name)
        if lb > ub:
            return Iis([], [(name, "lower"), (name, "upper")])
        if v.vtype != "C" and math.isfinite(lb) and math.isfinite(ub) and math.ceil(lb - 1e-9) > math.floor(ub + 1e-9):
            return Iis([], [(name, "lower"), (name, "upper")])
    for name, r in spec.rows.items():
        if not r.coefs and (r.lhs > FEASTOL or r.rhs < -FEASTOL):
            return Iis([name], [])
    return None


class _Subsystem:
    """One SCIP model of some rows whose rows and variable bounds can be switched off.

    Variables are created with free bounds and bounded afterwards: SCIP would otherwise
    turn a [0, 1] integer into a binary whose bounds can no longer be widened. A fresh
    SCIP instance (a pooled one gave history-dependent answers; emptying one after these
    bound changes crashed SCIP)."""

    def __init__(self, spec: ModelSpec, rows: list[str], node_limit: int, budget: _Budget,
                 second_solver: bool = False) -> None:
        self.spec, self.rows, self.node_limit, self.budget = spec, rows, node_limit, budget
        used = list(dict.fromkeys(v for r in rows for v in spec.rows[r].coefs))
        # HiGHS decides what SCIP's LP solver fails on, where the rows are an LP
        self.second = second_solver and highs.available() and all(spec.vars[v].vtype == "C" for v in used)
        free = [(v, side) for v in used for side in ("lower", "upper")]
        self.m = to_scip(spec, objective=False, rows=rows, free_bounds=free)
        self.m.setParam("limits/time", 1e20)
        # conflict analysis only prunes; on integer systems whose bounds the filter frees it
        # was seen to spend seconds on a 50-node check (80 ms per node), so it is off here
        self.m.setParam("conflict/enable", False)
        self.svars = {v.name: v for v in self.m.getVars()}
        self.value: dict[tuple[str, str], float] = {}
        for v in used:
            lb, ub = spec.var_bounds(v)
            self.value[v, "lower"] = lb
            self.value[v, "upper"] = ub
        self.reason = ""
        self.failed = False
        self.untrusted = False  # the last check was infeasible only after a failed try
        self.rows_off: set[str] | None = set()

    def feasible(
        self, rows_off: set[str], bounds_off: set[tuple[str, str]], trust_retry: bool = False
    ) -> bool | None:
        """Feasibility with ``rows_off`` and ``bounds_off`` dropped; None when undecided
        (``self.reason`` says why). A solution is trusted whatever settings found it; an
        infeasibility proof only from the first try, unless ``trust_retry``: once SCIP's
        LP solver has failed on a system, SCIP has been seen to call nearly feasible
        systems (solutions at 1e8 and beyond) infeasible, and dropping a member on such a
        verdict could leave a feasible answer. With a second solver, an LP that SCIP's LP
        solver failed on is decided by HiGHS: its verdict stands when SCIP reached none, and
        confirms (or overrules) an infeasibility SCIP found only after failing."""
        verdict = self._scip_feasible(rows_off, bounds_off, trust_retry)
        if verdict is not None and not (verdict is False and self.failed) or not self.second:
            return verdict
        if self.budget.expired:
            return verdict
        rows = [r for r in self.rows if r not in rows_off]
        bounds = {b: (-INF if b[1] == "lower" else INF) if b in bounds_off else x for b, x in self.value.items()}
        other = highs.lp_feasible(self.spec, rows, bounds)
        if other is None:
            self.reason += ("; HiGHS did not decide it either (no try proved it infeasible or found a point "
                            "within SCIP's tolerance)")
            return verdict
        self.untrusted = False
        return other

    def _scip_feasible(
        self, rows_off: set[str], bounds_off: set[tuple[str, str]], trust_retry: bool
    ) -> bool | None:
        m = self.m
        self.failed = False  # a try before the verdict failed (SCIP's LP solver erred)
        self.untrusted = False
        for attempt, settings in enumerate(RETRY_SETTINGS):
            if self.budget.expired:
                self.reason = "the time limit was reached"
                return None
            try:
                m.freeTransform()
                self._apply(rows_off, bounds_off)
                _set_params(m, settings)
                m.setParam("limits/totalnodes", self.node_limit)
                m.setParam("limits/time", self.budget.left())
                m.optimize()
                status = m.getStatus()
                nsols = m.getNSols()
            except Exception as exc:  # SCIP reports LP failures as bare Exceptions
                status, nsols = f"error: {exc}", 0
            finally:
                _reset_params(m, settings)
            if status in ("optimal", "unbounded") or nsols > 0:
                return True
            self.failed = attempt > 0
            if status == "infeasible":
                if attempt == 0 or trust_retry:
                    return False
                self.reason = "SCIP's LP solver failed and the retry's proof of infeasibility is not trusted"
                self.untrusted = True
                return None
            if status == "timelimit":
                self.reason = "the time limit was reached"
                return None
            if status in ("nodelimit", "totalnodelimit"):
                self.reason = f"a check needed more than {self.node_limit} branch-and-bound nodes"
                return None
            self.reason = f"SCIP could not decide a check ({status})"
        return None

    def _apply(self, rows_off: set[str], bounds_off: set[tuple[str, str]]) -> None:
        m = self.m
        for (v, side), val in self.value.items():
            x = val if (v, side) not in bounds_off else (-INF if side == "lower" else INF)
            x = max(-SCIP_INF, min(SCIP_INF, x))
            (m.chgVarLb if side == "lower" else m.chgVarUb)(self.svars[v], x)
        if rows_off == self.rows_off:
            return
        current, self.rows_off = self.rows_off, None  # unknown until every row is set
        for c in m.getConss():
            off = c.name in rows_off
            if current is not None and off == (c.name in current):
                continue
            r = self.spec.rows[c.name]
            m.chgLhs(c, -SCIP_INF if off or r.lhs == -INF else r.lhs)
            m.chgRhs(c, SCIP_INF if off or r.rhs == INF else r.rhs)
        self.rows_off = set(rows_off)


def _deletion_filter(
    candidates: list, drop: Callable[[list], bool | None], one_at_a_time: bool, stop: Callable[[], bool]
) -> tuple[list, bool]:
    """Members of ``candidates`` that cannot be dropped. ``drop(chunk)`` tries to drop
    ``chunk`` on top of everything dropped so far: True when the system stays infeasible
    (the chunk is then dropped for good), False when it becomes feasible, None when
    undecided. Chunks are halved only when dropping them all restores feasibility.
    Returns (kept, certain)."""
    kept: list = []
    certain = True

    def visit(chunk: list) -> None:
        nonlocal certain
        if stop():
            kept.extend(chunk)
            return
        res = drop(chunk)
        if res is True:
            return
        if len(chunk) == 1:
            kept.append(chunk[0])
            certain = certain and res is False
            return
        half = len(chunk) // 2
        visit(chunk[:half])
        visit(chunk[half:])

    if one_at_a_time:
        for c in candidates:
            visit([c])
    elif candidates:
        visit(list(candidates))
    return kept, certain


def _scip_rows(spec: ModelSpec, node_limit: int, budget: _Budget) -> tuple[list[str] | None, bool, str]:
    """Rows of SCIP's ``generateIIS()`` in model order, whether SCIP calls them
    irreducible, and why not (None when every try failed or found no infeasibility)."""
    reason = ""
    for settings in RETRY_SETTINGS:
        if budget.expired:
            return None, False, "the time limit was reached"
        # a fresh SCIP instance: a pooled one finds history-dependent IISs
        m = to_scip(spec, objective=False)
        _set_params(m, settings)
        m.setParam("limits/time", 1e20)
        m.setParam("iis/time", budget.left())
        m.setParam("iis/greedy/nodelimperiter", node_limit)
        try:
            iis = m.generateIIS()
            found = {c.name for c in iis.getSubscip().getConss()}
            infeasible, irreducible = iis.isSubscipInfeasible(), iis.isSubscipIrreducible()
        except Exception as exc:  # SCIP reports LP failures as bare Exceptions
            reason = f"SCIP's IIS search failed ({exc})"
            continue
        if not infeasible:
            return None, False, "SCIP's IIS search found no infeasible subsystem"
        return [r for r in spec.rows if r in found], irreducible, ""
    return None, False, reason


def compute_iis(
    spec: ModelSpec,
    bound_check_limit: float | None = None,
    stop_when_uncertain: bool = False,
    *,
    node_limit: int | None = None,
    time_limit: float | None = None,
    min_rows: int = 0,
    second_solver: bool = True,
    accept_rows: Callable[[list[str]], bool] | None = None,
) -> Iis:
    """An IIS of an infeasible spec; raises FeasibleModelError for a feasible one.

    ``node_limit``: branch-and-bound nodes per check (default :data:`NODE_LIMIT`); the
    older ``bound_check_limit`` (seconds) is converted to nodes at a fixed rate, so the
    answer never depends on the machine's speed. A check that stays undecided keeps its
    member and marks the IIS uncertain; with ``stop_when_uncertain`` the search stops
    right there (callers that reject uncertain results need not pay for the rest).
    ``time_limit`` (seconds, wall clock) stops the search and marks it uncertain.
    ``min_rows``: stop early, with an uncertain answer, when SCIP's subsystem already has
    fewer rows (callers that reject small conflicts need not pay for the bound filter).
    ``second_solver``: an LP check SCIP's LP solver fails on is decided by HiGHS
    (:mod:`ordebug.solver.highs`) before the answer is called uncertain; the benchmark's
    generator turns it off and rejects what SCIP alone cannot decide.
    ``accept_rows``: called on the IIS rows once the row filter is done (the bound filter
    never changes them); when it says no, the search stops with an uncertain answer marked
    ``rejected`` (callers that need something of the rows need not pay for the bounds). On
    an LP whose first answer holds only within the solver's tolerance, the re-filter that
    would follow (see below) can end with other rows: those rare, borderline systems are
    rejected on their first rows."""
    if node_limit is None:
        node_limit = NODE_LIMIT if bound_check_limit is None else max(1, round(bound_check_limit * NODES_PER_SECOND))
    alone = _bounds_alone(spec)
    if alone is not None:
        return alone
    budget = _Budget(time_limit)
    reasons: list[str] = []
    rows, irreducible, why = _scip_rows(spec, node_limit, budget)
    if rows is not None and len(rows) < min_rows:
        return Iis(rows, [], False, [f"stopped: fewer than {min_rows} rows"])
    if why and "found no" not in why:
        reasons.append(why)
    certain = True
    sub = _Subsystem(spec, rows if rows is not None else list(spec.rows), node_limit, budget, second_solver)
    verdict = sub.feasible(set(), set(), trust_retry=True)
    if verdict is None and rows is not None:
        # SCIP proved its subsystem infeasible; our own check could not confirm it
        certain = False
        reasons.append(f"check of SCIP's subsystem: {sub.reason}")
    elif verdict is True and rows is not None and len(rows) < len(spec.rows):
        # SCIP's subsystem is feasible by our check: start again from every row
        sub = _Subsystem(spec, list(spec.rows), node_limit, budget, second_solver)
        verdict = sub.feasible(set(), set(), trust_retry=True)
        irreducible = False
    if verdict is True:
        raise FeasibleModelError(f"model {spec.name!r} is feasible: it has no IIS")
    if verdict is None and rows is None:
        raise IisUndecided(f"model {spec.name!r}: could not decide whether it is feasible ({sub.reason})")
    rows = sub.rows
    state = _Filter(spec, sub, None, budget, stop_when_uncertain, certain, accept_rows)
    found = state.run(rows, irreducible)
    if state.rejected:
        return Iis(found[0], [], False, ["stopped: the caller rejected the rows"], rejected=True)
    verify = state.continuous and (state.certain or not stop_when_uncertain) and not budget.expired
    robust = _Subsystem(_relaxed(spec, rows), rows, node_limit, budget, second_solver) if verify else None
    if robust is not None and robust.feasible(*state.off(found), trust_retry=True) is True:
        # the answer holds only within the solver's tolerance (SCIP dropped a member on a
        # verdict that a slightly relaxed system contradicts): filter again, dropping a
        # member only when the relaxed system stays infeasible too
        state = _Filter(spec, sub, robust, budget, stop_when_uncertain, certain, accept_rows)
        found = state.run(rows, irreducible)
        if state.rejected:
            return Iis(found[0], [], False, ["stopped: the caller rejected the rows"], rejected=True)
    reasons += state.reasons
    if budget.expired:
        state.certain = False
        reasons.append("the time limit was reached")
    return Iis(found[0], found[1], state.certain, list(dict.fromkeys(reasons)))


def _relaxed(spec: ModelSpec, rows: list[str], delta: float = RELAX) -> ModelSpec:
    """``rows`` of ``spec`` (and their variables) with sides widened by ``delta``
    (relative, at least absolute)."""
    out = ModelSpec(spec.name, spec.sense)
    for v in dict.fromkeys(v for r in rows for v in spec.rows[r].coefs):
        x = spec.vars[v]
        out.add_var(Var(x.name, x.lb, x.ub, x.vtype, 0.0))
    for name in rows:
        r = spec.rows[name]
        lhs = r.lhs - delta * max(1.0, abs(r.lhs)) if r.lhs != -INF else -INF
        rhs = r.rhs + delta * max(1.0, abs(r.rhs)) if r.rhs != INF else INF
        out.add_row(Row(name, dict(r.coefs), lhs, rhs))
    return out


class _Filter:
    """Deletion filters over rows, then over the bounds of the remaining rows' variables.

    With ``robust``, a member is dropped only when the system stays infeasible in
    ``robust`` (rows widened by :data:`RELAX`) as well."""

    def __init__(
        self, spec: ModelSpec, sub: _Subsystem, robust: _Subsystem | None, budget: _Budget, stop_when_uncertain: bool,
        certain: bool, accept_rows: Callable[[list[str]], bool] | None = None,
    ) -> None:
        self.spec, self.sub, self.robust, self.budget = spec, sub, robust, budget
        self.accept_rows, self.rejected = accept_rows, False
        self.strict = robust is not None
        # the widened-system check is for LPs: an integer system's infeasibility is combinatorial,
        # and widening its rows can make it feasible for the wrong reason
        self.continuous = all(spec.vars[v].vtype == "C" for r in sub.rows for v in spec.rows[r].coefs)
        self.stop_when_uncertain, self.certain = stop_when_uncertain, certain
        self.rows_off: set[str] = set()
        self.bounds_off: set[tuple[str, str]] = set()
        self.reasons: list[str] = []
        self.undecided: list[str] = []  # the reason of each check that stayed undecided

    def stop(self) -> bool:
        return self.budget.expired or (self.stop_when_uncertain and not self.certain)

    def off(self, found: tuple[list[str], list[tuple[str, str]]]) -> tuple[set[str], set[tuple[str, str]]]:
        """What ``robust`` must switch off to hold only the answer ``found``."""
        rows, bounds = set(found[0]), set(found[1])
        return {r for r in self.sub.rows if r not in rows}, {b for b in self.sub.value if b not in bounds}

    def _infeasible_without(self, rows_off: set[str], bounds_off: set[tuple[str, str]], single: bool) -> bool | None:
        """Whether the system stays infeasible with these members off; None when undecided.
        ``single``: one member is tried, so an undecided answer keeps it and the IIS is
        uncertain (with stop_when_uncertain the search stops right there: the filters' own
        flags are read only once they end). An undecided chunk is only halved."""
        res = self._check(rows_off, bounds_off)
        if res is None:  # why, as it stood when this check stayed undecided
            self.undecided.append(self._why())
            if single and self.stop_when_uncertain:
                self.certain = False
        return res

    def _check(self, rows_off: set[str], bounds_off: set[tuple[str, str]]) -> bool | None:
        res = self.sub.feasible(rows_off, bounds_off)
        if res is None and self.sub.untrusted and self.continuous:
            # a proof found only after SCIP's LP solver failed: accept it when the slightly
            # widened system is infeasible too (a nearly feasible one is not)
            if self.robust is None:
                self.robust = _Subsystem(_relaxed(self.spec, self.sub.rows), self.sub.rows, self.sub.node_limit,
                                         self.budget, self.sub.second)
            if self.robust.feasible(rows_off, bounds_off, trust_retry=True) is False:
                return True
            return None
        if res is False and self.strict:
            assert self.robust is not None
            res = self.robust.feasible(rows_off, bounds_off)
            if res is not False:
                self.robust.reason = "the system is infeasible only within the solver's tolerance"
                return None
        return None if res is None else not res

    def _undecided(self) -> str:
        """Why the checks that stayed undecided did (each reason once, with its count)."""
        counts: dict[str, int] = {}
        for r in self.undecided:
            counts[r] = counts.get(r, 0) + 1
        self.undecided = []
        return "; ".join(f"{r} ({n} checks)" if n > 1 else r for r, n in counts.items()) or self._why()

    def _why(self) -> str:
        reasons = [self.sub.reason] + ([self.robust.reason] if self.robust is not None else [])
        return "; ".join(dict.fromkeys(r for r in reasons if r)) or "undecided"

    def run(self, rows: list[str], irreducible: bool) -> tuple[list[str], list[tuple[str, str]]]:
        """(rows, bounds) of the IIS, both in model order."""
        spec = self.spec
        if not irreducible:

            def drop_rows(chunk: list[str]) -> bool | None:
                res = self._infeasible_without(self.rows_off | set(chunk), set(), len(chunk) == 1)
                if res:
                    self.rows_off.update(chunk)
                return res

            kept, ok = _deletion_filter(rows, drop_rows, len(rows) < ROW_CHUNK_MIN, self.stop)
            if not ok:
                self.certain = False
                self.reasons.append(f"row filter: {self._undecided()}")
            rows = [r for r in rows if r in set(kept)]
        if self.accept_rows is not None and self.certain and not self.accept_rows(rows):
            self.rejected = True
            return rows, []
        support = list(dict.fromkeys(v for r in rows for v in spec.rows[r].coefs))
        order = {v: i for i, v in enumerate(spec.vars)}
        support.sort(key=order.__getitem__)
        value = self.sub.value
        candidates = [(v, side) for v in support for side in ("lower", "upper") if math.isfinite(value[v, side])]
        # bounds of variables that only dropped rows use are free from here on
        self.bounds_off = {b for b in value if b[0] not in set(support)}

        def drop_bounds(chunk: list[tuple[str, str]]) -> bool | None:
            res = self._infeasible_without(self.rows_off, self.bounds_off | set(chunk), len(chunk) == 1)
            if res:
                self.bounds_off.update(chunk)
            return res

        # chunks only over continuous variables: freeing many integer bounds at once makes
        # unbounded integer programs that SCIP struggles to prove infeasible
        continuous = [b for b in candidates if spec.vars[b[0]].vtype == "C"]
        integer = [b for b in candidates if spec.vars[b[0]].vtype != "C"]
        kept_c, ok_c = _deletion_filter(continuous, drop_bounds, False, self.stop)
        kept_i, ok_i = _deletion_filter(integer, drop_bounds, True, self.stop)
        if not (ok_c and ok_i):
            self.certain = False
            self.reasons.append(f"bound filter: {self._undecided()}")
        kept_set = set(kept_c) | set(kept_i)
        return rows, [b for b in candidates if b in kept_set]


def check_irreducible(spec: ModelSpec, iis: Iis) -> tuple[bool, bool]:
    """(infeasible, irreducible) of the subsystem ``iis`` (rows + listed bounds only)."""
    support = {v for r in iis.constraints for v in spec.rows[r].coefs} | {v for v, _ in iis.bounds}
    all_bounds = [(v, s) for v in support for s in ("lower", "upper")]
    listed = set(iis.bounds)
    unlisted = [b for b in all_bounds if b not in listed]
    infeasible = not _feasible_part(spec, iis.constraints, support, unlisted)
    irreducible = True
    for r in iis.constraints:
        rest = [x for x in iis.constraints if x != r]
        if not _feasible_part(spec, rest, support, unlisted):
            irreducible = False
    for b in iis.bounds:
        if not _feasible_part(spec, iis.constraints, support, [*unlisted, b]):
            irreducible = False
    return infeasible, irreducible


def _feasible_part(spec: ModelSpec, rows: list[str], support: set[str], free: list[tuple[str, str]]) -> bool:
    """Feasibility of ``rows`` and the bounds of ``support`` less those in ``free``; with
    no rows, of those bounds alone (lb <= ub, an integer between them)."""
    if rows:
        return _fresh_feasible(spec, rows, free)
    gone = set(free)
    for v in sorted(support):
        lb, ub = spec.var_bounds(v)
        lb = -INF if (v, "lower") in gone else lb
        ub = INF if (v, "upper") in gone else ub
        if lb > ub:
            return False
        if spec.vars[v].vtype != "C" and math.isfinite(lb) and math.isfinite(ub) and math.ceil(lb - 1e-9) > math.floor(
            ub + 1e-9
        ):
            return False
    return True


def _fresh_feasible(spec: ModelSpec, rows: list[str], free: list[tuple[str, str]]) -> bool:
    """Feasibility on a freshly built SCIP model, retried with :data:`RETRY_SETTINGS`
    when SCIP's LP solver fails, then (an LP) decided by HiGHS; SolverTimeout when no try
    decides."""
    status = ""
    for settings in RETRY_SETTINGS:
        m = to_scip(spec, objective=False, rows=rows, free_bounds=free)
        _set_params(m, settings)
        try:
            m.optimize()
            status = m.getStatus()
        except Exception as exc:  # SCIP reports LP failures as bare Exceptions
            status = f"error: {exc}"
            continue
        if status in ("optimal", "unbounded") or m.getNSols() > 0:
            return True
        if status == "infeasible":
            return False
    used = list(dict.fromkeys(v for r in rows for v in spec.rows[r].coefs))
    if all(spec.vars[v].vtype == "C" for v in used):  # an LP: the second solver decides
        gone = set(free)
        bounds = {(v, s): (-INF if s == "lower" else INF) if (v, s) in gone else spec.var_bounds(v)[i]
                  for v in used for i, s in enumerate(("lower", "upper"))}
        verdict = highs.lp_feasible(spec, rows, bounds)
        if verdict is not None:
            return verdict
    raise SolverTimeout(f"feasibility check of {spec.name!r} ended with status {status!r}")


__all__ = ["Iis", "IisUndecided", "check_irreducible", "compute_iis", "INF"]
