"""Each error type: the injection is what the taxonomy says, and its property holds."""

from __future__ import annotations

import pytest

from ordebug.actions import apply_actions
from ordebug.errors.inject import difficulty, member_deletions
from ordebug.errors.taxonomy import ERROR_TYPES, REDUNDANT_FAULT_TYPES
from ordebug.models import build_from_sheet
from ordebug.models.datasheet import DataSheet
from ordebug.solver import compute_iis, read_model_text, solve
from ordebug.solver.iis import Iis
from ordebug.solver.solve import is_feasible, same_objective
from ordebug.solver.spec import differing


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


def _spec_sheet(rec) -> DataSheet:
    return DataSheet.from_json(rec["spec"])


def test_type_a_reverses_a_rule_and_nothing_else(sample_by_type):
    """A reversed rule: the specification's rule states the other inequality for every row it
    writes; each is flipped back by the fix, and nothing else differs."""
    for rec in sample_by_type["A"]:
        b, o = broken(rec), original(rec)
        roots = {r["name"] for r in rec["ground_truth"]["root_cause"]}
        assert {n for n in o.rows if b.rows[n].sense != o.rows[n].sense} == roots
        fam = {n.split("(")[0] for n in roots}
        assert len(fam) == 1 and roots == {n for n in b.rows if n.split("(")[0] in fam}
        for name in roots:
            assert {b.rows[name].sense, o.rows[name].sense} == {"<=", ">="}
            assert b.rows[name].bound == o.rows[name].bound and b.rows[name].coefs == o.rows[name].coefs
        assert sorted(rec["ground_truth"]["fixes"]) == sorted(f"FLIP_SENSE({n})" for n in roots)
        assert differing(apply_actions(b, rec["ground_truth"]["fixes"]), o) == set()


def test_faults_sit_on_members_the_type_can_hold(sample):
    """The fault is drawn among the IIS members its type can hold: each single-fault root is
    one of :func:`ordebug.errors.labels.eligible`'s placements on the broken model's IIS."""
    from ordebug.errors.labels import TYPE_KINDS, eligible

    checked = 0
    for rec in sample:
        if rec["error_type"] not in "ACFHI":  # (B and D change what the sheet lists: tested on their own)
            continue
        b = broken(rec)
        base = build_from_sheet(_spec_sheet(rec))  # its sources and roles are the broken model's
        base.spec = b
        iis = Iis.from_json(rec["iis"])
        root = rec["ground_truth"]["root_cause"][0]
        el = ("v" if root["kind"] != "constraint" else "c", root["name"])
        members = {lab.element for k in TYPE_KINDS[rec["error_type"]] for lab in eligible(k, base, iis)}
        assert el in members, (rec["error_type"], root, members)
        checked += 1
    assert checked >= 15


def test_type_b_declares_a_continuous_variable_integer(sample_by_type):
    """The model lists a quantity as whole units; the specification does not."""
    for rec in sample_by_type["B"]:
        var = rec["ground_truth"]["root_cause"][0]["name"]
        assert broken(rec).vars[var].vtype == "I"
        assert original(rec).vars[var].vtype == "C"
        assert rec["ground_truth"]["fixes"] == [f"SET_VAR_TYPE({var}, C)"]
        assert rec["ground_truth"]["spec_sources"][0].startswith("whole_lots[")


def test_type_b_has_decoy_integers_that_also_restore_feasibility(sample_by_type):
    """A fixed total spans several whole-lot routes: relaxing any of them restores feasibility
    (with its own optimum), so the model alone cannot say which one the sheet leaves
    continuous. (v2 had one integer per conflict, and relaxing it was always right.)"""
    decoys = []
    for rec in sample_by_type["B"]:
        b = broken(rec)
        var = rec["ground_truth"]["root_cause"][0]["name"]
        ints = {v for r in rec["iis"]["constraints"] for v in b.rows[r].coefs if b.vars[v].vtype == "I"}
        n = 0
        for v in sorted(ints - {var}):
            trial = apply_actions(b, [f"SET_VAR_TYPE({v}, C)"])
            n += is_feasible(trial)
        decoys.append(n)
    assert decoys and min(decoys) >= 2, decoys


