"""`ordebug iis` on real models nobody here wrote (../shared/external/real-infeasible) and on
small hand-written models for each way real files broke it: empty and free rows, unnamed
rows, compressed files, bounds that conflict alone, solver failures, determinism."""

from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys

import pytest
from conftest import ROOT

from ordebug.solver import INF, ModelSpec, Row, Var, compute_iis
from ordebug.solver.errors import ModelParseError
from ordebug.solver.iis import Iis, IisUndecided, check_irreducible
from ordebug.solver.lpformat import read_model_file

REAL = ROOT.parent / "shared" / "external" / "real-infeasible"
REAL_FILES = sorted(p.name for p in REAL.glob("*") if p.suffix in (".lp", ".mps")) if REAL.is_dir() else []


def ordebug(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ordebug.cli", *args], capture_output=True, text=True, cwd=ROOT)


def highs_feasible(spec: ModelSpec, iis: Iis, drop_row: str | None = None, drop_bound: tuple | None = None) -> bool:
    """HiGHS's verdict on the IIS's rows and bounds (other bounds free), one member dropped."""
    highspy = pytest.importorskip("highspy")
    import numpy as np

    rows = [r for r in iis.constraints if r != drop_row]
    bounds = {b for b in iis.bounds if b != drop_bound}
    cols = list(dict.fromkeys([*(v for r in iis.constraints for v in spec.rows[r].coefs), *(v for v, _ in bounds)]))
    idx = {v: i for i, v in enumerate(cols)}
    big = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for v in cols:
        lb, ub = spec.var_bounds(v)
        lo = lb if (v, "lower") in bounds and lb != -INF else -big
        h.addVar(lo, ub if (v, "upper") in bounds and ub != INF else big)
        if spec.vars[v].vtype != "C":
            h.changeColIntegrality(idx[v], highspy.HighsVarType.kInteger)
    for r in rows:
        row = spec.rows[r]
        ind = np.array([idx[v] for v in row.coefs], dtype=np.int32)
        h.addRow(-big if row.lhs == -INF else row.lhs, big if row.rhs == INF else row.rhs, len(ind), ind,
                 np.array(list(row.coefs.values()), dtype=np.float64))
    h.run()
    status = h.getModelStatus()
    assert status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible), status
    return status == highspy.HighsModelStatus.kOptimal


def highs_answer(spec: ModelSpec, iis: Iis) -> bool | None:
    """HiGHS's verdict (every setting it is tried with) on the IIS's rows and listed bounds."""
    from ordebug.solver import highs

    listed, support = set(iis.bounds), {v for r in iis.constraints for v in spec.rows[r].coefs}
    bounds = {(v, s): spec.var_bounds(v)[i] if (v, s) in listed else (-INF if s == "lower" else INF)
              for v in support for i, s in enumerate(("lower", "upper"))}
    return highs.lp_feasible(spec, iis.constraints, bounds)


@pytest.fixture(scope="module")
def real_iis() -> dict[str, tuple[ModelSpec, Iis]]:
    if not REAL_FILES:
        pytest.skip("../shared/external/real-infeasible is absent")
    out = {}
    for name in REAL_FILES:
        spec = read_model_file(REAL / name)
        out[name] = (spec, compute_iis(spec))
    return out


def test_real_models_give_a_valid_iis(real_iis):
    """Each answer checked on freshly built SCIP models: infeasible, and dropping any one row
    or relaxing any one bound makes it feasible. An uncertain answer must say why."""
    valid = 0
    for name, (spec, iis) in real_iis.items():
        assert iis.size > 0, name
        if iis.certain:
            assert check_irreducible(spec, iis) == (True, True), name
            valid += 1
        else:
            assert iis.reasons, name
    # qual.mps: SCIP's LP solver fails on a few of its subsystems and HiGHS finds only nearly
    # feasible points there (test_second_solver_decides_what_scip_cannot)
    assert valid >= len(real_iis) - 1


