"""Model families: each module has ``build(rng, scale) -> BaseModel``."""

from __future__ import annotations

import random
from collections.abc import Callable

from ordebug.models import (
    assignment,
    diet,
    facility,
    inventory,
    knapsack,
    network,
    production,
    staffing,
    transportation,
)
from ordebug.models.base import BaseModel

FAMILIES: dict[str, Callable[[random.Random, int], BaseModel]] = {
    "production": production.build,
    "transportation": transportation.build,
    "assignment": assignment.build,
    "facility": facility.build,
    "knapsack": knapsack.build,
    "diet": diet.build,
    "staffing": staffing.build,
    "inventory": inventory.build,
    "network": network.build,
}


def build_family(family: str, rng: random.Random, scale: int) -> BaseModel:
    """Build one base model; raises KeyError naming the unknown family."""
    if family not in FAMILIES:
        raise KeyError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[family](rng, scale)
