#!/usr/bin/env python
"""An independent, specification-blind adversary for the infeasible-model benchmark.

It never reads ``spec``, ``original_model`` or ``original_objective``; ``ground_truth`` and
``error_type`` are read only on the training split (labels) and for per-type reporting.
Only the broken model text and the record's IIS are inputs at test time.

Two measurements, both trained on the train split and scored on the test split:

1. Member ranker: among the IIS members (IIS rows, variables of IIS bounds, integer
   variables in IIS rows) pick the root cause. Features are structural (name families,
   senses, grids of numbers, sibling statistics, lone integers) and solver probes (is the
   model feasible after dropping / flipping / un-integering the member, how far must its
   number move). Gradient-boosted trees, pointwise; top-1 credit with ties split.
2. Search agent: proposes edit plans (single flips, whole-family flips, drops, type
   changes, right-hand-side / bound / coefficient value changes, whole-family coefficient
   changes) and probes each with the solver. Candidate numbers come from a small set of
   multiplicative fault factors learned from the training fixes (current = round(original *
   phi)) on the grid of the element's siblings; feasibility of a new right-hand side or
   bound is read off one threshold solve per element. A two-stage learned model scores the
   plans: stage 1 guesses the class of the needed edit from a problem-level view (group of
   edit, and whether it alone restores feasibility, i.e. a multi-fault model); stage 2 ranks
   plans inside the class (for numbers: element model x value model). The agent applies
   the best plan; while the model stays infeasible it recomputes an IIS and goes on (at most
   ``MAX_STEPS`` plans). The chosen edits are then replayed in ``RepairEnv`` and the
   environment's own ``exact`` verdict is reported. The agent decides before the
   environment is touched: no environment feedback steers it.

The member ranker is also reported stacked with out-of-fold search-agent scores, and a
diagnostic table lists, per error type, the single member feature that best picks the root.

Usage:
    python scripts/independent_adversary.py TRAIN_GLOB TEST_GLOB [--out results.json]

Records are filtered by ``split``: train = "train", test = split starting with "test"
(so the same file may be passed twice).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import glob
import json
import math
import os
import random
import re
import sys
import time
from multiprocessing import Pool

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from ordebug.actions import apply_edit, parse_action  # noqa: E402
from ordebug.actions import drop as a_drop  # noqa: E402
from ordebug.actions import flip_sense as a_flip  # noqa: E402
from ordebug.actions import set_coef as a_coef  # noqa: E402
from ordebug.actions import set_var_type as a_vtype  # noqa: E402
from ordebug.actions import update_bounds as a_bounds  # noqa: E402
from ordebug.actions import update_rhs as a_rhs  # noqa: E402
from ordebug.solver.iis import compute_iis  # noqa: E402
from ordebug.solver.lpformat import read_model_text  # noqa: E402
from ordebug.solver.solve import solve  # noqa: E402
from ordebug.solver.spec import INF  # noqa: E402

MAX_STEPS = 3
GRIDS = [1000, 500, 250, 100, 50, 25, 20, 10, 5, 2, 1, 0.5, 0.25, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001]
MAX_COEF_TERMS = 40  # coefficient terms probed per problem (each costs one solve per value)
SEED = 0


# ----------------------------------------------------------------------------------------
# quiet SCIP: it writes to fd 2 from C code
# ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def quiet_fd2():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------
def fam(name: str) -> str:
    return name.split("(")[0]


def idx_tokens(name: str) -> list[str]:
    m = re.match(r"^[^(]*\((.*)\)$", name)
    return m.group(1).split(",") if m else []


def with_tokens(name: str, toks: list[str]) -> str:
    return f"{fam(name)}({','.join(toks)})" if toks else name


def grid_of(x: float) -> float:
    if x is None or not math.isfinite(x) or x == 0:
        return float("nan")
    for g in GRIDS:
        q = x / g
        if abs(q - round(q)) < 1e-7 * max(1.0, abs(q)):
            return g
    return 1e-4


def lg(x: float) -> float:
    return math.log10(x) if x and x > 0 and math.isfinite(x) else float("nan")


def slog(x: float) -> float:
    if x is None or not math.isfinite(x):
        return float("nan")
    return math.copysign(math.log1p(abs(x)), x)


def fin(x) -> bool:
    return x is not None and math.isfinite(x)


_DEADLINE = [None]  # per-problem time budget for solver probes (large models)
PROBLEM_BUDGET_S = 30.0


def over_budget() -> bool:
    return _DEADLINE[0] is not None and time.time() > _DEADLINE[0]


def status(spec, budget: bool = True) -> str:
    if budget and over_budget():
        return "skipped"
    try:
        return solve(spec).status
    except Exception:  # SCIP giving up counts as unknown
        return "error"


def is_feas(spec, budget: bool = True):
    st = status(spec, budget)
    if st == "skipped":
        return float("nan")
    return st in ("optimal", "unbounded")


def extreme(spec, coefs: dict[str, float], maximize: bool):
    """max/min of a linear form over spec's feasible set: value, +-inf, or None (infeasible)."""
    if over_budget():
        return None
    s = spec.copy()
    for v in s.vars.values():
        v.obj = 0.0
    for k, c in coefs.items():
        s.vars[k].obj = c
    s.sense = "maximize" if maximize else "minimize"
    try:
        r = solve(s)
    except Exception:
        return None
    if r.status == "optimal":
        return float(r.objective)
    if r.status == "unbounded":
        return INF if maximize else -INF
    return None


def canon(action_text: str):
    a = parse_action(action_text)
    return (a.name,) + tuple(round(x, 7) if isinstance(x, float) else x for x in a.args)


def relax_sign(sense: str) -> int:
    """+1: raising the right-hand side relaxes the row; -1: lowering it does; 0: both ways."""
    return {"<=": 1, ">=": -1}.get(sense, 0)


# ----------------------------------------------------------------------------------------
# per-problem context
# ----------------------------------------------------------------------------------------
class Ctx:
    def __init__(self, model, iis_rows, iis_bounds, edited=()):
        self.m = model
        self.iis_rows = [r for r in iis_rows if r in model.rows]
        self.iis_bounds = [(v, s) for v, s in iis_bounds if v in model.vars]
        self.edited = set(edited)
        self.rowfam = collections.defaultdict(list)
        for r in model.rows.values():
            self.rowfam[fam(r.name)].append(r.name)
        self.varfam = collections.defaultdict(list)
        for v in model.vars.values():
            self.varfam[fam(v.name)].append(v.name)
        self.var_rows = collections.defaultdict(list)
        for r in model.rows.values():
            for v in r.coefs:
                self.var_rows[v].append(r.name)
        self.n_int = sum(v.vtype != "C" for v in model.vars.values())
        bvars = {v for v, _ in self.iis_bounds}
        ints = {v for r in self.iis_rows for v in model.rows[r].coefs if model.vars[v].vtype != "C"}
        self.members = [("row", r) for r in self.iis_rows] + [("var", v) for v in sorted(bvars | ints)]
        self.iis_size = len(self.iis_rows) + len(self.iis_bounds)
        self._thr = {}

    # numbers of siblings ---------------------------------------------------------------
    def row_sibs(self, r):
        row = self.m.rows[r]
        return [self.m.rows[x].bound for x in self.rowfam[fam(r)]
                if x != r and self.m.rows[x].sense == row.sense]

    def ub_sibs(self, v):
        return [self.m.vars[x].ub for x in self.varfam[fam(v)] if x != v and fin(self.m.vars[x].ub)]

    def lb_sibs(self, v):
        return [self.m.vars[x].lb for x in self.varfam[fam(v)] if x != v and fin(self.m.vars[x].lb)]

    def coef_sibs(self, r, v):
        rf, vf = fam(r), fam(v)
        return [c for x in self.rowfam[rf] for w, c in self.m.rows[x].coefs.items()
                if fam(w) == vf and not (x == r and w == v)]

    # solver thresholds -----------------------------------------------------------------
    def row_threshold(self, r):
        """(lo, hi): the row's bound must lie in [lo, hi] for the model to be feasible with
        every other element as it is; None when no bound value can make it feasible."""
        if ("row", r) in self._thr:
            return self._thr[("row", r)]
        row = self.m.rows[r]
        s = self.m.copy()
        del s.rows[r]
        out = None
        if row.sense == ">=":
            hi = extreme(s, row.coefs, True)
            out = None if hi is None else (-INF, hi)
        elif row.sense == "<=":
            lo = extreme(s, row.coefs, False)
            out = None if lo is None else (lo, INF)
        elif row.sense == "=":
            hi = extreme(s, row.coefs, True)
            lo = extreme(s, row.coefs, False) if hi is not None else None
            out = None if hi is None or lo is None else (lo, hi)
        self._thr[("row", r)] = out
        return out

    def var_threshold(self, v, side):
        key = ("var", v, side)
        if key in self._thr:
            return self._thr[key]
        s = self.m.copy()
        var = s.vars[v]
        if var.vtype == "B":
            var.vtype = "I"
            var.lb, var.ub = max(var.lb, 0.0), min(var.ub, 1.0)
        if side == "upper":
            var.ub = INF
            val = extreme(s, {v: 1.0}, False)
        else:
            var.lb = -INF
            val = extreme(s, {v: 1.0}, True)
        self._thr[key] = val
        return val


