"""Capacitated facility location (MILP): open sites and serve customer demand."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder, split_total


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets sites (2 + scale) and customers (3 + 2 * scale)."""
    sites = [f"site_{i + 1}" for i in range(2 + scale)]
    custs = [f"cust_{j + 1}" for j in range(3 + 2 * scale)]
    b = Builder("facility")
    demand = {c: rng.randint(10, 45) for c in custs}
    total = sum(demand.values())
    cap = dict(zip(sites, split_total(rng, 1.8 * total, len(sites)), strict=False))
    for f in sites:
        b.var(f"open({f})", vtype="B", obj=rng.randint(80, 250))
    for f in sites:
        for c in custs:
            b.var(f"serve({f},{c})", 0, demand[c], obj=rng.randint(1, 12))
    for f in sites:
        b.var(f"load({f})")
    for c in custs:
        b.row(f"meet_demand({c})", {f"serve({f},{c})": 1 for f in sites}, ">=", demand[c], "requirement")
    for f in sites:
        coefs = {f"load({f})": 1.0} | {f"serve({f},{c})": -1.0 for c in custs}
        b.row(f"site_load({f})", coefs, "=", 0, "definition")
    for f in sites:
        b.row(f"site_capacity({f})", {f"load({f})": 1, f"open({f})": -cap[f]}, "<=", 0, "link")
    b.row("max_open_sites", {f"open({f})": 1 for f in sites}, "<=", len(sites) - 1, "rule")
    unstated = b.left_out(rng, len(sites))
    for i, f in enumerate(sites):
        name = f"min_throughput({f})"
        coefs = {f"load({f})": 1, f"open({f})": -math.floor(0.1 * cap[f])}
        if i not in unstated:
            b.row(name, coefs, ">=", 0, "rule")
        else:
            b.template(name, {f"load({f})": 1}, ">=")
    return b.base
