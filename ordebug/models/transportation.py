"""Transportation: plants ship to stores at lane costs, within plant and lane capacities."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder, split_total


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets plants (2 + scale) and stores (2 + 2 * scale)."""
    plants = [f"p{i + 1}" for i in range(2 + scale)]
    stores = [f"store_{j + 1}" for j in range(2 + 2 * scale)]
    b = Builder("transportation")
    demand = {s: rng.randint(20, 90) for s in stores}
    caps = dict(zip(plants, split_total(rng, 1.35 * sum(demand.values()), len(plants)), strict=False))
    lane_cap = {}
    for p in plants:
        for s in stores:
            lane_cap[p, s] = rng.randint(math.ceil(0.5 * demand[s]), demand[s])
            b.var(f"ship({p},{s})", 0, lane_cap[p, s], obj=rng.randint(2, 25))
    for p in plants:
        b.var(f"out({p})")
    for p in plants:
        coefs = {f"out({p})": 1.0} | {f"ship({p},{s})": -1.0 for s in stores}
        b.row(f"plant_output({p})", coefs, "=", 0, "definition")
    for p in plants:
        b.row(f"plant_capacity({p})", {f"out({p})": 1}, "<=", caps[p], "capacity")
    for s in stores:
        b.row(f"meet_demand({s})", {f"ship({p},{s})": 1 for p in plants}, ">=", demand[s], "requirement")
    for p in plants:
        lanes = sum(lane_cap[p, s] for s in stores)
        b.row(f"dock_limit({p})", {f"out({p})": 1}, "<=", lanes + rng.randint(5, 40), "capacity")
    for i, p in enumerate(plants):
        if i % 2 == 0:
            b.row(f"min_supply({p})", {f"out({p})": 1}, ">=", round(0.1 * caps[p]), "rule")
        else:
            b.template(f"min_supply({p})", {f"out({p})": 1}, ">=")
    for s in stores[::2]:
        b.row(f"max_single_source({s})", {f"ship({plants[0]},{s})": 1}, "<=", math.ceil(0.9 * demand[s]), "rule")
    for s in stores[1::2]:
        b.template(f"max_single_source({s})", {f"ship({plants[0]},{s})": 1}, "<=")
    return b.base
