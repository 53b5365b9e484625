"""Agents: the heuristic diagnoses against the specification, the baselines, and their
success rates per type at the exact level."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from ordebug.actions import parse_action
from ordebug.agents import make_agent
from ordebug.agents.view import parse_observation, parse_row
from ordebug.collect.episode import run_episode
from ordebug.data.templates import mask, template_stats
from ordebug.env.environment import EnvConfig, RepairEnv
from ordebug.env.observation import shown_order
from ordebug.faults.taxonomy import ERROR_TYPES


def rates(agent_name: str, problems: list[dict]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for p in problems:
        ep = run_episode(make_agent(agent_name), p)
        r = out[p["error_type"]]
        r[0] += 1
        r[1] += ep.outcome["feasible"]
        r[2] += ep.outcome["faithful"]
        r[3] += bool(ep.outcome["exact"])
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
    assert [r.name for r in v.iis_rows] == shown_order(rec["iis"]["constraints"], rec["problem_id"])
    shown = shown_order([(b["variable"], b["side"]) for b in rec["iis"]["bounds"]], rec["problem_id"])
    assert [(b["var"], b["side"]) for b in v.iis_bounds] == shown
    assert v.problem_id == rec["problem_id"] and v.family == rec["family"]
    assert rec["spec"]["rules"]["R1"] in v.spec_text


@pytest.mark.parametrize("agent", ["heuristic", "random", "drop_first_iis"])
def test_agents_are_deterministic(sample, agent):
    for rec in sample[:9]:
        a = run_episode(make_agent(agent), rec)
        b = run_episode(make_agent(agent), rec)
        assert [s.answer for s in a.steps] == [s.answer for s in b.steps]
        assert a.outcome == b.outcome


def test_heuristic_thinks_about_what_it_saw(sample):
    """Each edit's reasoning names the element it edits and, for a value, the model's and the
    specification's numbers (and, where the sheet has one, the data entry it comes from)."""
    cited = 0
    for rec in sample[:27]:
        ep = run_episode(make_agent("heuristic"), rec)
        for step in ep.steps:
            assert step.answer.startswith("<think>\nStep 1: ")
            assert "</think>\n\nAction: " in step.answer
            action = parse_action(step.action)
            if not action.is_edit:
                continue
            think = step.answer.split("</think>")[0]
            assert str(action.args[0]) in think
            if action.name in ("UPDATE_RHS", "SET_COEF", "UPDATE_BOUNDS"):
                assert "specification" in think
            cited += "[" in think  # a data entry such as demand[store_2]
    assert cited >= 5
    assert "power" not in " ".join(s.answer for s in ep.steps) and "10^" not in ep.steps[0].answer


def test_heuristic_deletes_only_rows_the_specification_lacks(sample):
    for rec in sample:
        ep = run_episode(make_agent("heuristic"), rec)
        original = rec["original_model"]
        for s in ep.steps:
            if s.action.startswith("DROP_CONSTRAINT("):
                row = s.action[len("DROP_CONSTRAINT("):-1]
                assert f" {row}:" not in original, (rec["error_type"], s.action)


def test_heuristic_on_the_large_tier(bench_spec):
    """Where the data sheet is not printed, the heuristic reads it through SPEC(name)."""
    from ordebug.bench.generate import generate_problem

    rec = generate_problem(bench_spec, "test_large", 0, "large")
    obs, _ = RepairEnv().reset(rec)
    assert "see SPEC(" in obs and len(obs) < 12000
    ep = run_episode(make_agent("heuristic"), rec, EnvConfig())
    assert any(s.action.startswith("SPEC(") for s in ep.steps)
    assert ep.outcome["exact"], [s.action for s in ep.steps]


def test_heuristic_checks_a_conflict_larger_than_the_observation(large_d):
    """A large-tier D whose conflict has 41 rows, the added one among the 17 the observation
    leaves out (build a8320cd; the heuristic spent its 30 steps on one SPEC per shown row):
    it asks GET_IIS() for the rest, reads each family's rule once and deletes the row whose
    entity the rule's listing lacks."""
    rec = large_d
    obs, _ = RepairEnv().reset(rec)
    assert "(+17 more constraints: GET_IIS() names them)" in obs
    assert not re.search(r"^production_capacity\(t8\):", obs, re.M)  # the faulty row is not shown
    ep = run_episode(make_agent("heuristic"), rec, EnvConfig())
    actions = [s.action for s in ep.steps]
    assert ep.outcome["exact"], actions
    assert actions[0] == "GET_IIS()" and "SPEC(production_capacity)" in actions
    assert actions[-2:] == ["DROP_CONSTRAINT(production_capacity(t8))", "SUBMIT()"] and len(actions) <= 8


