"""Production planning: products made over periods on shared machines to meet demand."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets products (2 + scale) and periods (2 + scale)."""
    prods = [f"prod_{i + 1}" for i in range(2 + scale)]
    periods = [f"t{t + 1}" for t in range(2 + scale)]
    machines = ["m1", "m2"]
    b = Builder("production")
    demand = {p: rng.randint(40, 120) for p in prods}
    rate = {p: math.ceil(rng.uniform(1.15, 1.4) * demand[p] / len(periods)) for p in prods}
    hours = {(m, p): rng.randint(1, 4) for m in machines for p in prods}
    for p in prods:
        for t in periods:
            b.var(f"make({p},{t})", 0, rate[p], obj=rng.randint(5, 15))
    for t in periods:
        b.var(f"total_output({t})")
    for t in periods:
        coefs = {f"total_output({t})": 1.0} | {f"make({p},{t})": -1.0 for p in prods}
        b.row(f"output_definition({t})", coefs, "=", 0, "definition")
    per_period = sum(demand.values()) / len(periods)
    for t in periods:
        b.row(f"plant_throughput({t})", {f"total_output({t})": 1}, "<=", math.ceil(1.3 * per_period), "capacity")
    for m in machines:
        need = sum(hours[m, p] * demand[p] for p in prods) / len(periods)
        for t in periods:
            coefs = {f"make({p},{t})": hours[m, p] for p in prods}
            b.row(f"machine_hours({m},{t})", coefs, "<=", math.ceil(rng.uniform(1.15, 1.4) * need), "capacity")
    for p in prods:
        b.row(f"meet_demand({p})", {f"make({p},{t})": 1 for t in periods}, ">=", demand[p], "requirement")
    unstated = b.left_out(rng, len(periods))
    for i, t in enumerate(periods):
        name = f"min_output({t})"
        if i not in unstated:
            b.row(name, {f"total_output({t})": 1}, ">=", math.floor(0.3 * per_period), "rule")
        else:
            b.template(name, {f"total_output({t})": 1}, ">=")
    return b.base
