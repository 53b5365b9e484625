"""Each error type: the injection is what the taxonomy says, and its property holds."""

from __future__ import annotations

import re
import sys

import pytest

from ordebug.actions import apply_actions
from ordebug.env.environment import RepairEnv
from ordebug.faults.inject import MIN_CANDIDATES, PRECHECKED
from ordebug.faults.taxonomy import ERROR_TYPES, OWN_DELETION_TYPES, REDUNDANT_FAULT_TYPES
from ordebug.faults.verify import MIN_RELAX_DECOYS, difficulty, member_deletions, own_deletions
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


def own(rec) -> set[str]:
    """The deletions of a record's faulty rows and bounds, as actions."""
    return own_deletions(broken(rec), rec["ground_truth"]["root_cause"])


def restores_optimum(rec, trial) -> bool:
    res = solve(trial)
    return res.optimal and same_objective(res.objective, rec["original_objective"], 1e-4)


@pytest.mark.parametrize("etype", sorted(ERROR_TYPES))
def test_no_single_deletion_restores_the_optimum(sample_by_type, etype):
    """Deleting a member of the IIS never gives back the original optimum; for A and D,
    whose faulty row is redundant in the original, only the fault itself may, and in H
    the fault's own deletion may too."""
    for rec in sample_by_type[etype]:
        b = broken(rec)
        iis = Iis.from_json(rec["iis"])
        for action, trial in member_deletions(b, iis):
            if restores_optimum(rec, trial):
                assert etype in REDUNDANT_FAULT_TYPES | OWN_DELETION_TYPES and action in own(rec)


def test_h_faults_need_not_bind_at_the_optimum(sample_by_type):
    """Some H faults sit on a bound whose deletion restores the optimum (the specified bound
    is slack there): were they all rejected, the bound whose deletion gives the best objective
    would name the fault to a ranker that never reads the sheet."""
    slack = [rec["problem_id"] for t in sorted(OWN_DELETION_TYPES) for rec in sample_by_type[t]
             if any(restores_optimum(rec, apply_actions(broken(rec), [a])) for a in own(rec))]
    assert slack
    for rec in [r for t in sorted(OWN_DELETION_TYPES) for r in sample_by_type[t] if r["problem_id"] in slack]:
        [deleted] = own(rec)  # faithful, and never exact: the specification has that bound
        env = RepairEnv()
        env.reset(rec)
        env.step(deleted)
        outcome = env.step("SUBMIT()")[4]["outcome"]
        assert outcome["faithful"] and not outcome["exact"], (rec["problem_id"], deleted)


def _spec_sheet(rec) -> DataSheet:
    return DataSheet.from_json(rec["spec"])


def _one_row(rec) -> bool:
    return rec["ground_truth"]["fault_kinds"] == ["sense:one row"]


def _written_sheet(rec) -> DataSheet:
    """The sheet an A problem's model was built from: the specification with the fault undone
    (the rule reversed back, or the missed exception left out)."""
    from ordebug.faults.changes import SheetChange, changed

    sheet = _spec_sheet(rec)
    own = rec["ground_truth"]["spec_sources"][0]
    if not _one_row(rec):
        return changed(sheet, [SheetChange("reverse", own)])
    key = rec["ground_truth"]["root_cause"][0]["name"].partition("(")[2][:-1]
    sheet.rules[own] = re.sub(rf" Except for {re.escape(key)}, [^.]*\.", "", sheet.rules[own])
    return sheet


def test_type_a_reverses_a_rule_or_misses_an_exception_and_nothing_else(sample_by_type):
    """A reversed rule: the specification's rule states the other inequality for every row it
    writes; a missed exception: the rule goes the other way round for one entity, whose row
    alone the model has wrong. Each wrong row is flipped back by the fix, nothing else differs."""
    from ordebug.models.base import exceptions, row_key

    for rec in sample_by_type["A"]:
        b, o = broken(rec), original(rec)
        roots = {r["name"] for r in rec["ground_truth"]["root_cause"]}
        assert {n for n in o.rows if b.rows[n].sense != o.rows[n].sense} == roots
        fam = {n.split("(")[0] for n in roots}
        if _one_row(rec):
            (row,) = roots
            text = rec["spec"]["rules"][rec["ground_truth"]["spec_sources"][0]]
            assert row_key(row) in exceptions(text) and len([n for n in b.rows if n.split("(")[0] in fam]) > 1
        else:
            assert len(fam) == 1 and roots == {n for n in b.rows if n.split("(")[0] in fam}
        for name in roots:
            assert {b.rows[name].sense, o.rows[name].sense} == {"<=", ">="}
            assert b.rows[name].bound == o.rows[name].bound and b.rows[name].coefs == o.rows[name].coefs
        assert sorted(rec["ground_truth"]["fixes"]) == sorted(f"FLIP_SENSE({n})" for n in roots)
        assert differing(apply_actions(b, rec["ground_truth"]["fixes"]), o) == set()


