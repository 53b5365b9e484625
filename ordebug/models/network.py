"""Min-cost network flow (LP): ship from sources through hubs to destinations over arcs."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder, name_exception
from ordebug.models.datasheet import (
    DataSheet,
    amount,
    booked_total,
    directed_text,
    direction,
    down,
    exception_key,
    keep_some,
    other_way,
    up,
    whole_members,
)

STATEMENT = (
    "A parcel network moves volume from depots through sorting hubs to destination cities. Every arc has "
    "a capacity, every depot a supply, every hub a sorting capacity, and the staff agreement of some hubs"
    " bounds their throughput (the rules say which way). A hub sends out what comes in. Some depots "
    "booked their outbound volume in advance; some arcs carry whole thousands of parcels only (full "
    "trailers). Each city's need must be met. Minimise transport cost."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets depots (1 + size), hubs (2 + size) and cities (2 + size)."""
    sources = [f"depot_{i + 1}" for i in range(1 + size)]
    hubs = [f"hub_{i + 1}" for i in range(2 + size)]
    sinks = [f"city_{i + 1}" for i in range(2 + size)]
    s = DataSheet("network", "Parcel network flow", STATEMENT)
    supply = s.table("supply", "depot supply", "k parcels", ["depot"])
    need = s.table("need", "city need", "k parcels", ["city"])
    arc = s.table("arc_cap", "arc capacity", "k parcels", ["from", "to"])
    hcap = s.table("hub_cap", "sorting capacity", "k parcels", ["hub"])
    least = s.table("agreed_use", "hub throughput in the staff agreement (listed hubs only)", "k parcels", ["hub"])
    plan = s.table("planned_use", "hub throughput in the operations plan (listed hubs only)", "k parcels", ["hub"])
    bound, aim = direction(rng), direction(rng)
    odd = {"agreed_use": exception_key(rng, hubs), "planned_use": exception_key(rng, hubs)}
    cost = s.table("cost", "cost per unit on an arc", "EUR", ["from", "to"], objective=True)
    flow = {}
    for d in sinks:
        need.values[d] = amount(rng, 12, 64, 0.5)
    hw = {h: rng.uniform(0.6, 1.4) for h in hubs}
    sw = {x: rng.uniform(0.6, 1.4) for x in sources}
    for h in hubs:
        for d in sinks:
            flow[h, d] = need.num(d) * hw[h] / sum(hw.values())
        through = sum(flow[h, d] for d in sinks)
        for x in sources:
            flow[x, h] = through * sw[x] / sum(sw.values())
        hcap.values[h] = up(through * rng.uniform(1.03, 1.2), 1)
        # near the plan, on its side of it: a floor or a cap may bind, and the plan meets either
        for table, sense in ((least, bound), (plan, aim)):
            sense = other_way(sense) if odd[table.name] == h else sense
            table.values[h] = down(through * rng.uniform(0.88, 1.0), 0.5) if sense == ">=" else up(
                through * rng.uniform(1.0, 1.12), 0.5)
    for x in sources:
        supply.values[x] = up(sum(flow[x, h] for h in hubs) * rng.uniform(1.03, 1.15), 1)
    for (u, v), f in flow.items():
        arc.values[f"{u},{v}"] = up(f * rng.uniform(1.05, 1.35) + 0.5, 0.5)
        cost.values[f"{u},{v}"] = amount(rng, 1, 15, 0.25)
    s.rule("flow(u,v) >= 0 is the volume on arc (u,v), at most arc_cap[u,v]; continuous, but whole thousands "
           "only on the arcs listed in whole_lots.")
    s.rule("supply_limit(x): sum over hubs h of flow(x,h) <= supply[x].")
    s.rule("hub_inflow(h): throughput(h) = sum over depots x of flow(x,h).")
    s.rule("flow_conservation(h): throughput(h) = sum over cities d of flow(h,d).")
    s.rule("hub_capacity(h), for each hub listed in hub_cap: throughput(h) <= hub_cap[h].")
    r_least = s.rule(directed_text("hub_agreement(h), for each hub listed in agreed_use", "throughput(h)", bound,
                                   "agreed_use[h]"))
    s.rule("meet_demand(d): sum over hubs h of flow(h,d) >= need[d].")
    booked = s.table("booked", "outbound volume a depot booked in advance, over all its arcs to hubs", "k parcels",
                     ["depot"])
    for x in rng.sample(sources, min(2, len(sources) - 1)):
        booked.values[x] = booked_total(rng, sum(flow[x, h] for h in hubs))
        supply.values[x] = max(supply.num(x), up(booked.num(x), 1))
    s.rule("booked(x), for each depot listed in booked: sum over hubs h of flow(x,h) = booked[x].")
    whole_members(rng, s, "arc", ["from", "to"], [f"{u},{v}" for u, v in flow], booked,
                  {x: [f"{x},{h}" for h in hubs] for x in booked.values}, "flow(u,v)")
    r_plan = s.rule(directed_text("hub_plan(h), for each hub listed in planned_use", "throughput(h)", aim,
                                  "planned_use[h]"))
    s.rule("Objective: minimise sum of cost[u,v] * flow(u,v).")
    keep_some(rng, hcap, least, plan)
    name_exception(s, r_least, least, odd["agreed_use"])
    name_exception(s, r_plan, plan, odd["planned_use"])
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    sources, sinks = list(t_["supply"].values), list(t_["need"].values)
    hubs = list(dict.fromkeys(u for u, v in (k.split(",") for k in t_["arc_cap"].values) if v in sinks))
    b = Builder(s)
    for key in t_["arc_cap"].values:
        u, v = key.split(",")
        b.var(f"flow({u},{v})", 0, t_["arc_cap"].num(u, v), obj=t_["cost"].num(u, v), rule="R1",
              ub_src=t_["arc_cap"].ref(u, v))
    for h in hubs:
        b.var(f"throughput({h})", rule="R3")
    for x in sources:
        b.row(f"supply_limit({x})", {f"flow({x},{h})": 1 for h in hubs}, "<=", t_["supply"].num(x), "capacity",
              rule="R2", rhs_src=t_["supply"].ref(x))
    for h in hubs:
        coefs = {f"throughput({h})": 1.0} | {f"flow({x},{h})": -1.0 for x in sources}
        b.row(f"hub_inflow({h})", coefs, "=", 0, "definition", rule="R3")
        coefs = {f"throughput({h})": 1.0} | {f"flow({h},{d})": -1.0 for d in sinks}
        b.row(f"flow_conservation({h})", coefs, "=", 0, "balance", rule="R4")
    for h in hubs:
        b.listed_row(f"hub_capacity({h})", {f"throughput({h})": 1}, "<=", t_["hub_cap"], h, "capacity", rule="R5")
    for h in hubs:
        b.listed_row(f"hub_agreement({h})", {f"throughput({h})": 1}, ">=", t_["agreed_use"], h, "rule", rule="R6")
    for d in sinks:
        b.row(f"meet_demand({d})", {f"flow({h},{d})": 1 for h in hubs}, ">=", t_["need"].num(d), "requirement",
              rule="R7", rhs_src=t_["need"].ref(d))
    for x in t_["booked"].values:
        members = {f"flow({x},{h})": f"{x},{h}" for h in hubs}
        b.pinned_total(f"booked({x})", members, t_["booked"], x, "requirement", rule="R8")
    for h in hubs:
        b.listed_row(f"hub_plan({h})", {f"throughput({h})": 1}, ">=", t_["planned_use"], h, "rule", rule="R10")
    for key in t_["arc_cap"].values:
        b.whole(f"flow({key})", key)
    return b.base