def test_success_rates_per_type(sample, capsys):
    """The issue's targets on a sample: heuristic exact >= 85% in every type; random exact and
    drop-first-IIS faithful at most 10% (a little slack for the sample's size)."""
    table = {a: rates(a, sample) for a in ("heuristic", "drop_first_iis", "random")}
    with capsys.disabled():
        print("\nexact repairs per type (heuristic / drop_first_iis / random), n per type:")
        for t in sorted(ERROR_TYPES):
            n = table["heuristic"][t][0]
            print(f"  {t}: {table['heuristic'][t][3]}/{n}  {table['drop_first_iis'][t][3]}/{n}  "
                  f"{table['random'][t][3]}/{n}")
    for t in ERROR_TYPES:
        n, _, _, exact = table["heuristic"][t]
        assert exact >= 0.85 * n, (t, table["heuristic"][t])
    total = {a: [sum(v[i] for v in t.values()) for i in range(4)] for a, t in table.items()}
    assert total["random"][3] <= 0.12 * len(sample)
    assert total["drop_first_iis"][2] <= 0.12 * len(sample)


def test_unknown_agent_is_named():
    with pytest.raises(KeyError, match="oracle"):
        make_agent("oracle")


def test_masking_keeps_the_wording_and_hides_names_and_numbers():
    a = mask("In cap(m1,t2) the coefficient of x_3 is 4.5, but the specification gives 45 (demand[s2] = 45 t).")
    b = mask("In bal(p7) the coefficient of y(1) is -2, but the specification gives 2e3 (supply[p1] = 7 kg).")
    assert a == b and "coefficient" in a and "4.5" not in a
    assert mask("I flip it back.") != mask("I set it back.")


def test_heuristic_reasoning_is_varied_and_concrete(sample):
    """Masked of names and numbers, no wording covers more than 5% of the heuristic's steps
    (the issue measured 20 templates covering 77% of 1,925 samples)."""
    outputs = [s.answer for rec in sample[:45] for s in run_episode(make_agent("heuristic"), rec).steps]
    stats = template_stats(outputs)
    assert stats["samples"] >= 80
    assert stats["top_template_share"] <= 0.05, stats["top_templates"][:2]
    assert stats["distinct_templates"] >= 0.5 * stats["samples"]


def test_compact_observation_cites_the_specification_per_iis_member(sample_by_type):
    """``env.observation: compact``: the rules without the data sheet or the model's families,
    and what SPEC would answer about each IIS member (the rule's text left to the Rules). It is
    shorter, and the heuristic repairs from it as it does from the whole sheet, without extra
    look-ups where every member is cited."""
    sample = [r for recs in sample_by_type.values() for r in recs[:3]]  # three per type (each costs ~0.4 s)
    full_cfg, compact_cfg = EnvConfig(), EnvConfig(observation="compact")
    shorter = same = 0
    for rec in sample:
        full, _ = RepairEnv(full_cfg).reset(rec)
        compact, _ = RepairEnv(compact_cfg).reset(rec)
        assert "## Model structure" not in compact and "## The specification on the IIS members" in compact
        assert rec["spec"]["statement"] not in compact and "see SPEC(table)" in compact
        v = parse_observation(compact)
        assert v.family == rec["family"] and not v.history
        for name, answer in v.spec_answers:  # read back as SPEC's own answers, rule text and all
            env = RepairEnv(compact_cfg)
            env.reset(rec)
            assert env.step(f"SPEC({name})")[4]["reply"] == answer
        shorter += len(compact) < len(full)
        a = run_episode(make_agent("heuristic"), rec, full_cfg)
        b = run_episode(make_agent("heuristic"), rec, compact_cfg)
        same += a.outcome["exact"] == b.outcome["exact"]
    assert shorter >= 0.9 * len(sample) and same >= 0.9 * len(sample), (shorter, same, len(sample))
    with pytest.raises(ValueError, match="env.observation"):
        EnvConfig(observation="terse")
