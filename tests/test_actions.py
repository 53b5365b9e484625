"""The action grammar and every edit on a small model, including invalid cases."""

from __future__ import annotations

import math

import pytest

from ordebug import actions as act
from ordebug.actions import SIGNATURES, ActionError, apply_edit, extract_action, parse_action
from ordebug.solver import INF, ModelSpec, Row, Var


def model() -> ModelSpec:
    s = ModelSpec("m")
    s.add_var(Var("ship(p1,s1)", 0, 40, obj=3))
    s.add_var(Var("ship(p2,s1)", 0, 70, obj=2))
    s.add_var(Var("n", 0, 5, "I"))
    s.add_row(Row.make("meet_demand(s1)", {"ship(p1,s1)": 1, "ship(p2,s1)": 1}, ">=", 120))
    s.add_row(Row.make("cap(p1)", {"ship(p1,s1)": 1}, "<=", 30))
    s.add_row(Row.make("def", {"n": 2, "ship(p1,s1)": -1}, "=", 0))
    return s


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("GET_IIS()", "GET_IIS()"),
        ("INSPECT(meet_demand(s1))", "INSPECT(meet_demand(s1))"),
        ("SPEC( hours )", "SPEC(hours)"),
        ("CHECK_SLACK( cap(p1) )", "CHECK_SLACK(cap(p1))"),
        ("RELAX_CONSTRAINT(cap(p1), 2.50)", "RELAX_CONSTRAINT(cap(p1), 2.5)"),
        ("DROP_CONSTRAINT(cap(p1))", "DROP_CONSTRAINT(cap(p1))"),
        ("UPDATE_RHS(meet_demand(s1),1e2)", "UPDATE_RHS(meet_demand(s1), 100)"),
        ("FLIP_SENSE(cap(p1))", "FLIP_SENSE(cap(p1))"),
        ("SET_COEF(meet_demand(s1), ship(p1,s1), -1)", "SET_COEF(meet_demand(s1), ship(p1,s1), -1)"),
        ("UPDATE_BOUNDS(ship(p1,s1), -inf, inf)", "UPDATE_BOUNDS(ship(p1,s1), -inf, inf)"),
        ("SET_VAR_TYPE(n, c)", "SET_VAR_TYPE(n, C)"),
        ("RESET()", "RESET()"),
        ("  SUBMIT()  ", "SUBMIT()"),
    ],
)
def test_parse_canonical_round_trip(text, canonical):
    a = parse_action(text)
    assert a.text == canonical
    assert parse_action(a.text) == a


def test_every_action_has_a_case():
    assert {a.split("(")[0] for a in ["GET_IIS", "INSPECT", "SPEC", "CHECK_SLACK", "RELAX_CONSTRAINT",
                                       "DROP_CONSTRAINT", "UPDATE_RHS", "FLIP_SENSE", "SET_COEF", "UPDATE_BOUNDS",
                                       "SET_VAR_TYPE", "RESET", "SUBMIT"]} == set(SIGNATURES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot parse"),
        ("drop the first row", "cannot parse"),
        ("FOO(x)", "unknown action 'FOO'"),
        ("DROP_CONSTRAINT()", "takes 1 argument"),
        ("SET_COEF(a, b)", "takes 3 argument"),
        ("UPDATE_RHS(a, nan)", "not a finite number"),
        ("UPDATE_RHS(a, inf)", "not a finite number"),
        ("UPDATE_RHS(a, ten)", "not a number"),
        ("RELAX_CONSTRAINT(a, -1)", "must be positive"),
        ("UPDATE_BOUNDS(x, 5, 1)", "exceeds upper bound"),
        ("UPDATE_BOUNDS(x, nan, 1)", "not a finite number"),
        ("SET_VAR_TYPE(x, Z)", "must be C, I or B"),
        ("INSPECT(a b)", "not a valid"),
        ("INSPECT(f(x)", "unbalanced"),
    ],
)
def test_invalid_actions_are_clear_errors(text, message):
    with pytest.raises(ActionError, match=message):
        parse_action(text)


