"""Capacitated facility location (MILP): open sites and serve customer demand."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder
from ordebug.models.datasheet import DataSheet, amount, down, up

STATEMENT = (
    "A retailer chooses which of its candidate warehouse sites to open and which site serves how much of "
    "each customer's weekly demand. An open site handles at most its capacity and, if open, at least its "
    "minimum throughput; a closed site handles nothing. Company policy caps the number of open sites. "
    "Minimise fixed opening costs plus service costs."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets sites (2 + size) and customers (3 + 2 * size)."""
    sites = [f"site_{i + 1}" for i in range(2 + size)]
    custs = [f"cust_{j + 1}" for j in range(3 + 2 * size)]
    s = DataSheet("facility", "Warehouse location", STATEMENT)
    demand = s.table("demand", "weekly demand", "pallets", ["customer"])
    cap = s.table("capacity", "weekly capacity of an open site", "pallets", ["site"])
    least = s.table("min_throughput", "least weekly throughput of an open site", "pallets", ["site"])
    policy = s.table("policy", "company policy", "sites", ["item"])
    fixed = s.table("fixed_cost", "weekly cost of an open site", "EUR", ["site"], objective=True)
    serve = s.table("serve_cost", "cost per pallet served", "EUR", ["site", "customer"], objective=True)
    for c in custs:
        demand.values[c] = amount(rng, 8, 46, 0.5)
    total = sum(demand.num(c) for c in custs)
    shares = [rng.uniform(0.6, 1.4) for _ in sites]
    for f, sh in zip(sites, shares, strict=True):
        cap.values[f] = up(1.25 * total * sh / sum(shares), 5)
        least.values[f] = down(cap.num(f) * rng.uniform(0.15, 0.4), 1)
        fixed.values[f] = amount(rng, 80, 260, 5)
    biggest = sorted((cap.num(f) for f in sites), reverse=True)
    # open all but one site at most, where the largest of them cover demand with some room
    policy.values["max_open_sites"] = float(len(sites) - (1 if sum(biggest[:-1]) >= 1.05 * total else 0))
    for f in sites:
        for c in custs:
            serve.values[f"{f},{c}"] = amount(rng, 1, 12, 0.25)
    s.rule("open(f) is 1 if site f is opened, else 0 (binary).")
    s.rule("serve(f,c) >= 0 is the weekly volume site f serves to customer c; continuous.")
    s.rule("meet_demand(c): sum over f of serve(f,c) >= demand[c].")
    s.rule("site_load(f): load(f) = sum over c of serve(f,c).")
    s.rule("site_capacity(f): load(f) - capacity[f] * open(f) <= 0.")
    s.rule("min_throughput(f): load(f) - min_throughput[f] * open(f) >= 0.")
    s.rule("max_open_sites: sum over f of open(f) <= policy[max_open_sites].")
    s.rule("Objective: minimise sum of fixed_cost[f] * open(f) + serve_cost[f,c] * serve(f,c).")
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    sites, custs = list(t_["capacity"].values), list(t_["demand"].values)
    b = Builder(s)
    for f in sites:
        b.var(f"open({f})", vtype="B", obj=t_["fixed_cost"].num(f), rule="R1")
    for f in sites:
        for c in custs:
            b.var(f"serve({f},{c})", obj=t_["serve_cost"].num(f, c), rule="R2")
    for f in sites:
        b.var(f"load({f})", rule="R4")
    for c in custs:
        b.row(f"meet_demand({c})", {f"serve({f},{c})": 1 for f in sites}, ">=", t_["demand"].num(c),
              "requirement", rule="R3", rhs_src=t_["demand"].ref(c))
    for f in sites:
        coefs = {f"load({f})": 1.0} | {f"serve({f},{c})": -1.0 for c in custs}
        b.row(f"site_load({f})", coefs, "=", 0, "definition", rule="R4")
    for f in sites:
        b.row(f"site_capacity({f})", {f"load({f})": 1, f"open({f})": -t_["capacity"].num(f)}, "<=", 0, "link",
              rule="R5", coef_src={f"open({f})": t_["capacity"].ref(f)})
    for f in sites:
        b.row(f"min_throughput({f})", {f"load({f})": 1, f"open({f})": -t_["min_throughput"].num(f)}, ">=", 0,
              "link", rule="R6", coef_src={f"open({f})": t_["min_throughput"].ref(f)})
    b.row("max_open_sites", {f"open({f})": 1 for f in sites}, "<=", t_["policy"].num("max_open_sites"), "capacity",
          rule="R7", rhs_src=t_["policy"].ref("max_open_sites"))
    return b.base
