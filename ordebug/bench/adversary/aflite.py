"""Adversarial filtering (as in SWAG / AFLite): keep the problems the adversary cannot solve.

The pool holds more problems than the benchmark needs. In each round the pool is cut into
folds; the ranker and the search agent are trained on the other folds and score each
problem of the held-out one. A problem the search agent repairs exactly, or whose root cause
the ranker puts first with a clear margin, is *predictable*. The most predictable problems
are dropped (never below a split's quota of a type), the adversary is trained again on what
is left, and so on. The kept problems are then taken per split and type in pool order, which
keeps the type x family mix of the stratified pool.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ordebug.bench.adversary.learn import pick, rank, train_ranker, train_search


@dataclass
class FilterSettings:
    rounds: int = 2
    folds: int = 4
    margin: float = 0.5  # the root's share of the ranker's scores that counts as a clear pick
    seed: int = 0

    @classmethod
    def from_config(cls, cfg: dict) -> FilterSettings:
        return cls(int(cfg.get("rounds", 2)), int(cfg.get("folds", 4)), float(cfg.get("margin", 0.5)),
                   int(cfg.get("seed", 0)))


def _fold(pid: str, folds: int, rnd: int, seed: int) -> int:
    return int(hashlib.sha256(f"{seed}:{rnd}:{pid}".encode()).hexdigest()[:8], 16) % folds


def predictability(tables: Sequence[dict], folds: int, rnd: int, seed: int) -> dict[str, dict]:
    """Cross-fitted scores of every problem: ranker credit, the root's score share, chance,
    and whether the search agent's pick is exact."""
    out: dict[str, dict] = {}
    for k in range(folds):
        held = [t for t in tables if _fold(t["problem_id"], folds, rnd, seed) == k]
        rest = [t for t in tables if _fold(t["problem_id"], folds, rnd, seed) != k]
        if not held or not rest:
            continue
        ranker, search = train_ranker(rest, seed), train_search(rest, seed)
        for t in held:
            credit, chance, share = rank(ranker, t)
            edit, _ = pick(search, t)
            out[t["problem_id"]] = {"ranker": credit, "share": share, "chance": chance,
                                    "exact": bool(edit and edit["exact"])}
    return out


ABOVE_CHANCE = 0.15  # a ranker pick counts as clear only this far above chance
UNSCORED = {"exact": False, "ranker": 0.0, "share": 0.0, "chance": 1.0}  # (a problem no fold scored)


def predictable(s: dict, margin: float) -> float:
    """How clearly the adversary solves a problem: 2 for an exact repair, else the ranker's
    root share when it puts the root first with at least ``margin`` of its scores and clearly
    above chance (by :data:`ABOVE_CHANCE`: twice chance would exempt every conflict of two or
    three members, where the roots of a two-fault type make chance one half)."""
    if s["exact"]:
        return 2.0
    return s["share"] if s["ranker"] > 0 and s["share"] >= max(margin, s["chance"] + ABOVE_CHANCE) else 0.0


def quotas(tables: Sequence[dict], n: int) -> Counter[str]:
    """Problems of each type among the first ``n`` slots (the split's stratified order; the
    pool holds them all, and more)."""
    return Counter(t["error_type"] for t in tables if t["index"] < n)


def run(pools: dict[str, list[dict]], needed: dict[str, int], train_on: Sequence[str],
        settings: FilterSettings) -> tuple[dict[str, list[str]], dict]:
    """Filter the pools of several splits. ``pools``: split -> tables (with ``index`` and
    ``problem_id``); ``needed``: split -> problems to keep; ``train_on``: the splits whose
    problems the adversary is cross-fitted on (the others, e.g. the large tier, are only
    scored, by an adversary trained on all of those). Returns the kept problem ids per split
    (in pool order) and a report: per round and type, how many were predictable and dropped."""
    alive = {s: list(p) for s, p in pools.items()}
    quota = {s: quotas(p, needed[s]) for s, p in pools.items()}
    report: dict = {"rounds": [], "pool": {s: len(p) for s, p in pools.items()}, "needed": dict(needed)}
    for rnd in range(settings.rounds):
        fitted = [t for s in train_on for t in alive[s]]
        scores = predictability(fitted, settings.folds, rnd, settings.seed)
        others = [t for s in alive if s not in train_on for t in alive[s]]
        if others and fitted:
            ranker, search = train_ranker(fitted, settings.seed), train_search(fitted, settings.seed)
            for t in others:
                credit, chance, share = rank(ranker, t)
                edit, _ = pick(search, t)
                scores[t["problem_id"]] = {"ranker": credit, "share": share, "chance": chance,
                                           "exact": bool(edit and edit["exact"])}
        dropped: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        for split, tables in alive.items():
            by_type: dict[str, list[dict]] = defaultdict(list)
            for t in tables:
                by_type[t["error_type"]].append(t)
            keep = []
            for etype, group in by_type.items():
                how = {t["problem_id"]: predictable(scores.get(t["problem_id"], UNSCORED), settings.margin)
                       for t in group}
                scored = sorted(group, key=lambda t: (how[t["problem_id"]], t["index"]))
                room = len(group) - quota[split][etype]
                cut = [t for t in scored if how[t["problem_id"]] > 0]
                n_drop = max(0, min(len(cut), room))
                seen[etype] += len(cut)
                dropped[etype] += n_drop
                keep += scored[:len(scored) - n_drop]
            alive[split] = sorted(keep, key=lambda t: t["index"])
        report["rounds"].append({"predictable": dict(sorted(seen.items())), "dropped": dict(sorted(dropped.items())),
                                 "left": {s: len(a) for s, a in alive.items()}})
        if not sum(dropped.values()):
            break
    kept = {s: _take(alive[s], quota[s]) for s in alive}
    short = {s: {t: q - sum(1 for x in kept[s] if x["error_type"] == t) for t, q in quota[s].items()} for s in kept}
    report["short"] = {s: {t: v for t, v in d.items() if v > 0} for s, d in short.items()}
    pool = Counter(t["error_type"] for p in pools.values() for t in p)
    dropped_all = sum((Counter(r["dropped"]) for r in report["rounds"]), Counter())
    report["rejection_rate"] = {t: round(dropped_all[t] / pool[t], 4) for t in sorted(pool)}
    return {s: [t["problem_id"] for t in k] for s, k in kept.items()}, report


def _take(tables: list[dict], quota: Counter[str]) -> list[dict]:
    """The first problems of each type in pool order, up to its quota."""
    taken: Counter[str] = Counter()
    out = []
    for t in sorted(tables, key=lambda t: t["index"]):
        if taken[t["error_type"]] < quota[t["error_type"]]:
            taken[t["error_type"]] += 1
            out.append(t)
    return out
