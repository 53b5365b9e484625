"""Diet / blending: choose servings of foods meeting nutrient windows at least cost."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder

FOODS = ["oats", "rice", "beans", "milk", "eggs", "spinach", "lentils", "bread", "apple", "tofu", "yogurt", "peas"]
NUTRIENTS = ["protein", "fiber", "calcium", "iron", "vitamin_c", "energy"]


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets foods (4 + 2 * scale) and nutrients (2 + scale)."""
    foods = FOODS[: min(len(FOODS), 4 + 2 * scale)]
    nutrients = NUTRIENTS[: min(len(NUTRIENTS), 2 + scale)]
    b = Builder("diet")
    content = {(n, f): rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 10]) for n in nutrients for f in foods}
    max_serv = {f: rng.randint(3, 6) for f in foods}
    reference = {f: rng.uniform(0.5, 0.8) * max_serv[f] for f in foods}
    for f in foods:
        b.var(f"servings({f})", 0, max_serv[f], obj=rng.randint(1, 9))
        b.base.integrality_candidates.append(f"servings({f})")
    for n in nutrients:
        b.var(f"intake({n})")
    for n in nutrients:
        coefs = {f"intake({n})": 1.0} | {f"servings({f})": -content[n, f] for f in foods if content[n, f]}
        b.row(f"nutrient_intake({n})", coefs, "=", 0, "definition")
    for n in nutrients:
        ref = sum(content[n, f] * reference[f] for f in foods)
        b.row(f"min_nutrient({n})", {f"intake({n})": 1}, ">=", max(1, round(0.8 * ref)), "requirement")
    unstated = b.left_out(rng, len(nutrients))
    for i, n in enumerate(nutrients):
        ref = sum(content[n, f] * reference[f] for f in foods)
        name = f"max_nutrient({n})"
        if i not in unstated:
            b.row(name, {f"intake({n})": 1}, "<=", round(1.4 * ref) + 1, "capacity")
        else:
            b.template(name, {f"intake({n})": 1}, "<=")
    unstated_2 = b.left_out(rng, len(foods))
    for i, f in enumerate(foods):
        name = f"portion_limit({f})"
        if i not in unstated_2:
            b.row(name, {f"servings({f})": 1}, "<=", max_serv[f] - 1, "rule")
        else:
            b.template(name, {f"servings({f})": 1}, "<=")
    return b.base
