"""IIS over constraints and bounds: infeasible and irreducible, on hand-written,
generated and external (public OR-Debug-Bench) models."""

from __future__ import annotations

import pytest
from conftest import EXTERNAL

from ordebug.solver import INF, ModelSpec, Row, Var, compute_iis, read_model_text
from ordebug.solver.errors import FeasibleModelError
from ordebug.solver.iis import Iis, check_irreducible
from ordebug.solver.lpformat import read_model_file
from ordebug.solver.solve import is_feasible


def hand_models() -> dict[str, ModelSpec]:
    out = {}
    # bound-rooted conflict: 40 + 70 < 120
    s = ModelSpec("bounds")
    s.add_var(Var("a", 0, 40))
    s.add_var(Var("b", 0, 70))
    s.add_var(Var("c", 0, INF))
    s.add_row(Row.make("need", {"a": 1, "b": 1}, ">=", 120))
    s.add_row(Row.make("other", {"c": 1, "a": 1}, "<=", 500))
    out["bounds"] = s
    # pure row conflict, plus a redundant row that must not be listed
    s = ModelSpec("rows")
    for v in "xyz":
        s.add_var(Var(v, -INF, INF))
    s.add_row(Row.make("r1", {"x": 1, "y": 1}, "<=", 1))
    s.add_row(Row.make("r2", {"x": 1}, ">=", 1))
    s.add_row(Row.make("r3", {"y": 1}, ">=", 1))
    s.add_row(Row.make("r4", {"z": 1, "x": 1}, ">=", -5))
    out["rows"] = s
    # integrality makes it infeasible: 2n = 3
    s = ModelSpec("mip")
    s.add_var(Var("n", 0, 10, "I"))
    s.add_var(Var("m", 0, 10, "I"))
    s.add_row(Row.make("odd", {"n": 2}, "=", 3))
    s.add_row(Row.make("free", {"m": 1, "n": 1}, "<=", 20))
    out["mip"] = s
    # lower bound needed: x >= 5 with x + y <= 3, y >= 0
    s = ModelSpec("lower")
    s.add_var(Var("x", 5, INF))
    s.add_var(Var("y", 0, INF))
    s.add_row(Row.make("cap", {"x": 1, "y": 1}, "<=", 3))
    out["lower"] = s
    return out


@pytest.mark.parametrize("name", ["bounds", "rows", "mip", "lower"])
def test_hand_written_iis_is_infeasible_and_irreducible(name):
    spec = hand_models()[name]
    iis = compute_iis(spec)
    assert check_irreducible(spec, iis) == (True, True)


def test_hand_written_iis_members_are_exact():
    m = hand_models()
    assert compute_iis(m["bounds"]) == Iis(["need"], [("a", "upper"), ("b", "upper")])
    assert compute_iis(m["rows"]).constraints == ["r1", "r2", "r3"]
    assert compute_iis(m["rows"]).bounds == []
    assert compute_iis(m["mip"]).constraints == ["odd"]
    assert compute_iis(m["lower"]) == Iis(["cap"], [("x", "lower"), ("y", "lower")])


def test_checker_rejects_a_reducible_or_feasible_subsystem():
    spec = hand_models()["rows"]
    assert check_irreducible(spec, Iis(["r1", "r2", "r3", "r4"], [])) == (True, False)
    assert check_irreducible(spec, Iis(["r1", "r2"], []))[0] is False


def test_feasible_model_raises():
    spec = hand_models()["bounds"]
    spec.rows["need"].lhs = 10
    with pytest.raises(FeasibleModelError, match="feasible"):
        compute_iis(spec)


