"""Diet / blending: servings of foods meeting nutrient windows at least cost."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder, name_exception
from ordebug.models.datasheet import (
    DataSheet,
    amount,
    directed_text,
    direction,
    down,
    exception_key,
    keep_some,
    other_way,
    up,
    whole_lots,
)

FOODS = ["oats", "rice", "beans", "milk", "eggs", "spinach", "lentils", "bread", "apple", "tofu", "yogurt",
         "peas", "barley", "carrot", "salmon", "cheese", "potato", "chickpeas", "banana", "walnuts"]
NUTRIENTS = {"protein": "g", "fiber": "g", "calcium": "mg", "iron": "mg", "vitamin_c": "mg", "energy": "kcal",
             "potassium": "mg", "magnesium": "mg", "zinc": "mg", "folate": "ug"}
SCALE = {"g": (0.2, 14), "mg": (2, 180), "kcal": (40, 320), "ug": (5, 120)}


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets foods (4 + 2 * size) and nutrients (2 + size)."""
    nf, nn = 4 + 2 * size, 2 + size
    foods = FOODS[:nf] if nf <= len(FOODS) else [f"food_{i + 1}" for i in range(nf)]
    nutrients = list(NUTRIENTS)[:nn] if nn <= len(NUTRIENTS) else [f"nutrient_{i + 1}" for i in range(nn)]
    s = DataSheet("diet", "Menu planning", STATEMENT)
    content = s.table("content", "nutrient per serving (unit of the nutrient)", "per serving",
                      ["nutrient", "food"])
    most = s.table("max_servings", "most servings of a food per day", "servings", ["food"])
    low = s.table("min_intake", "daily minimum", "nutrient unit", ["nutrient"])
    high = s.table("guideline", "daily intake in the dietary guideline (listed nutrients only)", "nutrient unit",
                   ["nutrient"])
    target = s.table("dietitian_target", "daily intake the dietitian sets (listed nutrients only)",
                     "nutrient unit", ["nutrient"])
    bound, aim = direction(rng), direction(rng)
    odd = {"guideline": exception_key(rng, nutrients), "dietitian_target": exception_key(rng, nutrients)}
    price = s.table("price", "price per serving", "EUR", ["food"], objective=True)
    ref = {}
    for f in foods:
        most.values[f] = amount(rng, 1.5, 5, 0.5)
        price.values[f] = amount(rng, 0.2, 2.8, 0.05)
        ref[f] = rng.uniform(0.35, 0.85) * most.num(f)
    for n in nutrients:
        lo, hi = SCALE[NUTRIENTS.get(n, "mg")]
        for f in foods:
            if rng.random() < 0.75:
                content.values[f"{n},{f}"] = amount(rng, lo, hi, 0.1 if hi < 20 else 1)
        have = sum(float(content.values.get(f"{n},{f}", 0)) * ref[f] for f in foods)
        low.values[n] = down(have * rng.uniform(0.75, 0.95), 1)
        for table, sense in ((high, bound), (target, aim)):
            sense = other_way(sense) if odd[table.name] == n else sense
            if sense == "<=":
                table.values[n] = up(have * rng.uniform(1.08, 1.35) + 1, 1)
            else:
                table.values[n] = down(have * rng.uniform(0.85, 1.0), 1)
    s.rule("servings(f) >= 0 is the daily servings of food f, at most max_servings[f]; continuous.")
    s.rule("nutrient_intake(n): intake(n) = sum over f of content[n,f] * servings(f) "
           "(foods without an entry have none of n).")
    s.rule("min_nutrient(n), for each nutrient listed in min_intake: intake(n) >= min_intake[n].")
    r_high = s.rule(directed_text("guideline(n), for each nutrient listed in guideline", "intake(n)", bound,
                                  "guideline[n]"))
    fixed = s.table("prescribed", "servings the dietitian prescribes exactly", "servings", ["food"])
    for f in rng.sample(foods, 2):
        whole = rng.random() < 0.35
        fixed.values[f] = min(max(0.5, round(ref[f] - 0.5, 0) + (0.0 if whole else 0.5)), most.num(f) - 0.5)
    s.rule("prescribed(f), for each food listed in prescribed: servings(f) = prescribed[f].")
    whole_lots(rng, s, fixed, "servings(f)")
    r_target = s.rule(directed_text("dietitian_target(n), for each nutrient listed in dietitian_target", "intake(n)",
                                    aim, "dietitian_target[n]"))
    s.rule("Objective: minimise sum of price[f] * servings(f).")
    keep_some(rng, low, high, target)
    name_exception(s, r_high, high, odd["guideline"])
    name_exception(s, r_target, target, odd["dietitian_target"])
    return s


STATEMENT = (
    "A hospital kitchen plans a daily menu from foods served in portions. Each food gives amounts of "
    "nutrients per serving; each nutrient's daily intake must reach its minimum, dietary guidelines bound"
    " the intake of some nutrients (the rules say which way), and no food may be served more than its "
    "daily limit. Minimise the cost of the menu."
)


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    foods = list(t_["max_servings"].values)
    nutrients = list(dict.fromkeys([*t_["min_intake"].values, *(k.split(",")[0] for k in t_["content"].values)]))
    b = Builder(s)
    for f in foods:
        b.var(f"servings({f})", 0, t_["max_servings"].num(f), obj=t_["price"].num(f), rule="R1",
              ub_src=t_["max_servings"].ref(f))
    for n in nutrients:
        b.var(f"intake({n})", rule="R2")
    content = t_["content"]
    for n in nutrients:
        have = [f for f in foods if f"{n},{f}" in content.values]
        coefs = {f"intake({n})": 1.0} | {f"servings({f})": -content.num(n, f) for f in have}
        b.row(f"nutrient_intake({n})", coefs, "=", 0, "definition", rule="R2",
              coef_src={f"servings({f})": content.ref(n, f) for f in have})
    for n in nutrients:
        b.listed_row(f"min_nutrient({n})", {f"intake({n})": 1}, ">=", t_["min_intake"], n, "requirement", rule="R3")
    for n in nutrients:
        b.listed_row(f"guideline({n})", {f"intake({n})": 1}, "<=", t_["guideline"], n, "rule", rule="R4")
    for f in t_["prescribed"].values:
        b.pinned_row(f"prescribed({f})", f"servings({f})", t_["prescribed"], f, "requirement", rule="R5")
    for n in nutrients:
        b.listed_row(f"dietitian_target({n})", {f"intake({n})": 1}, "<=", t_["dietitian_target"], n, "rule",
                     rule="R7")
    return b.base
