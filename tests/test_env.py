"""The repair environment: ground-truth repairs, success levels, rewards, observations."""

from __future__ import annotations

import random
import re

import pytest

import ordebug.env.environment as envmod
from ordebug.env import reward as rw
from ordebug.env.environment import EnvConfig, ProblemError, RepairEnv
from ordebug.env.specview import parse_data_line
from ordebug.faults.taxonomy import ERROR_TYPES
from ordebug.models import build_family
from ordebug.solver import Row, Var, read_model_text, write_lp


def play(problem: dict, actions: list[str], config: EnvConfig | None = None):
    env = RepairEnv(config)
    obs, info = env.reset(problem)
    out = None
    for a in actions:
        out = env.step(a)
        if out[2] or out[3]:
            break
    return env, out


@pytest.mark.parametrize("etype", sorted(ERROR_TYPES))
def test_ground_truth_actions_solve_every_type_faithfully(sample_by_type, etype):
    for rec in sample_by_type[etype]:
        env, (obs, reward, term, trunc, info) = play(rec, [*rec["ground_truth"]["fixes"], "SUBMIT()"])
        o = info["outcome"]
        assert term and not trunc
        assert o["feasible"] and o["faithful"] and o["root_cause_touched"]
        assert o["objective_preservation"] == pytest.approx(1.0)
        assert o["n_edits"] == len(rec["ground_truth"]["fixes"])


def test_drop_gives_feasible_but_not_faithful(sample_by_type):
    """Through the environment, for the first rows of each IIS (generation checks every
    member of every kept problem; C's conflicts run to forty rows)."""
    seen = 0
    for rec in sample_by_type["H"] + sample_by_type["C"]:
        for row in rec["iis"]["constraints"][:6]:
            env, (_, _, _, _, info) = play(rec, [f"DROP_CONSTRAINT({row})", "SUBMIT()"])
            o = info["outcome"]
            if o["feasible"]:
                assert not o["faithful"]  # the benchmark guarantees it
                assert 0 <= o["objective_preservation"] < 1
                seen += 1
    assert seen > 0


def test_infeasible_submit_and_step_limit(sample):
    rec = sample[0]
    env, (_, r, term, trunc, info) = play(rec, ["SUBMIT()"])
    assert term and not info["outcome"]["feasible"] and info["outcome"]["submitted"]
    assert r == pytest.approx(-rw.STEP_COST + rw.INFEASIBLE)
    env, (_, r, term, trunc, info) = play(rec, ["GET_IIS()"] * 3, EnvConfig(max_steps=3))
    assert trunc and not term
    assert info["outcome"]["steps"] == 3 and not info["outcome"]["submitted"]
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("SUBMIT()")


def test_invalid_actions_do_not_crash_and_count_as_steps(sample):
    rec = sample[0]
    env = RepairEnv()
    env.reset(rec)
    for bad in ["", "nonsense", "FOO(x)", "DROP_CONSTRAINT(no_such_row)", "UPDATE_RHS(x, nan)",
                "INSPECT(nobody)", "CHECK_SLACK(nobody)", "SET_COEF(a, b, inf)"]:
        obs, r, term, trunc, info = env.step(bad)
        assert not term and r == pytest.approx(-rw.STEP_COST - rw.INVALID_COST)
        assert "invalid action" in obs.split("## History")[1]
    assert info["step"] == 8 and info["edits"] == []


def test_reset_after_edits_restores_the_given_model(sample_by_type):
    rec = sample_by_type["C"][0]
    env = RepairEnv()
    obs0, _ = env.reset(rec)
    env.step(rec["ground_truth"]["fixes"][0])
    assert env.current_model != env.state.broken
    obs, _, _, _, info = env.step("RESET()")
    assert "undid 1 edit(s)" in obs and info["edits"] == [] and info["status"] == "INFEASIBLE"
    assert env.current_model == env.state.broken
    obs, *_ = env.step("RESET()")
    assert "nothing to reset" in obs