def test_generated_iis_is_infeasible_and_irreducible(sample):
    for rec in sample[:: max(1, len(sample) // 20)]:
        spec = read_model_text(rec["model"], name=rec["problem_id"])
        iis = Iis.from_json(rec["iis"])
        assert compute_iis(spec) == iis, rec["problem_id"]  # recorded IIS is reproducible
        assert check_irreducible(spec, iis) == (True, True), rec["problem_id"]


def _external_spec(entry):
    return read_model_file(EXTERNAL / entry["model_file"])


def test_external_models_iis_infeasible_irreducible_and_consistent_with_gurobi(external_index):
    """Every IIS we find on the public models is an IIS; where it differs from Gurobi's,
    Gurobi's is also an infeasible subsystem, so the model has more than one IIS."""
    same = 0
    for entry in external_index:
        spec = _external_spec(entry)
        assert not is_feasible(spec), entry["problem_id"]
        iis = compute_iis(spec)
        assert check_irreducible(spec, iis) == (True, True), entry["problem_id"]
        if set(iis.constraints) == set(entry["iis_constraints"]):
            same += 1
            continue
        # Gurobi lists bound members by variable only (keep both sides of those) and folds
        # one-term rows into bounds (keep the one-term rows on those variables)
        keep = set(entry["iis_bounds"])
        singletons = [r for r, row in spec.rows.items() if len(row.coefs) == 1 and set(row.coefs) <= keep]
        g_rows = list(dict.fromkeys([*entry["iis_constraints"], *singletons]))
        support = {v for r in g_rows for v in spec.rows[r].coefs} | keep
        free = [(v, s) for v in support if v not in keep for s in ("lower", "upper")]
        assert not is_feasible(spec, rows=g_rows, free_bounds=free), entry["problem_id"]
    assert same >= len(external_index) // 2


def test_accept_rows_stops_before_the_bound_filter_and_agrees_otherwise():
    """A caller's row check sees the IIS rows; a no stops the search with no bounds listed and
    the answer marked rejected and uncertain; a yes leaves the answer as it was."""
    spec = hand_models()["bounds"]
    full = compute_iis(spec)
    seen: list[list[str]] = []
    no = compute_iis(spec, accept_rows=lambda rows: seen.append(rows) or False)
    assert seen == [full.constraints]
    assert no.rejected and not no.certain and no.bounds == [] and no.constraints == full.constraints
    yes = compute_iis(spec, accept_rows=lambda rows: True)
    assert not yes.rejected and yes == full and yes.bounds


def _undecided_when(monkeypatch, when) -> list:
    """Make the feasibility checks for which ``when(bounds_off)`` holds undecided; returns the
    list of every check's verdict, in order."""
    import ordebug.solver.iis as iis_mod

    calls: list[bool | None] = []
    real = iis_mod._Subsystem.feasible

    def flaky(self, rows_off, bounds_off, trust_retry=False):
        res = real(self, rows_off, bounds_off, trust_retry)
        if when(bounds_off):
            res, self.reason = None, "made undecided by the test"
        calls.append(res)
        return res

    monkeypatch.setattr(iis_mod._Subsystem, "feasible", flaky)
    return calls


def test_stop_when_uncertain_stops_at_the_first_undecided_member(monkeypatch):
    """With stop_when_uncertain, no check runs after one member's check stays undecided (the
    bound filter used to run to its end, ~2 s on the assignment models the generator rejects).
    The four bounds of "bounds" are tried as one chunk, halved, then one by one."""
    spec = hand_models()["bounds"]
    calls = _undecided_when(monkeypatch, bool)  # every bound check undecided
    out = compute_iis(spec, stop_when_uncertain=True)
    assert not out.certain and calls.count(None) == 3 and calls[-1] is None  # 4 bounds, 2, then 1
    calls.clear()
    out = compute_iis(spec)  # without it, every bound is still tried
    assert not out.certain and calls.count(None) == 7


def test_an_undecided_chunk_is_halved_not_an_uncertain_answer(monkeypatch):
    """Only an undecided single member makes the answer uncertain: a chunk whose check stays
    undecided is halved, and the answer is the one every check deciding gives."""
    spec = hand_models()["bounds"]
    full = compute_iis(spec)
    calls = _undecided_when(monkeypatch, lambda off: len({b for b in off if b[0] in "ab"}) == 4)  # the first chunk
    out = compute_iis(spec, stop_when_uncertain=True)
    assert None in calls and out.certain and out == full
