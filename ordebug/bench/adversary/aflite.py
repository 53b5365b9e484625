"""Adversarial filtering (as in SWAG / AFLite): keep the problems the adversary cannot solve.

The pool holds more problems than the benchmark needs. In each round the pool is cut into
folds; the ranker and the search agent are trained on the other folds and score each
problem of the held-out one. A problem the search agent repairs exactly, or whose root cause
the ranker puts first with a clear margin, is *predictable*. The most predictable problems
are dropped, the adversary is trained again on what is left, and so on.

Dropping is stratified: every (type, family, fault kind) of a split keeps its quota. The
(type, family) quotas are the split's first slots (types and families dealt in turns), and
within them each fault kind (for A: a whole rule reversed or one row's exception missed)
keeps its share of the pool. Dropping by type alone had reshaped the kept problems, and a
fresh adversary read the new shape: the b8dc7ab build's filter kept 1 of 68 pool C problems
of production and 63 whole-rule A faults in diet against 25 missed exceptions (the pool
held 126 and 119), so "diet: flip the whole family" won an independent search 0.39 of A.
The kept problems are taken per stratum in pool order.
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


Stratum = tuple[str, str, str]  # (type, family, fault kind)


def quotas(tables: Sequence[dict], n: int) -> Counter[str]:
    """Problems of each type among the first ``n`` slots (the split's stratified order; the
    pool holds them all, and more)."""
    return Counter(t["error_type"] for t in tables if t["index"] < n)


def stratum(t: dict, kinds: dict[str, str]) -> Stratum:
    return t["error_type"], t.get("family") or "", kinds.get(t["problem_id"], "")


def strata_quotas(tables: Sequence[dict], n: int, kinds: dict[str, str]) -> Counter[Stratum]:
    """Problems to keep per (type, family, fault kind): each (type, family) as many as the
    first ``n`` slots hold, shared among its fault kinds as the pool shares them (largest
    remainders)."""
    want = Counter((t["error_type"], t.get("family") or "") for t in tables if t["index"] < n)
    pool = Counter(stratum(t, kinds) for t in tables)
    out: Counter[Stratum] = Counter()
    for (etype, fam), q in want.items():
        sizes = {s: c for s, c in pool.items() if s[:2] == (etype, fam)}
        total = sum(sizes.values())
        exact = {s: q * c / total for s, c in sizes.items()}
        share = {s: min(int(x), sizes[s]) for s, x in exact.items()}
        for s in sorted(sizes, key=lambda s: (share[s] - exact[s], s)):  # largest remainders first
            if sum(share.values()) >= q:
                break
            if share[s] < sizes[s]:
                share[s] += 1
        out.update({s: v for s, v in share.items() if v})
    return out


def run(pools: dict[str, list[dict]], needed: dict[str, int], train_on: Sequence[str],
        settings: FilterSettings, kinds: dict[str, str] | None = None) -> tuple[dict[str, list[str]], dict]:
    """Filter the pools of several splits. ``pools``: split -> tables (with ``index``,
    ``problem_id``, ``error_type`` and ``family``); ``needed``: split -> problems to keep;
    ``train_on``: the splits whose problems the adversary is cross-fitted on (the others, e.g.
    the large tier, are only scored, by an adversary trained on all of those); ``kinds``:
    problem id -> its fault kind (the strata within a type and family). Returns the kept
    problem ids per split (in pool order) and a report: per round and type, how many were
    predictable, dropped, and kept because their stratum was at its quota."""
    kinds = kinds or {}
    alive = {s: list(p) for s, p in pools.items()}
    quota = {s: strata_quotas(p, needed[s], kinds) for s, p in pools.items()}
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
            groups: dict[Stratum, list[dict]] = defaultdict(list)
            for t in tables:
                groups[stratum(t, kinds)].append(t)
            keep = []
            for key, group in groups.items():
                how = {t["problem_id"]: predictable(scores.get(t["problem_id"], UNSCORED), settings.margin)
                       for t in group}
                scored = sorted(group, key=lambda t: (how[t["problem_id"]], t["index"]))
                room = len(group) - quota[split][key]
                cut = [t for t in scored if how[t["problem_id"]] > 0]
                n_drop = max(0, min(len(cut), room))
                seen[key[0]] += len(cut)
                dropped[key[0]] += n_drop
                keep += scored[:len(scored) - n_drop]
            alive[split] = sorted(keep, key=lambda t: t["index"])
        at_quota = {t: seen[t] - dropped[t] for t in sorted(seen) if seen[t] > dropped[t]}
        report["rounds"].append({"predictable": dict(sorted(seen.items())), "dropped": dict(sorted(dropped.items())),
                                 "kept_at_quota": at_quota, "left": {s: len(a) for s, a in alive.items()}})
        if not sum(dropped.values()):
            break
    kept = {s: _take(alive[s], quota[s], kinds) for s in alive}
    want = {s: quotas(pools[s], needed[s]) for s in pools}
    short = {s: {t: q - sum(1 for x in kept[s] if x["error_type"] == t) for t, q in want[s].items()} for s in kept}
    report["short"] = {s: {t: v for t, v in d.items() if v > 0} for s, d in short.items()}
    pool = Counter(t["error_type"] for p in pools.values() for t in p)
    dropped_all = sum((Counter(r["dropped"]) for r in report["rounds"]), Counter())
    report["rejection_rate"] = {t: round(dropped_all[t] / pool[t], 4) for t in sorted(pool)}
    return {s: [t["problem_id"] for t in k] for s, k in kept.items()}, report


def _take(tables: list[dict], quota: Counter[Stratum], kinds: dict[str, str]) -> list[dict]:
    """The first problems of each stratum in pool order, up to its quota."""
    taken: Counter[Stratum] = Counter()
    out = []
    for t in sorted(tables, key=lambda t: t["index"]):
        key = stratum(t, kinds)
        if taken[key] < quota[key]:
            taken[key] += 1
            out.append(t)
    return out