def test_real_models_cross_checked_with_highs(real_iis):
    """The same answers judged by another solver (skipped where highspy is not installed)."""
    pytest.importorskip("highspy")
    for name, (spec, iis) in real_iis.items():
        if not iis.certain:
            continue
        assert not highs_feasible(spec, iis), name
        for r in iis.constraints:
            assert highs_feasible(spec, iis, drop_row=r), (name, r)
        for b in iis.bounds:
            assert highs_feasible(spec, iis, drop_bound=b), (name, b)


def test_a_mip_gives_the_same_iis_every_time(real_iis):
    if "infeasible-mip0.mps" not in real_iis:
        pytest.skip("model absent")
    spec, first = real_iis["infeasible-mip0.mps"]
    again = compute_iis(read_model_file(REAL / "infeasible-mip0.mps"))
    assert (again.constraints, again.bounds, again.certain) == (first.constraints, first.bounds, first.certain)
    # the old seconds-based argument maps to a node limit: no clock involved either
    assert compute_iis(spec, bound_check_limit=0.2) == compute_iis(spec, bound_check_limit=0.2)


def test_highs_decides_lps_and_frees_bounds():
    """The second LP solver on small LPs: a verdict either way, a freed bound (infinite)
    honoured, integrality ignored."""
    from ordebug.solver import highs

    spec = ModelSpec("tiny")
    for v in ("x", "y"):
        spec.add_var(Var(v, 0, 1, "I"))
    spec.add_row(Row.make("need", {"x": 1, "y": 1}, ">=", 1.5))
    spec.add_row(Row.make("cap", {"x": 1, "y": -1}, "<=", 0.25))
    box = {("x", "lower"): 0.0, ("x", "upper"): 1.0, ("y", "lower"): 0.0, ("y", "upper"): 1.0}
    assert highs.lp_feasible(spec, ["need", "cap"], box) is True  # x = y = 0.75 (as an LP)
    tight = box | {("y", "upper"): 0.5}
    assert highs.lp_feasible(spec, ["need", "cap"], tight) is False  # x <= y + 0.25 <= 0.75
    assert highs.lp_feasible(spec, ["need"], tight) is True
    assert highs.lp_feasible(spec, ["need", "cap"], tight | {("y", "upper"): INF}) is True


def test_second_solver_decides_what_scip_cannot():
    """qual.mps: SCIP's LP solver fails on some checks of the bound filter. HiGHS decides
    most of them, so fewer members are kept only because a check was undecided; the few it
    cannot decide either (it finds only points at 1e10 that miss a row by 1e-4, which SCIP
    calls infeasible) keep the answer uncertain, and the reason says both solvers tried."""
    if "qual.mps" not in REAL_FILES:
        pytest.skip("model absent")
    spec = read_model_file(REAL / "qual.mps")
    alone, both = compute_iis(spec, second_solver=False), compute_iis(spec)
    assert not alone.certain and not any("HiGHS" in r for r in alone.reasons)
    assert both.constraints == alone.constraints and len(both.bounds) < len(alone.bounds)
    assert not both.certain and any("HiGHS did not decide" in r for r in both.reasons)
    assert highs_answer(spec, both) is False  # the smaller answer is still infeasible


def test_solver_failure_is_an_uncertain_answer_without_scip_noise():
    """qual.mps makes SCIP's LP solver fail inside the bound filter: exit 1, a JSON answer
    marked uncertain with its reason, and nothing of SCIP's on stderr."""
    if "qual.mps" not in REAL_FILES:
        pytest.skip("model absent")
    r = ordebug("iis", str(REAL / "qual.mps"), "--compact")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["certain"] is False and data["reasons"]
    assert r.stderr.startswith("ordebug: warning: ") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr and "ERROR" not in r.stderr
    spec = read_model_file(REAL / "qual.mps")
    assert highs_answer(spec, Iis.from_json(data)) is False  # SCIP's own LP solver fails on this system