# ----------------------------------------------------------------------------------------
# value statistics learned from the training models (no labels): grids and ranges by name
# ----------------------------------------------------------------------------------------
class Priors:
    def __init__(self):
        self.vals = collections.defaultdict(list)  # (kind, prefix) -> values
        self.phis = {}

    def add_model(self, m):
        for r in m.rows.values():
            if fin(r.bound):
                self.vals[("rhs", fam(r.name), r.sense)].append(r.bound)
            for v, c in r.coefs.items():
                self.vals[("coef", fam(r.name), fam(v))].append(c)
        for v in m.vars.values():
            if fin(v.ub):
                self.vals[("ub", fam(v.name))].append(v.ub)
            if fin(v.lb):
                self.vals[("lb", fam(v.name))].append(v.lb)

    def finish(self):
        self.grid = {}
        self.sorted = {}
        for k, L in self.vals.items():
            gs = sorted((grid_of(x) for x in L if x != 0 and math.isfinite(grid_of(x))), reverse=True)
            self.grid[k] = gs[int(0.9 * (len(gs) - 1))] if gs else float("nan")  # 90% lie on it
            self.sorted[k] = np.sort(np.abs(np.array(L, dtype=float)))

    def grids_for(self, pk, g):
        pg = self.grid.get(pk, float("nan"))
        out = [g]
        if math.isfinite(pg) and pg > 0 and abs(pg - g) > 1e-12:
            out.append(pg)
        return out

    def pct(self, k, x):
        a = self.sorted.get(k)
        if a is None or len(a) == 0 or not fin(x):
            return float("nan")
        return float(np.searchsorted(a, abs(x))) / len(a)


def sib_stats(prefix: str, x: float, sibs: list[float]) -> dict:
    f = {}
    ax = abs(x) if fin(x) else float("nan")
    sibs = [s for s in sibs if fin(s)]
    f[prefix + "nsib"] = len(sibs)
    if sibs and fin(x):
        a = np.abs(np.array(sibs, dtype=float))
        la = np.log(a + 1e-9)
        lx = math.log(ax + 1e-9)
        sd = float(la.std()) if len(la) > 1 else 0.0
        f[prefix + "z"] = (lx - float(la.mean())) / (sd + 0.05)
        f[prefix + "ratio_med"] = lx - float(np.median(la))
        f[prefix + "pct"] = float((a < ax - 1e-9).mean() + 0.5 * (np.abs(a - ax) <= 1e-9).mean())
        f[prefix + "eq_sib"] = float((np.abs(a - ax) <= 1e-9 * max(1, ax)).any())
        f[prefix + "above_max"] = float(ax > a.max() + 1e-9)
        f[prefix + "below_min"] = float(ax < a.min() - 1e-9)
        gs = [grid_of(s) for s in sibs if s != 0]
        gs = [g for g in gs if math.isfinite(g)]
        gx = grid_of(x)
        if gs and math.isfinite(gx):
            f[prefix + "grid_rel_min"] = lg(gx) - lg(min(gs))
            f[prefix + "grid_rel_med"] = lg(gx) - float(np.median([lg(g) for g in gs]))
            f[prefix + "frac_sib_on_grid"] = float(np.mean([g >= gx - 1e-12 for g in gs]))
    return f


# ----------------------------------------------------------------------------------------
# member features (ranker)
# ----------------------------------------------------------------------------------------
def member_features(ctx: Ctx, pri: Priors, kind: str, name: str) -> dict:
    m = ctx.m
    f = {"iis_size": ctx.iis_size, "iis_rows": len(ctx.iis_rows), "iis_bounds": len(ctx.iis_bounds),
         "n_rows": len(m.rows), "n_vars": len(m.vars), "n_int": ctx.n_int,
         "n_members": len(ctx.members), "is_row": float(kind == "row")}
    if kind == "row":
        row = m.rows[name]
        sense = row.sense
        f["sense"] = {"<=": 0, ">=": 1, "=": 2}.get(sense, 3)
        f["n_terms"] = len(row.coefs)
        cs = list(row.coefs.values())
        f["unit_coefs"] = float(all(abs(abs(c) - 1) < 1e-12 for c in cs))
        f["frac_neg"] = float(np.mean([c < 0 for c in cs]))
        f["n_int_in_row"] = sum(m.vars[v].vtype != "C" for v in row.coefs)
        b = row.bound
        f["rhs"] = slog(b)
        f["rhs_grid"] = lg(grid_of(b))
        fam_rows = ctx.rowfam[fam(name)]
        f["fam_size"] = len(fam_rows)
        f["fam_in_iis"] = sum(r in ctx.iis_rows for r in fam_rows)
        f["fam_frac_iis"] = f["fam_in_iis"] / len(fam_rows)
        f["fam_same_sense"] = float(all(m.rows[r].sense == sense for r in fam_rows))
        f["fam_sense_unique"] = float(sum(m.rows[r].sense == sense for r in fam_rows) == 1)
        f.update(sib_stats("rhs_", b, ctx.row_sibs(name)))
        pk = ("rhs", fam(name), sense)
        f["rhs_prior_pct"] = pri.pct(pk, b)
        f["rhs_prior_grid_rel"] = lg(grid_of(b)) - lg(pri.grid.get(pk, float("nan")))
        # coefficient anomalies inside the row
        worst = 0.0
        wgrid = float("nan")
        for v, c in row.coefs.items():
            sib = ctx.coef_sibs(name, v)
            if sib and abs(abs(c) - 1) > 1e-12:
                la = np.log(np.abs(np.array(sib)) + 1e-9)
                z = abs(math.log(abs(c) + 1e-9) - float(np.median(la)))
                if z > worst:
                    worst = z
                    wgrid = lg(grid_of(c)) - lg(pri.grid.get(("coef", fam(name), fam(v)), float("nan")))
        f["coef_anom"] = worst
        f["coef_anom_grid"] = wgrid
        # solver probes
        s = m.copy()
        del s.rows[name]
        f["drop_feas"] = float(is_feas(s))
        if sense in ("<=", ">="):
            s = m.copy()
            apply_edit(s, parse_action(a_flip(name)))
            f["flip_feas"] = float(is_feas(s))
            fr = [r for r in fam_rows if m.rows[r].sense == sense]
            if len(fr) > 1:
                s = m.copy()
                for r in fr:
                    apply_edit(s, parse_action(a_flip(r)))
                f["flipfam_feas"] = float(is_feas(s))
        thr = ctx.row_threshold(name)
        f["thr_exists"] = float(thr is not None)
        if thr is not None:
            lo, hi = thr
            need = 0.0
            if b > hi:
                need = b - hi
            elif b < lo:
                need = lo - b
            f["thr_need_rel"] = need / max(1.0, abs(b))
            f["thr_need_log"] = math.log(max(abs(b), 1e-9) / max(abs(b) - need, 1e-9)) if need < abs(b) else 5.0
    else:
        var = m.vars[name]
        f["is_int"] = float(var.vtype != "C")
        f["is_bin"] = float(var.vtype == "B")
        fam_vars = ctx.varfam[fam(name)]
        f["vfam_size"] = len(fam_vars)
        others = [x for x in fam_vars if x != name]
        f["vfam_frac_int"] = float(np.mean([m.vars[x].vtype != "C" for x in others])) if others else float("nan")
        f["lone_int"] = float(var.vtype != "C" and others and all(m.vars[x].vtype == "C" for x in others))
        sides = [s for v, s in ctx.iis_bounds if v == name]
        f["iis_upper"] = float("upper" in sides)
        f["iis_lower"] = float("lower" in sides)
        f["n_rows_of_var"] = len(ctx.var_rows[name])
        f["n_iis_rows_of_var"] = sum(r in ctx.iis_rows for r in ctx.var_rows[name])
        f["obj"] = slog(var.obj)
        f["ub"] = slog(var.ub)
        f["ub_inf"] = float(not fin(var.ub))
        f["lb"] = slog(var.lb)
        f["ub_is_integral"] = float(fin(var.ub) and float(var.ub).is_integer())
        if fin(var.ub):
            f["ub_grid"] = lg(grid_of(var.ub))
            f.update(sib_stats("ub_", var.ub, ctx.ub_sibs(name)))
            pk = ("ub", fam(name))
            f["ub_prior_pct"] = pri.pct(pk, var.ub)
            f["ub_prior_grid_rel"] = lg(grid_of(var.ub)) - lg(pri.grid.get(pk, float("nan")))
        if var.vtype != "C":
            s = m.copy()
            apply_edit(s, parse_action(a_vtype(name, "C")))
            f["vtype_c_feas"] = float(is_feas(s))
        for side in ("upper", "lower"):
            if side in sides:
                t = ctx.var_threshold(name, side)
                cur = var.ub if side == "upper" else var.lb
                f[f"{side}_thr_exists"] = float(t is not None)
                if t is not None and fin(t):
                    need = (t - cur) if side == "upper" else (cur - t)
                    f[f"{side}_need_rel"] = need / max(1.0, abs(cur))
                    f[f"{side}_need_log"] = (math.log(max(t, 1e-9) / max(cur, 1e-9))
                                             if side == "upper" and cur > 0 else float("nan"))
    return f


