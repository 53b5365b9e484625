"""The cost curve of generation (scripts/benchmark.py scale-models): sizes found for a row
count, stages timed without changing what the generator makes, the exponent fitted."""

from __future__ import annotations

import random

from ordebug.bench.cost_curve import STAGES, Point, exponent, markdown, measure, merge, size_for_rows
from ordebug.models import build_family


def test_size_for_rows_is_the_smallest_size_with_that_many_rows():
    size, rows, variables = size_for_rows("transportation", 120)
    assert rows >= 120 and variables > 0
    assert len(build_family("transportation", random.Random(0), size).spec.rows) == rows
    assert len(build_family("transportation", random.Random(0), size - 1).spec.rows) < 120


def test_measure_times_each_stage_of_real_generation():
    pt = measure("transportation", 50, "I", problems=1, time_limit=120)
    assert pt.problems == 1 and pt.rows >= 50
    assert all(pt.seconds[s] > 0 for s in ("build", "solve", "conflicts", "iis", "verify"))
    assert sum(pt.seconds.values()) <= pt.total + 1e-6  # stages nest in the total, never counted twice
    both = merge([pt, pt])
    assert both.problems == 2 and abs(both.per_problem() - pt.per_problem()) < 1e-9
    assert "transportation (LP)" in markdown([pt])


def test_exponent_is_the_log_log_slope():
    pts = []
    for rows in (100, 1000, 10000):
        p = Point("x", rows, 1, rows, rows, problems=1)
        p.total = 1e-4 * rows ** 1.5
        p.seconds = dict.fromkeys(STAGES, 1e-6 * rows)
        pts.append(p)
    assert abs(exponent(pts) - 1.5) < 1e-9
    assert abs(exponent(pts, "iis") - 1.0) < 1e-9
    assert exponent(pts[:1]) is None
