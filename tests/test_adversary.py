"""The benchmark's own adversary: it never reads the specification, it learns what it can, and
the filter keeps what it cannot solve."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ordebug.actions import parse_action, target
from ordebug.bench.adversary import aflite, learn
from ordebug.bench.adversary.blind import Blind
from ordebug.bench.adversary.edits import edited, extract
from ordebug.bench.adversary.holders import holders, typed_chance
from ordebug.bench.adversary.learn import Learner, pick, rank, train_ranker
from ordebug.bench.adversary.measure import play
from ordebug.bench.adversary.table import problem_table
from ordebug.bench.adversary.truth import Truth
from ordebug.bench.probe import root_elements
from ordebug.faults.slips import is_slip, slips

BLIND = ("problem_id", "model", "iis")


def _blind_record(rec: dict) -> dict:
    return {k: rec[k] for k in BLIND}


def test_the_adversary_sees_neither_the_specification_nor_the_truth(sample):
    """Its features come from the model and the IIS alone: the same with every other field of the
    record removed, and the same when the specification and the ground truth are changed."""
    for rec in sample[:6]:
        table = problem_table(rec)
        edits, members = extract(Blind.from_record(_blind_record(rec)))
        assert [m["el"] for m in table["members"]] == [list(el) for el in members]
        assert [e["actions"] for e in table["edits"]] == [e.actions for e in edits]
        doctored = dict(rec, spec={"text": "x", "tables": [], "rules": {}}, error_type="A", family="knapsack")
        again = problem_table(doctored)
        assert [m["f"] for m in again["members"]] == [m["f"] for m in table["members"]]
        assert [e["f"] for e in again["edits"]] == [e["f"] for e in table["edits"]]


def test_labels_come_from_the_ground_truth(sample_by_type):
    """The recorded repair is an exact edit; deleting a member that is not the fault is not."""
    for etype in ("H", "I", "D"):  # a record whose IIS has a row besides the fault's
        rec = next(r for r in sample_by_type[etype]
                   if set(r["iis"]["constraints"]) - {x["name"] for x in r["ground_truth"]["root_cause"]})
        b = Blind.from_record(rec)
        truth = Truth(rec)
        fixes = rec["ground_truth"]["fixes"]
        names = {target(parse_action(a)) for a in fixes}
        touched = {("v" if n in b.spec.vars else "c", n) for n in names}
        assert truth.edit_label(b.spec, edited(b.spec, fixes), touched) == (True, True)
        roots = {r["name"] for r in rec["ground_truth"]["root_cause"]}
        other = next(r for r in b.iis_rows if r not in roots)
        assert truth.edit_label(b.spec, edited(b.spec, [f"DROP_CONSTRAINT({other})"]), {("c", other)})[1] is False


def test_slips_are_what_a_typo_does():
    assert 1324.0 in [y for _, y in slips(1234.0)] and 123.4 in [y for _, y in slips(1234.0)]
    assert is_slip(12.5, 125.0) and is_slip(40.0, 2400.0) and not is_slip(130.0, 125.0)


def _tables(n: int, leak: bool, seed: int = 0) -> list[dict]:
    """Synthetic problem tables: four members, one root; with ``leak`` the root's feature
    ``odd`` gives it away, without it the feature is noise."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        root = rng.randrange(4)
        members = []
        for j in range(4):
            odd = float(j == root) if leak else float(rng.random() < 0.25)
            members.append({"el": ["c", f"r({j})"], "root": j == root, "f": {"odd": odd, "x": rng.random()}})
        edits = [{"el": m["el"], "actions": [f"DROP_CONSTRAINT(r({j}))"], "good": m["root"] and leak,
                  "exact": m["root"] and leak, "f": {"feas": 1.0, "odd2": m["f"]["odd"]}}
                 for j, m in enumerate(members)]
        out.append({"problem_id": f"p{seed}_{i}", "index": i, "split": "train" if i % 3 else "test",
                    "error_type": "ABC"[i % 3], "members": members, "edits": edits})
    return out


def test_the_ranker_finds_a_tell_and_stays_at_chance_without_one():
    leaky, fair = _tables(300, True), _tables(300, False)
    for tables, expect_high in ((leaky, True), (fair, False)):
        ranker = train_ranker(tables[:200])
        credit = sum(rank(ranker, t)[0] for t in tables[200:]) / 100
        chance = sum(rank(ranker, t)[1] for t in tables[200:]) / 100
        assert chance == pytest.approx(0.25)
        assert (credit > 0.9) if expect_high else (credit < 0.4), credit