def test_type_a_has_another_inequality_family_that_turns_round_like_the_fault(sample_by_type):
    """Another IIS row, outside the reversed family, whose flip restores feasibility with the
    optimum of deleting it, as the reversed rule's does: "flip equals drop" is no signature."""
    from ordebug.errors.inject import flip_like_drop

    for rec in sample_by_type["A"]:
        b = broken(rec)
        fam = {r["name"].split("(")[0] for r in rec["ground_truth"]["root_cause"]}
        rows = [r for r in rec["iis"]["constraints"] if r.split("(")[0] not in fam]
        assert any(flip_like_drop(b, r, {}) for r in rows), rec["problem_id"]
        own = [r["name"] for r in rec["ground_truth"]["root_cause"] if r["name"] in rec["iis"]["constraints"]]
        if len(own) == 1 and is_feasible(apply_actions(b, [f"DROP_CONSTRAINT({own[0]})"])):
            assert flip_like_drop(b, own[0], {})  # the reversed row itself has the same signature
        # (when its family's other rows hold a second conflict, deleting the row alone does not
        # restore feasibility, and only the whole family's reversal does)


def test_type_a_reverses_only_a_rule_whose_direction_the_sheet_states(sample_by_type):
    """A reversed rule says in words whether it is a floor or a cap, agreeing with its sign, under
    a name that carries no direction: the specification never contradicts its own names (no
    "min_..." rule written <=), and the model has the other sense."""
    from ordebug.models.base import directed, rule_sense

    for rec in sample_by_type["A"]:
        text = rec["spec"]["rules"][rec["ground_truth"]["spec_sources"][0]]
        row = rec["ground_truth"]["root_cause"][0]["name"]
        fam = row.split("(")[0]
        sense = rule_sense(text, fam)
        assert directed(text) and sense in ("<=", ">="), text
        assert ("(a floor)" in text) == (sense == ">="), text
        assert not any(w in fam for w in ("min", "max", "least", "most", "limit", "cap")), fam
        assert broken(rec).rows[row].sense != sense


def test_type_a_has_another_family_whose_reversal_restores_feasibility(sample_by_type):
    """Turning the reversed rule's whole family round makes the model feasible; another family
    of the IIS does that too, so the family flip that restores feasibility is no signature."""
    from ordebug.errors.inject import family_flip_decoy

    for rec in sample_by_type["A"]:
        iis = Iis(rec["iis"]["constraints"], [(x["variable"], x["side"]) for x in rec["iis"]["bounds"]], True)
        fams = {r["name"].split("(")[0] for r in rec["ground_truth"]["root_cause"]}
        assert family_flip_decoy(broken(rec), iis, fams), rec["problem_id"]
        flips = [f"FLIP_SENSE({r['name']})" for r in rec["ground_truth"]["root_cause"]]
        assert is_feasible(apply_actions(broken(rec), flips))  # the fault's own family flip does it


def test_type_a_conflict_holds_two_directed_rules_either_of_which_could_be_reversed(sample_by_type):
    """The conflict of an A problem holds another rule that states its direction in words and
    whose reversal in the sheet also gives a feasible specified model: which of the two is the
    wrong way round is written only in the specification."""
    from ordebug.errors.changes import SheetChange, changed
    from ordebug.models.base import directed

    for rec in sample_by_type["A"]:
        rules = rec["spec"]["rules"]
        own = rec["ground_truth"]["spec_sources"][0]
        others = {rid for rid, text in rules.items() if rid != own and directed(text)
                  and any(r.startswith(text.split("(")[0] + "(") for r in rec["iis"]["constraints"])}
        assert others, rec["problem_id"]
        sheet = _spec_sheet(rec)
        assert is_feasible(build_from_sheet(sheet).spec)
        assert any(is_feasible(build_from_sheet(changed(changed(sheet, [SheetChange("reverse", own)]),
                                                        [SheetChange("reverse", rid)])).spec)
                   for rid in others), rec["problem_id"]


