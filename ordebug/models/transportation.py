"""Transportation: plants ship to stores over lanes, within plant supply and lane capacities."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder
from ordebug.models.datasheet import (
    DataSheet,
    amount,
    booked_total,
    directed_text,
    direction,
    down,
    keep_some,
    key_of,
    up,
    whole_members,
)

STATEMENT = (
    "A company ships a product from its plants to its stores. Each store is reached from some plants "
    "only, over lanes with a capacity per planning week. Each plant has a weekly supply, and the contract"
    " of some plants with their carrier bounds the weekly volume they ship (the rules say which way); "
    "some plants have booked their weekly volume in advance. Some lanes carry whole tonnes only (full "
    "pallets). Every store's demand must be met. Minimise freight cost."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets plants (2 + size) and stores (2 + 2 * size)."""
    plants = [f"plant_{i + 1}" for i in range(2 + size)]
    stores = [f"store_{j + 1}" for j in range(2 + 2 * size)]
    s = DataSheet("transportation", "Distribution plan", STATEMENT)
    supply = s.table("supply", "weekly supply", "t", ["plant"])
    demand = s.table("demand", "weekly demand", "t", ["store"])
    lane = s.table("lane_cap", "lane capacity (lanes not listed do not exist)", "t", ["plant", "store"])
    least = s.table("contract_volume", "weekly volume in the carrier contract (listed plants only)", "t", ["plant"])
    bound = direction(rng)
    freight = s.table("freight", "freight cost", "EUR", ["plant", "store"], objective=True)
    flow = dict.fromkeys(plants, 0.0)
    lanes = {}
    for st in stores:
        demand.values[st] = amount(rng, 18, 95, 0.5)
        served = sorted(rng.sample(plants, min(len(plants), rng.randint(2, 3))))
        w = [rng.uniform(0.5, 1.0) for _ in served]
        for p, wt in zip(served, w, strict=True):
            lanes[p, st] = demand.num(st) * wt / sum(w)
            flow[p] += lanes[p, st]
    for p in plants:
        for st in stores:
            if (p, st) in lanes:
                lane.values[f"{p},{st}"] = up(lanes[p, st] * rng.uniform(1.05, 1.3), 0.5)
                freight.values[f"{p},{st}"] = amount(rng, 3, 26, 0.25)
        supply.values[p] = up(flow[p] * rng.uniform(1.03, 1.15), 5)
        # near the plan, on its side of it: a floor or a cap may bind, and the plan meets either
        least.values[p] = down(flow[p] * rng.uniform(0.88, 1.0), 5) if bound == ">=" else up(
            flow[p] * rng.uniform(1.0, 1.1), 5)
    s.rule("ship(p,s) >= 0 is the weekly volume from plant p to store s on an existing lane, "
           "at most lane_cap[p,s]; continuous, but whole tonnes only on the lanes listed in whole_lots.")
    s.rule("plant_output(p): out(p) = sum over s of ship(p,s).")
    s.rule("plant_capacity(p), for each plant listed in supply: out(p) <= supply[p].")
    s.rule("meet_demand(s): sum over p of ship(p,s) >= demand[s].")
    s.rule(directed_text("carrier_contract(p), for each plant listed in contract_volume", "out(p)", bound,
                         "contract_volume[p]"))
    committed = s.table("committed", "weekly volume a plant booked in advance, over all its lanes", "t", ["plant"])
    lanes_of = {p: [key_of(p, st) for q, st in sorted(lanes) if q == p] for p in plants}
    most = max(len(x) for x in lanes_of.values())
    wide = [p for p in plants if len(lanes_of[p]) >= max(3, most - 1)] or plants  # the widest: many lanes
    for p in rng.sample(wide, min(2, len(wide))):
        committed.values[p] = booked_total(rng, flow[p])
        supply.values[p] = max(supply.num(p), up(committed.num(p), 5))
    s.rule("committed(p), for each plant listed in committed: sum over s of ship(p,s) = committed[p].")
    whole_members(rng, s, "lane", ["plant", "store"], [key_of(*k) for k in sorted(lanes)], committed,
                  {p: lanes_of[p] for p in committed.values}, "ship(p,s)")
    s.rule("Objective: minimise sum of freight[p,s] * ship(p,s).")
    keep_some(rng, supply, least)
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    named = {*t_["supply"].values, *(k.split(",")[0] for k in t_["lane_cap"].values)}
    plants = sorted(named, key=lambda p: int(p.rsplit("_", 1)[1]))  # supply may leave one out (type D)
    stores = list(t_["demand"].values)
    lanes = [tuple(k.split(",")) for k in t_["lane_cap"].values]
    b = Builder(s)
    for p, st in lanes:
        b.var(f"ship({p},{st})", 0, t_["lane_cap"].num(p, st), obj=t_["freight"].num(p, st), rule="R1",
              ub_src=t_["lane_cap"].ref(p, st))
    for p in plants:
        b.var(f"out({p})", rule="R2")
    for p in plants:
        coefs = {f"out({p})": 1.0} | {f"ship({q},{st})": -1.0 for q, st in lanes if q == p}
        b.row(f"plant_output({p})", coefs, "=", 0, "definition", rule="R2")
    for p in plants:
        b.listed_row(f"plant_capacity({p})", {f"out({p})": 1}, "<=", t_["supply"], p, "capacity", rule="R3")
    for st in stores:
        coefs = {f"ship({p},{q})": 1 for p, q in lanes if q == st}
        b.row(f"meet_demand({st})", coefs, ">=", t_["demand"].num(st), "requirement", rule="R4",
              rhs_src=t_["demand"].ref(st))
    for p in plants:
        b.listed_row(f"carrier_contract({p})", {f"out({p})": 1}, ">=", t_["contract_volume"], p, "rule", rule="R5")
    for p in t_["committed"].values:
        members = {f"ship({q},{st})": f"{q},{st}" for q, st in lanes if q == p}
        b.pinned_total(f"committed({p})", members, t_["committed"], p, "requirement", rule="R6")
    for p, st in lanes:
        b.whole(f"ship({p},{st})", f"{p},{st}")
    return b.base