# ----------------------------------------------------------------------------------------
# candidate edit plans (search agent)
# ----------------------------------------------------------------------------------------
def value_candidates(cur: float, phis: list, grids: list[float], sign: int) -> dict:
    """Candidate original values for a current value ``cur``, assuming the fault wrote
    cur = round(original * phi) for a phi of the learned set: grid values whose product with
    phi rounds to cur. Returns {value: (sum of phi weights, max phi weight)}; ``sign`` keeps
    only values above (+1) or below (-1) cur."""
    out: dict = {}
    if not fin(cur) or cur == 0:
        return out
    a = abs(cur)
    for phi, w in phis:
        for g in grids:
            if not (math.isfinite(g) and g > 0):
                continue
            lo, hi = (a - g / 2) / phi, (a + g / 2) / phi
            k0, k1 = math.ceil(lo / g - 1e-9), math.floor(hi / g + 1e-9)
            ks = list(range(k0, k1 + 1))[:4] if k1 >= k0 else [round(a / phi / g)]
            for k in ks:
                x = math.copysign(round(k * g, 9), cur)
                if x == cur or x == 0 or (sign > 0 and x <= cur) or (sign < 0 and x >= cur):
                    continue
                ws, wm = out.get(x, (0.0, 0.0))
                out[x] = (ws + w, max(wm, w))
    return out


def elem_grid(cur: float, sibs: list[float]) -> float:
    gs = [grid_of(x) for x in list(sibs) + [cur] if fin(x) and x != 0]
    gs = [g for g in gs if math.isfinite(g)]
    return max(min(gs), 0.01) if gs else 0.5


def value_feats(pre: dict, cur: float, new: float, sibs: list[float], pk, pri: Priors, feas: float,
                margin: float) -> dict:
    f = dict(pre)
    f["v_logratio"] = math.log(new / cur) if cur and new / cur > 0 else float("nan")
    f["v_new"] = slog(new)
    f["v_abslogratio"] = abs(f["v_logratio"])
    f["v_grid"] = lg(grid_of(new))
    f["v_grid_rel_cur"] = lg(grid_of(new)) - lg(grid_of(cur))
    f["v_grid_rel_prior"] = lg(grid_of(new)) - lg(pri.grid.get(pk, float("nan")))
    f["v_prior_pct"] = pri.pct(pk, new)
    f["v_int"] = float(float(new).is_integer())
    for k, x in sib_stats("vs_", new, sibs).items():
        f[k] = x
    f["v_feas"] = feas
    f["v_margin"] = margin
    return f


class Plan:
    __slots__ = ("kind", "target", "actions", "feats", "label", "prob")

    def __init__(self, kind, target, actions, feats):
        self.kind, self.target, self.actions, self.feats = kind, target, actions, feats
        self.label = 0
        self.prob = 0.0


def fam_coef_rows(ctx: Ctx, r: str, v: str) -> list[tuple[str, str]]:
    """Rows of r's family holding the 'same' variable (index tokens mapped) with the same
    coefficient: [(row, var)], r first."""
    m = ctx.m
    c = m.rows[r].coefs[v]
    rt = idx_tokens(r)
    vt = idx_tokens(v)
    out = [(r, v)]
    for r2 in ctx.rowfam[fam(r)]:
        if r2 == r:
            continue
        rt2 = idx_tokens(r2)
        if len(rt2) != len(rt):
            continue
        mp = {a: b for a, b in zip(rt, rt2, strict=False) if a != b}
        v2 = with_tokens(v, [mp.get(t, t) for t in vt])
        c2 = m.rows[r2].coefs.get(v2)
        if c2 is not None and abs(c2 - c) <= 1e-12 * max(1, abs(c)):
            out.append((r2, v2))
    return out