def test_the_ranker_compares_the_members_of_one_conflict():
    """A tell that is relative (the root has the most distinct coefficients *of its IIS*, while
    the counts themselves vary from problem to problem) is found through the context features."""
    rng = random.Random(7)
    tables = []
    for i in range(400):
        base, root = rng.randrange(1, 30), rng.randrange(4)
        counts = rng.sample(range(base, base + 6), 4)
        top = counts.index(max(counts))
        counts[root], counts[top] = counts[top], counts[root]
        members = [{"el": ["c", f"r({j})"], "root": j == root,
                    "f": {"kind": 0.0, "n_distinct": float(c), "x": rng.random()}} for j, c in enumerate(counts)]
        tables.append({"problem_id": f"q{i}", "members": members, "edits": []})
    ranker = train_ranker(tables[:300])
    credit = sum(rank(ranker, t)[0] for t in tables[300:]) / 100
    assert credit > 0.95, credit
    # the same members seen one at a time: the absolute count alone does not name the root
    pointwise = Learner([m["f"] for t in tables[:300] for m in t["members"]],
                        [m["root"] for t in tables[:300] for m in t["members"]])
    hits = 0.0
    for t in tables[300:]:
        s = pointwise.score([m["f"] for m in t["members"]])
        hits += t["members"][int(s.argmax())]["root"]
    assert hits / 100 < credit - 0.2, (hits, credit)


def test_the_filter_drops_what_the_adversary_solves_and_keeps_the_quotas():
    pools = {"train": _tables(120, True, 1)[:60] + _tables(120, False, 2)[60:],
             "test": [dict(t, split="test") for t in _tables(60, False, 3)]}
    for split, tables in pools.items():
        for i, t in enumerate(tables):
            t.update(index=i, split=split, problem_id=f"{split}{i}")
    kept, report = aflite.run(pools, {"train": 60, "test": 30}, ["train", "test"],
                              aflite.FilterSettings(rounds=2, folds=3))
    assert len(kept["train"]) == 60 and len(kept["test"]) == 30
    # the leaky half (indices < 60) is what the adversary solves: the filter drops it first
    leaky_kept = sum(int(pid[5:]) < 60 for pid in kept["train"])
    assert leaky_kept < 20, leaky_kept
    assert report["rounds"][0]["dropped"] and set(report["rejection_rate"]) == {"A", "B", "C"}
    quota = aflite.quotas(pools["train"], 60)
    got = {t: sum(1 for p in kept["train"] if pools["train"][int(p[5:])]["error_type"] == t) for t in quota}
    assert got == dict(quota)


class _Oracle(Learner):
    """A search 'model' that prefers the edits matching a rule (to drive the environment)."""

    def __init__(self, want) -> None:  # noqa: D107
        self.want = want

    def score(self, rows):
        return [1.0 if self.want(r) else 0.0 for r in rows]


def test_the_search_agent_is_judged_by_the_environment(sample_by_type):
    """Its pick is played in the environment, which gives the verdict: the recorded fix is
    exact; a drop of another IIS row is not."""
    rec = sample_by_type["I"][0]
    table = problem_table(rec)
    fix = rec["ground_truth"]["fixes"]
    # a v3 value fault is never a slip of the shown value: the fix is not among the candidates
    assert not [e for e in table["edits"] if e["exact"]]
    table["edits"].append({"el": ["c", "x"], "actions": fix, "good": True, "exact": True, "f": {"tf": "oracle"}})
    out = play(_Oracle(lambda r: r.get("tf") == "oracle"), rec, table)
    assert out["exact"] is True and out["adversary_edits"] == len(fix)
    out = play(_Oracle(lambda r: r.get("kind_e") == "drop"), rec, problem_table(rec))
    assert out["exact"] is False
    assert pick(_Oracle(lambda r: r.get("kind_e") == "drop"), problem_table(rec))[0]["actions"][0].startswith("DROP")


