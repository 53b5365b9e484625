"""The oddity probes: planted oddities are found, plain faults are not, reports add up."""

from __future__ import annotations

import math

import pytest

from ordebug.agents.view import parse_observation
from ordebug.bench.probe import (
    RULES,
    observation_of,
    outlier_scan,
    sibling_probe,
    structural_pick,
    structural_probe,
)
from ordebug.env.observation import render_observation
from ordebug.solver.iis import compute_iis
from ordebug.solver.lpformat import read_model_text


def record(lp: str, root: dict, etype: str = "X") -> dict:
    return {"problem_id": "odb_test", "error_type": etype, "model": lp, "ground_truth": {"root_cause": [root]}}


def observation(rec: dict) -> str:
    """What an agent sees, rendered by the environment's own renderer from a freshly computed IIS."""
    spec = read_model_text(rec["model"])
    return render_observation(rec["problem_id"], spec, "INFEASIBLE", compute_iis(spec), [], 0, 10)


def lp(rows: list[str], bounds: list[str] = (), generals: list[str] = ()) -> str:
    text = ["Minimize", " obj:", "Subject To", *(f" {r}" for r in rows), "Bounds", *(f" {b}" for b in bounds)]
    if generals:
        text += ["Generals", *(f" {g}" for g in generals)]
    return "\n".join([*text, "End", ""])


SUPPLY = ["sup(a): s(a) <= 100", "sup(b): s(b) <= 120", "sup(c): s(c) <= {c}", "dem: s(a) + s(b) + s(c) >= {d}"]


def supply(c: float, d: float) -> str:
    return lp([r.format(c=c, d=d) for r in SUPPLY])


PLANTED = {
    # gap(3) had its sense flipped: the only <= of its family
    "sense": (lp(["gap(1): x(2) - x(1) >= 4", "gap(2): x(3) - x(2) >= 4", "gap(3): x(3) - x(1) <= 6"]),
              {"kind": "constraint", "name": "gap(3)"}),
    # n(3) declared integer while its family is continuous
    "vtype": (lp(["mix: n(1) + n(2) + 2 n(3) = 3"], ["0 <= n(1) <= 0.1", "0 <= n(2) <= 0.1"], ["n(3)"]),
              {"kind": "variable", "name": "n(3)"}),
    # a coefficient of 10 among ones
    "coef": (lp(["load: x(1) + x(2) + 10 x(3) <= 5", "need: x(3) >= 1"]), {"kind": "constraint", "name": "load"}),
    # a capacity with a dropped digit (110 -> 11)
    "value": (supply(11, 300), {"kind": "constraint", "name": "sup(c)"}),
}


@pytest.mark.parametrize("rule", list(PLANTED))
def test_planted_oddity_is_found(rule: str) -> None:
    rec = record(*PLANTED[rule])
    obs = observation(rec)
    assert structural_pick(parse_observation(obs))[0] == rule
    rep = structural_probe([rec], [obs])
    assert rep["problems"] == 1 and rep["hit_rate"] == 1.0
    assert rep["rules"][rule] == {"fired": 1, "hit_rate": 1.0}


def test_outlier_scan_finds_a_planted_outlier() -> None:
    rep = outlier_scan([record(supply(11, 300), {"kind": "constraint", "name": "sup(c)"}, "I")])
    # 4 right-hand sides, 6 coefficients, 3 finite (lower) bounds
    assert rep["hit_rate"] == 1.0 and rep["chance"] == pytest.approx(1 / 13)
    assert rep["by_type"]["I"]["n"] == 1


def test_a_plain_fault_is_not_found() -> None:
    # the demand is wrong (330 available), but every value lies close to its family
    rec = record(supply(110, 400), {"kind": "constraint", "name": "dem"}, "I")
    assert outlier_scan([rec])["hit_rate"] == 0.0
    rep = structural_probe([rec], [observation(rec)])
    assert rep["rules"]["first"]["fired"] == 1  # no oddity rule fires
    # a sense flip within a family of two is no minority
    rows = ["cov(1): x(1) + x(2) >= 10", "cov(2): x(1) + x(2) <= 2"]
    two = record(lp(rows), {"kind": "constraint", "name": "cov(2)"})
    assert structural_pick(parse_observation(observation(two)))[0] != "sense"


def test_ties_get_fractional_credit() -> None:
    # two capacities of one family ten times apart: neither is the odd one, so both are picked
    text = lp(["sup(a): s(a) <= 10", "sup(b): s(b) <= 100", "dem: s(a) + s(b) >= 200"])
    rec = record(text, {"kind": "constraint", "name": "sup(a)"})
    rep = structural_probe([rec], [observation(rec)])
    assert rep["rules"]["value"]["fired"] == 1 and rep["hit_rate"] == pytest.approx(0.5)