def gen_plans(ctx: Ctx, pri: Priors, mfeats: dict) -> list[Plan]:
    m = ctx.m
    plans: list[Plan] = []
    base = {"n_members": len(ctx.members), "iis_size": ctx.iis_size, "n_int": ctx.n_int,
            "n_rows": len(m.rows), "step_edited": len(ctx.edited)}
    KIND = {"FLIP": 0, "FLIPFAM": 1, "DROP": 2, "VTYPE": 3, "RHS": 4, "UB": 5, "LB": 6, "COEF": 7, "COEFFAM": 8}

    def mk(kind, target, actions, extra):
        f = dict(base)
        f.update({("m_" + k): v for k, v in mfeats.get(target, {}).items()})
        f["ckind"] = KIND[kind]
        f.update(extra)
        plans.append(Plan(kind, target, actions, f))

    def feas_after(actions):
        s = m.copy()
        for a in actions:
            apply_edit(s, parse_action(a))
        st = status(s)
        if st == "skipped":
            return float("nan"), float("nan")
        return float(st in ("optimal", "unbounded")), float(st == "unbounded")

    # rows ---------------------------------------------------------------------------------
    for r in ctx.iis_rows:
        if r in ctx.edited:
            continue
        row = m.rows[r]
        tgt = ("row", r)
        sense = row.sense
        fr = [x for x in ctx.rowfam[fam(r)] if m.rows[x].sense == sense]
        if sense in ("<=", ">="):
            acts = [a_flip(r)]
            fe, ub = feas_after(acts)
            mk("FLIP", tgt, acts, {"feas": fe, "unb": ub, "n_act": 1, "famsize": len(fr)})
            if len(fr) > 1:
                acts = [a_flip(x) for x in fr]
                fe, ub = feas_after(acts)
                mk("FLIPFAM", tgt, acts, {"feas": fe, "unb": ub, "n_act": len(acts), "famsize": len(fr)})
        acts = [a_drop(r)]
        fe, ub = feas_after(acts)
        mk("DROP", tgt, acts, {"feas": fe, "unb": ub, "n_act": 1, "famsize": len(ctx.rowfam[fam(r)])})
        # right-hand side values
        b = row.bound
        sibs = ctx.row_sibs(r)
        pk = ("rhs", fam(r), sense)
        g = elem_grid(b, sibs)
        sign = relax_sign(sense)
        thr = ctx.row_threshold(r)
        vals = value_candidates(b, pri.phis.get("rhs", []), pri.grids_for(pk, g), sign)
        fvals = []
        for x in sorted(vals):
            if thr is None:
                fe, mg = 0.0, float("nan")
            else:
                lo, hi = thr
                fe = float(lo - 1e-6 * max(1, abs(lo)) <= x <= hi + 1e-6 * max(1, abs(hi)))
                mg = (min(x - lo, hi - x)) / max(1.0, abs(b)) if fin(lo) or fin(hi) else 1.0
                if not math.isfinite(mg):
                    mg = 1.0
            fvals.append((x, fe, mg, vals[x]))
        _add_values(mk, "RHS", tgt, b, fvals, sibs, pk, pri, {"famsize": len(fr), "g": lg(g)},
                    lambda x, r=r: [a_rhs(r, x)])
    # variables: bound values and type -----------------------------------------------------
    bsides = collections.defaultdict(list)
    for v, s in ctx.iis_bounds:
        bsides[v].append(s)
    for kind, v in ctx.members:
        if kind != "var" or v in ctx.edited:
            continue
        var = m.vars[v]
        tgt = ("var", v)
        if var.vtype != "C":
            acts = [a_vtype(v, "C")]
            fe, ub = feas_after(acts)
            mk("VTYPE", tgt, acts, {"feas": fe, "unb": ub, "n_act": 1})
        for side in bsides.get(v, []):
            cur = var.ub if side == "upper" else var.lb
            if not fin(cur):
                continue
            sibs = ctx.ub_sibs(v) if side == "upper" else ctx.lb_sibs(v)
            pk = ("ub", fam(v)) if side == "upper" else ("lb", fam(v))
            g = elem_grid(cur, sibs)
            if var.vtype != "C":
                g = max(g, 1.0)
            t = ctx.var_threshold(v, side)
            key = "ub" if side == "upper" else "lb"
            sign = 1 if side == "upper" else -1
            if cur == 0:
                vals = {round(k * g, 9) * sign: (0.0, 0.0) for k in range(1, 30)}
            else:
                vals = value_candidates(cur, pri.phis.get(key) or pri.phis.get("ub", []), pri.grids_for(pk, g), sign)
            fvals = []
            for x in sorted(vals):
                if t is None:
                    fe, mg = 0.0, float("nan")
                else:
                    tol = 1e-6 * max(1, abs(t))
                    fe = float(x >= t - tol) if side == "upper" else float(x <= t + tol)
                    mg = ((x - t) if side == "upper" else (t - x)) / max(1.0, abs(cur)) if fin(t) else 1.0
                fvals.append((x, fe, mg, vals[x]))
            if side == "upper":
                mkact = lambda x, v=v, lb=var.lb: [a_bounds(v, lb, x)]  # noqa: E731
            else:
                mkact = lambda x, v=v, ub=var.ub: [a_bounds(v, x, ub)]  # noqa: E731
            _add_values(mk, "UB" if side == "upper" else "LB", tgt, cur, fvals, sibs, pk, pri,
                        {"g": lg(g)}, mkact)
    # coefficients -------------------------------------------------------------------------
    terms = []
    for r in ctx.iis_rows:
        if r in ctx.edited:
            continue
        for v, c in m.rows[r].coefs.items():
            if abs(abs(c) - 1) > 1e-12:
                terms.append((r, v, c))
    terms = terms[:MAX_COEF_TERMS]
    for r, v, c in terms:
        tgt = ("row", r)
        sibs = ctx.coef_sibs(r, v)
        pk = ("coef", fam(r), fam(v))
        g = elem_grid(c, sibs)
        vals = value_candidates(c, pri.phis.get("coef", []), pri.grids_for(pk, g), 0)
        famrows = fam_coef_rows(ctx, r, v)
        variants = [("COEF", [(r, v)])]
        if len(famrows) > 1:
            variants.append(("COEFFAM", famrows))
        for kind, rows in variants:
            fvals = []
            for x in sorted(vals):
                acts = [a_coef(rr, vv, x) for rr, vv in rows]
                fe, _ = feas_after(acts)
                fvals.append((x, fe, float("nan"), vals[x]))
            _add_values(mk, kind, tgt, c, fvals, sibs, pk, pri,
                        {"famsize": len(rows), "g": lg(g), "term_obj": slog(m.vars[v].obj)},
                        lambda x, rows=rows: [a_coef(rr, vv, x) for rr, vv in rows])
    return plans


def _add_values(mk, kind, tgt, cur, fvals, sibs, pk, pri, extra, mkact):
    if not fvals:
        return
    nfeas = sum(fe for _, fe, _, _ in fvals)
    feas_sorted = sorted((abs(math.log(x / cur)) for x, fe, _, _ in fvals if fe and cur and x / cur > 0))
    wfeas = sum(w[0] for _, fe, _, w in fvals if fe)
    pre = {"famsize": extra.get("famsize", 1), "n_act": extra.get("famsize", 1), "cur": slog(cur),
           "cur_grid": lg(grid_of(cur)), "n_vals": len(fvals), "n_feas_vals": nfeas,
           "elem_alone_fix": float(nfeas > 0)}
    pre.update(extra)
    # sibling stats of the current value (how anomalous it is)
    for k, x in sib_stats("cs_", cur, sibs).items():
        pre[k] = x
    for x, fe, mg, (ws, wm) in fvals:
        f = value_feats(pre, cur, x, sibs, pk, pri, fe, mg)
        f["phi_wsum"], f["phi_wmax"] = ws, wm
        f["phi_wrel"] = ws / wfeas if fe and wfeas > 0 else 0.0
        if fe and cur and x / cur > 0:
            lr = abs(math.log(x / cur))
            f["v_feas_rank"] = float(np.searchsorted(feas_sorted, lr - 1e-12))
            f["v_feas_rank_rel"] = f["v_feas_rank"] / max(1, len(feas_sorted))
        mk(kind, tgt, mkact(x), f)


# ----------------------------------------------------------------------------------------
# per-problem extraction (runs in worker processes)
# ----------------------------------------------------------------------------------------
G_PRI: Priors | None = None


def _init_worker(pri):
    global G_PRI
    G_PRI = pri
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def prefixes_of(m) -> list[str]:
    return sorted({"r:" + fam(r) for r in m.rows} | {"v:" + fam(v) for v in m.vars})


def analyse(ctx: Ctx, pri: Priors):
    mfeats = {mem: member_features(ctx, pri, *mem) for mem in ctx.members}
    plans = gen_plans(ctx, pri, mfeats)
    return mfeats, plans


def label_plans(plans, fixes_canon: set, subset_ok: bool):
    for p in plans:
        ks = {canon(a) for a in p.actions}
        p.label = int(ks == fixes_canon or (subset_ok and ks <= fixes_canon))


def record_iis(rec, m):
    iis = rec.get("iis")
    if iis and (iis.get("constraints") or iis.get("bounds")):
        return iis["constraints"], [(b["variable"], b["side"]) for b in iis["bounds"]]
    try:
        found = compute_iis(m, time_limit=10.0)
        return found.constraints, found.bounds
    except Exception:
        return list(m.rows), []


def extract_train(rec):
    pri = G_PRI
    m = read_model_text(rec["model"])
    _DEADLINE[0] = time.time() + PROBLEM_BUDGET_S
    ctx = Ctx(m, *record_iis(rec, m))
    mfeats, plans = analyse(ctx, pri)
    gt = rec["ground_truth"]
    fixes = [canon(f) for f in gt["fixes"]]
    per_fault = gt.get("fixes_per_fault") or [gt["fixes"]]
    multi = len(per_fault) > 1
    label_plans(plans, set(fixes), False)
    if multi:  # any one fault's whole fix is progress
        for p in plans:
            ks = {canon(a) for a in p.actions}
            if any(ks == {canon(a) for a in ff} for ff in per_fault):
                p.label = 1
    out = {"pid": rec["problem_id"], "type": rec.get("error_type"), "members": ctx.members,
           "mfeats": mfeats, "roots": [(x["kind"], x["name"]) for x in gt["root_cause"]],
           "plans": [(p.kind, p.target, p.actions, p.feats, p.label) for p in plans], "step2": [],
           "prefixes": prefixes_of(m)}
    # teacher-forced second step for multi-fault problems: apply the first fault's fix
    if multi:
        first = None
        for ff in per_fault:  # the fault whose fix touches the IIS goes first
            tg = {str(parse_action(a).args[0]) for a in ff}
            if tg & (set(ctx.iis_rows) | {v for v, _ in ctx.iis_bounds}):
                first = ff
                break
        first = first or per_fault[0]
        m2 = m.copy()
        for a in first:
            apply_edit(m2, parse_action(a))
        rest = [ff for ff in per_fault if ff is not first]
        _DEADLINE[0] = time.time() + PROBLEM_BUDGET_S
        if not is_feas(m2, budget=False) and rest:
            try:
                iis2 = compute_iis(m2, time_limit=5.0)
                ctx2 = Ctx(m2, iis2.constraints, iis2.bounds,
                           edited={str(parse_action(a).args[0]) for a in first})
                mf2, plans2 = analyse(ctx2, pri)
                rest_c = [{canon(a) for a in ff} for ff in rest]
                for p in plans2:
                    ks = {canon(a) for a in p.actions}
                    p.label = int(any(ks == rc for rc in rest_c))
                out["step2"] = [(p.kind, p.target, p.actions, p.feats, p.label) for p in plans2]
                out["step2_mfeats"] = mf2
                out["step2_prefixes"] = prefixes_of(m2)
            except Exception:
                pass
    return out


