"""Slips of a number as written: what a spec-blind search undoes (swapped adjacent digits,
factors of ten and of units, the nearest whole numbers of a fraction). The generator keeps
its wrong values out of this list; the adversary tries it."""

from __future__ import annotations

import math

from ordebug.solver.spec import fmt_num

FACTORS = (10.0, 0.1, 100.0, 0.01, 60.0, 1 / 60, 1000.0, 0.001)


def transpositions(x: float) -> list[float]:
    """Every value that swapping two adjacent digits of ``x`` (as written) gives."""
    text = fmt_num(abs(x))
    if "e" in text or "inf" in text:
        return []
    out = []
    for i in range(len(text) - 1):
        a, b = text[i], text[i + 1]
        if not (a.isdigit() and b.isdigit()) or a == b or (i == 0 and b == "0"):
            continue
        y = float(text[:i] + b + a + text[i + 2:])
        if y != abs(x):
            out.append(math.copysign(y, x))
    return out


def slips(x: float) -> list[tuple[str, float]]:
    """Candidate originals of a value typed wrong, deduplicated, ``x`` itself excluded."""
    out: list[tuple[str, float]] = [("swap", y) for y in transpositions(x)]
    out += [(f"x{fmt_num(f)}", round(x * f, 9)) for f in FACTORS]
    if not float(x).is_integer():
        out += [("floor", float(math.floor(x))), ("ceil", float(math.ceil(x)))]
    seen: set[float] = {x}
    uniq = []
    for kind, y in out:
        if y not in seen and math.isfinite(y):
            seen.add(y)
            uniq.append((kind, y))
    return uniq


def is_slip(v: float, x: float) -> bool:
    """Whether ``v`` is one of the slips of ``x``."""
    return any(abs(y - v) <= 1e-9 * max(1.0, abs(v)) for _, y in slips(x))