def _fam_tables(n: int, seed: int) -> list[dict]:
    """Four members of four row families; the root sits in family ``cap`` in four problems of
    five, elsewhere uniformly. No feature but the family says anything."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        root = 0 if rng.random() < 0.8 else rng.randrange(1, 4)
        members = [{"el": ["c", f"{fam}({i})"], "root": j == root, "f": {"fam": fam, "x": rng.random()}}
                   for j, fam in enumerate(("cap", "flow", "bal", "link"))]
        rng.shuffle(members)
        out.append({"problem_id": f"f{seed}_{i}", "index": i, "family": "facility", "error_type": "C",
                    "members": members, "edits": []})
    return out


def test_the_prior_lookup_finds_where_faults_sit():
    """Where faults sit is a tell of its own: the lookup names the root of the ``cap`` problems;
    with the root placed uniformly it stays at chance."""
    tables = _fam_tables(300, 5)
    prior = learn.Prior.fit(tables[:200])
    credit = sum(learn.rank_by_prior(prior, t)[0] for t in tables[200:]) / 100
    assert credit > 0.7, credit
    uniform = _fam_tables(300, 6)
    for t in uniform:
        root = random.Random(t["problem_id"]).randrange(4)
        for j, m in enumerate(t["members"]):
            m["root"] = j == root
    prior = learn.Prior.fit(uniform[:200])
    assert sum(learn.rank_by_prior(prior, t)[0] for t in uniform[200:]) / 100 < 0.4


def test_typed_chance_picks_among_the_members_that_could_hold_the_type(sample_by_type):
    """The holders of a type are IIS members, hold every root among them (G's second fault
    shows only once the first is fixed), and are the rows (or bounds,
    or integers) its fault kind can sit in: a typed pick is never below a uniform one."""
    for etype, recs in sample_by_type.items():
        for rec in recs:
            b = Blind.from_record(rec)
            held = holders(rec, b)
            roots = root_elements(rec)
            assert roots & set(b.members) <= held <= set(b.members), (etype, rec["problem_id"])
            chance = len(roots & set(b.members)) / len(b.members)
            assert typed_chance(rec, b) >= chance - 1e-12
            if etype == "C":  # a wrong coefficient sits in a row, with a coefficient from the sheet
                assert all(kind == "c" for kind, _ in held)
            if etype == "H":  # a wrong bound on a variable
                assert all(kind == "v" for kind, _ in held)
    # where the conflict holds members the type cannot (an integer variable's type for C), the
    # typed chance is above the uniform one
    c = [r for r in sample_by_type["C"] if any(k == "v" for k, _ in Blind.from_record(r).members)]
    assert c and all(typed_chance(r) > len(root_elements(r)) / len(Blind.from_record(r).members) for r in c)


def test_the_filter_keeps_every_family_and_fault_kind_at_its_share():
    """A family (or a fault kind) the adversary solves every time is not dropped below its
    share: dropping by type alone let the kept problems' mix name the answer (b8dc7ab: diet's
    A faults were whole rules 63 times in 88, half of them in the pool)."""
    leaky, fair = _tables(240, True, 4), _tables(240, False, 5)
    tables = []
    for i in range(240):  # one type; families x and y take turns; y's problems give their root away
        fam = "xy"[i % 2]
        t = dict((leaky if fam == "y" else fair)[i], index=i, split="train", problem_id=f"train{i}",
                 error_type="A", family=fam)
        tables.append(t)
    kinds = {t["problem_id"]: ("one row" if i % 4 < 2 else "whole family") for i, t in enumerate(tables)}
    quota = aflite.strata_quotas(tables, 80, kinds)
    assert quota == {("A", "x", "one row"): 20, ("A", "x", "whole family"): 20,
                     ("A", "y", "one row"): 20, ("A", "y", "whole family"): 20}
    kept, report = aflite.run({"train": tables}, {"train": 80}, ["train"], aflite.FilterSettings(rounds=2, folds=3),
                              kinds)
    by_id = {t["problem_id"]: t for t in tables}
    got = Counter(aflite.stratum(by_id[p], kinds) for p in kept["train"])
    assert got == quota and len(kept["train"]) == 80
    assert report["rounds"][0]["kept_at_quota"]["A"] > 0  # y's solved problems kept at its floor
    # by type alone the filter would have dropped y's problems first
    flat, _ = aflite.run({"train": [dict(t, family="") for t in tables]}, {"train": 80}, ["train"],
                         aflite.FilterSettings(rounds=2, folds=3))
    assert sum(by_id[p]["family"] == "y" for p in flat["train"]) < 20