def extract_test(rec):
    pri = G_PRI
    m = read_model_text(rec["model"])
    _DEADLINE[0] = time.time() + PROBLEM_BUDGET_S
    ctx = Ctx(m, *record_iis(rec, m))
    mfeats, plans = analyse(ctx, pri)
    return {"pid": rec["problem_id"], "members": ctx.members, "mfeats": mfeats,
            "plans": [(p.kind, p.target, p.actions, p.feats, 0) for p in plans], "prefixes": prefixes_of(m)}


# ----------------------------------------------------------------------------------------
# target encoding of name families (learned from train labels, out of fold on train)
# ----------------------------------------------------------------------------------------
def member_te_key(mem):
    return mem[0] + ":" + fam(mem[1])


def plan_te_key(kind, target):
    return kind + ":" + fam(target[1])


class TE:
    def __init__(self, a=3.0):
        self.a = a
        self.pos = collections.Counter()
        self.n = collections.Counter()
        self.prior = 0.0

    def fit(self, keys, labels):
        for k, y in zip(keys, labels, strict=False):
            self.pos[k] += y
            self.n[k] += 1
        tot = sum(self.n.values())
        self.prior = sum(self.pos.values()) / max(1, tot)
        return self

    def get(self, k):
        return (self.pos[k] + self.a * self.prior) / (self.n[k] + self.a)

    def count(self, k):
        return self.n[k]


def oof_te(groups, keys, labels, nfold=5, seed=SEED):
    """Out-of-fold encodings for training rows (grouped by problem)."""
    ug = sorted(set(groups))
    rnd = random.Random(seed)
    rnd.shuffle(ug)
    fold = {g: i % nfold for i, g in enumerate(ug)}
    out = np.zeros(len(keys))
    cnt = np.zeros(len(keys))
    for k in range(nfold):
        tr = [i for i, g in enumerate(groups) if fold[g] != k]
        te = TE().fit([keys[i] for i in tr], [labels[i] for i in tr])
        for i, g in enumerate(groups):
            if fold[g] == k:
                out[i] = te.get(keys[i])
                cnt[i] = te.count(keys[i])
    return out, cnt


# ----------------------------------------------------------------------------------------
# learning
# ----------------------------------------------------------------------------------------
def make_matrix(dicts, cols=None):
    fit = cols is None
    if cols is None:
        cols = sorted({k for d in dicts for k in d})
    X = np.full((len(dicts), len(cols)), np.nan, dtype=np.float32)
    ci = {c: i for i, c in enumerate(cols)}
    for i, d in enumerate(dicts):
        for k, v in d.items():
            j = ci.get(k)
            if j is not None and v is not None:
                with contextlib.suppress(TypeError, ValueError):
                    X[i, j] = float(v)
    if fit and len(X):  # columns with no value at all cannot be binned
        keep = ~np.all(np.isnan(X), axis=0)
        X = X[:, keep]
        cols = [c for c, k in zip(cols, keep, strict=False) if k]
    return X, cols


def gbm(**kw):
    from sklearn.ensemble import HistGradientBoostingClassifier
    params = dict(max_iter=250, learning_rate=0.08, max_leaf_nodes=31, min_samples_leaf=10,
                  l2_regularization=1.0, random_state=SEED)
    params.update(kw)
    return HistGradientBoostingClassifier(**params)


def single_feature_tells(tr, te, d_tr, y_tr, d_te, y_te, ttype):
    """Diagnostics: for each error type, the one member feature (and sign) whose argmax best
    picks the root on train, and its top-1 on test. Uses the type only to group problems."""
    def groups(items, dicts, ys, types):
        out, i = [], 0
        for it in items:
            n = len(it["members"])
            out.append((types(it), dicts[i:i + n], ys[i:i + n]))
            i += n
        return out

    g_tr = groups(tr, d_tr, y_tr, lambda it: it["type"])
    g_te = groups(te, d_te, y_te, lambda it: ttype[it["pid"]])
    feats = sorted({k for d in d_tr for k in d})

    def credit(gs, f, sign, typ):
        tot, n = 0.0, 0
        for t, ds, ys in gs:
            if not ds or (typ != "ALL" and t != typ):
                continue
            sc = []
            for d in ds:
                v = d.get(f)
                sc.append(-1e18 if v is None or (isinstance(v, float) and math.isnan(v)) else sign * float(v))
            tot += top1_credit(sc, ys)
            n += 1
        return tot / n if n else float("nan")

    out = {}
    log("\n== single-feature tells (best member feature per type, chosen on train) ==")
    for typ in sorted({t for t, _, _ in g_tr if t}) + ["ALL"]:
        best = max(((credit(g_tr, f, sg, typ), f, sg) for f in feats for sg in (1, -1)), key=lambda x: x[0])
        tst = credit(g_te, best[1], best[2], typ)
        out[typ] = {"feature": best[1], "sign": best[2], "train_top1": best[0], "test_top1": tst}
        log(f"{typ:4} {('+' if best[2] > 0 else '-') + best[1]:32} train {best[0]:.3f}  test {tst:.3f}")
    return out


def top1_credit(scores, truth):
    """Fractional top-1 credit with ties split."""
    best = max(scores)
    tied = [i for i, s in enumerate(scores) if s >= best - 1e-12]
    return sum(truth[i] for i in tied) / len(tied)


def member_is_root(mem, roots):
    kind, name = mem
    for rk, rn in roots:
        if rk == "constraint" and kind == "row" and rn == name:
            return 1
        if rk in ("bound", "variable") and kind == "var" and rn == name:
            return 1
    return 0


# ----------------------------------------------------------------------------------------
# search agent at test time
# ----------------------------------------------------------------------------------------
GROUP = {"FLIP": "FLIPS", "FLIPFAM": "FLIPS", "DROP": "DROP", "VTYPE": "VTYPE", "RHS": "RHS",
         "UB": "BOUNDS", "LB": "BOUNDS", "COEF": "COEFS", "COEFFAM": "COEFS"}
TYPE_GROUP = {"A": "FLIPS", "B": "VTYPE", "C": "COEFS", "D": "DROP", "H": "BOUNDS", "I": "RHS"}  # reporting only
GROUPS = ["FLIPS", "DROP", "VTYPE", "RHS", "BOUNDS", "COEFS"]
VALUE_GROUPS = ("RHS", "BOUNDS", "COEFS")
AGG_MEMBER = ["lone_int", "vtype_c_feas", "drop_feas", "flip_feas", "flipfam_feas", "thr_exists",
              "coef_anom", "rhs_z", "ub_z", "rhs_pct", "ub_pct", "fam_sense_unique", "vfam_frac_int",
              "upper_thr_exists", "thr_need_log", "upper_need_log", "rhs_prior_pct", "ub_prior_pct",
              "rhs_eq_sib", "ub_eq_sib", "rhs_grid_rel_med", "ub_grid_rel_med"]


EXTREME_MEMBER = ["is_row", "sense", "fam_size", "fam_frac_iis", "drop_feas", "flip_feas", "flipfam_feas",
                  "rhs_z", "rhs_pct", "rhs_eq_sib", "rhs_grid_rel_med", "unit_coefs", "n_terms", "te_member",
                  "thr_need_log", "thr_need_rel", "rhs_prior_pct", "rhs_prior_grid_rel"]


