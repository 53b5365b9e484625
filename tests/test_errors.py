"""Each error type: the injection is what the taxonomy says, and its property holds."""

from __future__ import annotations

import pytest

from ordebug.env.actions import apply_actions
from ordebug.errors.inject import member_deletions
from ordebug.errors.taxonomy import ERROR_TYPES, REDUNDANT_FAULT_TYPES
from ordebug.solver import compute_iis, read_model_text, solve
from ordebug.solver.iis import Iis
from ordebug.solver.solve import is_feasible, same_objective


def broken(rec):
    return read_model_text(rec["model"], name=rec["problem_id"])


def original(rec):
    return read_model_text(rec["original_model"], name=rec["problem_id"])


def root_in(iis: Iis, root: dict, spec) -> bool:
    if root["kind"] == "constraint":
        return root["name"] in iis.constraints
    if root["kind"] == "bound":
        return (root["name"], root["side"]) in iis.bounds
    return any(root["name"] in spec.rows[r].coefs for r in iis.constraints)


def test_every_type_is_sampled(sample_by_type):
    assert set(sample_by_type) == set(ERROR_TYPES)


@pytest.mark.parametrize("etype", sorted(ERROR_TYPES))
def test_broken_is_infeasible_and_recorded_fix_restores_the_optimum(sample_by_type, etype):
    for rec in sample_by_type[etype]:
        b = broken(rec)
        assert not is_feasible(b)
        fixed = apply_actions(b, rec["ground_truth"]["fixes"])
        res = solve(fixed)
        assert res.optimal
        assert same_objective(res.objective, rec["original_objective"], 1e-6)
        assert same_objective(solve(original(rec)).objective, rec["original_objective"], 1e-9)


@pytest.mark.parametrize("etype", sorted(ERROR_TYPES))
def test_no_single_deletion_restores_the_optimum(sample_by_type, etype):
    """Deleting a member of the IIS never gives back the original optimum; for A and D,
    whose faulty row is redundant in the original, only the fault itself may, and it is
    never listed first."""
    for rec in sample_by_type[etype]:
        b = broken(rec)
        iis = Iis.from_json(rec["iis"])
        faults = {r["name"] for r in rec["ground_truth"]["root_cause"]}
        for action, trial in member_deletions(b, iis):
            res = solve(trial)
            restores = res.optimal and same_objective(res.objective, rec["original_objective"], 1e-4)
            if restores:
                assert etype in REDUNDANT_FAULT_TYPES and action == f"DROP_CONSTRAINT({next(iter(faults))})"
        if etype in REDUNDANT_FAULT_TYPES:
            assert iis.constraints[0] not in faults


def test_type_a_flips_one_sense(sample_by_type):
    for rec in sample_by_type["A"]:
        name = rec["ground_truth"]["root_cause"][0]["name"]
        b, o = broken(rec).rows[name], original(rec).rows[name]
        assert {b.sense, o.sense} == {"<=", ">="}
        assert b.bound == o.bound and b.coefs == o.coefs


def test_type_b_declares_a_continuous_variable_integer(sample_by_type):
    for rec in sample_by_type["B"]:
        var = rec["ground_truth"]["root_cause"][0]["name"]
        assert broken(rec).vars[var].vtype == "I"
        assert original(rec).vars[var].vtype == "C"
        assert rec["ground_truth"]["fixes"] == [f"SET_VAR_TYPE({var}, C)"]


def test_type_c_changes_one_coefficient(sample_by_type):
    for rec in sample_by_type["C"]:
        name = rec["ground_truth"]["root_cause"][0]["name"]
        b, o = broken(rec).rows[name], original(rec).rows[name]
        diff = {v for v in set(b.coefs) | set(o.coefs) if b.coefs.get(v) != o.coefs.get(v)}
        assert len(diff) == 1 and (b.lhs, b.rhs) == (o.lhs, o.rhs)


def test_type_d_adds_a_row_named_like_the_family(sample_by_type):
    for rec in sample_by_type["D"]:
        name = rec["ground_truth"]["root_cause"][0]["name"]
        b, o = broken(rec), original(rec)
        assert name in b.rows and name not in o.rows
        prefix = name.split("(")[0]
        assert any(r.split("(")[0] == prefix for r in o.rows), f"{name} has no sibling in the family"


def test_type_e_each_fix_alone_leaves_it_infeasible(sample_by_type):
    for rec in sample_by_type["E"]:
        fixes = rec["ground_truth"]["fixes"]
        assert len(fixes) == 2
        for fix in fixes:
            assert not is_feasible(apply_actions(broken(rec), [fix]))


def test_type_f_hides_the_root_in_a_definition_row(sample_by_type):
    for rec in sample_by_type["F"]:
        root = rec["ground_truth"]["root_cause"][0]["name"]
        iis = Iis.from_json(rec["iis"])
        assert iis.size >= 4 and root in iis.constraints
        # the fault is in an equality (definition/balance) row; requirement rows are untouched
        assert broken(rec).rows[root].sense == "="
        o, b = original(rec), broken(rec)
        changed = [r for r in o.rows if (o.rows[r].coefs, o.rows[r].lhs, o.rows[r].rhs)
                   != (b.rows[r].coefs, b.rows[r].lhs, b.rows[r].rhs)]
        assert changed == [root]


def test_type_g_cascades(sample_by_type):
    for rec in sample_by_type["G"]:
        first, second = rec["ground_truth"]["root_cause"]
        b = broken(rec)
        iis0 = Iis.from_json(rec["iis"])
        assert root_in(iis0, first, b) and not root_in(iis0, second, b)
        after = apply_actions(b, rec["ground_truth"]["fixes"][:1])
        assert not is_feasible(after)
        assert root_in(compute_iis(after), second, after)


def test_type_h_lists_the_wrong_bound(sample_by_type):
    for rec in sample_by_type["H"]:
        root = rec["ground_truth"]["root_cause"][0]
        assert root["kind"] == "bound"
        assert {"variable": root["name"], "side": root["side"]} in rec["iis"]["bounds"]


def test_type_i_records_alternatives_with_one_faithful(sample_by_type):
    for rec in sample_by_type["I"]:
        alts = rec["ground_truth"]["alternatives"]
        assert sum(a["feasible"] for a in alts) >= 2
        faithful = [a["action"] for a in alts if a["faithful"]]
        assert faithful == rec["ground_truth"]["fixes"]
        for a in alts:  # the recorded impact is what the solver says
            res = solve(apply_actions(broken(rec), [a["action"]]))
            assert (res.objective if res.optimal else None) == pytest.approx(a["objective"])


def test_difficulty_follows_iis_size_and_fix_count(sample):
    for rec in sample:
        size = len(rec["iis"]["constraints"]) + len(rec["iis"]["bounds"])
        n_fix = len(rec["ground_truth"]["fixes"])
        expected = "hard" if n_fix > 1 or size >= 6 else ("easy" if size <= 2 else "medium")
        assert rec["difficulty"] == expected
