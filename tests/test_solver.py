"""The solver layer: LP text round trip, reading errors, solve statuses."""

from __future__ import annotations

import random

import pytest

from ordebug.models import FAMILIES, build_family
from ordebug.solver import INF, ModelSpec, Row, Var, read_model_text, solve, write_lp
from ordebug.solver.errors import ModelParseError
from ordebug.solver.lpformat import read_model_file
from ordebug.solver.spec import render_row, satisfies


def tiny() -> ModelSpec:
    s = ModelSpec("tiny")
    s.add_var(Var("ship(p1,store_4)", 0, 40, obj=3))
    s.add_var(Var("ship(p2,store_4)", 0, 70, obj=2))
    s.add_var(Var("n(x)", -INF, INF, "I", 0.5))
    s.add_var(Var("open(a)", vtype="B", obj=-1))
    s.add_row(Row.make("meet_demand(store_4)", {"ship(p1,store_4)": 1, "ship(p2,store_4)": 1}, ">=", 100))
    s.add_row(Row.make("link(a)", {"ship(p1,store_4)": 1, "open(a)": -40}, "<=", 0))
    s.add_row(Row.make("def(x)", {"n(x)": 2, "ship(p2,store_4)": -1}, "=", 0))
    return s


def test_lp_round_trip_keeps_names_sides_types_and_optimum():
    s = tiny()
    text = write_lp(s)
    back = read_model_text(text)
    assert set(back.vars) == set(s.vars)
    assert {r: (x.lhs, x.rhs, x.coefs) for r, x in back.rows.items()} == {
        r: (x.lhs, x.rhs, x.coefs) for r, x in s.rows.items()
    }
    assert {v: (x.lb, x.ub, x.vtype) for v, x in back.vars.items()} == {
        v: (*s.var_bounds(v), x.vtype) for v, x in s.vars.items()
    }
    assert solve(back).objective == pytest.approx(solve(s).objective)


def test_write_lp_is_deterministic():
    a = write_lp(build_family("transportation", random.Random(5), 2).spec)
    b = write_lp(build_family("transportation", random.Random(5), 2).spec)
    assert a == b


def test_brackets_are_refused_by_the_writer():
    s = tiny()
    s.add_var(Var("x[1]"))
    with pytest.raises(ValueError, match="not valid in LP format"):
        write_lp(s)


def test_render_row_is_algebraic():
    assert render_row(tiny().rows["meet_demand(store_4)"]) == (
        "meet_demand(store_4): ship(p1,store_4) + ship(p2,store_4) >= 100"
    )
    assert render_row(tiny().rows["link(a)"]) == "link(a): ship(p1,store_4) - 40 open(a) <= 0"


@pytest.mark.parametrize("text", ["", "not a model at all", "Minimize\n obj: x +\nSubject To\n c: x >= \nEnd\n"])
def test_unparseable_text_raises_parse_error(text):
    with pytest.raises(ModelParseError):
        read_model_text(text)


def test_missing_file_and_wrong_extension(tmp_path):
    with pytest.raises(ModelParseError, match="no such file"):
        read_model_file(tmp_path / "nope.lp")
    p = tmp_path / "model.txt"
    p.write_text("x")
    with pytest.raises(ModelParseError, match="unknown model format"):
        read_model_file(p)


