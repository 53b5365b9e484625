"""Production planning: products made over periods on shared machines to meet orders."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder
from ordebug.models.datasheet import (
    DataSheet,
    amount,
    booked,
    directed_text,
    direction,
    down,
    keep_some,
    up,
    whole_lots,
)

STATEMENT = (
    "A plant makes several products over a planning horizon of periods. Every unit takes machine time on "
    "each machine; machine time and the plant's packing throughput are limited per period. The orders of "
    "each product must be met over the horizon, and the agreement with the workforce bounds the total "
    "output of some periods (the rules say which way). Some products are made in whole units only. "
    "Minimise production cost."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets products (2 + size), periods (2 + size) and machines (2 + size // 3)."""
    prods = [f"prod_{i + 1}" for i in range(2 + size)]
    periods = [f"t{t + 1}" for t in range(2 + size)]
    machines = [f"m{k + 1}" for k in range(2 + size // 3)]
    s = DataSheet("production", "Production planning", STATEMENT)
    demand = s.table("demand", "units ordered over the horizon", "units", ["product"])
    rate = s.table("max_rate", "most units of a product made in a period (line time)", "units",
                   ["product", "period"])
    whole = s.table("whole_units", "made in whole units only", "yes/no", ["product"])
    hours = s.table("hours", "machine time per unit", "hours", ["machine", "product"])
    avail = s.table("available", "machine time available", "hours", ["machine", "period"])
    plant = s.table("plant_cap", "most units packed in a period", "units", ["period"])
    least = s.table("agreed_output", "total output in the workforce agreement (listed periods only)", "units",
                    ["period"])
    agreed = direction(rng)
    cost = s.table("unit_cost", "cost per unit made", "EUR", ["product", "period"], objective=True)
    plan = {}
    for p in prods:
        demand.values[p] = amount(rng, 60, 420)
        whole.values[p] = "yes" if rng.random() < 0.35 else "no"
        w = [rng.uniform(0.6, 1.4) for _ in periods]
        for t, wt in zip(periods, w, strict=True):
            plan[p, t] = demand.num(p) * wt / sum(w)
        for t in periods:
            rate.values[f"{p},{t}"] = up(plan[p, t] * rng.uniform(1.04, 1.3), 5)
    for m in machines:
        for p in prods:
            hours.values[f"{m},{p}"] = amount(rng, 0.3, 3.2, 0.05)
    for m in machines:
        for t in periods:
            need = sum(hours.num(m, p) * plan[p, t] for p in prods)
            avail.values[f"{m},{t}"] = up(need * rng.uniform(1.03, 1.2), 0.5)
    for t in periods:
        tot = sum(plan[p, t] for p in prods)
        plant.values[t] = up(tot * rng.uniform(1.03, 1.15), 5)
        # near the plan, on its side of it: a floor or a cap may bind, and the plan meets either
        least.values[t] = down(tot * rng.uniform(0.9, 1.0), 5) if agreed == ">=" else up(tot * rng.uniform(1, 1.08), 5)
    fixed = s.table("fixed_order", "quantity a customer fixed for the first period", "units", ["product"])
    for p in [p for p in prods if whole.values[p] == "no"][:2]:
        fixed.values[p] = booked(rng, plan[p, periods[0]])
    for p in prods:
        for t in periods:
            cost.values[f"{p},{t}"] = amount(rng, 4, 18, 0.05)
    s.rule("make(p,t) >= 0 is the quantity of product p made in period t, at most max_rate[p,t]; "
           "integer where whole_units[p] = yes, otherwise continuous.")
    s.rule("output_definition(t): total_output(t) = sum over p of make(p,t).")
    s.rule("plant_throughput(t), for each period listed in plant_cap: total_output(t) <= plant_cap[t].")
    s.rule("machine_hours(m,t), for each machine and period listed in available: "
           "sum over p of hours[m,p] * make(p,t) <= available[m,t].")
    s.rule("meet_demand(p): sum over t of make(p,t) >= demand[p].")
    s.rule(directed_text("workforce_agreement(t), for each period listed in agreed_output", "total_output(t)",
                         agreed, "agreed_output[t]"))
    s.rule("fixed_order(p), for each product listed in fixed_order: make(p,t1) = fixed_order[p].")
    whole_lots(rng, s, fixed, "make(p,t1)")
    s.rule("Objective: minimise sum of unit_cost[p,t] * make(p,t).")
    keep_some(rng, plant, avail, least)
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    prods = list(t_["demand"].values)
    periods = list(dict.fromkeys(k.split(",")[1] for k in t_["max_rate"].values))
    machines = sorted({k.split(",")[0] for k in t_["hours"].values})
    b = Builder(s)
    for p in prods:
        vt = "I" if t_["whole_units"][p] == "yes" else "C"
        for t in periods:
            b.var(f"make({p},{t})", 0, t_["max_rate"].num(p, t), vt, obj=t_["unit_cost"].num(p, t), rule="R1",
                  ub_src=t_["max_rate"].ref(p, t))
    for t in periods:
        b.var(f"total_output({t})", rule="R2")
    for t in periods:
        coefs = {f"total_output({t})": 1.0} | {f"make({p},{t})": -1.0 for p in prods}
        b.row(f"output_definition({t})", coefs, "=", 0, "definition", rule="R2")
    for t in periods:
        b.listed_row(f"plant_throughput({t})", {f"total_output({t})": 1}, "<=", t_["plant_cap"], t, "capacity",
                     rule="R3")
    for m in machines:
        for t in periods:
            coefs = {f"make({p},{t})": t_["hours"].num(m, p) for p in prods}
            srcs = {f"make({p},{t})": t_["hours"].ref(m, p) for p in prods}
            b.listed_row(f"machine_hours({m},{t})", coefs, "<=", t_["available"], f"{m},{t}", "capacity", rule="R4",
                         coef_src=srcs)
    for p in prods:
        b.row(f"meet_demand({p})", {f"make({p},{t})": 1 for t in periods}, ">=", t_["demand"].num(p),
              "requirement", rule="R5", rhs_src=t_["demand"].ref(p))
    for t in periods:
        b.listed_row(f"workforce_agreement({t})", {f"total_output({t})": 1}, ">=", t_["agreed_output"], t, "rule",
                     rule="R6")
    for p in t_["fixed_order"].values:
        b.pinned_row(f"fixed_order({p})", f"make({p},{periods[0]})", t_["fixed_order"], p, "requirement", rule="R7")
    return b.base