@pytest.fixture(scope="module")
def generated(sample: list[dict]) -> list[dict]:
    """Three problems of every type: the session's sample (generated once for every test file)."""
    return sample[:27]


def test_reports_on_generated_records(generated: list[dict]) -> None:
    obs = [observation_of(r) for r in generated]
    rep = structural_probe(generated, obs)
    assert rep["problems"] == len(generated)
    assert set(rep["rules"]) == set(RULES) and sum(r["fired"] for r in rep["rules"].values()) == len(generated)
    assert sum(t["n"] for t in rep["by_type"].values()) == len(generated)
    # chance from the record itself: IIS rows, IIS bound variables, integer variables of the IIS rows
    inv = []
    for rec in generated:
        spec = read_model_text(rec["model"])
        rows = rec["iis"]["constraints"]
        members = set(rows) | {b["variable"] for b in rec["iis"]["bounds"]}
        members |= {v for r in rows for v in spec.rows[r].coefs if spec.vars[v].vtype != "C"}
        inv.append(1 / len(members))
    assert rep["chance"] == pytest.approx(sum(inv) / len(inv))
    for key in ("hit_rate", "chance", "random_pick", "root_shown", "first_position", "last_position"):
        assert 0.0 <= rep[key] <= 1.0
    for t in rep["by_type"].values():
        assert 0.0 <= t["hit_rate"] <= 1.0 and 0.0 < t["chance"] <= 1.0 and t["hits"] <= t["n"]

    scan = outlier_scan(generated)
    values = []
    for rec in generated:
        spec = read_model_text(rec["model"])
        finite = sum(math.isfinite(b) for v in spec.vars for b in spec.var_bounds(v))
        values.append(sum(1 + len(r.coefs) for r in spec.rows.values()) + finite)
    assert scan["problems"] == len(generated)
    assert scan["chance"] == pytest.approx(sum(1 / n for n in values) / len(values))
    assert 0.0 <= scan["hit_rate"] <= 1.0
    assert set(scan["by_type"]) == {r["error_type"] for r in generated}


def _with_iis(rec: dict) -> dict:
    iis = compute_iis(read_model_text(rec["model"]))
    return dict(rec, iis=iis.to_json())


SIBLINGS = {
    # cap(3)'s sense was flipped: the only >= of its family of three
    "sense": (lp(["cap(1): x(1) <= 40", "cap(2): x(2) <= 35", "cap(3): x(3) >= 50", "tot: x(1) + x(2) + x(3) <= 30"]),
              {"kind": "constraint", "name": "cap(3)"}),
    # need(2) lost its y term: its variable families differ from its siblings'
    "pattern": (lp(["need(1): x(1) + y(1) >= 10", "need(2): x(2) >= 10", "need(3): x(3) + y(3) >= 10",
                    "lim: x(2) <= 4"]), {"kind": "constraint", "name": "need(2)"}),
    # dem(2) took dem(1)'s value: a duplicate right-hand side
    "duplicate_rhs": (lp(["dem(1): x(1) >= 52", "dem(2): x(2) >= 52", "dem(3): x(3) >= 17", "cap: x(2) <= 30"]),
                      {"kind": "constraint", "name": "dem(2)"}),
}


@pytest.mark.parametrize("rule", list(SIBLINGS))
def test_sibling_probe_finds_what_the_whole_model_gives_away(rule: str) -> None:
    """Comparing a row with the rest of its family in the whole model finds these faults; the
    benchmark's summary reports how often that works on real problems."""
    rec = _with_iis(record(*SIBLINGS[rule]))
    rep = sibling_probe([rec])
    assert rep["rules"][rule]["fired"] == 1 and rep["hit_rate"] == 1.0
    assert 0 < rep["chance"] < 1


def test_sibling_probe_scores_chance_when_nothing_stands_out() -> None:
    rec = _with_iis(record(lp(["a(1): x(1) + x(2) >= 10", "b: x(1) <= 3", "c: x(2) <= 4"]),
                           {"kind": "constraint", "name": "b"}))
    rep = sibling_probe([rec])
    assert all(r["fired"] == 0 for r in rep["rules"].values())
    assert rep["hit_rate"] == pytest.approx(rep["chance"]) == pytest.approx(1 / 3)


def _named_record(rows: list[str], faulty: str) -> dict:
    body = "\n".join(f" {r}: x >= 1" for r in rows)
    return {"model": f"\\ m\nMinimize\n obj: x\nSubject To\n{body}\nBounds\nEnd\n",
            "iis": {"constraints": rows, "bounds": []},
            "ground_truth": {"root_cause": [{"kind": "constraint", "name": faulty}]}}
