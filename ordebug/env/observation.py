"""The observation text an agent sees at each step (bounded in size for large models).

It shows the status, the IIS written out in algebraic form, a compact model-structure
summary and the history of actions with their results. It never shows the error type,
the ground truth, the original model or its optimum.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from ordebug.solver.iis import Iis
from ordebug.solver.spec import ModelSpec, Row, fmt_num, render_expr

MAX_TERMS = 12
MAX_IIS_ROWS = 24
MAX_IIS_BOUNDS = 24
MAX_FAMILIES = 24
MAX_HISTORY = 8
MAX_RESULT_CHARS = 600
TYPE_WORD = {"C": "continuous", "I": "integer", "B": "binary"}


def family(name: str) -> str:
    """``meet_demand(store_4)`` -> ``meet_demand``."""
    return name.split("(")[0]


def short_row(row: Row, max_terms: int = MAX_TERMS) -> str:
    """Algebraic text of a row; very long rows are cut with a count of the rest."""
    coefs = row.coefs
    extra = ""
    if len(coefs) > max_terms:
        coefs = dict(list(coefs.items())[:max_terms])
        extra = f" ... (+{len(row.coefs) - max_terms} more terms)"
    expr = render_expr(coefs) + extra
    if row.sense == "range":
        return f"{row.name}: {fmt_num(row.lhs)} <= {expr} <= {fmt_num(row.rhs)}"
    return f"{row.name}: {expr} {row.sense} {fmt_num(row.bound)}"


def bound_text(spec: ModelSpec, var: str) -> str:
    lb, ub = spec.var_bounds(var)
    return f"{fmt_num(lb)} <= {var} <= {fmt_num(ub)} ({TYPE_WORD[spec.vars[var].vtype]})"


def _spread(values: list[float]) -> str:
    if not values:
        return ""
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return f"median {fmt_num(med)}" + ("" if lo == hi else f", range {fmt_num(lo)}..{fmt_num(hi)}")


def structure_summary(spec: ModelSpec) -> str:
    """Families of constraints and variables with counts, senses/types and value ranges."""
    rows: dict[str, list[Row]] = defaultdict(list)
    for r in spec.rows.values():
        rows[family(r.name)].append(r)
    vars_: dict[str, list[str]] = defaultdict(list)
    for v in spec.vars:
        vars_[family(v)].append(v)
    n_int = sum(1 for v in spec.vars.values() if v.vtype != "C")
    lines = [
        f"Objective: {spec.sense}; {len(spec.vars)} variables ({n_int} integer/binary), {len(spec.rows)} constraints",
        "Constraint families:",
    ]
    for fam, members in list(rows.items())[:MAX_FAMILIES]:
        senses = defaultdict(int)
        for r in members:
            senses[r.sense] += 1
        sense_txt = ", ".join(f"{s} x{n}" for s, n in senses.items())
        rhs = _spread([r.bound for r in members if r.sense != "range"])
        lines.append(f"- {fam}: {len(members)} rows; {sense_txt}; rhs {rhs}")
    if len(rows) > MAX_FAMILIES:
        lines.append(f"- ... (+{len(rows) - MAX_FAMILIES} more families)")
    lines.append("Variable families:")
    for fam, members in list(vars_.items())[:MAX_FAMILIES]:
        types = defaultdict(int)
        for v in members:
            types[TYPE_WORD[spec.vars[v].vtype]] += 1
        type_txt = ", ".join(f"{t} x{n}" for t, n in types.items())
        ubs = [spec.var_bounds(v)[1] for v in members if spec.var_bounds(v)[1] != float("inf")]
        lbs = [spec.var_bounds(v)[0] for v in members]
        parts = [f"- {fam}: {len(members)} vars; {type_txt}"]
        if any(lbs):
            parts.append(f"lb {_spread(lbs)}")
        if ubs:
            parts.append(f"ub {_spread(ubs)}" + ("" if len(ubs) == len(members) else f" ({len(ubs)} bounded)"))
        lines.append("; ".join(parts))
    if len(vars_) > MAX_FAMILIES:
        lines.append(f"- ... (+{len(vars_) - MAX_FAMILIES} more families)")
    return "\n".join(lines)


@dataclass
class HistoryEntry:
    """One past step: the action as the grammar writes it (or the raw text if invalid)."""

    action: str
    result: str
    valid: bool = True


def render_iis(spec: ModelSpec, iis: Iis | None) -> str:
    if iis is None:
        return "none: the model is feasible"
    lines = [f"{len(iis.constraints)} constraints, {len(iis.bounds)} bounds"]
    for r in iis.constraints[:MAX_IIS_ROWS]:
        lines.append(short_row(spec.rows[r]))
    if len(iis.constraints) > MAX_IIS_ROWS:
        lines.append(f"... (+{len(iis.constraints) - MAX_IIS_ROWS} more constraints)")
    for v, side in iis.bounds[:MAX_IIS_BOUNDS]:
        lines.append(f"{side} bound of {v}: {bound_text(spec, v)}")
    if len(iis.bounds) > MAX_IIS_BOUNDS:
        lines.append(f"... (+{len(iis.bounds) - MAX_IIS_BOUNDS} more bounds)")
    return "\n".join(lines)


def _clip(text: str, n: int = MAX_RESULT_CHARS) -> str:
    return text if len(text) <= n else text[: n - 20] + f" ... (+{len(text) - n + 20} chars)"


def render_observation(
    problem_id: str,
    spec: ModelSpec,
    status: str,
    iis: Iis | None,
    history: list[HistoryEntry],
    step: int,
    max_steps: int,
) -> str:
    """The full observation text."""
    hist_lines = []
    start = max(0, len(history) - MAX_HISTORY)
    if start:
        hist_lines.append(f"({start} earlier steps omitted)")
    for i, h in enumerate(history[start:], start + 1):
        result = _clip(h.result).replace("\n", "\n   ")
        hist_lines.append(f"{i}. {h.action} -> {result}")
    return "\n".join(
        [
            "## Problem",
            f"ID: {problem_id}",
            "## Status",
            f"{status} (step {step} of {max_steps}; {max_steps - step} left)",
            "## IIS",
            render_iis(spec, iis),
            "## Model structure",
            structure_summary(spec),
            "## History",
            "\n".join(hist_lines) if hist_lines else "(none)",
        ]
    )
