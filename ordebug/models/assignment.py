"""Generalised assignment (MILP): give every task to one worker within working hours."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder
from ordebug.models.datasheet import DataSheet, amount, directed_text, direction, down, keep_some, up

STATEMENT = (
    "A service team assigns each of this week's tasks to exactly one technician. A task takes a "
    "technician-specific time; each technician works at most their available hours, takes at most their "
    "task limit, and some technicians' contracts bound their hours (the rules say which way). Minimise "
    "assignment cost."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets workers (2 + size) and tasks (4 + 2 * size)."""
    workers = [f"tech_{i + 1}" for i in range(2 + size)]
    tasks = [f"task_{j + 1}" for j in range(4 + 2 * size)]
    s = DataSheet("assignment", "Task assignment", STATEMENT)
    dur = s.table("duration", "time a technician needs for a task", "hours", ["worker", "task"])
    avail = s.table("available", "hours available this week", "hours", ["worker"])
    maxt = s.table("max_tasks", "most tasks per technician", "tasks", ["worker"])
    least = s.table("contract_hours", "hours in the technician's contract (listed technicians only)", "hours",
                    ["worker"])
    bound = direction(rng)
    cost = s.table("cost", "cost of an assignment", "EUR", ["worker", "task"], objective=True)
    base = {j: rng.uniform(1.5, 7.5) for j in tasks}
    for w in workers:
        speed = rng.uniform(0.8, 1.25)
        for j in tasks:
            dur.values[f"{w},{j}"] = amount(rng, base[j] * speed * 0.9, base[j] * speed * 1.1, 0.25)
            cost.values[f"{w},{j}"] = amount(rng, 20, 95, 1)
    # a reference plan: tasks dealt round-robin by length
    plan: dict[str, list[str]] = {w: [] for w in workers}
    for n, j in enumerate(sorted(tasks, key=lambda j: -base[j])):
        plan[workers[n % len(workers)]].append(j)
    for w in workers:
        h = sum(dur.num(w, j) for j in plan[w])
        avail.values[w] = up(h * rng.uniform(1.05, 1.25) + 0.5, 0.5)
        maxt.values[w] = float(len(plan[w]) + rng.randint(1, 2))
        # near the plan, on its side of it: a floor or a cap may bind, and the plan meets either
        least.values[w] = down(h * rng.uniform(0.88, 1.0), 0.5) if bound == ">=" else up(h * rng.uniform(1, 1.12), 0.5)
    s.rule("assign(w,j) is 1 if technician w does task j, else 0 (binary).")
    s.rule("cover_task(j): sum over w of assign(w,j) = 1.")
    s.rule("worker_hours(w): hours(w) = sum over j of duration[w,j] * assign(w,j).")
    s.rule("hours_limit(w), for each technician listed in available: hours(w) <= available[w].")
    s.rule("max_tasks(w): sum over j of assign(w,j) <= max_tasks[w].")
    s.rule(directed_text("contract_hours(w), for each technician listed in contract_hours", "hours(w)", bound,
                         "contract_hours[w]"))
    s.rule("Objective: minimise sum of cost[w,j] * assign(w,j).")
    keep_some(rng, avail, least)
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    workers = list(t_["max_tasks"].values)
    tasks = sorted({k.split(",")[1] for k in t_["duration"].values}, key=lambda x: int(x.split("_")[1]))
    b = Builder(s)
    for w in workers:
        for j in tasks:
            b.var(f"assign({w},{j})", vtype="B", obj=t_["cost"].num(w, j), rule="R1")
    for w in workers:
        b.var(f"hours({w})", rule="R3")
    for j in tasks:
        b.row(f"cover_task({j})", {f"assign({w},{j})": 1 for w in workers}, "=", 1, "requirement", rule="R2")
    for w in workers:
        coefs = {f"hours({w})": 1.0} | {f"assign({w},{j})": -t_["duration"].num(w, j) for j in tasks}
        b.row(f"worker_hours({w})", coefs, "=", 0, "definition", rule="R3",
              coef_src={f"assign({w},{j})": t_["duration"].ref(w, j) for j in tasks})
    for w in workers:
        b.listed_row(f"hours_limit({w})", {f"hours({w})": 1}, "<=", t_["available"], w, "capacity", rule="R4")
    for w in workers:
        b.row(f"max_tasks({w})", {f"assign({w},{j})": 1 for j in tasks}, "<=", t_["max_tasks"].num(w), "capacity",
              rule="R5", rhs_src=t_["max_tasks"].ref(w))
    for w in workers:
        b.listed_row(f"contract_hours({w})", {f"hours({w})": 1}, ">=", t_["contract_hours"], w, "rule", rule="R6")
    return b.base
