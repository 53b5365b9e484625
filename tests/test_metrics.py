"""Metric definitions on worked examples."""

from __future__ import annotations

import pytest

from ordebug.eval.metrics import (
    annotate_truth,
    diagnosis_accuracy,
    edited_elements,
    failure_kind,
    full_summary,
    steps_before_submit,
    summarize,
)
from ordebug.eval.report import failed_answer_text, failure_table, failure_type_table

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
    # averaged per problem over problems with edits (the summary's "IIS precision")
    s = summarize([o(True, True, 2, diag=1.0), o(True, False, 2, diag=0.5), o(False, False, 1, diag=None)])
    assert s["iis_precision"] == pytest.approx(0.75)


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


def test_diagnosis_recall_and_constraints_kept_worked_example():
    from ordebug.eval.metrics import constraints_kept, named_elements, root_cause_recall

    roots = [{"kind": "constraint", "name": "cap(p1)"}, {"kind": "bound", "name": "x", "side": "upper"}]
    acts = ["INSPECT(cap(p1))", "SPEC(need(s1))", "SET_COEF(other, y, 2)", "DROP_CONSTRAINT(need(s1))", "SUBMIT()"]
    assert named_elements(acts) == {"cap(p1)", "need(s1)", "other", "y"}
    assert root_cause_recall(acts, roots) == 0.5               # cap(p1) named, x never
    assert root_cause_recall(["UPDATE_BOUNDS(x, 0, 10)", "INSPECT(cap(p1))"], roots) == 1.0
    assert root_cause_recall(["SUBMIT()"], roots) == 0.0        # naming nothing finds nothing
    assert root_cause_recall(acts, []) is None
    rows = {"cap(p1)", "need(s1)", "other", "more"}
    assert constraints_kept(acts, rows) == 0.75
    assert constraints_kept(["DROP_CONSTRAINT(ghost)"], rows) == 1.0  # a row the model does not have
    # the summary's diagnosis accuracy is the recall; the old precision stays as IIS precision
    s = summarize([dict(o(True, True, 2, diag=1.0), root_cause_recall=0.0, constraints_kept=1.0),
                   dict(o(True, True, 2, diag=0.5), root_cause_recall=1.0, constraints_kept=0.5)])
    assert (s["diagnosis_accuracy"], s["iis_precision"], s["constraints_kept"]) == (0.5, 0.75, 0.75)


def test_drop_anything_does_not_beat_the_right_edit_on_recall():
    """The precision rewarded any edit inside the IIS; recall asks for the root cause."""
    from ordebug.eval.metrics import root_cause_recall

    roots = [{"kind": "constraint", "name": "need(s1)"}]
    assert root_cause_recall(["DROP_CONSTRAINT(cap(p1))", "SUBMIT()"], roots) == 0.0
    assert diagnosis_accuracy(["DROP_CONSTRAINT(cap(p1))"], IIS) == 1.0
    assert root_cause_recall(["UPDATE_RHS(need(s1), 3)", "SUBMIT()"], roots) == 1.0


def test_bootstrap_intervals_cover_the_rate_and_shrink_with_more_problems():
    from ordebug.eval.metrics import bootstrap_ratio

    outs = [o(i % 4 == 0, i % 4 == 0, 2) for i in range(40)]
    s = summarize(outs)
    lo, hi = s["ci"]["faithful"]
    assert lo < s["faithful"] == 0.25 < hi and lo >= 0.0 and hi <= 1.0
    assert s["ci"]["faithful"] == summarize(outs)["ci"]["faithful"]  # seeded: the report is reproducible
    wide = bootstrap_ratio([1, 0, 0, 0] * 5, [1] * 20)
    narrow = bootstrap_ratio([1, 0, 0, 0] * 100, [1] * 400)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]
    assert bootstrap_ratio([1] * 10, [1] * 10) == [1.0, 1.0]
    # a ratio metric resamples problems, not actions
    s = summarize([o(True, True, 2, invalid=2, actions=["A"] * 4), o(True, True, 2, actions=["A"] * 4)])
    assert s["invalid_action_rate"] == 0.25 and s["valid_action_rate"] == 0.75
    assert s["ci"]["invalid_action_rate"] == [0.0, 0.5]


