"""Multi-period inventory: production, stock balance, storage and safety stock."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets products (1 + scale) and periods (3 + scale)."""
    prods = [f"sku_{i + 1}" for i in range(1 + scale)]
    periods = list(range(1, 4 + scale))
    b = Builder("inventory")
    dem = {(p, t): rng.randint(10, 40) for p in prods for t in periods}
    opening = {p: rng.randint(4, 14) + 0.5 for p in prods}
    safety = {p: rng.randint(2, 6) for p in prods}  # end-of-horizon safety stock (a rule)
    avg = sum(dem.values()) / len(periods)
    cap = {t: math.ceil(avg * rng.uniform(0.85, 1.35)) for t in periods}
    # enough cumulative capacity in every prefix of the horizon
    for t in periods:
        need = sum(dem[p, s] for p in prods for s in periods if s <= t) - sum(opening.values())
        if t == periods[-1]:
            need += sum(safety.values())
        have = sum(cap[s] for s in periods if s <= t)
        if have < need:
            cap[t] += math.ceil(need - have) + 5
    # stock a feasible plan must carry: demand beyond capacity is built earlier (backward pass)
    carry, peak = 0.0, 0.0
    for t in reversed(periods):
        end = sum(safety.values()) if t == periods[-1] else 0
        carry = max(0.0, carry + sum(dem[p, t] for p in prods) + end - cap[t])
        peak = max(peak, carry)
    storage = max(math.ceil(0.9 * avg) + 10, math.ceil(peak + sum(opening.values())) + 5)
    for p in prods:
        for t in periods:
            b.var(f"make({p},{t})", 0, max(cap.values()), obj=rng.randint(4, 12))
        for t in [0, *periods]:
            b.var(f"stock({p},{t})", obj=0 if t == 0 else rng.randint(1, 3))
    for p in prods:
        b.row(f"opening_stock({p})", {f"stock({p},0)": 1}, "=", opening[p], "definition")
        b.base.integrality_candidates.append(f"stock({p},0)")
    for p in prods:
        for t in periods:
            coefs = {f"stock({p},{t - 1})": 1, f"make({p},{t})": 1, f"stock({p},{t})": -1}
            b.row(f"stock_balance({p},{t})", coefs, "=", dem[p, t], "balance")
    for t in periods:
        b.row(f"production_capacity({t})", {f"make({p},{t})": 1 for p in prods}, "<=", cap[t], "capacity")
    for t in periods:
        b.row(f"storage_limit({t})", {f"stock({p},{t})": 1 for p in prods}, "<=", storage, "capacity")
    unstated = b.left_out(rng, len(prods))
    for i, p in enumerate(prods):
        last = periods[-1]
        if i not in unstated:
            b.row(f"safety_stock({p},{last})", {f"stock({p},{last})": 1}, ">=", safety[p], "rule")
        else:
            b.template(f"safety_stock({p},{last})", {f"stock({p},{last})": 1}, ">=")
    return b.base