def problem_feats(plans_raw, mfeats, prefixes, te_vals=None) -> dict:
    """Problem-level view used to guess which kind of edit is needed."""
    f = {}
    if te_vals is not None:
        for (kind, _, _, _, _), v in zip(plans_raw, te_vals, strict=False):
            for key in ("te_max_" + kind, "te_max_" + GROUP[kind]):
                f[key] = max(f.get(key, 0.0), v)
    # the members that need the smallest / largest relative move of their number to fix
    # the model alone (strong per-type tells for A, D and I)
    needs = [(d["thr_need_log"], m) for m, d in mfeats.items()
             if d.get("thr_need_log") is not None and math.isfinite(d["thr_need_log"])]
    if needs:
        needs.sort(key=lambda x: x[0])
        for tag, (_, m) in (("lo_", needs[0]), ("hi_", needs[-1])):
            d = mfeats[m]
            for k in EXTREME_MEMBER:
                if k in d:
                    f[tag + k] = d[k]
        if len(needs) > 1:
            f["need_gap_lo"] = needs[1][0] - needs[0][0]
            f["need_gap_hi"] = needs[-1][0] - needs[-2][0]
    cnt, feas = collections.Counter(), collections.Counter()
    efix = collections.defaultdict(set)
    for kind, tgt, _, pf, _ in plans_raw:
        cnt[kind] += 1
        feas[kind] += pf.get("feas", pf.get("v_feas", 0.0)) or 0.0
        if pf.get("elem_alone_fix"):
            efix[kind].add(tgt)
    for k in GROUP:
        f["pk_n_" + k] = cnt[k]
        f["pk_feas_" + k] = feas[k]
        f["pk_efix_" + k] = len(efix[k])
    if plans_raw:
        for k in ("n_members", "iis_size", "n_int", "n_rows", "step_edited"):
            f[k] = plans_raw[0][3].get(k)
    for k in AGG_MEMBER:
        xs = [d[k] for d in mfeats.values() if k in d and d[k] is not None and math.isfinite(d[k])]
        if xs:
            f["mx_" + k] = max(xs)
            f["mn_" + k] = min(xs)
            f["sm_" + k] = sum(xs)
    f["n_row_members"] = sum(1 for d in mfeats.values() if d.get("is_row"))
    for p_ in prefixes:
        f["pf_" + p_] = 1.0
    return f


def plan_feasible(plan) -> bool:
    f = plan[3]
    return bool(f.get("feas", f.get("v_feas", 0.0)))


VALUE_KEYS = ("v_", "vs_", "phi_")


def elem_key(plan):
    kind, tgt, acts = plan[0], plan[1], plan[2]
    var = parse_action(acts[0]).args[1] if kind in ("COEF", "COEFFAM") else None
    return (kind, tgt, var)


class AgentModel:
    """Two stages. Stage 1 guesses, from a problem-level view, the class of the needed
    edit: its group (flips, drop, type, rhs, bounds, coefficients) and whether the edit alone
    restores feasibility ('full') or leaves the model infeasible ('partial', a multi-fault
    model). Stage 2, per class, ranks the plans of that group with that feasibility outcome;
    for value classes it is factored into an element model (which row / bound / coefficient)
    and a value model (which number, trained only on the true element's candidates).
    score(plan) = P(class) * P(element | class) * P(value | element)."""

    def __init__(self, seed=SEED, alpha=1.0, m2_kw=None):
        self.seed, self.alpha = seed, alpha
        self.m2_kw = m2_kw if m2_kw is not None else {"max_leaf_nodes": 8, "min_samples_leaf": 40}

    @staticmethod
    def cls_of(plan) -> str:
        return GROUP[plan[0]] + ("" if plan_feasible(plan) else "_P")

    def _fit_bin(self, rows):
        D, yy, ww = rows
        if not yy or sum(yy) == 0 or sum(yy) == len(yy):
            return None
        X, cols = make_matrix(D)
        return gbm(max_iter=150, learning_rate=0.1, **self.m2_kw).fit(X, np.array(yy), sample_weight=np.array(ww)), cols

    def fit(self, insts):
        """insts: list of (pid, plans_raw, mfeats, prefixes) with labels in plans_raw."""
        keys, ys, gs = [], [], []
        for pid, plans, _, _ in insts:
            for kind, tgt, _, _, y in plans:
                keys.append(plan_te_key(kind, tgt))
                ys.append(y)
                gs.append(pid)
        oof, oofn = oof_te(gs, keys, ys)
        self.te = TE().fit(keys, ys)
        P, Y, W = [], [], []
        i = 0
        new = lambda: ([], [], [])  # noqa: E731
        rows_plan = collections.defaultdict(new)   # structural classes: plan model
        rows_elem = collections.defaultdict(new)   # value classes: element model
        rows_val = collections.defaultdict(new)    # value classes: value model
        for _pid, plans, mf, pre in insts:
            pos = sorted({self.cls_of(p) for p in plans if p[4]})
            te_slice = list(zip(oof[i:i + len(plans)], oofn[i:i + len(plans)], strict=False))
            i += len(plans)
            if not pos:
                continue
            pfe = problem_feats(plans, mf, pre, [tv for tv, _ in te_slice])
            for c in pos:
                P.append(pfe)
                Y.append(c)
                W.append(1.0 / len(pos))
            true_elems = {elem_key(p) for p in plans if p[4]}
            seen_elem = set()
            for plan, (tv, tn) in zip(plans, te_slice, strict=False):
                c = self.cls_of(plan)
                if c not in pos:
                    continue
                y = plan[4]
                d = dict(plan[3])
                d["te_plan"], d["te_plan_n"] = tv, tn
                if GROUP[plan[0]] not in VALUE_GROUPS:
                    rows_plan[c][0].append(d)
                    rows_plan[c][1].append(y)
                    rows_plan[c][2].append(1.0)
                    continue
                ek = elem_key(plan)
                if ek not in seen_elem:
                    seen_elem.add(ek)
                    rows_elem[c][0].append({k: v for k, v in d.items() if not k.startswith(VALUE_KEYS)})
                    rows_elem[c][1].append(int(ek in true_elems))
                    rows_elem[c][2].append(1.0)
                if ek in true_elems:
                    rows_val[c][0].append(d)
                    rows_val[c][1].append(y)
                    rows_val[c][2].append(1.0)
        self.classes = sorted(set(Y))
        X1, self.cols1 = make_matrix(P)
        y1 = np.array([self.classes.index(c) for c in Y])
        self.m1 = gbm(max_iter=100, learning_rate=0.1, max_leaf_nodes=15).fit(X1, y1, sample_weight=np.array(W))
        self.classes1 = [self.classes[c] for c in self.m1.classes_]
        self.m_plan = {c: self._fit_bin(r) for c, r in rows_plan.items()}
        self.m_elem = {c: self._fit_bin(r) for c, r in rows_elem.items()}
        # value preferences are shared across classes of one group (more data per model)
        pooled = collections.defaultdict(new)
        for c, r in rows_val.items():
            g = c.replace("_P", "")
            for j in range(3):
                pooled[g][j].extend(r[j])
        self.m_val = {g: self._fit_bin(r) for g, r in pooled.items()}
        return self

    def class_probs(self, plans, mf, pre):
        tv = [self.te.get(plan_te_key(p[0], p[1])) for p in plans]
        X, _ = make_matrix([problem_feats(plans, mf, pre, tv)], self.cols1)
        p = self.m1.predict_proba(X)[0]
        return dict(zip(self.classes1, p, strict=False))

    def group_probs(self, plans, mf, pre):
        out = collections.Counter()
        for c, p in self.class_probs(plans, mf, pre).items():
            out[c.replace("_P", "")] += p
        return dict(out)

    @staticmethod
    def _predict(m, dicts):
        if m is None:
            return np.ones(len(dicts))
        model, cols = m
        X, _ = make_matrix(dicts, cols)
        return model.predict_proba(X)[:, 1]

    def score(self, plans, mf, pre):
        if not plans:
            return np.zeros(0)
        pc = self.class_probs(plans, mf, pre)
        out = np.zeros(len(plans))
        by = collections.defaultdict(list)
        for j, p in enumerate(plans):
            by[self.cls_of(p)].append(j)
        for c, idx in by.items():
            D = []
            for j in idx:
                kind, tgt, _, f, _ = plans[j]
                d = dict(f)
                k = plan_te_key(kind, tgt)
                d["te_plan"], d["te_plan_n"] = self.te.get(k), self.te.count(k)
                D.append(d)
            g = c.replace("_P", "")
            if g not in VALUE_GROUPS:
                q = self._predict(self.m_plan.get(c), D)
                q = q / max(q.sum(), 1e-12)
                out[idx] = pc.get(c, 0.0) * q ** self.alpha
                continue
            ekeys = [elem_key(plans[j]) for j in idx]
            first = {}
            for n, ek in enumerate(ekeys):
                first.setdefault(ek, n)
            elist = list(first)
            pe = self._predict(self.m_elem.get(c), [{k: v for k, v in D[first[ek]].items()
                                                      if not k.startswith(VALUE_KEYS)} for ek in elist])
            pe = pe / max(pe.sum(), 1e-12)
            pe = dict(zip(elist, pe, strict=False))
            pv = self._predict(self.m_val.get(g), D)
            tot = collections.defaultdict(float)
            for n, ek in enumerate(ekeys):
                tot[ek] += pv[n]
            for n, (j, ek) in enumerate(zip(idx, ekeys, strict=False)):
                out[j] = pc.get(c, 0.0) * (pe[ek] * pv[n] / max(tot[ek], 1e-12)) ** self.alpha
        return out


