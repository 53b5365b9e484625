"""Metric definitions on worked examples."""

from __future__ import annotations

import pytest

from ordebug.eval.metrics import diagnosis_accuracy, edited_elements, steps_before_submit, summarize

IIS = {"constraints": ["cap(p1)", "need(s1)"], "bounds": [{"variable": "x", "side": "upper"}]}


def o(feasible, faithful, steps, edits=1, actions=None, invalid=0, touched=False, pres=1.0, tin=0, tout=0,
      submitted=True, diag=None):
    return {"feasible": feasible, "faithful": faithful, "steps": steps, "n_edits": edits, "submitted": submitted,
            "actions": actions or ["X"] * steps, "invalid_actions": invalid, "root_cause_touched": touched,
            "objective_preservation": pres, "prompt_tokens": tin, "completion_tokens": tout,
            "diagnosis_accuracy": diag}


def test_steps_exclude_the_final_submit():
    assert steps_before_submit(o(True, True, 2)) == 1
    assert steps_before_submit(o(False, False, 10, submitted=False)) == 10


def test_rr_at_k_worked_example():
    outs = [
        o(True, True, 2),      # one edit + SUBMIT: solved at k=1
        o(True, False, 4),     # feasible at k=3, not faithful
        o(True, True, 6),      # faithful at k=5
        o(False, False, 10, submitted=False),
    ]
    s = summarize(outs)
    assert (s["rr@1"], s["rr@3"], s["rr@5"], s["rr@10"]) == (0.25, 0.5, 0.75, 0.75)
    assert (s["faithful_rr@1"], s["faithful_rr@3"], s["faithful_rr@5"], s["faithful_rr@10"]) == (0.25, 0.25, 0.5, 0.5)
    assert s["avg_steps_solved"] == pytest.approx((1 + 5) / 2)


def test_diagnosis_accuracy_worked_example():
    acts = ["INSPECT(cap(p1))", "FLIP_SENSE(cap(p1))", "DROP_CONSTRAINT(other)", "UPDATE_BOUNDS(x, 0, 10)",
            "SET_COEF(cap(p1), y, 2)", "SUBMIT()"]
    assert edited_elements(acts) == {"cap(p1)", "other", "x"}
    assert diagnosis_accuracy(acts, IIS) == pytest.approx(2 / 3)
    assert diagnosis_accuracy(["SET_VAR_TYPE(z, C)"], IIS, row_vars={"z"}) == 1.0
    assert diagnosis_accuracy(["INSPECT(cap(p1))", "SUBMIT()"], IIS) is None
    # averaged per problem over problems with edits
    s = summarize([o(True, True, 2, diag=1.0), o(True, False, 2, diag=0.5), o(False, False, 1, diag=None)])
    assert s["diagnosis_accuracy"] == pytest.approx(0.75)


def test_other_metrics_worked_example():
    outs = [
        o(True, True, 3, edits=2, touched=True, pres=1.0, tin=1000, tout=200, actions=["A", "B", "C"]),
        o(True, False, 2, edits=1, touched=False, pres=0.6, tin=500, tout=100, invalid=1, actions=["A", "B"]),
        o(False, False, 5, edits=3, touched=True, pres=0.0, tin=2000, tout=700, actions=["A"] * 5),
    ]
    s = summarize(outs, price_in=2.0, price_out=10.0)
    assert s["root_cause_accuracy"] == pytest.approx(2 / 3)
    assert s["objective_preservation"] == pytest.approx((1.0 + 0.6) / 2)  # feasible outcomes only
    assert s["avg_edits_solved"] == 2
    assert s["invalid_action_rate"] == pytest.approx(1 / 10)
    assert s["tokens_per_solved"] == 4500  # all tokens over one solved problem
    assert s["cost_per_solved_usd"] == pytest.approx((3500 * 2.0 + 1000 * 10.0) / 1e6)


def test_empty_outcomes():
    assert summarize([]) == {"problems": 0}
