"""Staff scheduling (MILP): crews on overlapping shifts cover the staff required per hour."""

from __future__ import annotations

import random

from ordebug.models.base import BaseModel, Builder, name_exception
from ordebug.models.datasheet import DataSheet, amount, directed_text, direction, exception_key, keep_some, other_way

STATEMENT = (
    "A contact centre staffs a day of hourly periods with crews on shifts that each cover a run of "
    "consecutive periods. Every period needs at least the staff required. Each shift has a largest crew "
    "(desks), and the supervision plan bounds the crew of some shifts (the rules say which way). The "
    "total headcount of the day is capped by the budget. Minimise wages."
)


def datasheet(rng: random.Random, size: int) -> DataSheet:
    """``size`` sets the periods (6 + 2 * size); shifts cover 3 or 4 periods."""
    n = 6 + 2 * size
    length = rng.choice([3, 4])
    periods = [f"h{t + 1:02d}" for t in range(n)]
    shifts = [f"s{t + 1:02d}" for t in range(n - length + 1)]
    s = DataSheet("staffing", "Shift staffing", STATEMENT)
    req = s.table("required", "staff required", "people", ["period"])
    cover = s.table("covers", "periods a shift covers", "periods", ["shift"])
    most = s.table("max_crew", "largest crew of a shift", "people", ["shift"])
    least = s.table("supervised_crew", "crew in the supervision plan (listed shifts only)", "people", ["shift"])
    trained = s.table("training_crew", "crew in the training plan (listed shifts only)", "people", ["shift"])
    bound, aim = direction(rng), direction(rng)
    odd = {"supervised_crew": exception_key(rng, shifts), "training_crew": exception_key(rng, shifts)}
    policy = s.table("policy", "budget", "people", ["item"])
    wage = s.table("wage", "wage per person on a shift", "EUR", ["shift"], objective=True)
    for t in periods:
        req.values[t] = float(rng.randint(3, 14))
    for i, sh in enumerate(shifts):
        cover.values[sh] = f"{periods[i]}-{periods[i + length - 1]}"
        wage.values[sh] = amount(rng, 70, 140, 0.5)
    # a reference roster: fill each period's gap with the shift that starts there (or the last one)
    staff = dict.fromkeys(shifts, 0)
    for i, t in enumerate(periods):
        have = sum(staff[sh] for j, sh in enumerate(shifts) if j <= i < j + length)
        if have < req.num(t):
            staff[shifts[min(i, len(shifts) - 1)]] += int(req.num(t) - have)
    for sh in shifts:
        most.values[sh] = float(max(staff[sh], 2) + rng.randint(1, 3))
        for table, sense in ((least, bound), (trained, aim)):
            sense = other_way(sense) if odd[table.name] == sh else sense
            crew = max(0, staff[sh] - rng.randint(0, 1)) if sense == ">=" else staff[sh] + rng.randint(0, 1)
            table.values[sh] = float(crew)  # the roster meets it either way
    policy.values["headcount_cap"] = float(sum(staff.values()) + rng.randint(0, 2))
    s.rule("staff(s) is the crew of shift s, an integer between 0 and max_crew[s].")
    s.rule("cover_period(t), for each period listed in required: "
           "sum of staff(s) over the shifts s that cover period t >= required[t].")
    s.rule("headcount_limit: sum over s of staff(s) <= policy[headcount_cap].")
    r_least = s.rule(directed_text("supervised_crew(s), for each shift listed in supervised_crew", "staff(s)", bound,
                                   "supervised_crew[s]"))
    r_trained = s.rule(directed_text("training_crew(s), for each shift listed in training_crew", "staff(s)", aim,
                                     "training_crew[s]"))
    s.rule("Objective: minimise sum of wage[s] * staff(s).")
    keep_some(rng, req, least, trained)
    name_exception(s, r_least, least, odd["supervised_crew"])
    name_exception(s, r_trained, trained, odd["training_crew"])
    return s


def build(s: DataSheet) -> BaseModel:
    t_ = s.tables
    shifts = list(t_["covers"].values)
    end = int(str(t_["covers"][shifts[-1]]).split("-")[1][1:])
    periods = [f"h{t:02d}" for t in range(1, end + 1)]  # required may leave one out (type D)
    b = Builder(s)
    for sh in shifts:
        b.var(f"staff({sh})", 0, t_["max_crew"].num(sh), "I", obj=t_["wage"].num(sh), rule="R1",
              ub_src=t_["max_crew"].ref(sh))
    span = {}
    for sh in shifts:
        first, last = str(t_["covers"][sh]).split("-")
        span[sh] = periods[periods.index(first): periods.index(last) + 1]
    for t in periods:
        coefs = {f"staff({sh})": 1 for sh in shifts if t in span[sh]}
        b.listed_row(f"cover_period({t})", coefs, ">=", t_["required"], t, "requirement", rule="R2")
    b.row("headcount_limit", {f"staff({sh})": 1.0 for sh in shifts}, "<=", t_["policy"].num("headcount_cap"),
          "capacity", rule="R3", rhs_src=t_["policy"].ref("headcount_cap"))
    for sh in shifts:
        b.listed_row(f"supervised_crew({sh})", {f"staff({sh})": 1}, ">=", t_["supervised_crew"], sh, "rule",
                     rule="R4")
    for sh in shifts:
        b.listed_row(f"training_crew({sh})", {f"staff({sh})": 1}, ">=", t_["training_crew"], sh, "rule", rule="R5")
    return b.base