def run_agent(rec, first, scorer: AgentModel, pri: Priors):
    """Greedy multi-step search; returns the list of action texts chosen."""
    m = read_model_text(rec["model"])
    chosen: list[str] = []
    edited: set[str] = set()
    plans, mf, pre = first
    for _step in range(MAX_STEPS):
        if not plans:
            break
        sc = scorer.score(plans, mf, pre)
        i = int(np.argmax(sc))
        acts = plans[i][2]
        for a in acts:
            apply_edit(m, parse_action(a))
            edited.add(str(parse_action(a).args[0]))
        chosen += acts
        if is_feas(m, budget=False):
            break
        try:
            iis = compute_iis(m, time_limit=5.0)
        except Exception:
            break
        ctx = Ctx(m, iis.constraints, iis.bounds, edited=edited)
        _DEADLINE[0] = time.time() + PROBLEM_BUDGET_S
        mf, p2 = analyse(ctx, pri)
        plans = [(p.kind, p.target, p.actions, p.feats, 0) for p in p2]
        pre = prefixes_of(m)
    return chosen


def env_check(rec, actions):
    from ordebug.env.environment import EnvConfig, RepairEnv
    env = RepairEnv(EnvConfig(max_steps=max(10, len(actions) + 2)))
    env.reset(rec)
    info = {}
    for a in actions:
        _, _, term, trunc, info = env.step(a)
        if term or trunc:
            break
    else:
        _, _, _, _, info = env.step("SUBMIT()")
    out = info.get("outcome", {})
    return bool(out.get("exact")), bool(out.get("feasible")), bool(out.get("faithful"))


def _agent_worker(args):
    rec, plans, scorer = args
    try:  # one thread per worker process
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except Exception:
        pass
    try:
        acts = run_agent(rec, plans, scorer, G_PRI)
    except Exception as exc:  # a crash is a failed repair, not a failed run
        return rec["problem_id"], [], (False, False, False), repr(exc)
    try:
        verdict = env_check(rec, acts)
    except Exception as exc:
        return rec["problem_id"], acts, (False, False, False), repr(exc)
    return rec["problem_id"], acts, verdict, ""


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------
def load(pattern, pred):
    files = sorted(glob.glob(pattern)) or ([pattern] if os.path.exists(pattern) else [])
    out, seen = [], set()
    for fn in files:
        with open(fn) as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if pred(str(r.get("split", ""))) and r["problem_id"] not in seen:
                    seen.add(r["problem_id"])
                    out.append(r)
    return out