def test_inspect_and_check_slack(sample_by_type):
    rec = sample_by_type["H"][0]
    env = RepairEnv(EnvConfig(max_steps=2 + len(rec["iis"]["constraints"]) + 1))
    env.reset(rec)
    row = rec["iis"]["constraints"][0]
    obs, *_ = env.step(f"INSPECT({row})")
    assert f"1. INSPECT({row}) -> {row}:" in obs
    var = rec["iis"]["bounds"][0]["variable"]
    obs, *_ = env.step(f"INSPECT({var})")
    assert "objective coefficient" in obs and "<=" in obs
    verdicts = []
    for r in rec["iis"]["constraints"]:  # the IIS cannot all hold: some row is violated there
        obs, *_ = env.step(f"CHECK_SLACK({r})")
        last = obs.rsplit(f"CHECK_SLACK({r}) -> ", 1)[1]
        m = re.match(rf"{re.escape(r)}: activity \S+ vs (<=|>=|=) \S+: "
                     r"(violated by \S+ at the least-violation point|satisfied \(slack \S+\))", last)
        assert m, last
        verdicts.append(m.group(2).startswith("violated"))
    assert any(verdicts)


def test_reward_worked_examples():
    # faithful in one edit: -0.01 (edit step) + (-0.01 + 1.0) (submit)
    assert rw.terminal_reward(True, True, 1.0, 1, 1) == pytest.approx(1.0)
    # feasible, objective 20% off, one edit more than needed
    assert rw.terminal_reward(True, False, 0.8, 2, 1) == pytest.approx(0.5 * 0.8 - 0.05)
    # infeasible with many edits: penalty capped
    assert rw.terminal_reward(False, False, 0.0, 20, 1) == pytest.approx(-0.5 - 0.25)
    assert rw.objective_preservation(110.0, 100.0) == pytest.approx(0.9)
    assert rw.objective_preservation(-50.0, 100.0) == 0.0
    assert rw.objective_preservation(0.5, 0.0) == pytest.approx(0.5)  # absolute floor of 1
    assert rw.clip_return(1.7) == 1.0 and rw.clip_return(-3) == -1.0


def test_episode_return_matches_worked_example(sample_by_type):
    rec = sample_by_type["B"][0]
    _, (_, r, _, _, info) = play(rec, [*rec["ground_truth"]["fixes"], "SUBMIT()"])
    assert info["return"] == pytest.approx(-0.01 + (-0.01 + 1.0))


def test_observation_reveals_no_ground_truth(sample):
    for rec in sample:
        env = RepairEnv()
        obs, _ = env.reset(rec)
        lowered = obs.lower()
        assert ERROR_TYPES[rec["error_type"]] not in obs  # the type's own description never shows
        for secret in ["error type", "ground truth", "original", "fault", "injected"]:
            assert secret not in lowered
        assert "## Specification" in obs and rec["spec"]["statement"] in obs
        assert f"objective {rec['original_objective']:.6g}" not in obs
        for fix in rec["ground_truth"]["fixes"]:
            assert fix not in obs


def test_observation_is_bounded_for_large_models():
    base = build_family("transportation", random.Random(3), 3)
    spec = base.spec
    for i in range(400):  # a big infeasible model: many families and wide rows
        spec.add_var(Var(f"x{i}(a)", 0, 1))
        spec.add_row(Row.make(f"fam{i}(k)", {f"x{i}(a)": 1}, "<=", 1))
    spec.add_row(Row.make("need(all)", dict.fromkeys(spec.vars, 1.0), ">=", 10**9))
    problem = {"problem_id": "big", "model": write_lp(spec), "original_objective": 0.0}
    env = RepairEnv()
    obs, _ = env.reset(problem)
    assert len(obs) < 8000
    assert "more terms" in obs and "more)" in obs


def test_get_iis_names_the_members_the_observation_leaves_out():
    """A conflict of 31 rows: the observation shows 24 and says so; GET_IIS() names the other
    seven, which INSPECT then reaches. Every member is reachable."""
    from ordebug.solver.spec import ModelSpec

    spec = ModelSpec("chain")
    for i in range(31):
        spec.add_var(Var(f"x({i})", -1000, 100))  # no bound shortens the chain
    spec.add_row(Row.make("start(0)", {"x(0)": 1}, ">=", 1))
    for i in range(29):  # x(i+1) >= x(i) + 1
        spec.add_row(Row.make(f"step({i})", {f"x({i + 1})": 1, f"x({i})": -1}, ">=", 1))
    spec.add_row(Row.make("cap(29)", {"x(29)": 1}, "<=", 5))
    problem = {"problem_id": "chain", "model": write_lp(spec), "original_objective": 0.0}
    env = RepairEnv()
    obs, _ = env.reset(problem)
    assert "(+7 more constraints: GET_IIS() names them)" in obs
    shown = {r for r in spec.rows if re.search(rf"^{re.escape(r)}:", obs, re.M)}
    assert len(shown) == 24
    obs, *_ = env.step("GET_IIS()")
    answer = obs.split("GET_IIS() -> ", 1)[1].splitlines()[0]
    named = set(re.findall(r"(?:start|step|cap)\(\d+\)", answer.split("not shown above: ", 1)[1]))
    assert named == set(spec.rows) - shown and answer.startswith("IIS with 31 members; 7 constraints")
    name = sorted(named)[0]
    obs, *_ = env.step(f"INSPECT({name})")
    assert f"INSPECT({name}) -> {name}: " in obs  # the row itself, not an error


