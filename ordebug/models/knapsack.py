"""Multi-knapsack (MILP): pack items into containers by weight and volume, maximise value."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets items (5 + 2 * scale) and containers (2 + scale // 2)."""
    items = [f"item_{i + 1}" for i in range(5 + 2 * scale)]
    bins = [f"truck_{k + 1}" for k in range(2 + scale // 2)]
    b = Builder("knapsack", sense="maximize")
    w = {i: rng.randint(5, 30) for i in items}
    vol = {i: rng.randint(2, 12) for i in items}
    cap = math.ceil(0.35 * sum(w.values()) / len(bins)) + 10
    vcap = math.ceil(0.45 * sum(vol.values()) / len(bins)) + 4
    for i in items:
        for k in bins:
            b.var(f"pack({i},{k})", vtype="B", obj=rng.randint(10, 60))
    for k in bins:
        b.var(f"load({k})")
    for k in bins:
        coefs = {f"load({k})": 1.0} | {f"pack({i},{k})": -w[i] for i in items}
        b.row(f"truck_load({k})", coefs, "=", 0, "definition")
    for k in bins:
        b.row(f"weight_limit({k})", {f"load({k})": 1}, "<=", cap, "capacity")
    for k in bins:
        b.row(f"volume_limit({k})", {f"pack({i},{k})": vol[i] for i in items}, "<=", vcap, "capacity")
    for i in items:
        b.row(f"pack_once({i})", {f"pack({i},{k})": 1 for k in bins}, "<=", 1, "capacity")
    priority = []
    for i in rng.sample(items, max(2, len(items) // 4)):
        # priority items must fit together in one truck, so the base model stays feasible
        if sum(w[j] for j in [*priority, i]) <= 0.8 * cap and sum(vol[j] for j in [*priority, i]) <= 0.8 * vcap:
            priority.append(i)
    for i in items:
        if i in priority:
            b.row(f"must_ship({i})", {f"pack({i},{k})": 1 for k in bins}, ">=", 1, "requirement")
    unstated = b.left_out(rng, len(bins))
    for idx, k in enumerate(bins):
        name = f"min_load({k})"
        if idx not in unstated:
            b.row(name, {f"load({k})": 1}, ">=", math.floor(0.2 * cap), "rule")
        else:
            b.template(name, {f"load({k})": 1}, ">=")
    return b.base
