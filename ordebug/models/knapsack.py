"""Multi-knapsack (MILP): load items onto trucks by weight and volume, maximise value shipped."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder
from ordebug.models.datasheet import DataSheet, amount, directed_text, direction, down, keep_some, up

STATEMENT = (
    "A dispatcher loads items onto trucks for one trip. Each truck has a weight and a volume limit, and "
    "the haulier's agreement bounds the load of some trucks (the rules say which way). An item goes on at"
    " most one truck; items marked urgent must go. Maximise the value shipped."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets items (5 + 2 * size) and trucks (2 + size // 2)."""
    items = [f"item_{i + 1}" for i in range(5 + 2 * size)]
    trucks = [f"truck_{k + 1}" for k in range(2 + size // 2)]
    s = DataSheet("knapsack", "Truck loading", STATEMENT)
    weight = s.table("weight", "item weight", "kg", ["item"])
    volume = s.table("volume", "item volume", "m3", ["item"])
    urgent = s.table("urgent", "must be shipped", "yes/no", ["item"])
    wcap = s.table("weight_cap", "truck weight limit", "kg", ["truck"])
    vcap = s.table("volume_cap", "truck volume limit", "m3", ["truck"])
    least = s.table("agreed_load", "load in the haulier's agreement for the trip (listed trucks only)", "kg",
                    ["truck"])
    bound = direction(rng)
    value = s.table("value", "value of an item shipped", "EUR", ["item"], objective=True)
    for i in items:
        weight.values[i] = amount(rng, 40, 320, 0.5)
        volume.values[i] = amount(rng, 0.2, 2.4, 0.05)
        value.values[i] = amount(rng, 20, 140, 1)
    tw, tv = sum(weight.num(i) for i in items), sum(volume.num(i) for i in items)
    for k in trucks:
        wcap.values[k] = up(0.4 * tw / len(trucks) * rng.uniform(0.85, 1.2), 10)
        vcap.values[k] = up(0.5 * tv / len(trucks) * rng.uniform(0.85, 1.2), 0.1)
        low, high = (0.3, 0.55) if bound == ">=" else (0.8, 0.97)  # a floor the trip pays at, a road's cap
        least.values[k] = down(wcap.num(k) * rng.uniform(low, high), 10)
    chosen: list[str] = []
    small = min(wcap.num(k) for k in trucks), min(vcap.num(k) for k in trucks)
    for i in rng.sample(items, max(3, len(items) // 3)):
        if (sum(weight.num(j) for j in [*chosen, i]) <= 0.8 * small[0]
                and sum(volume.num(j) for j in [*chosen, i]) <= 0.8 * small[1]):
            chosen.append(i)
    for i in items:
        urgent.values[i] = "yes" if i in chosen else "no"
    s.rule("pack(i,k) is 1 if item i goes on truck k, else 0 (binary).")
    s.rule("truck_load(k): load(k) = sum over i of weight[i] * pack(i,k).")
    s.rule("weight_limit(k): load(k) <= weight_cap[k].")
    s.rule("volume_limit(k): sum over i of volume[i] * pack(i,k) <= volume_cap[k].")
    s.rule("pack_once(i): sum over k of pack(i,k) <= 1.")
    s.rule("must_ship(i), for each item with urgent[i] = yes: sum over k of pack(i,k) >= 1.")
    s.rule(directed_text("trip_load(k), for each truck listed in agreed_load", "load(k)", bound, "agreed_load[k]"))
    s.rule("Objective: maximise sum of value[i] * pack(i,k).")
    keep_some(rng, least)
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    items, trucks = list(t_["weight"].values), list(t_["weight_cap"].values)
    b = Builder(s, sense="maximize")
    for i in items:
        for k in trucks:
            b.var(f"pack({i},{k})", vtype="B", obj=t_["value"].num(i), rule="R1")
    for k in trucks:
        b.var(f"load({k})", rule="R2")
    for k in trucks:
        coefs = {f"load({k})": 1.0} | {f"pack({i},{k})": -t_["weight"].num(i) for i in items}
        b.row(f"truck_load({k})", coefs, "=", 0, "definition", rule="R2",
              coef_src={f"pack({i},{k})": t_["weight"].ref(i) for i in items})
    for k in trucks:
        b.row(f"weight_limit({k})", {f"load({k})": 1}, "<=", t_["weight_cap"].num(k), "capacity", rule="R3",
              rhs_src=t_["weight_cap"].ref(k))
    for k in trucks:
        b.row(f"volume_limit({k})", {f"pack({i},{k})": t_["volume"].num(i) for i in items}, "<=",
              t_["volume_cap"].num(k), "capacity", rule="R4", rhs_src=t_["volume_cap"].ref(k),
              coef_src={f"pack({i},{k})": t_["volume"].ref(i) for i in items})
    for i in items:
        b.row(f"pack_once({i})", {f"pack({i},{k})": 1 for k in trucks}, "<=", 1, "capacity", rule="R5")
    for i in items:
        if t_["urgent"][i] == "yes":
            b.row(f"must_ship({i})", {f"pack({i},{k})": 1 for k in trucks}, ">=", 1, "requirement", rule="R6")
    for k in trucks:
        b.listed_row(f"trip_load({k})", {f"load({k})": 1}, ">=", t_["agreed_load"], k, "rule", rule="R7")
    return b.base