def test_spec_of_a_row_family_gives_its_rule_and_the_entities_it_is_stated_for(large_d):
    """SPEC(family): the rule and the listing it reads, as for a row the sheet lacks; a name
    that is no family of the model is still unknown."""
    env = RepairEnv()
    env.reset(large_d)
    obs, *_ = env.step("SPEC(production_capacity)")
    answer = obs.split("SPEC(production_capacity) -> ", 1)[1]
    assert answer.startswith("production_capacity rows follow R5: production_capacity(t), for each period listed")
    listed = re.search(r"^ *listed in line_cap: (.*)$", answer, re.M).group(1).split("; ")
    assert "t1" in listed and "t8" not in listed  # production_capacity(t8) is the added rule
    assert "production_capacity(t8)" not in answer  # the specification, not the model's rows
    obs, *_ = env.step("SPEC(make)")  # a variable family: no rows of that name
    assert "SPEC(make) -> the specification has no rule" in obs


def test_spec_of_a_family_named_like_its_table_gives_rule_and_table(sample):
    """`committed` is a family of rows and the table they read: SPEC answers with both (the
    table alone would hide the rule and the entities it is stated for)."""
    from ordebug.models import build_from_sheet
    from ordebug.models.datasheet import DataSheet
    from ordebug.solver.spec import family

    seen = set()
    for rec in sample:
        sheet = DataSheet.from_json(rec["spec"])
        both = {family(r) for r in build_from_sheet(sheet).spec.rows} & set(sheet.tables)
        for fam in sorted(both - seen):
            env = RepairEnv()
            env.reset(rec)
            obs, *_ = env.step(f"SPEC({fam})")
            answer = obs.split(f"SPEC({fam}) -> ", 1)[1]
            assert answer.startswith(f"{fam} rows follow R"), answer[:200]
            assert re.search(rf"^ *{fam}\[[^\]]*\] \(", answer, re.M), answer[:400]  # and the table
            seen.add(fam)
    assert len(seen) >= 3, seen


def test_iis_is_recomputed_only_when_the_model_changes(sample_by_type, monkeypatch):
    calls = []
    real = envmod.compute_iis
    monkeypatch.setattr(envmod, "compute_iis", lambda spec: calls.append(1) or real(spec))
    rec = sample_by_type["E"][0]
    env = RepairEnv()
    env.reset(rec)
    assert len(calls) == 1
    for a in ["GET_IIS()", f"INSPECT({rec['iis']['constraints'][0]})", "FOO()", "GET_IIS()"]:
        env.step(a)
    assert len(calls) == 1
    env.step(rec["ground_truth"]["fixes"][0])
    assert len(calls) == 2


def test_bad_problem_records_are_clear_errors(sample):
    env = RepairEnv()
    with pytest.raises(ProblemError, match="lacks field"):
        env.reset({"problem_id": "x"})
    with pytest.raises(ProblemError, match="x"):
        env.reset({"problem_id": "x", "model": "garbage", "original_objective": 1.0})


def test_exact_means_every_edit_agrees_with_the_specification(sample_by_type):
    """The recorded fix is exact; deleting a reversed rule (type A) deletes a rule the
    specification has, so it is never exact; where the rule writes one row, the deletion
    restores the optimum (the reversed row can never be violated by the rest): faithful."""
    for rec in sample_by_type["A"]:
        env, (_, _, _, _, info) = play(rec, [*rec["ground_truth"]["fixes"], "SUBMIT()"])
        assert info["outcome"]["exact"] is True and info["outcome"]["faithful"] is True
        rows = [r["name"] for r in rec["ground_truth"]["root_cause"]]  # the reversed row(s)
        env, (_, _, _, _, info) = play(rec, [*(f"DROP_CONSTRAINT({row})" for row in rows), "SUBMIT()"])
        assert info["outcome"]["exact"] is False
        if len(rows) == 1:
            assert info["outcome"]["faithful"] is True
    # an edit that is undone again leaves its element as specified: still exact
    rec = sample_by_type["C"][0]
    fix = rec["ground_truth"]["fixes"]
    row = rec["ground_truth"]["root_cause"][0]["name"]
    env, (_, _, _, _, info) = play(rec, [f"RELAX_CONSTRAINT({row}, 5)", "RESET()", *fix, "SUBMIT()"])
    assert info["outcome"]["exact"] is True


