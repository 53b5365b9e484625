"""The *form* of a number next to its siblings, and the slips a spec-blind search undoes.

A value typed wrong often leaves a trace a statistician can read without the data sheet:
digits that, swapped back, move it toward its family's median; a factor of ten or of a unit;
a grid (whole tens, halves) its siblings share and it does not. These features let the
adversary learn such traces, and :func:`slips` lists the undo candidates it tries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ordebug.faults.slips import slips
from ordebug.solver.spec import fmt_num

GRIDS = (100.0, 50.0, 10.0, 5.0, 1.0, 0.5, 0.25, 0.1, 0.05, 0.01)
NAN = float("nan")


def grid_level(x: float) -> int:
    """Index of the coarsest grid in :data:`GRIDS` that ``x`` lies on (len(GRIDS): none)."""
    for i, g in enumerate(GRIDS):
        q = x / g
        if abs(q - round(q)) <= 1e-9 * max(1.0, abs(q)):
            return i
    return len(GRIDS)


def decimals(x: float) -> int:
    text = fmt_num(abs(x))
    return len(text.split(".", 1)[1]) if "." in text and "e" not in text else 0


def _log(x: float) -> float:
    return math.log10(abs(x)) if x else NAN


def median(values: Sequence[float]) -> float:
    v = sorted(values)
    if not v:
        return NAN
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def value_form(x: float, siblings: Sequence[float], prefix: str) -> dict[str, float]:
    """Features of value ``x`` against the other values of its group (``siblings``)."""
    sib = [s for s in siblings if math.isfinite(s)]
    logs = [_log(s) for s in sib if s]
    med = median(logs)
    lx = _log(x)
    dev = lx - med if logs and x else NAN
    f = {
        "zero": float(x == 0),
        "neg": float(x < 0),
        "logdev": dev,
        "pct": (sum(1 for s in sib if s < x) + 0.5 * sum(1 for s in sib if s == x)) / len(sib) if sib else NAN,
        "dup": float(any(s == x for s in sib)),
        "dec": float(decimals(x)),
        "dec_same": sum(1 for s in sib if decimals(s) == decimals(x)) / len(sib) if sib else NAN,
        "grid": float(grid_level(x)),
        "grid_share": sum(1 for s in sib if grid_level(s) <= grid_level(x)) / len(sib) if sib else NAN,
        "nsib": float(len(sib)),
        "swap_gain": NAN,
        "factor_gain": NAN,
    }
    if logs and x:
        for kind, y in slips(x):
            if not y:
                continue
            gain = abs(_log(y) - med) - abs(dev)
            key = "swap_gain" if kind == "swap" else "factor_gain" if kind.startswith("x") else None
            if key and not gain >= f[key]:  # NaN-safe min
                f[key] = gain
    return {f"{prefix}{k}": v for k, v in f.items()}