def test_solve_statuses():
    s = tiny()
    assert solve(s).status == "optimal"
    s.rows["meet_demand(store_4)"].lhs = 200  # 40 + 70 < 200
    assert solve(s).status == "infeasible"
    u = ModelSpec("u", "maximize")
    u.add_var(Var("x", 0, INF, obj=1))
    u.add_row(Row.make("c", {"x": 1}, ">=", 1))
    assert solve(u).status == "unbounded"


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("scale", [1, 2, 3])
def test_every_family_solves_to_optimality_with_meaningful_names(family, scale):
    base = build_family(family, random.Random(1000 + scale), scale)
    res = solve(base.spec, with_values=True)
    assert res.optimal, f"{family} scale {scale}: {res.status}"
    assert satisfies(base.spec, res.values, tol=1e-5)
    for name in [*base.spec.vars, *base.spec.rows]:
        assert "[" not in name and " " not in name
        assert name[0].isalpha()
    # indexed names such as meet_demand(store_4) carry their entity
    assert sum("(" in r for r in base.spec.rows) >= len(base.spec.rows) // 2
    if family in {"assignment", "facility", "knapsack", "staffing"}:
        assert base.spec.is_mip
    elif family != "production":  # production makes some products in whole units, as its sheet says
        # the only integers of an LP family are quantities its sheet lists as whole lots
        ints = {v for v, var in base.spec.vars.items() if var.vtype != "C"}
        assert ints <= set(base.lots)
        assert all(base.sources[f"type:{v}"].startswith("whole_lots[") for v in ints)


def test_family_scale_knob_grows_the_model():
    for family in FAMILIES:
        sizes = [len(build_family(family, random.Random(3), s).spec.vars) for s in (1, 2, 3)]
        assert sizes[0] < sizes[1] < sizes[2], family


def test_unknown_family_is_named():
    with pytest.raises(KeyError, match="warehouse"):
        build_family("warehouse", random.Random(0), 1)


def test_in_place_edits_answer_as_a_rebuilt_model_and_are_undone():
    """InPlaceModel (the generator's checks of one-entry changes) answers every kind of edit
    as a model built with the edit would, and leaves the base as it was after each check
    (a variable's type is not edited in place: SCIP answered the check after such an edit
    wrongly, which a pair of checks on a transportation model showed)."""
    from ordebug import actions as act
    from ordebug.actions import apply_edit, parse_action
    from ordebug.solver.inplace import Edit, InPlaceModel
    from ordebug.solver.solve import is_feasible

    spec = ModelSpec("m", "minimize")
    spec.add_var(Var("x", 0.0, 10.0, "C", 1.0))
    spec.add_var(Var("y", 0.0, INF, "C", 1.0))
    spec.add_row(Row.make("need", {"x": 1.0, "y": 1.0}, ">=", 4.0))
    spec.add_row(Row.make("cap", {"x": 2.0, "y": 1.0}, "<=", 9.0))
    spec.add_row(Row.make("tie", {"x": 1.0, "y": -1.0}, "=", 0.5))
    probe = InPlaceModel(spec)

    def rebuilt(edit: Edit) -> ModelSpec:  # the same change as the agents' edit actions make it
        out = spec.copy()
        if edit.kind == "rhs":
            apply_edit(out, parse_action(act.update_rhs(edit.name, edit.value)))
        elif edit.kind == "coef":
            apply_edit(out, parse_action(act.set_coef(edit.name, edit.var, edit.value)))
        elif edit.kind == "ub":
            apply_edit(out, parse_action(act.update_bounds(edit.name, out.vars[edit.name].lb, edit.value)))
        else:
            out.add_row(edit.row)
        return out

    edits = [Edit("rhs", "need", value=12.0), Edit("rhs", "need", value=5.0), Edit("rhs", "tie", value=8.5),
             Edit("rhs", "tie", value=1.0), Edit("coef", "cap", "x", 4.0), Edit("coef", "cap", "y", 3.0),
             Edit("ub", "x", value=1.0),
             Edit("add", row=Row.make("extra", {"y": 1.0}, "<=", 1.0)),
             Edit("add", row=Row.make("extra", {"y": 1.0}, "<=", 3.0))]
    answers = [probe.feasible([e]) for e in edits]
    assert answers == [is_feasible(rebuilt(e)) for e in edits]
    assert True in answers and False in answers
    assert probe.feasible([]) is is_feasible(spec) is True  # every edit undone
    for a in edits:  # in any order: no check leaves anything behind for the next
        for b in edits:
            probe.feasible([a])
            assert probe.feasible([b]) is is_feasible(rebuilt(b))
    with pytest.raises(ValueError):
        probe.feasible([Edit("nonsense", "x")])
    assert probe.feasible([]) is True