MPS_LEGAL = """NAME          LEGAL
ROWS
 N  COST
 N  FREEROW
 L  CAP
 G  EMPTY
 E  RNG
 G  NEED
 L  SPARE
COLUMNS
    X         COST         1.0   CAP          1.0
    X         FREEROW      3.0   RNG          1.0
    X         NEED         1.0
    Y         CAP          1.0   NEED         1.0
    Z         SPARE        1.0
RHS
    RHS       CAP          4.0   EMPTY       -2.0
    RHS       RNG          1.0   NEED        10.0
    RHS       SPARE        5.0
RANGES
    RNG       RNG          2.0
BOUNDS
 MI BND       X
 UP BND       X            3.0
 LO BND       Y           -5.0
 FR BND       Z
ENDATA
"""


def test_legal_mps_features_are_read(tmp_path):
    """Empty rows, a free N row besides the objective, ranges, negative and infinite bounds."""
    p = tmp_path / "legal.mps"
    p.write_text(MPS_LEGAL)
    spec = read_model_file(p)
    assert list(spec.rows) == ["CAP", "EMPTY", "RNG", "NEED", "SPARE"]  # FREEROW is not a constraint
    assert spec.rows["EMPTY"].coefs == {} and spec.rows["EMPTY"].lhs == -2
    assert (spec.rows["RNG"].lhs, spec.rows["RNG"].rhs) == (1, 3)
    assert (spec.vars["X"].lb, spec.vars["X"].ub) == (-INF, 3)
    assert (spec.vars["Y"].lb, spec.vars["Z"].lb, spec.vars["Z"].ub) == (-5, -INF, INF)
    # X + Y <= 4 and X + Y >= 10 conflict; the empty row 0 >= -2 holds and is not listed
    iis = compute_iis(spec)
    assert iis == Iis(["CAP", "NEED"], [])
    assert check_irreducible(spec, iis) == (True, True)


def test_an_empty_row_that_cannot_hold_is_the_iis(tmp_path):
    p = tmp_path / "empty.mps"
    p.write_text(MPS_LEGAL.replace("EMPTY       -2.0", "EMPTY        2.0"))
    spec = read_model_file(p)
    iis = compute_iis(spec)
    assert iis == Iis(["EMPTY"], [])
    assert check_irreducible(spec, iis) == (True, True)


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".mps.gz"), (bz2.open, ".mps.bz2")])
def test_compressed_files_are_read(tmp_path, opener, suffix):
    p = tmp_path / f"legal{suffix}"
    with opener(p, "wt") as fh:
        fh.write(MPS_LEGAL)
    spec = read_model_file(p)
    assert spec.name == "legal" and list(spec.rows) == ["CAP", "EMPTY", "RNG", "NEED", "SPARE"]


def test_unnamed_rows_get_stable_generated_names(tmp_path):
    p = tmp_path / "unnamed.lp"
    p.write_text("Minimize\n obj: x\nSubject To\n x + y >= 10\n x + y <= 4\n c1: x - y <= 100\nEnd\n")
    spec = read_model_file(p)
    # SCIP's generic names are c<index>; the file's own c1 keeps its name
    assert list(spec.rows) == ["c0", "c1_2", "c1"]
    assert read_model_file(p).rows.keys() == spec.rows.keys()
    iis = compute_iis(spec)
    assert iis.constraints == ["c0", "c1_2"] and check_irreducible(spec, iis) == (True, True)