def test_faults_sit_on_members_the_type_can_hold(sample):
    """The fault is drawn among the IIS members its type can hold: each single-fault root is
    one of :func:`ordebug.faults.labels.eligible`'s placements on the broken model's IIS."""
    from ordebug.faults.labels import TYPE_KINDS, eligible

    checked = 0
    for rec in sample:
        if rec["error_type"] not in "ACFHI":  # (B and D change what the sheet lists: tested on their own)
            continue
        b = broken(rec)
        # its sources and roles are the broken model's (A: eligibility reads the rule as written)
        base = build_from_sheet(_written_sheet(rec) if rec["error_type"] == "A" else _spec_sheet(rec))
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
    assert decoys and min(decoys) >= MIN_RELAX_DECOYS == 4, decoys


def test_type_a_has_another_inequality_family_that_turns_round_like_the_fault(sample_by_type):
    """Another IIS row, outside the reversed family, whose flip restores feasibility with the
    optimum of deleting it, as the reversed rule's does: "flip equals drop" is no signature."""
    from ordebug.faults.verify import flip_like_drop

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
    from ordebug.models.base import directed, row_sense, rule_sense

    for rec in sample_by_type["A"]:
        text = rec["spec"]["rules"][rec["ground_truth"]["spec_sources"][0]]
        row = rec["ground_truth"]["root_cause"][0]["name"]
        fam = row.split("(")[0]
        sense = rule_sense(text, fam)
        assert directed(text) and sense in ("<=", ">="), text
        assert ("(a floor)" in text.split(" Except for ")[0]) == (sense == ">="), text
        assert not any(w in fam for w in ("min", "max", "least", "most", "limit", "cap")), fam
        assert broken(rec).rows[row].sense != row_sense(text, row)
        assert (row_sense(text, row) != sense) == _one_row(rec)


def test_type_a_scope_is_hidden_from_the_solver(sample_by_type):
    """Turning the faulty row round alone and turning its whole family round both restore
    feasibility, so a search cannot tell a reversed rule from a missed exception by solving."""
    from ordebug.faults.verify import scope_hidden

    for rec in sample_by_type["A"]:
        assert scope_hidden(broken(rec), rec["ground_truth"]["root_cause"][0]["name"]), rec["problem_id"]


def test_type_a_both_scopes_verify(sample_by_type):
    """Where the faulty row's family has other rows, the rule reversed and the exception missed
    both pass verification on the same conflict: the scope drawn is independent of anything
    the solver says about the broken model (keeping only the scope that passed tied it to
    the objective)."""
    from ordebug.faults.labels import _sense_label
    from ordebug.faults.verify import broken_base, verify

    checked = 0
    for rec in sample_by_type["A"]:
        written, b = _written_sheet(rec), broken(rec)
        root = rec["ground_truth"]["root_cause"][0]["name"]
        labels = _sense_label(broken_base(written, b), root)
        assert {lab.note for lab in labels} == ({"whole family", "one row"} if len(labels) == 2 else {""})
        for lab in labels:
            assert verify("A", broken_base(written, b), written, Iis.from_json(rec["iis"]), [lab], None), lab
        checked += len(labels) == 2
    assert checked >= 1


def test_rule_exceptions_read_reverse_and_build():
    """A directed rule's exception: read per row, kept the other way round when the rule is
    reversed, refused twice, and built into the row's sense."""
    import random

    from ordebug.models import build_family
    from ordebug.models.base import add_exception, exceptions, reverse_rule, row_sense, rule_sense

    text = "guideline(n), for each nutrient listed in guideline: intake(n) <= guideline[n] (a cap)."
    odd = add_exception(text, "calcium")
    assert exceptions(odd) == {"calcium": ">="} and rule_sense(odd, "guideline") == "<="
    assert row_sense(odd, "guideline(calcium)") == ">=" and row_sense(odd, "guideline(iron)") == "<="
    back = reverse_rule(odd)
    assert row_sense(back, "guideline(calcium)") == "<=" and row_sense(back, "guideline(iron)") == ">="
    with pytest.raises(ValueError, match="already an exception"):
        add_exception(odd, "calcium")
    with pytest.raises(ValueError, match="stating its direction"):
        add_exception("supply_limit(x): sum of flow(x,h) <= supply[x].", "x1")
    seen = 0
    for seed in range(40):
        base = build_family("diet", random.Random(seed), 2)
        for rid, rule in base.sheet.rules.items():
            for key, sense in exceptions(rule).items():
                fam = rule.split("(")[0]
                rows = {r: x.sense for r, x in base.spec.rows.items() if r.split("(")[0] == fam}
                assert rows[f"{fam}({key})"] == sense and set(rows.values()) == {"<=", ">="}, rid
                seen += 1
    assert seen >= 5


