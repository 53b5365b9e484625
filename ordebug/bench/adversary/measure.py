"""The benchmark's own adversary score: trained on the train split, scored on the test split
(both tiers), per type, family and tier. The search agent's repairs are checked by the
environment itself, and it may take up to :data:`ROUNDS` edits (one per round, the IIS
recomputed in between) before it submits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ordebug.bench.adversary.blind import Blind
from ordebug.bench.adversary.holders import typed_chance
from ordebug.bench.adversary.learn import Learner, Prior, pick, rank, rank_by_prior, train_ranker, train_search
from ordebug.bench.adversary.table import blind_table
from ordebug.env.environment import EnvConfig, RepairEnv

ROUNDS = 3


def play(search: Learner, record: dict, table: dict, rounds: int = ROUNDS) -> dict:
    """The search agent's episode in the environment: its best edit, then (while the model
    stays infeasible) the best edit on the new IIS; the environment's verdict at SUBMIT."""
    env = RepairEnv(EnvConfig(max_steps=100, max_steps_large=100))
    env.reset(record)
    edits = 0
    for i in range(rounds):
        if i:
            st = env.state
            env._ensure_iis()  # noqa: SLF001  (the IIS an agent would be shown)
            if st is None or st.iis is None or not table["edits"]:
                break
            table = blind_table(Blind.of(env.current_model, st.iis, str(record["problem_id"])))
        edit, _ = pick(search, table)
        if edit is None:
            break
        for a in edit["actions"]:
            env.step(a)
            edits += 1
        if env.state is not None and env.state.status != "INFEASIBLE":
            break
    info = env.step("SUBMIT()")[4]
    return info["outcome"] | {"adversary_edits": edits}


def _rates(rows: list[dict], key: str) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    return {g: _summary(rs) for g, rs in sorted(groups.items())}


def _summary(rows: list[dict]) -> dict:
    n = max(len(rows), 1)
    return {"n": len(rows), "ranker_top1": sum(r["ranker"] for r in rows) / n,
            "prior_top1": sum(r["prior"] for r in rows) / n,
            "chance": sum(r["chance"] for r in rows) / n, "typed_chance": sum(r["typed"] for r in rows) / n,
            "search_exact": sum(r["exact"] for r in rows) / n,
            "search_faithful": sum(r["faithful"] for r in rows) / n}


def measure(train_tables: Sequence[dict], test: Sequence[tuple[dict, dict]], seed: int = 0) -> dict:
    """The adversary learned on ``train_tables`` and scored on ``test`` (record, table) pairs."""
    ranker, search = train_ranker(train_tables, seed), train_search(train_tables, seed)
    lookup = Prior.fit(train_tables)
    rows = []
    for rec, table in test:
        credit, chance, _ = rank(ranker, table)
        looked = rank_by_prior(lookup, table)[0]
        outcome = play(search, rec, table)
        rows.append({"type": rec["error_type"], "family": rec["family"], "tier": rec.get("tier", "small"),
                     "ranker": credit, "prior": looked, "chance": chance, "typed": typed_chance(rec),
                     "exact": bool(outcome["exact"]),
                     "faithful": bool(outcome["faithful"])})
    out = _summary(rows)
    out.update(by_type=_rates(rows, "type"), by_family=_rates(rows, "family"), by_tier=_rates(rows, "tier"),
               train_problems=len(train_tables),
               features={"ranker": len(ranker.enc.columns), "search": len(search.enc.columns)})
    return out