def test_edits_change_exactly_what_they_say():
    s = model()
    apply_edit(s, parse_action("FLIP_SENSE(cap(p1))"))
    assert (s.rows["cap(p1)"].lhs, s.rows["cap(p1)"].rhs) == (30, INF)
    apply_edit(s, parse_action("FLIP_SENSE(cap(p1))"))
    assert (s.rows["cap(p1)"].lhs, s.rows["cap(p1)"].rhs) == (-INF, 30)
    apply_edit(s, parse_action("RELAX_CONSTRAINT(cap(p1), 5)"))
    assert s.rows["cap(p1)"].rhs == 35
    apply_edit(s, parse_action("RELAX_CONSTRAINT(meet_demand(s1), 20)"))
    assert s.rows["meet_demand(s1)"].lhs == 100
    apply_edit(s, parse_action("RELAX_CONSTRAINT(def, 1)"))
    assert (s.rows["def"].lhs, s.rows["def"].rhs) == (-1, 1)
    apply_edit(s, parse_action("UPDATE_RHS(meet_demand(s1), 90)"))
    assert s.rows["meet_demand(s1)"].lhs == 90
    apply_edit(s, parse_action("SET_COEF(meet_demand(s1), n, 4)"))
    assert s.rows["meet_demand(s1)"].coefs["n"] == 4
    apply_edit(s, parse_action("SET_COEF(meet_demand(s1), n, 0)"))
    assert "n" not in s.rows["meet_demand(s1)"].coefs
    apply_edit(s, parse_action("UPDATE_BOUNDS(ship(p2,s1), 0, inf)"))
    assert s.vars["ship(p2,s1)"].ub == INF
    apply_edit(s, parse_action("SET_VAR_TYPE(n, C)"))
    assert s.vars["n"].vtype == "C"
    apply_edit(s, parse_action("SET_VAR_TYPE(n, B)"))
    assert s.var_bounds("n") == (0, 1)
    apply_edit(s, parse_action("DROP_CONSTRAINT(cap(p1))"))
    assert "cap(p1)" not in s.rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DROP_CONSTRAINT(nope)", "unknown constraint 'nope'"),
        ("SET_COEF(cap(p1), nope, 1)", "unknown variable 'nope'"),
        ("UPDATE_BOUNDS(nope, 0, 1)", "unknown variable"),
        ("FLIP_SENSE(def)", "cannot flip"),
        ("SET_COEF(cap(p1), ship(p1,s1), 0)", "empty"),
    ],
)
def test_invalid_edits_leave_the_model_untouched(text, message):
    s = model()
    before = s.copy()
    with pytest.raises(ActionError, match=message):
        apply_edit(s, parse_action(text))
    assert s == before


def test_extract_action_takes_the_last_action_line_after_think():
    text = "<think>\nAction: DROP_CONSTRAINT(x) would be wrong\n</think>\n\nAction: FLIP_SENSE(cap(p1))"
    assert extract_action(text).text == "FLIP_SENSE(cap(p1))"
    with pytest.raises(ActionError, match="no 'Action"):
        extract_action("<think>hmm</think> I would drop it")


def test_numbers_are_never_nan():
    for text in ["UPDATE_RHS(a, 1e400)", "SET_COEF(a, b, -inf)"]:
        with pytest.raises(ActionError):
            parse_action(text)
    assert math.isinf(parse_action("UPDATE_BOUNDS(x, -infinity, 3)").args[1])


def test_constructors_write_what_the_parser_reads():
    """Every constructor's text parses back to the same action (no hand-built action strings)."""
    made = [
        act.get_iis(), act.inspect("cap(p1)"), act.spec("hours"), act.check_slack("cap(p1)"),
        act.relax("cap(p1)", 2.5), act.drop("cap(p1)"), act.update_rhs("meet_demand(s1)", 120),
        act.flip_sense("cap(p1)"), act.set_coef("def", "ship(p1,s1)", -1.25),
        act.update_bounds("ship(p1,s1)", 0, INF), act.update_bounds("n", -INF, 3), act.set_var_type("n", "C"),
        act.reset(), act.submit(),
    ]
    assert {m.split("(")[0] for m in made} == set(SIGNATURES)
    for text in made:
        assert parse_action(text).text == text
    assert act.update_bounds("x", 0, INF) == "UPDATE_BOUNDS(x, 0, inf)"
    assert act.set_coef("r", "x", 2.0) == "SET_COEF(r, x, 2)"
    assert act.target(parse_action(act.drop("cap(p1)"))) == "cap(p1)"
    assert act.target(parse_action(act.submit())) is None