def test_malformed_files_name_the_file_and_line(tmp_path):
    p = tmp_path / "bad.lp"
    p.write_text("Minimize\n obj: x\nSubject To\n c: x y >= 3\nEnd\n")
    with pytest.raises(ModelParseError, match=r"bad\.lp: .*line 4"):
        read_model_file(p)
    p = tmp_path / "bad.mps"
    p.write_text("NAME x\nROWS\n N obj\n L r1\nCOLUMNS\n    x r1 abc\nENDATA\n")
    with pytest.raises(ModelParseError, match=r"bad\.mps: .*line \d+"):
        read_model_file(p)
    p = tmp_path / "bad.mps.gz"
    p.write_bytes(b"not gzip")
    with pytest.raises(ModelParseError, match="bad.mps.gz"):
        read_model_file(p)
    r = ordebug("iis", str(tmp_path / "bad.lp"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "line 4" in r.stderr


def crossing() -> ModelSpec:
    s = ModelSpec("crossing")
    s.add_var(Var("x", 0, 10))
    s.add_var(Var("y", 8, 5))  # lb > ub
    s.add_var(Var("n", 0.2, 0.7, "I"))  # no integer in [0.2, 0.7]
    s.add_row(Row.make("use", {"x": 1, "y": 1}, ">=", 12))
    s.add_row(Row.make("cap", {"x": 1, "n": 1}, "<=", 3))
    return s


def test_bounds_that_conflict_alone_are_the_whole_iis():
    s = crossing()
    iis = compute_iis(s)
    assert iis == Iis([], [("y", "lower"), ("y", "upper")])
    assert check_irreducible(s, iis) == (True, True)
    s.vars["y"].lb = 0
    iis = compute_iis(s)
    assert iis == Iis([], [("n", "lower"), ("n", "upper")])
    assert check_irreducible(s, iis) == (True, True)


def test_time_limit_only_stops_the_search():
    """A wall-clock limit never changes what a finished search answers; one that runs out
    before infeasibility is shown is an error, not a guess."""
    s = ModelSpec("chain")
    for i in range(40):
        s.add_var(Var(f"x{i}", 0, 1))
    for i in range(39):
        s.add_row(Row.make(f"r{i}", {f"x{i}": 1, f"x{i + 1}": -1}, ">=", 0.5))
    with pytest.raises(IisUndecided, match="time limit"):
        compute_iis(s, time_limit=0.0)
    full = compute_iis(s)
    assert full.certain and check_irreducible(s, full) == (True, True)
    assert compute_iis(s, time_limit=600) == full


def test_iis_text_format_and_exit_codes(tmp_path):
    p = tmp_path / "m.lp"
    p.write_text("Minimize\n obj: a\nSubject To\n need: a + 2 b >= 120\nBounds\n 0 <= a <= 40\n -3 <= b <= 30\nEnd\n")
    r = ordebug("iis", str(p), "--format", "text")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.splitlines() == [
        "IIS of m: 1 row, 2 bounds (irreducible)",
        "Rows:",
        "  need: a + 2 b >= 120",
        "Bounds:",
        "  0 <= a <= 40    (upper bound)",
        "  -3 <= b <= 30    (upper bound)",
    ]
    r = ordebug("iis", str(p), "--verbose")
    assert r.returncode == 0 and json.loads(r.stdout)["certain"] is True
    q = tmp_path / "cross.lp"
    q.write_text("Minimize\n obj: a\nSubject To\n c: a + b >= 1\nBounds\n 5 <= a <= 2\nEnd\n")
    r = ordebug("iis", str(q), "--format", "text")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-2:] == ["Bounds:", "  5 <= a <= 2    (lower and upper bounds)"]


def test_the_docs_document_the_exit_codes():
    text = (ROOT / "docs" / "iis.md").read_text()
    assert "--format text" in text and "--time-limit" in text
    assert "Exit codes: **0**" in text and "**1** an IIS that is infeasible but maybe not" in text


@pytest.mark.parametrize("name", ["woodinfe.mps", "itest2.mps"])
def test_cli_on_real_files(name):
    if name not in REAL_FILES:
        pytest.skip("model absent")
    r = ordebug("iis", str(REAL / name))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    data = json.loads(r.stdout)
    spec = read_model_file(REAL / name)
    assert check_irreducible(spec, Iis.from_json(data)) == (True, True)