def test_paired_comparison_on_the_same_problems():
    from ordebug.eval.metrics import paired, sign_test

    a = [dict(o(True, True, 2), problem_id=i, exact=True) for i in range(12)]
    b = [dict(o(True, True, 2), problem_id=i, exact=i < 2) for i in range(12)] + \
        [dict(o(True, True, 2), problem_id=99, exact=True)]  # scored by b only: left out
    c = paired(a, b, "exact")
    assert (c["problems"], c["a"], c["b"], c["a_only"], c["b_only"]) == (12, 1.0, 2 / 12, 10, 0)
    assert c["ci"][0] > 0 and c["p_value"] == sign_test(10, 0) == 2 / 2 ** 10
    assert sign_test(3, 3) == 1.0
    assert paired(a, [dict(x, problem_id=100 + i) for i, x in enumerate(b)], "exact") is None


def test_malformed_answers_count_against_the_valid_action_rate():
    """A model whose every answer lacks an Action line gave answers, all invalid (found on the
    demo: SmolLM2's base model scored 1.0 because no action ever reached the environment); the
    answers a re-prompt asked again for count too."""
    cut = dict(o(False, False, 0, actions=[]), agent_failure="malformed answer after 0 re-prompts: cut off")
    s = summarize([cut, dict(cut)])
    assert s["valid_action_rate"] == 0.0 and s["invalid_action_rate"] == 1.0
    assert s["ci"]["valid_action_rate"] == [0.0, 0.0]
    fixed = dict(o(True, True, 2, actions=["A", "B"]), reprompts=1)  # one bad answer, asked again, then two good
    assert summarize([fixed])["valid_action_rate"] == pytest.approx(2 / 3)
    gone = dict(o(False, False, 0, actions=[]), agent_failure="the endpoint gave no answer")  # not an answer
    assert summarize([gone])["valid_action_rate"] is None
    assert summarize([gone, fixed])["valid_action_rate"] == pytest.approx(2 / 3)


def test_failure_kinds_say_why_an_episode_was_not_exact():
    """Every way an episode ends, on worked examples: the report's failure table counts these."""
    problem = {"ground_truth": {"root_cause": [{"kind": "constraint", "name": "cap(p1)"}]}}
    cut = dict(o(False, False, 0, actions=[]),
               agent_failure="malformed answer after 0 re-prompts: the answer was cut off (finish_reason=length)")
    parse = dict(o(False, False, 0, actions=[]), agent_failure="malformed answer after 1 re-prompts: no Action line")
    gone = dict(o(False, False, 0, actions=[]), agent_failure="the endpoint gave no answer")
    limit = o(False, False, 4, actions=["INSPECT(cap(p1))"] * 4, submitted=False)
    elsewhere = dict(o(True, False, 2, actions=["DROP_CONSTRAINT(need(s1))", "SUBMIT()"]), exact=False)
    wrong = dict(o(True, True, 2, actions=["UPDATE_RHS(cap(p1), 9)", "SUBMIT()"]), exact=False)
    right = dict(o(True, True, 2, actions=["UPDATE_RHS(cap(p1), 10)", "SUBMIT()"]), exact=True)
    kinds = [failure_kind(x, problem) for x in (cut, parse, gone, limit, elsewhere, wrong, right)]
    assert kinds == ["cut answer", "parse error", "no answer", "step limit", "wrong element", "wrong value", "exact"]
    assert failure_kind(elsewhere) == "wrong value"  # no root causes known: nothing to call the wrong element
    f = summarize([annotate_truth(dict(x), problem) for x in (cut, cut, limit, right)])["failures"]
    assert f == {"exact": 1, "cut answer": 2, "parse error": 0, "no answer": 0, "step limit": 1,
                 "wrong element": 0, "wrong value": 0}


def test_the_report_shows_how_episodes_ended_and_what_was_written():
    base = [dict(o(False, False, 0, actions=[]), agent_failure="malformed answer after 0 re-prompts: cut off",
                 failed_answer="<think>\n<think>\n", problem_id=f"p{i}", error_type="A") for i in range(3)]
    ft = [dict(o(True, True, 2, actions=["FLIP_SENSE(r)", "SUBMIT()"]), exact=True, problem_id=f"p{i}",
               error_type="A") for i in range(3)]
    sums = [full_summary("base_m", base), full_summary("ft_m", ft)]
    table = failure_table(sums)
    assert "| base_m | 3 | 0 | 3 | 0 |" in table and "| ft_m | 3 | 3 | 0 | 0 |" in table
    assert "| A | 0/3; cut answer 3 | 3/3 |" in failure_type_table(sums)
    quoted = failed_answer_text(sums)
    assert quoted.count("base_m") == 3 and "<think>⏎<think>⏎" in quoted and "ft_m" not in quoted
