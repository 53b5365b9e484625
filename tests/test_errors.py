"""Each error type: the injection is what the taxonomy says, and its property holds."""

from __future__ import annotations

import pytest

from ordebug.actions import apply_actions
from ordebug.errors.faults import stands_out
from ordebug.errors.inject import difficulty, member_deletions
from ordebug.errors.taxonomy import ERROR_TYPES, REDUNDANT_FAULT_TYPES
from ordebug.models import build_from_sheet
from ordebug.models.datasheet import DataSheet
from ordebug.solver import compute_iis, read_model_text, solve
from ordebug.solver.iis import Iis
from ordebug.solver.solve import is_feasible, same_objective
from ordebug.solver.spec import natural_key


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
    whose faulty row is redundant in the original, only the fault itself may."""
    for rec in sample_by_type[etype]:
        b = broken(rec)
        iis = Iis.from_json(rec["iis"])
        faults = {r["name"] for r in rec["ground_truth"]["root_cause"]}
        for action, trial in member_deletions(b, iis):
            res = solve(trial)
            restores = res.optimal and same_objective(res.objective, rec["original_objective"], 1e-4)
            if restores:
                assert etype in REDUNDANT_FAULT_TYPES and action in {f"DROP_CONSTRAINT({f})" for f in faults}


def test_type_a_reverses_senses_and_nothing_else(sample_by_type):
    """A reversed rule: its row, or (where one reversed row would be its family's odd one) every
    row of its family; each is flipped back by the fix, and nothing else differs."""
    for rec in sample_by_type["A"]:
        b, o = broken(rec), original(rec)
        roots = {r["name"] for r in rec["ground_truth"]["root_cause"]}
        assert {n for n in o.rows if b.rows[n].sense != o.rows[n].sense} == roots
        for name in roots:
            assert {b.rows[name].sense, o.rows[name].sense} == {"<=", ">="}
            assert b.rows[name].bound == o.rows[name].bound and b.rows[name].coefs == o.rows[name].coefs
        assert rec["ground_truth"]["fixes"] == [f"FLIP_SENSE({n})" for n in sorted(roots, key=natural_key)]
        whole = rec["ground_truth"]["fault_kinds"] == ["sense:whole family"]
        assert whole == (len(roots) > 1)


def test_a_faulty_row_never_stands_out_from_its_family(sample):
    """No reversed sense, missing term or wrong variable makes a row the odd one of its family
    (a minority sense or set of variable families, a term count no sibling has): comparing
    rows without the specification finds nothing."""
    checked = 0
    for rec in sample:
        kinds = rec["ground_truth"]["fault_kinds"]
        roots = rec["ground_truth"]["roots_per_fault"]
        b = broken(rec)
        for kind, group in zip(kinds, roots, strict=True):
            if kind.split(":")[0] not in ("sense", "struct"):
                continue
            for r in group:
                assert not stands_out(b, r["name"], b.rows[r["name"]]), (rec["problem_id"], kind, r)
                checked += 1
    assert checked >= 5


def test_stands_out_sees_a_lone_sense_and_a_short_row():
    from ordebug.solver.spec import ModelSpec, Row, Var

    m = ModelSpec("m", "minimize")
    for v in ("x(1)", "x(2)", "x(3)", "y(1)", "y(2)", "y(3)"):
        m.add_var(Var(v, 0, 10, "C", 1))
    for i in (1, 2, 3):
        m.add_row(Row.make(f"cap({i})", {f"x({i})": 1, f"y({i})": 2}, "<=", 5 + i))
    assert stands_out(m, "cap(2)", Row.make("cap(2)", {"x(2)": 1, "y(2)": 2}, ">=", 7))
    assert stands_out(m, "cap(2)", Row.make("cap(2)", {"x(2)": 1}, "<=", 7))
    assert not stands_out(m, "cap(2)", Row.make("cap(2)", {"x(2)": 1, "y(2)": 2}, "<=", 9))
    assert not stands_out(m, "cap(2)", Row.make("cap(2)", {"x(2)": 1, "y(3)": 2}, "<=", 7))  # wrong index


def test_type_b_declares_a_continuous_variable_integer(sample_by_type):
    for rec in sample_by_type["B"]:
        var = rec["ground_truth"]["root_cause"][0]["name"]
        assert broken(rec).vars[var].vtype == "I"
        assert original(rec).vars[var].vtype == "C"
        assert rec["ground_truth"]["fixes"] == [f"SET_VAR_TYPE({var}, C)"]


def test_type_c_changes_terms_of_one_row(sample_by_type):
    """A coefficient typed wrong or a missing term changes one term; the wrong variable in a
    sum changes two (the right one gone, a neighbour in its place)."""
    for rec in sample_by_type["C"]:
        name = rec["ground_truth"]["root_cause"][0]["name"]
        b, o = broken(rec).rows[name], original(rec).rows[name]
        diff = {v for v in set(b.coefs) | set(o.coefs) if b.coefs.get(v) != o.coefs.get(v)}
        kind = rec["ground_truth"]["fault_kinds"][0]
        assert len(diff) == (2 if kind.endswith("wrong_variable") else 1), kind
        assert (b.lhs, b.rhs) == (o.lhs, o.rhs)


def test_type_d_adds_a_rule_the_specification_does_not_contain(sample_by_type):
    for rec in sample_by_type["D"]:
        name = rec["ground_truth"]["root_cause"][0]["name"]
        b, o = broken(rec), original(rec)
        assert name in b.rows and name not in o.rows
        assert name not in build_from_sheet(DataSheet.from_json(rec["spec"])).spec.rows
        assert rec["ground_truth"]["fixes"] == [f"DROP_CONSTRAINT({name})"]


def test_type_e_each_fix_alone_leaves_it_infeasible(sample_by_type):
    for rec in sample_by_type["E"]:
        groups = rec["ground_truth"]["fixes_per_fault"]
        assert len(groups) == 2 and sum(groups, []) == rec["ground_truth"]["fixes"]
        for fix in groups:
            assert not is_feasible(apply_actions(broken(rec), fix))


def test_type_f_hides_the_root_in_a_definition_row(sample_by_type):
    for rec in sample_by_type["F"]:
        root = rec["ground_truth"]["root_cause"][0]["name"]
        iis = Iis.from_json(rec["iis"])
        assert iis.size >= 4 and root in iis.constraints
        # the fault is in a definition, balance or linking row; requirement rows are untouched
        roles = build_from_sheet(DataSheet.from_json(rec["spec"])).roles
        assert roles[root] in ("definition", "balance", "link")
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
        after = apply_actions(b, rec["ground_truth"]["fixes_per_fault"][0])
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


def test_difficulty_follows_iis_size_and_fault_count(sample):
    for rec in sample:
        b = broken(rec)
        zero_lower = sum(1 for x in rec["iis"]["bounds"] if x["side"] == "lower" and b.vars[x["variable"]].lb == 0)
        size = len(rec["iis"]["constraints"]) + len(rec["iis"]["bounds"]) - zero_lower
        n_faults, n_fix = len(rec["ground_truth"]["roots_per_fault"]), len(rec["ground_truth"]["fixes"])
        assert rec["difficulty"] == difficulty(n_faults, n_fix, size)
    assert difficulty(2, 2, 3) == "hard" and difficulty(1, 1, 8) == "hard"
    assert difficulty(1, 2, 2) == "medium" and difficulty(1, 1, 4) == "medium"
    assert difficulty(1, 1, 3) == "easy"


def test_one_row_iis_is_the_exception(sample):
    one = sum(len(r["iis"]["constraints"]) <= 1 and len(r["iis"]["bounds"]) <= 1 for r in sample)
    assert one / len(sample) <= 0.25
