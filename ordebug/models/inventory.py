"""Multi-period inventory: production, stock balance, storage and the stock the plan ends with."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder
from ordebug.models.datasheet import DataSheet, amount, directed_text, direction, keep_some, up, whole_lots

STATEMENT = (
    "A bottler plans production and stock of its products over the coming periods. Stock at the end of a "
    "period is the previous stock plus production minus demand; the stock before the first period is the "
    "opening stock counted in the warehouse. Production per period is limited by the line's capacity and "
    "by each product's batch limit, stored volume by the warehouse. The stock some products end the "
    "horizon with is bounded by the plan (the rules say which way). Minimise production and holding cost."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets products (1 + size) and periods (3 + size)."""
    prods = [f"sku_{i + 1}" for i in range(1 + size)]
    periods = [f"t{t}" for t in range(1, 4 + size)]
    s = DataSheet("inventory", "Production and inventory plan", STATEMENT)
    dem = s.table("demand", "demand", "hl", ["product", "period"])
    opening = s.table("opening", "opening stock", "hl", ["product"])
    batch = s.table("max_batch", "most production of a product in a period", "hl", ["product", "period"])
    cap = s.table("line_cap", "line capacity", "hl", ["period"])
    store = s.table("storage", "warehouse space", "hl", ["period"])
    safety = s.table("end_stock", "stock at the end of the horizon in the plan (listed products only)", "hl",
                     ["product"])
    bound = direction(rng)
    mcost = s.table("make_cost", "production cost", "EUR", ["product", "period"], objective=True)
    hcost = s.table("hold_cost", "holding cost", "EUR", ["product"], objective=True)
    plan = {}
    stock = {}
    for p in prods:
        opening.values[p] = amount(rng, 4, 30, 0.1)
        safety.values[p] = amount(rng, 3, 15, 0.5)
        hcost.values[p] = amount(rng, 0.5, 3, 0.05)
        st = opening.num(p)
        for i, t in enumerate(periods):
            dem.values[f"{p},{t}"] = amount(rng, 10, 48, 0.5)
            mcost.values[f"{p},{t}"] = amount(rng, 4, 12, 0.05)
            target = safety.num(p) if i == len(periods) - 1 else rng.uniform(0, 6)
            plan[p, t] = max(0.0, dem.num(p, t) + target - st)
            st = st + plan[p, t] - dem.num(p, t)
            stock[p, t] = st
        for t in periods:
            batch.values[f"{p},{t}"] = up(plan[p, t] * rng.uniform(1.05, 1.3) + 1, 0.5)
    if bound == "<=":  # a cap on what is left at the end (a product phased out, shelf life)
        for p in prods:
            safety.values[p] = up(safety.num(p) * rng.uniform(1.0, 1.2), 0.5)
    for t in periods:
        cap.values[t] = up(sum(plan[p, t] for p in prods) * rng.uniform(1.03, 1.2) + 1, 0.5)
        store.values[t] = up(max(sum(stock[p, t] for p in prods), 1) * rng.uniform(1.1, 1.4) + 5, 5)
    s.rule("make(p,t) >= 0 is production of p in period t, at most max_batch[p,t]; continuous.")
    s.rule("stock(p,t) >= 0 is the stock of p at the end of period t; stock(p,t0) is the opening stock.")
    s.rule("opening_stock(p): stock(p,t0) = opening[p].")
    s.rule("stock_balance(p,t): stock(p,t-1) + make(p,t) - stock(p,t) = demand[p,t].")
    s.rule("production_capacity(t), for each period listed in line_cap: sum over p of make(p,t) <= line_cap[t].")
    s.rule("storage_limit(t), for each period listed in storage: sum over p of stock(p,t) <= storage[t].")
    s.rule(directed_text("end_stock(p), for each product listed in end_stock", "stock(p,last period)", bound,
                         "end_stock[p]"))
    whole_lots(rng, s, opening, "stock(p,t0)")
    s.rule("Objective: minimise sum of make_cost[p,t] * make(p,t) + hold_cost[p] * stock(p,t).")
    keep_some(rng, cap, store, safety)
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    prods = list(t_["opening"].values)
    periods = list(dict.fromkeys(k.split(",")[1] for k in t_["demand"].values))
    b = Builder(s)
    for p in prods:
        for t in periods:
            b.var(f"make({p},{t})", 0, t_["max_batch"].num(p, t), obj=t_["make_cost"].num(p, t), rule="R1",
                  ub_src=t_["max_batch"].ref(p, t))
        for t in ["t0", *periods]:
            b.var(f"stock({p},{t})", obj=0 if t == "t0" else t_["hold_cost"].num(p), rule="R2")
    for p in prods:
        b.pinned_row(f"opening_stock({p})", f"stock({p},t0)", t_["opening"], p, "definition", rule="R3")
    for p in prods:
        prev = "t0"
        for t in periods:
            coefs = {f"stock({p},{prev})": 1, f"make({p},{t})": 1, f"stock({p},{t})": -1}
            b.row(f"stock_balance({p},{t})", coefs, "=", t_["demand"].num(p, t), "balance", rule="R4",
                  rhs_src=t_["demand"].ref(p, t))
            prev = t
    for t in periods:
        b.listed_row(f"production_capacity({t})", {f"make({p},{t})": 1 for p in prods}, "<=", t_["line_cap"], t,
                     "capacity", rule="R5")
    for t in periods:
        b.listed_row(f"storage_limit({t})", {f"stock({p},{t})": 1 for p in prods}, "<=", t_["storage"], t,
                     "capacity", rule="R6")
    last = periods[-1]
    for p in prods:
        b.listed_row(f"end_stock({p})", {f"stock({p},{last})": 1}, ">=", t_["end_stock"], p, "rule", rule="R7")
    return b.base
