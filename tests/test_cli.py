"""The ordebug CLI: iis, export, check-config and their bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT, small_config

from ordebug.bench.shards import generate_problems, write_jsonl_atomic
from ordebug.solver import read_model_text
from ordebug.solver.iis import Iis, check_irreducible
from ordebug.solver.lpformat import read_model_file

INFEASIBLE_LP = """Minimize
 obj: a + b
Subject To
 need: a + b >= 120
Bounds
 0 <= a <= 40
 0 <= b <= 70
End
"""


def ordebug(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ordebug.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_iis_prints_json_with_bounds(tmp_path):
    p = tmp_path / "m.lp"
    p.write_text(INFEASIBLE_LP)
    r = ordebug("iis", str(p))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data == {
        "constraints": ["need"],
        "bounds": [{"variable": "a", "side": "upper"}, {"variable": "b", "side": "upper"}],
        "certain": True,
        "reasons": [],
    }
    assert r.stderr == ""


def test_iis_on_mps(tmp_path):
    mps = tmp_path / "m.mps"
    from ordebug.solver.solve import to_scip

    to_scip(read_model_text(INFEASIBLE_LP)).writeProblem(str(mps), verbose=False)
    r = ordebug("iis", str(mps), "--compact")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["constraints"] == ["need"]


def test_iis_feasible_model_is_a_clear_error(tmp_path):
    p = tmp_path / "f.lp"
    p.write_text(INFEASIBLE_LP.replace(">= 120", ">= 12"))
    r = ordebug("iis", str(p))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip().splitlines() == ["ordebug: error: model 'f' is feasible: it has no IIS"]


def test_iis_broken_file_is_a_parse_error(tmp_path):
    p = tmp_path / "bad.lp"
    p.write_text("Minimize\n obj: x +\nSubject To\n c: >= 3\n")
    r = ordebug("iis", str(p))
    assert r.returncode == 2
    assert r.stderr.startswith("ordebug: error: ") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr


def test_export_lp_and_mps_round_trip(tmp_path):
    shard = tmp_path / "shard_000.jsonl"
    cfg = small_config(n_train=3, shard_size=3)["bench"]
    write_jsonl_atomic(shard, generate_problems(cfg, "train", 0))
    recs = [json.loads(x) for x in shard.read_text().splitlines()]
    for fmt in ("lp", "mps"):
        out = tmp_path / fmt
        r = ordebug("export", str(shard), "--out", str(out), "--format", fmt)
        assert r.returncode == 0, r.stderr
        index = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
        assert [i["problem_id"] for i in index] == [x["problem_id"] for x in recs]
        for rec, meta in zip(recs, index, strict=True):
            spec = read_model_file(out / meta["model_file"])
            assert check_irreducible(spec, Iis.from_json(rec["iis"])) == (True, True)
            assert "ground_truth" not in meta
            # the specification travels with the model: text to read, tables to load
            assert rec["spec"]["statement"] in (out / meta["spec_file"]).read_text()
            tables = json.loads((out / f"{rec['problem_id']}.spec.json").read_text())["tables"]
            assert tables == rec["spec"]["tables"]


def test_check_config_names_the_bad_key(tmp_path):
    cfg = small_config()
    cfg["bench"]["shard_size"] = 0
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg))
    r = ordebug("check-config", str(p))
    assert r.returncode == 2
    assert "bench.shard_size" in r.stderr
    cfg = small_config()
    cfg["bench"]["error_types"] = ["A", "Q"]
    p.write_text(yaml.safe_dump(cfg))
    r = ordebug("check-config", str(p))
    assert r.returncode == 2 and "bench.error_types" in r.stderr and "'Q'" in r.stderr
    cfg = small_config()
    cfg["bench"]["famlies"] = ["diet"]
    p.write_text(yaml.safe_dump(cfg))
    r = ordebug("check-config", str(p))
    assert r.returncode == 2 and "bench.famlies" in r.stderr
    for shipped in ("config.yaml", "smoke.yaml", "demo.yaml"):  # every config we ship is valid
        r = ordebug("check-config", str(ROOT / "config" / shipped))
        assert r.returncode == 0, (shipped, r.stderr)