def learn_phis(train):
    """The fault factors phi = current / original, learned from the training fixes: each fix
    gives an interval of phi consistent with rounding; a greedy cover of the intervals gives a
    small weighted set of factors per kind of number (rhs, ub, lb, coef)."""
    iv = collections.defaultdict(list)
    for r in train:
        m = read_model_text(r["model"])
        for f in r["ground_truth"]["fixes"]:
            a = parse_action(f)
            try:
                if a.name == "UPDATE_RHS":
                    k, cur, new = "rhs", m.rows[a.args[0]].bound, a.args[1]
                elif a.name == "SET_COEF":
                    k, cur, new = "coef", m.rows[a.args[0]].coefs.get(a.args[1]), a.args[2]
                elif a.name == "UPDATE_BOUNDS":
                    v = m.vars[a.args[0]]
                    if a.args[2] != v.ub:
                        k, cur, new = "ub", v.ub, a.args[2]
                    else:
                        k, cur, new = "lb", v.lb, a.args[1]
                else:
                    continue
            except KeyError:
                continue
            if not (fin(cur) and cur and new and new / cur > 0):
                continue
            g = min(grid_of(cur), grid_of(new))
            iv[k].append(((abs(cur) - g / 2) / abs(new), (abs(cur) + g / 2) / abs(new)))
    phis = {}
    for k, L in iv.items():
        pts = sorted({round(x, 4) for lo, hi in L for x in (lo, hi, (lo + hi) / 2)})
        rem = list(L)
        chosen = []
        while rem:
            best, bn = None, 0
            for p in pts:
                n = sum(1 for lo, hi in rem if lo - 1e-9 <= p <= hi + 1e-9)
                if n > bn:
                    best, bn = p, n
            if not bn:
                break
            # centre of the points covering the same set
            cov = [(lo, hi) for lo, hi in rem if lo - 1e-9 <= best <= hi + 1e-9]
            lo_, hi_ = max(lo for lo, _ in cov), min(hi for _, hi in cov)
            chosen.append(((lo_ + hi_) / 2 if lo_ <= hi_ else best, bn))
            rem = [x for x in rem if x not in cov]
        tot = sum(n for _, n in chosen)
        phis[k] = [(p, n / tot) for p, n in chosen]
    return phis


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train_glob")
    ap.add_argument("test_glob")
    ap.add_argument("--out", default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", default=None, help="development: pickle of extracted features (read if present)")
    ap.add_argument("--max-train", type=int, default=0)
    ap.add_argument("--max-test", type=int, default=0)
    args = ap.parse_args()
    t0 = time.time()
    train = load(args.train_glob, lambda s: s == "train")
    test = load(args.test_glob, lambda s: s.startswith("test"))
    if args.max_train:
        train = train[: args.max_train]
    if args.max_test:
        test = test[: args.max_test]
    log(f"train {len(train)}  test {len(test)}")

    # priors from the training models (values by name family) and learned ratio centers
    pri = Priors()
    for r in train:
        pri.add_model(read_model_text(r["model"]))
    pri.finish()
    pri.phis = learn_phis(train)
    log("fault factors:", {k: [round(p, 3) for p, _ in v] for k, v in pri.phis.items()})

    # one pool, forked before any OpenMP (scikit-learn) work in this process: forking after
    # it can hang the children
    pool = Pool(args.jobs, initializer=_init_worker, initargs=(pri,))
    if args.cache and os.path.exists(args.cache):
        import pickle
        with open(args.cache, "rb") as fh:
            tr, te = pickle.load(fh)
        log("features from cache", args.cache)
    else:
        tr = pool.map(extract_train, train, chunksize=4)
        log(f"train features {time.time() - t0:.0f}s")
        te = pool.map(extract_test, test, chunksize=4)
        log(f"test features {time.time() - t0:.0f}s")
        if args.cache:
            import pickle
            with open(args.cache, "wb") as fh:
                pickle.dump((tr, te), fh)
    try:  # OpenMP spinning on a shared 2-core machine is slower than one thread
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except Exception:
        pass

    results = {"n_train": len(train), "n_test": len(test)}
    ttype = {r["problem_id"]: r.get("error_type") for r in test}
    troots = {r["problem_id"]: [(x["kind"], x["name"]) for x in r["ground_truth"]["root_cause"]] for r in test}

    # ---------------- member ranker ----------------
    def member_rows(items, roots_of):
        dicts, ys, groups, keys = [], [], [], []
        for it in items:
            roots = roots_of(it)
            for mem in it["members"]:
                dicts.append(dict(it["mfeats"][mem]))
                ys.append(member_is_root(mem, roots))
                groups.append(it["pid"])
                keys.append(member_te_key(mem))
        return dicts, ys, groups, keys

    d_tr, y_tr, g_tr, k_tr = member_rows(tr, lambda it: it["roots"])
    log(f"  member rows {len(d_tr)} [{time.time() - t0:.0f}s]")
    te_oof, te_cnt = oof_te(g_tr, k_tr, y_tr)
    log(f"  oof te [{time.time() - t0:.0f}s]")
    for d, v, c in zip(d_tr, te_oof, te_cnt, strict=False):
        d["te_member"], d["te_member_n"] = v, c
    te_full = TE().fit(k_tr, y_tr)
    d_te, y_te, g_te, k_te = member_rows(te, lambda it: troots[it["pid"]])
    for d, k in zip(d_te, k_te, strict=False):
        d["te_member"], d["te_member_n"] = te_full.get(k), te_full.count(k)

    def eval_ranker(dicts_tr, dicts_te, tag):
        X, cols = make_matrix(dicts_tr)
        log(f"  ranker matrix {X.shape} [{time.time() - t0:.0f}s]")
        clf = gbm().fit(X, np.array(y_tr))
        log(f"  ranker fitted [{time.time() - t0:.0f}s]")
        Xt, _ = make_matrix(dicts_te, cols)
        p = clf.predict_proba(Xt)[:, 1] if len(Xt) else np.zeros(0)
        per = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0])
        i = 0
        for it in te:
            n = len(it["members"])
            if n == 0:
                continue
            sc, yy = list(p[i:i + n]), y_te[i:i + n]
            i += n
            t = ttype[it["pid"]]
            for key in (t, "ALL"):
                per[key][0] += top1_credit(sc, yy)
                per[key][1] += 1.0 / n
                per[key][2] += sum(yy) / n
                per[key][3] += 1
        out = {k: {"n": v[3], "top1": v[0] / v[3], "chance_1_over_members": v[1] / v[3],
                   "chance_roots_over_members": v[2] / v[3]} for k, v in sorted(per.items())}
        log(f"\n== member ranker ({tag}) ==")
        log(f"{'type':5} {'n':>4} {'top1':>7} {'1/|M|':>7} {'|R|/|M|':>8}")
        for k, v in out.items():
            c1, cr = v["chance_1_over_members"], v["chance_roots_over_members"]
            log(f"{k:5} {v['n']:4d} {v['top1']:7.3f} {c1:7.3f} {cr:8.3f}")
        return out, clf, cols

    results["ranker"], _, _ = eval_ranker(d_tr, d_te, "structural + solver probes")
    log(f"[{time.time() - t0:.0f}s]")
    results["single_feature_tells"] = single_feature_tells(tr, te, d_tr, y_tr, d_te, y_te, ttype)

    # ---------------- plan scorer ----------------
    insts = []
    for it in tr:
        insts.append((it["pid"], it["plans"], it["mfeats"], it["prefixes"]))
        if it["step2"]:
            insts.append((it["pid"], it["step2"], it["step2_mfeats"], it["step2_prefixes"]))
    scorer = AgentModel().fit(insts)
    log(f"plan scorer trained [{time.time() - t0:.0f}s]")

    # ---------------- stacked ranker: members also see the search agent's plan scores ----
    def agent_member_feats(model, it):
        sc = model.score(it["plans"], it["mfeats"], it["prefixes"])
        tot = float(sc.sum()) or 1.0
        best = collections.defaultdict(float)
        summ = collections.defaultdict(float)
        bestk = {}
        for (kind, tgt, _, _, _), v in zip(it["plans"], sc, strict=False):
            summ[tgt] += v
            if v > best[tgt]:
                best[tgt], bestk[tgt] = v, kind
        top = max(best.values()) if best else 0.0
        out = {}
        for mem in it["members"]:
            out[mem] = {"ag_best": best.get(mem, 0.0) / tot, "ag_sum": summ.get(mem, 0.0) / tot,
                        "ag_is_top": float(best.get(mem, -1) >= top - 1e-15 and top > 0),
                        "ag_kind": {"FLIP": 0, "FLIPFAM": 1, "DROP": 2, "VTYPE": 3, "RHS": 4, "UB": 5, "LB": 6,
                                    "COEF": 7, "COEFFAM": 8}.get(bestk.get(mem), -1)}
        return out

    pids = [it["pid"] for it in tr]
    rnd_f = random.Random(SEED + 1)
    order = pids[:]
    rnd_f.shuffle(order)
    fold_of = {p_: i % 3 for i, p_ in enumerate(order)}
    ag_tr = {}
    for k in range(3):
        sub = [x for x in insts if fold_of[x[0]] != k]
        mk_ = AgentModel().fit(sub)
        for it in tr:
            if fold_of[it["pid"]] == k:
                ag_tr[it["pid"]] = agent_member_feats(mk_, it)
    ag_te = {it["pid"]: agent_member_feats(scorer, it) for it in te}
    d_tr2 = []
    i = 0
    for it in tr:
        for mem in it["members"]:
            d = dict(d_tr[i])
            d.update(ag_tr[it["pid"]][mem])
            d_tr2.append(d)
            i += 1
    d_te2 = []
    i = 0
    for it in te:
        for mem in it["members"]:
            d = dict(d_te[i])
            d.update(ag_te[it["pid"]][mem])
            d_te2.append(d)
            i += 1
    results["ranker_stacked"], _, _ = eval_ranker(d_tr2, d_te2, "stacked with out-of-fold search-agent scores")
    log(f"[{time.time() - t0:.0f}s]")

    # oracle: is an exact plan among the first-step candidates at all?
    # (labels of test plans are computed here only for reporting)
    tfix = {r["problem_id"]: r["ground_truth"] for r in test}
    recall = collections.Counter()
    first_hit = collections.Counter()
    grp_hit = collections.Counter()
    confusion = collections.defaultdict(collections.Counter)
    for it in te:
        gt = tfix[it["pid"]]
        per_fault = gt.get("fixes_per_fault") or [gt["fixes"]]
        targets = [{canon(a) for a in ff} for ff in per_fault] + [{canon(a) for a in gt["fixes"]}]
        ok = any({canon(a) for a in acts} in targets for _, _, acts, _, _ in it["plans"])
        recall[ttype[it["pid"]]] += ok
        sc = scorer.score(it["plans"], it["mfeats"], it["prefixes"])
        pg = scorer.group_probs(it["plans"], it["mfeats"], it["prefixes"])
        confusion[ttype[it["pid"]]][max(pg, key=pg.get)] += 1
        grp_hit[ttype[it["pid"]]] += max(pg, key=pg.get) == TYPE_GROUP.get(ttype[it["pid"]], "?")
        if len(sc):
            acts = it["plans"][int(np.argmax(sc))][2]
            first_hit[ttype[it["pid"]]] += {canon(a) for a in acts} in targets

    # ---------------- search agent on test, checked in the environment ----------------
    by_pid = {r["problem_id"]: r for r in test}
    jobs = [(by_pid[it["pid"]], (it["plans"], it["mfeats"], it["prefixes"]), scorer) for it in te]
    res = pool.map(_agent_worker, jobs, chunksize=2)
    pool.close()
    pool.join()
    log(f"agent done [{time.time() - t0:.0f}s]")
    per = collections.defaultdict(lambda: collections.Counter())
    details = []
    for pid, acts, (exact, feas, faithful), err in res:
        t = ttype[pid]
        for key in (t, "ALL"):
            per[key]["n"] += 1
            per[key]["exact"] += exact
            per[key]["feasible"] += feas
            per[key]["faithful"] += faithful
        details.append({"problem_id": pid, "type": t, "actions": acts, "exact": exact,
                        "feasible": feas, "faithful": faithful, "error": err})
    n_by_type = collections.Counter(ttype.values())
    log("\n== search agent (environment's exact check) ==")
    log(f"{'type':5} {'n':>4} {'exact':>7} {'faithful':>9} {'feasible':>9} {'1st-step hit':>13} "
        f"{'cand recall':>12} {'group hit':>10}")
    agent = {}
    for k in sorted(per):
        v = per[k]
        n = v["n"]
        if k == "ALL":
            fh, rc, gh = sum(first_hit.values()) / n, sum(recall.values()) / n, float("nan")
        else:
            fh, rc = first_hit[k] / n_by_type[k], recall[k] / n_by_type[k]
            gh = grp_hit[k] / n_by_type[k] if k in TYPE_GROUP else float("nan")  # E/F/G: no single group
        agent[k] = {"n": n, "exact": v["exact"] / n, "faithful": v["faithful"] / n, "feasible": v["feasible"] / n,
                    "first_step_plan_exact": fh, "first_step_candidate_recall": rc,
                    "stage1_group_hit": None if math.isnan(gh) else gh}
        log(f"{k:5} {n:4d} {v['exact'] / n:7.3f} {v['faithful'] / n:9.3f} {v['feasible'] / n:9.3f} "
            f"{fh:13.3f} {rc:12.3f} {gh:10.3f}")
    results["agent"] = agent
    results["stage1_confusion"] = {t: dict(c) for t, c in sorted(confusion.items())}
    log("\nstage-1 (which group of edit) on test, rows = true type:")
    for t, c in sorted(confusion.items()):
        log(f"  {t}: " + ", ".join(f"{g} {n}" for g, n in c.most_common()))
    results["seconds"] = time.time() - t0
    log(f"total {results['seconds']:.0f}s")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"results": results, "details": details}, fh, indent=1)


if __name__ == "__main__":
    main()
