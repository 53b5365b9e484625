"""Min-cost network flow (LP): ship from sources through hubs to sinks over arcs."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets sources (1 + scale), hubs (2 + scale) and sinks (2 + scale)."""
    sources = [f"src_{i + 1}" for i in range(1 + scale)]
    hubs = [f"hub_{i + 1}" for i in range(2 + scale)]
    sinks = [f"dst_{i + 1}" for i in range(2 + scale)]
    b = Builder("network")
    need = {d: rng.randint(15, 60) for d in sinks}
    total = sum(need.values())
    supply = {s: math.ceil(1.4 * total / len(sources)) for s in sources}
    arcs = [(s, h) for s in sources for h in hubs] + [(h, d) for h in hubs for d in sinks]
    for u, v in arcs:
        share = rng.uniform(0.5, 0.9) if v in hubs else rng.uniform(1.1, 1.5) / len(hubs)
        cap = math.ceil(share * (total if v in hubs else need[v]))
        b.var(f"flow({u},{v})", 0, cap, obj=rng.randint(1, 15))
    for h in hubs:
        b.var(f"throughput({h})")
    for s in sources:
        b.row(f"supply_limit({s})", {f"flow({s},{h})": 1 for h in hubs}, "<=", supply[s], "capacity")
    for h in hubs:
        inflow = {f"flow({s},{h})": 1.0 for s in sources}
        b.row(f"hub_inflow({h})", {f"throughput({h})": 1.0} | {k: -v for k, v in inflow.items()}, "=", 0, "definition")
        outflow = {f"flow({h},{d})": -1.0 for d in sinks}
        b.row(f"flow_conservation({h})", {f"throughput({h})": 1.0} | outflow, "=", 0, "balance")
    for h in hubs:
        b.row(f"hub_capacity({h})", {f"throughput({h})": 1}, "<=", math.ceil(0.7 * total), "capacity")
    for d in sinks:
        b.row(f"meet_demand({d})", {f"flow({h},{d})": 1 for h in hubs}, ">=", need[d], "requirement")
    unstated = b.left_out(rng, len(hubs))
    for i, h in enumerate(hubs):
        name = f"min_hub_use({h})"
        if i not in unstated:
            b.row(name, {f"throughput({h})": 1}, ">=", math.floor(0.05 * total), "rule")
        else:
            b.template(name, {f"throughput({h})": 1}, ">=")
    return b.base
