"""Transportation: plants ship to stores at lane costs, within plant and lane capacities."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets plants (2 + scale) and stores (2 + 2 * scale)."""
    plants = [f"p{i + 1}" for i in range(2 + scale)]
    stores = [f"store_{j + 1}" for j in range(2 + 2 * scale)]
    b = Builder("transportation")
    demand = {s: rng.randint(20, 90) for s in stores}
    lane_cap = {}
    flow = dict.fromkeys(plants, 0.0)  # a feasible plan: each lane used in proportion
    for s in stores:
        # each store is served by two or three plants, with 15-50% spare lane capacity
        served = rng.sample(plants, min(len(plants), rng.randint(2, 3)))
        weights = [rng.uniform(0.5, 1.0) for _ in served]
        spare = rng.uniform(1.15, 1.5)
        for p, w in zip(served, weights, strict=True):
            lane_cap[p, s] = math.ceil(spare * demand[s] * w / sum(weights))
            flow[p] += demand[s] * lane_cap[p, s] / sum(lane_cap[q, s] for q in served if (q, s) in lane_cap)
    caps = {p: math.ceil(flow[p] * rng.uniform(1.1, 1.4)) + 5 for p in plants}
    for p in plants:
        for s in stores:
            if (p, s) in lane_cap:
                b.var(f"ship({p},{s})", 0, lane_cap[p, s], obj=rng.randint(2, 25))
    for p in plants:
        b.var(f"out({p})")
    for p in plants:
        coefs = {f"out({p})": 1.0} | {f"ship({p},{s})": -1.0 for s in stores if (p, s) in lane_cap}
        b.row(f"plant_output({p})", coefs, "=", 0, "definition")
    for p in plants:
        b.row(f"plant_capacity({p})", {f"out({p})": 1}, "<=", caps[p], "capacity")
    for s in stores:
        lanes = {f"ship({p},{s})": 1 for p in plants if (p, s) in lane_cap}
        b.row(f"meet_demand({s})", lanes, ">=", demand[s], "requirement")
    for p in plants:
        reach = sum(lane_cap.get((p, s), 0) for s in stores)
        b.row(f"dock_limit({p})", {f"out({p})": 1}, "<=", reach + rng.randint(5, 40), "capacity")
    unstated = b.left_out(rng, len(plants))
    for i, p in enumerate(plants):
        if i not in unstated:
            b.row(f"min_supply({p})", {f"out({p})": 1}, ">=", round(0.1 * caps[p]), "rule")
        else:
            b.template(f"min_supply({p})", {f"out({p})": 1}, ">=")
    unstated_2 = b.left_out(rng, len(stores))
    for i, s in enumerate(stores):
        lanes_in = [p for p in plants if (p, s) in lane_cap]
        name, coefs = f"max_single_source({s})", {f"ship({lanes_in[0]},{s})": 1}
        if i not in unstated_2:
            b.row(name, coefs, "<=", math.ceil(0.9 * demand[s]), "rule")
        else:
            b.template(name, coefs, "<=")
    return b.base
