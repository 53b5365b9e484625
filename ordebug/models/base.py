"""Shared pieces of the model families: a builder and the generated base model."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ordebug.solver.spec import INF, ModelSpec, Row, Var

# Row roles steer the error injectors; they are never written into a problem record.
ROLES = ("requirement", "capacity", "definition", "link", "rule", "balance")


@dataclass
class RuleTemplate:
    """A business rule of the family that the base model does not state for this entity.

    Type D adds one, with a right-hand side that contradicts the rest of the model."""

    name: str
    coefs: dict[str, float]
    sense: str


@dataclass
class BaseModel:
    """A feasible base model plus the structure the injectors need."""

    family: str
    spec: ModelSpec
    roles: dict[str, str] = field(default_factory=dict)
    rule_templates: list[RuleTemplate] = field(default_factory=list)
    integrality_candidates: list[str] = field(default_factory=list)

    def rows_with(self, *roles: str) -> list[str]:
        return [r for r, role in self.roles.items() if role in roles and r in self.spec.rows]


class Builder:
    """Collects variables and rows in order, with a role per row."""

    def __init__(self, family: str, sense: str = "minimize") -> None:
        self.base = BaseModel(family, ModelSpec(name=family, sense=sense))

    def var(self, name: str, lb: float = 0.0, ub: float = INF, vtype: str = "C", obj: float = 0.0) -> str:
        self.base.spec.add_var(Var(name, float(lb), float(ub), vtype, float(obj)))
        return name

    def row(self, name: str, coefs: dict[str, float], sense: str, rhs: float, role: str) -> str:
        assert role in ROLES, role
        self.base.spec.add_row(Row.make(name, {k: float(v) for k, v in coefs.items() if v != 0}, sense, rhs))
        self.base.roles[name] = role
        return name

    @staticmethod
    def left_out(rng: random.Random, n: int) -> set[int]:
        """The one entity whose business rule the model does not state.

        Rules are stated for every other entity, so a rule row added by error type D
        completes its family to one row per entity, like any other family of rows:
        its name frequency gives nothing away."""
        return {rng.randrange(n)}

    def template(self, name: str, coefs: dict[str, float], sense: str) -> None:
        self.base.rule_templates.append(RuleTemplate(name, {k: float(v) for k, v in coefs.items()}, sense))


def split_total(rng: random.Random, total: float, parts: int, spread: float = 0.5) -> list[int]:
    """Split ``total`` into ``parts`` positive integers with some spread."""
    weights = [1 + spread * (2 * rng.random() - 1) for _ in range(parts)]
    s = sum(weights)
    return [max(1, math.ceil(total * w / s)) for w in weights]