def test_type_a_has_another_family_whose_reversal_restores_feasibility(sample_by_type):
    """Turning the reversed rule's whole family round makes the model feasible; another family
    of the IIS does that too, so the family flip that restores feasibility is no signature."""
    from ordebug.faults.verify import family_flip_decoy

    for rec in sample_by_type["A"]:
        iis = Iis(rec["iis"]["constraints"], [(x["variable"], x["side"]) for x in rec["iis"]["bounds"]], True)
        fams = {r["name"].split("(")[0] for r in rec["ground_truth"]["root_cause"]}
        assert family_flip_decoy(broken(rec), iis, fams), rec["problem_id"]
        flips = [f"FLIP_SENSE({r['name']})" for r in rec["ground_truth"]["root_cause"]]
        assert is_feasible(apply_actions(broken(rec), flips))  # the fault's own family flip does it


def test_type_a_conflict_holds_two_directed_rules_either_of_which_could_be_reversed(sample_by_type):
    """The conflict of an A problem holds another rule that states its direction in words and
    whose reversal in the sheet (or a missed exception for its row of the conflict) also gives
    a feasible specified model: which is wrong is written only in the specification."""
    from ordebug.faults.changes import SheetChange, changed
    from ordebug.models.base import directed, exceptions, row_key

    for rec in sample_by_type["A"]:
        rules = rec["spec"]["rules"]
        own = rec["ground_truth"]["spec_sources"][0]
        others = {rid for rid, text in rules.items() if rid != own and directed(text)
                  and any(r.startswith(text.split("(")[0] + "(") for r in rec["iis"]["constraints"])}
        assert others, rec["problem_id"]
        sheet = _spec_sheet(rec)
        assert is_feasible(build_from_sheet(sheet).spec)
        written = _written_sheet(rec)
        assert differing(build_from_sheet(written).spec, broken(rec)) == set()
        changes = [SheetChange("reverse", rid) for rid in others]
        changes += [SheetChange("except", rid, row_key(r)) for rid in others for r in rec["iis"]["constraints"]
                    if r.startswith(rules[rid].split("(")[0] + "(") and row_key(r) not in exceptions(rules[rid])]
        assert any(is_feasible(build_from_sheet(changed(written, [c])).spec) for c in changes), rec["problem_id"]


def test_difficulty_counts_the_integers_a_modeller_must_check():
    """Every general integer of the IIS rows is a member to check (its type against the sheet)."""
    from ordebug.faults.verify import members_to_check
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
        # three listed rules in the conflict, each of which could be the added one
        listed = build_from_sheet(_spec_sheet(rec)).listed
        assert sum(1 for r in rec["iis"]["constraints"] if r in listed or r == name) >= MIN_CANDIDATES["D"] == 3


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


@pytest.mark.parametrize("etype", sorted(PRECHECKED))
def test_checks_before_the_iis_are_necessary(bench_spec, monkeypatch, etype):
    """The generator rejects conflicts before paying for the IIS when dropping every row (or
    bound) the type could sit in leaves the model infeasible, or when too few candidates are listed.
    Those must be necessary conditions: generated with the checks off, every candidate that
    passes verification passes them too (rebuilt from the sheet its model was written from),
    and its IIS rows pass the row check."""
    from ordebug.bench.generate import generate_problem, slot
    from ordebug.faults import inject as _  # noqa: F401
    from ordebug.faults.changes import build

    inj = sys.modules["ordebug.faults.inject"]
    verified = []
    real = inj.verify

    def verify(etype_, base, sheet, iis, labels, target):
        out = real(etype_, base, sheet, iis, labels, target)
        if out is not None:
            verified.append((sheet, iis))
        return out

    monkeypatch.setattr(inj, "verify", verify)
    monkeypatch.setattr(inj, "PRECHECKED", frozenset())
    slots = [i for i in range(40) if slot(bench_spec, "precheck", i)[0] == etype][:2]
    for i in slots:
        generate_problem(bench_spec, "precheck", i)
    assert len(verified) >= 2
    for sheet, iis in verified:
        accept = inj._precheck(etype, build(sheet))
        assert accept is not None and accept(iis.constraints)
        assert etype == "H" or not accept([])


def test_candidates_are_counted_by_sheet_entry_not_by_row():
    """One coefficient entry that enters three rows is one candidate (knapsack: an item's
    weight in every truck's load row), so a conflict with it alone is not three candidates."""
    import importlib

    from ordebug.faults import labels as lb

    inj = importlib.import_module("ordebug.faults.inject")  # (the package exports a function of that name)
    rows = [("c", f"truck_load(truck_{t})") for t in (1, 2, 3)]
    one = {m: [lb.Label("coef", m, "weight[item_7]", var=f"pack(item_7,{m[1][11:18]})")] for m in rows}
    assert inj._count("C", one) == 1
    three = {m: [lb.Label("coef", m, f"weight[item_{i}]")] for i, m in enumerate(rows)}
    assert inj._count("C", three) == 3
    assert inj._count("A", {rows[0]: [lb.Label("sense", rows[0], "R4"), lb.Label("sense", rows[0], "R4")]}) == 1
