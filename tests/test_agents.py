"""Agents: the heuristic's policy, the baselines, and their success rates per type."""

from __future__ import annotations

from collections import defaultdict

import pytest

from ordebug.agents import make_agent
from ordebug.agents.view import parse_observation, parse_row
from ordebug.collect.episode import run_episode
from ordebug.env.environment import RepairEnv
from ordebug.errors.taxonomy import ERROR_TYPES


def rates(agent_name: str, problems: list[dict]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in problems:
        ep = run_episode(make_agent(agent_name), p)
        r = out[p["error_type"]]
        r[0] += 1
        r[1] += ep.outcome["feasible"]
        r[2] += ep.outcome["faithful"]
    return dict(out)


def test_parse_row_round_trips_the_renderer():
    row = parse_row("site_capacity(site_1): load(site_1) - 120 open(site_1) <= 0")
    assert row.coefs == {"load(site_1)": 1.0, "open(site_1)": -120.0}
    assert (row.sense, row.rhs) == ("<=", 0.0)
    row = parse_row("r: - x + 2.5 y(a,b) - 1e-05 z >= -3")
    assert row.coefs == {"x": -1.0, "y(a,b)": 2.5, "z": -1e-05} and row.rhs == -3


def test_view_reads_the_observation(sample_by_type):
    rec = sample_by_type["H"][0]
    obs, _ = RepairEnv().reset(rec)
    v = parse_observation(obs)
    assert v.status == "INFEASIBLE" and v.steps_left == 10
    assert [r.name for r in v.iis_rows] == rec["iis"]["constraints"]
    assert [(b["var"], b["side"]) for b in v.iis_bounds] == [
        (b["variable"], b["side"]) for b in rec["iis"]["bounds"]
    ]
    assert v.row_families and v.var_families


@pytest.mark.parametrize("agent", ["heuristic", "random", "drop_first_iis"])
def test_agents_are_deterministic(sample, agent):
    for rec in sample[:9]:
        a = run_episode(make_agent(agent), rec)
        b = run_episode(make_agent(agent), rec)
        assert [s["answer"] for s in a.steps] == [s["answer"] for s in b.steps]
        assert a.outcome == b.outcome


def test_heuristic_thinks_about_what_it_saw(sample):
    for rec in sample[:18]:
        ep = run_episode(make_agent("heuristic"), rec)
        first = ep.steps[0]
        assert first["answer"].startswith("<think>\nStep 1: ")
        assert "</think>\n\nAction: " in first["answer"]
        # the rationale names the element the action acts on
        target = first["action"].split("(", 1)[1].split(",")[0].rstrip(")")
        if first["action"] != "SUBMIT()":
            assert target in first["answer"].split("</think>")[0]


def test_heuristic_prefers_repairs_to_deletion(sample):
    kinds = defaultdict(int)
    for rec in sample:
        for s in run_episode(make_agent("heuristic"), rec).steps:
            kinds[s["action"].split("(")[0]] += 1
    assert kinds["DROP_CONSTRAINT"] < kinds["FLIP_SENSE"] + kinds["SET_COEF"] + kinds["UPDATE_RHS"] + kinds[
        "UPDATE_BOUNDS"] + kinds["SET_VAR_TYPE"]


def test_success_rates_per_type(sample, capsys):
    """Reported, not asserted as a toy number: the heuristic must beat blind deletion."""
    table = {a: rates(a, sample) for a in ("heuristic", "drop_first_iis", "random")}
    with capsys.disabled():
        print("\nfaithful repairs per type (heuristic / drop_first_iis / random), n per type:")
        for t in sorted(ERROR_TYPES):
            n = table["heuristic"][t][0]
            print(f"  {t}: {table['heuristic'][t][2]}/{n}  {table['drop_first_iis'][t][2]}/{n}  "
                  f"{table['random'][t][2]}/{n}")
    total = {a: sum(v[2] for v in t.values()) for a, t in table.items()}
    assert total["heuristic"] > total["drop_first_iis"]
    assert total["heuristic"] > total["random"]
    # drop-first always ends feasible or out of steps; it should rarely be faithful
    assert total["drop_first_iis"] <= 0.15 * len(sample)


def test_unknown_agent_is_named():
    with pytest.raises(KeyError, match="oracle"):
        make_agent("oracle")
