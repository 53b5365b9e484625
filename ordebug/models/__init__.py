"""Model families: each module has ``datasheet(rng, size) -> DataSheet`` (the specification)
and ``build(sheet) -> BaseModel`` (the model made from it)."""

from __future__ import annotations

import random
from types import ModuleType

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
from ordebug.models.datasheet import DataSheet

FAMILIES: dict[str, ModuleType] = {
    "production": production,
    "transportation": transportation,
    "assignment": assignment,
    "facility": facility,
    "knapsack": knapsack,
    "diet": diet,
    "staffing": staffing,
    "inventory": inventory,
    "network": network,
}


def _module(family: str) -> ModuleType:
    if family not in FAMILIES:
        raise KeyError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[family]


def build_family(family: str, rng: random.Random, size: int) -> BaseModel:
    """Draw a data sheet and build the model from it; raises KeyError naming an unknown family."""
    mod = _module(family)
    return mod.build(mod.datasheet(rng, size))


def build_from_sheet(sheet: DataSheet) -> BaseModel:
    """The model a data sheet specifies (what a careful modeller would write)."""
    return _module(sheet.family).build(sheet)
