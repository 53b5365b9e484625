"""Baselines: a seeded random agent and drop-the-first-IIS-row."""

from __future__ import annotations

import random

from ordebug import actions as act
from ordebug.agents.base import answer
from ordebug.agents.view import parse_observation


class DropFirstIISAgent:
    """Drop the first row of the IIS until the model is feasible, then submit."""

    name = "drop_first_iis"

    def reset(self, seed: int = 0) -> None:
        pass

    def act(self, observation: str) -> str:
        v = parse_observation(observation)
        if v.status != "INFEASIBLE" or not v.iis_rows or v.steps_left <= 1:
            return answer([f"The model is {v.status.lower()}; submit."], act.submit())
        first = v.iis_rows[0].name
        return answer([f"The first IIS row is {first}; drop it."], act.drop(first))


class RandomAgent:
    """Random edits on IIS members (seeded per episode), submitting after a few."""

    name = "random"

    def __init__(self, max_edits: int = 3) -> None:
        self.max_edits = max_edits
        self.rng = random.Random(0)
        self.edits = 0

    def reset(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.edits = 0

    def act(self, observation: str) -> str:
        v = parse_observation(observation)
        if v.status != "INFEASIBLE" or self.edits >= self.max_edits or v.steps_left <= 1 or not v.iis_rows:
            return answer(["Submit."], act.submit())
        row = self.rng.choice(v.iis_rows)
        self.edits += 1
        choice = self.rng.choice(["drop", "flip", "relax", "inspect"])
        if choice == "inspect":
            self.edits -= 1
            return answer([f"Look at {row.name}."], act.inspect(row.name))
        if choice == "flip" and row.sense != "=":
            return answer([f"Flip {row.name}."], act.flip_sense(row.name))
        if choice == "relax":
            amount = max(1.0, abs(row.rhs) * self.rng.uniform(0.1, 1.0))
            return answer([f"Relax {row.name}."], act.relax(row.name, round(amount, 3)))
        return answer([f"Drop {row.name}."], act.drop(row.name))