def test_a_partial_repair_is_not_exact():
    """Exact means the model agrees with the specification at every faulted element, not only
    at the edited ones: flipping back one row of a reversed family is not exact (v2's hole)."""
    from ordebug.actions import parse_action
    from ordebug.env.environment import agrees_with
    from ordebug.solver.spec import ModelSpec, Row, Var

    original = ModelSpec("m")
    for v in ("x(1)", "x(2)"):
        original.add_var(Var(v, 0, 10))
    for i in (1, 2):
        original.add_row(Row.make(f"floor({i})", {f"x({i})": 1}, ">=", 2))
    broken = original.copy()
    for i in (1, 2):
        broken.rows[f"floor({i})"] = Row.make(f"floor({i})", {f"x({i})": 1}, "<=", 2)
    half = original.copy()
    half.rows["floor(2)"] = broken.rows["floor(2)"]
    edits = [parse_action("FLIP_SENSE(floor(1))")]
    assert agrees_with(half, original, edits)  # the edited row alone agrees...
    assert not agrees_with(half, original, edits, broken)  # ...but floor(2) is still reversed
    both = edits + [parse_action("FLIP_SENSE(floor(2))")]
    assert agrees_with(original.copy(), original, both, broken)


def test_spec_looks_up_rows_variables_tables_and_entities(sample_by_type):
    rec = next(r for r in sample_by_type["D"]  # one whose IIS has a row besides the added one
               if len(set(r["iis"]["constraints"]) - {r["ground_truth"]["root_cause"][0]["name"]}) > 0)
    added = rec["ground_truth"]["root_cause"][0]["name"]
    env = RepairEnv()
    env.reset(rec)
    other = next(r for r in rec["iis"]["constraints"] if r != added)
    obs, _, _, _, _ = env.step(f"SPEC({other})")
    last = obs.split("## History")[1]
    assert f"{other} follows R" in last
    # the specification's words and data, never the row it assembles (putting it together is the task)
    answer = [x.strip() for x in last.split(f"SPEC({other}) ->")[1].strip().splitlines()]
    assert answer[0].startswith(f"{other} follows R") and all(x.startswith("data: ") for x in answer[1:])
    data_line = [x.strip() for x in last.splitlines() if x.strip().startswith("data: ")]
    if data_line:  # each cited entry is labelled by the element it fixes: rhs or a variable's coefficient
        labels = set(parse_data_line(data_line[0][len("data: "):]))
        row_vars = set(read_model_text(rec["original_model"]).rows[other].coefs)
        assert labels and labels <= {"rhs"} | row_vars, labels
    obs, _, _, _, _ = env.step(f"SPEC({added})")
    answer = obs.split("## History")[1].split(f"SPEC({added}) ->")[1]
    # an added row: the rule of its family and the entities the sheet lists, which do not include its own
    fam, entity = added.split("(")[0], added.partition("(")[2].rstrip(")")
    assert f"{fam} rows follow R" in answer
    listed = [k for line in answer.splitlines() if line.strip().startswith("listed in ")
              for k in line.split(": ", 1)[1].split("; ")]
    assert listed and entity not in listed
    assert "has no rule" in env.step("SPEC(no_such_row(x9))")[0].split("## History")[1]
    table = rec["spec"]["tables"][0]
    obs, _, _, _, _ = env.step(f"SPEC({table['name']})")
    assert table["title"] in obs.split("## History")[1]
    # a record without a specification says so, and SPEC answers plainly
    bare = {k: v for k, v in rec.items() if k not in ("spec", "original_model")}
    obs, _ = env.reset(bare)
    assert "came without a specification" in obs
    obs, _, _, _, info = env.step(f"SPEC({other})")
    assert "without a specification" in obs.split("## History")[1]
    env.step("SUBMIT()")
    assert env.evaluate().exact is None