def test_difficulty_counts_the_integers_a_modeller_must_check():
    """Every general integer of the IIS rows is a member to check (its type against the sheet)."""
    from ordebug.errors.inject import members_to_check
    from ordebug.solver.spec import ModelSpec, Row, Var

    spec = ModelSpec(name="t")
    for v in ("x", "y", "z"):
        spec.add_var(Var(v, 0.0, 10.0, "I"))
    spec.add_row(Row.make("total", {"x": 1, "y": 1, "z": 1}, "=", 4.5))
    assert members_to_check(spec, Iis(["total"], [])) == 4
    spec.vars["z"].vtype = "C"
    assert members_to_check(spec, Iis(["total"], [])) == 3


def test_type_c_changes_one_coefficient_entry(sample_by_type):
    """A coefficient entry typed wrong: the same term differs in every row the entry enters,
    by one value, and nothing else of those rows differs."""
    for rec in sample_by_type["C"]:
        b, o = broken(rec), original(rec)
        rows = [r["name"] for r in rec["ground_truth"]["root_cause"]]
        diffs = set()
        for name in rows:
            x, y = b.rows[name], o.rows[name]
            terms = {v for v in set(x.coefs) | set(y.coefs) if x.coefs.get(v) != y.coefs.get(v)}
            assert len(terms) == 1 and (x.lhs, x.rhs) == (y.lhs, y.rhs)
            (v,) = terms
            diffs.add((abs(x.coefs[v]), abs(y.coefs[v])))
        assert len(diffs) == 1
        assert differing(b, o) == {("c", r) for r in rows}


def test_type_d_adds_a_rule_the_specification_does_not_contain(sample_by_type):
    for rec in sample_by_type["D"]:
        name = rec["ground_truth"]["root_cause"][0]["name"]
        b, o = broken(rec), original(rec)
        assert name in b.rows and name not in o.rows
        assert name not in build_from_sheet(_spec_sheet(rec)).spec.rows
        assert rec["ground_truth"]["fixes"] == [f"DROP_CONSTRAINT({name})"]


def test_type_e_each_fix_alone_leaves_it_infeasible(sample_by_type):
    for rec in sample_by_type["E"]:
        groups = rec["ground_truth"]["fixes_per_fault"]
        assert len(groups) == 2 and sum(groups, []) == rec["ground_truth"]["fixes"]
        for fix in groups:
            assert not is_feasible(apply_actions(broken(rec), fix))


def test_type_f_hides_the_root_in_a_definition_row(sample_by_type):
    for rec in sample_by_type["F"]:
        roots = [r["name"] for r in rec["ground_truth"]["root_cause"]]
        iis = Iis.from_json(rec["iis"])
        assert iis.size >= 4 and any(r in iis.constraints for r in roots)
        # the fault is in definition, balance or linking rows; nothing else differs
        roles = build_from_sheet(_spec_sheet(rec)).roles
        assert {roles[r] for r in roots} <= {"definition", "balance", "link"}
        assert differing(broken(rec), original(rec)) == {("c", r) for r in roots}


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
        ints = {v for r in rec["iis"]["constraints"] for v in b.rows[r].coefs if b.vars[v].vtype == "I"}
        size = len(rec["iis"]["constraints"]) + len(rec["iis"]["bounds"]) - zero_lower + len(ints)
        n_faults, n_fix = len(rec["ground_truth"]["roots_per_fault"]), len(rec["ground_truth"]["fixes"])
        assert rec["difficulty"] == difficulty(n_faults, n_fix, size)
    assert difficulty(2, 2, 3) == "hard" and difficulty(1, 1, 8) == "hard"
    assert difficulty(1, 2, 2) == "medium" and difficulty(1, 1, 4) == "medium"
    assert difficulty(1, 1, 3) == "easy"


def test_one_row_iis_shapes_are_not_one_types(sample):
    """A conflict of one row (with its bounds or integrality) is drawn the same way for every
    type: it is no type's signature (v2 made it B's)."""
    one = [r["error_type"] for r in sample if len(r["iis"]["constraints"]) <= 1]
    assert len(set(one)) >= 3 or len(one) <= 2
