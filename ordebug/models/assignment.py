"""Generalised assignment (MILP): assign every task to one worker within working hours."""

from __future__ import annotations

import math
import random

from ordebug.models.base import BaseModel, Builder


def build(rng: random.Random, scale: int) -> BaseModel:
    """``scale`` sets workers (2 + scale) and tasks (4 + 2 * scale)."""
    workers = [f"w{i + 1}" for i in range(2 + scale)]
    tasks = [f"task_{j + 1}" for j in range(4 + 2 * scale)]
    b = Builder("assignment")
    hours = {j: rng.randint(2, 8) for j in tasks}
    limit = {w: math.ceil(1.15 * sum(hours.values()) / len(workers)) + rng.randint(0, 3) for w in workers}
    for w in workers:
        for j in tasks:
            b.var(f"assign({w},{j})", vtype="B", obj=rng.randint(3, 20))
    for w in workers:
        b.var(f"hours({w})")
    for j in tasks:
        b.row(f"cover_task({j})", {f"assign({w},{j})": 1 for w in workers}, "=", 1, "requirement")
    for w in workers:
        coefs = {f"hours({w})": 1.0} | {f"assign({w},{j})": -hours[j] for j in tasks}
        b.row(f"worker_hours({w})", coefs, "=", 0, "definition")
    for w in workers:
        b.row(f"hours_limit({w})", {f"hours({w})": 1}, "<=", limit[w], "capacity")
    unstated = b.left_out(rng, len(workers))
    for i, w in enumerate(workers):
        name = f"max_tasks({w})"
        if i not in unstated:
            b.row(name, {f"assign({w},{j})": 1 for j in tasks}, "<=", len(tasks) - 1, "rule")
        else:
            b.template(name, {f"assign({w},{j})": 1 for j in tasks}, "<=")
    unstated_2 = b.left_out(rng, len(workers))
    for i, w in enumerate(workers):
        name = f"min_hours({w})"
        if i not in unstated_2:
            b.row(name, {f"hours({w})": 1}, ">=", 2, "rule")
        else:
            b.template(name, {f"hours({w})": 1}, ">=")
    return b.base
