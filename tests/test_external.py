"""`ordebug import` and evaluation on external models: hand-written folders (always), the
public OR-Debug-Bench instances and real infeasible models (../shared/external/, skipped
when absent; ORDEBUG_EXTERNAL_DIR points elsewhere)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ordebug.agents.heuristic import HeuristicAgent
from ordebug.bench.external import check_external_config, import_dir
from ordebug.bench.shards import write_jsonl_atomic
from ordebug.cli import main
from ordebug.collect.episode import run_episode
from ordebug.collect.outcome import outcome_record
from ordebug.collect.shard import CollectConfig, collect_shard
from ordebug.config import ConfigError, validate_config
from ordebug.env.environment import EnvConfig, RepairEnv
from ordebug.env.observation import NO_SPEC
from ordebug.eval.external_report import PUBLISHED, external_markdown
from ordebug.eval.metrics import full_summary, summarize
from ordebug.solver.errors import OrDebugError
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.solve import is_feasible

ROOT = Path(__file__).resolve().parents[1]
EXT = Path(os.environ.get("ORDEBUG_EXTERNAL_DIR", ROOT.parent / "shared" / "external"))
ODB = EXT / "or-debug-bench"
REAL = EXT / "real-infeasible"

# capacity 40 + 70 cannot meet a need of 120; the intended need was 100 (optimum 100)
INFEASIBLE = """Minimize
 obj: a + b
Subject To
 need: a + b >= 120
 cap_a: a <= 40
 cap_b: b <= 70
End
"""
FEASIBLE = "Minimize\n obj: a\nSubject To\n c1: a >= 1\nEnd\n"
CROSSED = "Minimize\n obj: x + y\nSubject To\n c1: x + y >= 1\nBounds\n 5 <= x <= 3\nEnd\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "set"
    (d / "models").mkdir(parents=True)
    (d / "models" / "need_typeI_000.lp").write_text(INFEASIBLE)
    (d / "models" / "copy.lp").write_text(INFEASIBLE)
    (d / "models" / "feasible.lp").write_text(FEASIBLE)
    (d / "models" / "crossed.lp").write_text(CROSSED)
    (d / "models" / "garbage.mps").write_text("this is not MPS\n")
    lines = [
        {"problem_id": "need_typeI_000", "model_file": "models/need_typeI_000.lp", "error_type": "I",
         "original_objective": 100.0, "fixes": ["UPDATE_RHS(need, 100)"], "iis_constraints": ["need"],
         "iis_bounds": [], "iis_source": "hand"},
        {"problem_id": "crossed", "model_file": "models/crossed.lp"},
        {"problem_id": "copy", "model_file": "models/copy.lp"},
        {"problem_id": "feasible", "model_file": "models/feasible.lp"},
        {"problem_id": "garbage", "model_file": "models/garbage.mps"},
        {"problem_id": "missing", "model_file": "models/nowhere.lp"},
        {"problem_id": "no_file"},
        {"problem_id": "bad_fix", "model_file": "models/crossed.lp", "fixes": ["DROP_CONSTRAINT(nope)"]},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n"
    (d / "index.jsonl").write_text(text)
    return d


def test_import_lists_and_skips_bad_models_never_crashes(folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out" / "set.jsonl"
    assert main(["import", str(folder), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    skipped = {s["source"]: s["reason"] for s in map(json.loads, (tmp_path / "out" / "set.skipped.jsonl")
                                                      .read_text().splitlines())}
    assert [r["source"]["id"] for r in recs] == ["need_typeI_000", "crossed"]
    assert "feasible" in skipped["models/feasible.lp"]
    assert skipped["models/copy.lp"] == "the same model as models/need_typeI_000.lp"
    assert "garbage.mps" in skipped["models/garbage.mps"] and "nowhere.lp" in skipped["models/nowhere.lp"]
    assert "no 'model_file'" in skipped["index.jsonl:7"] and "not a JSON object" in skipped["index.jsonl:9"]
    assert "names no constraint" in skipped["models/crossed.lp"]  # the bad_fix line: its own reason
    assert err.count("ordebug: skipped ") == len(skipped) == 7 and "Traceback" not in err
    need, crossed = recs
    # our own IIS (rows and bounds), difficulty, what the index gives, what is unknown
    assert need["iis"] == {"constraints": ["need", "cap_a", "cap_b"], "bounds": []} and need["iis_certain"]
    assert need["difficulty"] == "easy" and need["original_objective"] == 100.0 and need["error_type"] == "I"
    assert need["ground_truth"]["root_cause"] == [{"kind": "constraint", "name": "need"}]
    assert need["reference_iis"] == {"constraints": ["need"], "bounds": [], "source": "hand"}
    assert set(need["unknown"]) == {"spec", "original_model", "family"}
    assert set(crossed["unknown"]) == {"spec", "original_model", "family", "original_objective", "error_type",
                                       "ground_truth"}
    assert crossed["iis"]["bounds"] == [{"variable": "x", "side": "lower"}, {"variable": "x", "side": "upper"}]
    # the id and the model text never carry the file's name (lp_typeE_000 would tell the type)
    assert need["problem_id"].startswith("ext_") and "type" not in need["model"] and "need_typeI" not in need["model"]
    assert not is_feasible(read_model_text(need["model"]))


def test_import_with_nothing_importable_writes_nothing(tmp_path: Path, capsys) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ok.lp").write_text(FEASIBLE)
    out = tmp_path / "o.jsonl"
    assert main(["import", str(tmp_path / "m"), "--out", str(out)]) == 1
    assert "no importable model" in capsys.readouterr().err and not out.exists()
    assert main(["import", str(tmp_path / "nowhere"), "--out", str(out)]) == 2


def test_agents_cope_without_a_specification(folder: Path) -> None:
    recs = {r["source"]["id"]: r for r in import_dir(folder).records}
    env = RepairEnv(EnvConfig())
    obs, _ = env.reset(recs["need_typeI_000"])
    assert NO_SPEC in obs and "## IIS" in obs
    # the heuristic measures violations, relaxes one row by exactly its violation; SCIP verifies
    ep = run_episode(HeuristicAgent(), recs["need_typeI_000"])
    o = outcome_record(recs["need_typeI_000"], "heuristic", ep, "faithful")
    assert ep.steps[0].action.startswith("CHECK_SLACK(")
    assert any(a.startswith("RELAX_CONSTRAINT(") for a in o["actions"]) and o["actions"][-1] == "SUBMIT()"
    assert o["feasible"] and o["exact"] is None and o["root_cause_known"] and o["objective_known"]
    assert "without a specification" in ep.steps[0].answer
    # crossed bounds: swapped (both values are the model's own), the solver confirms
    ep = run_episode(HeuristicAgent(), recs["crossed"])
    o = outcome_record(recs["crossed"], "heuristic", ep, "faithful")
    assert o["actions"] == ["UPDATE_BOUNDS(x, 3, 5)", "SUBMIT()"] and o["feasible"] and not o["faithful"]
    assert not o["root_cause_known"] and not o["objective_known"]


def test_metrics_that_do_not_apply_are_none() -> None:
    base = {"steps": 2, "submitted": True, "actions": ["X", "SUBMIT()"], "exact": None, "n_edits": 1}
    bare = [dict(base, feasible=True, faithful=False, root_cause_known=False, objective_known=False)] * 2
    s = summarize(bare)
    assert s["rr@5"] == 1.0 and s["feasible"] == 1.0
    assert s["faithful"] is None and s["faithful_rr@5"] is None and s["exact"] is None
    assert s["root_cause_accuracy"] is None and s["objective_preservation"] is None
    mixed = bare + [dict(base, feasible=True, faithful=True, root_cause_known=True, objective_known=True,
                         root_cause_touched=True, objective_preservation=1.0)]
    s = summarize(mixed)
    assert s["faithful"] == 1.0 and s["root_cause_accuracy"] == 1.0 and s["rr@5"] == 1.0
    old = [dict(base, feasible=True, faithful=False)]  # outcomes of generated problems: all known
    assert summarize(old)["faithful"] == 0.0 and summarize(old)["root_cause_accuracy"] == 0.0


def test_eval_external_config_is_validated(tmp_path: Path) -> None:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert cfg["eval"]["external"] == {}
    validate_config(cfg)
    cfg["eval"]["external"] = {"odb": 5}
    with pytest.raises(ConfigError, match="config key 'eval.external.odb'"):
        validate_config(cfg)
    cfg["eval"]["external"] = {"bad name": "x"}
    with pytest.raises(ConfigError, match="config key 'eval.external'"):
        validate_config(cfg)
    cfg["eval"]["external"] = {"odb": str(tmp_path / "nowhere" / "index.jsonl")}
    with pytest.raises(OrDebugError, match="config key 'eval.external.odb': .* does not exist"):
        check_external_config(cfg)


def test_llm_agent_gets_the_same_prompt_minus_the_spec(folder: Path, tmp_path: Path, monkeypatch) -> None:
    from ordebug.collect.teacher import collect_teacher_shard
    from ordebug.env.prompt import SYSTEM_PROMPT
    from ordebug.llm.config import TeacherConfig
    from ordebug.testing.teacher_server import ServerConfig, ServerThread

    shard = tmp_path / "ext.jsonl"
    write_jsonl_atomic(shard, import_dir(folder).records)
    monkeypatch.setenv("ORDEBUG_TEST_KEY", "sk-test-external")
    with ServerThread(ServerConfig(api_key="sk-test-external")) as srv:
        cfg = TeacherConfig("sim", "teacher-sim", base_url=srv.base_url, api_key_env="ORDEBUG_TEST_KEY",
                            cache_path=str(tmp_path / "cache.sqlite"), requests_per_minute=60000, timeout_s=5)
        res = collect_teacher_shard(shard, tmp_path / "s.jsonl", tmp_path / "o.jsonl", tmp_path / "j.jsonl", cfg,
                                    CollectConfig("sim", success_level="feasible"), EnvConfig())
    assert res["problems"] == 2
    outcomes = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert all(o["feasible"] and o["exact"] is None for o in outcomes)
    samples = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert samples and all(s["instruction"] == SYSTEM_PROMPT and NO_SPEC in s["input"] for s in samples)


@pytest.mark.skipif(not (ODB / "index.jsonl").is_file(), reason="../shared/external/or-debug-bench is absent")
def test_import_and_evaluate_or_debug_bench(tmp_path: Path) -> None:
    index = [json.loads(x) for x in (ODB / "index.jsonl").read_text().splitlines() if x.strip()]
    res = import_dir(ODB, workers=2)
    assert not res.skipped and len(res.records) == len(index) == 190
    by_src = {r["source"]["id"]: r for r in res.records}
    for e in index:
        r = by_src[e["problem_id"]]
        assert r["original_objective"] == e["original_objective"] and r["error_type"] == e["error_type"]
        assert r["reference_iis"]["constraints"] == e["iis_constraints"] and r["iis_certain"]
        assert r["problem_id"] != e["problem_id"] and e["problem_id"] not in r["model"]
    # a small evaluation: two problems of each type, the heuristic and drop-first-IIS
    picked = [r for t in "EFGHI" for r in [x for x in res.records if x["error_type"] == t][:2]]
    shard = tmp_path / "odb.jsonl"
    write_jsonl_atomic(shard, picked)
    summaries = []
    for agent in ("heuristic", "drop_first_iis"):
        collect_shard(shard, tmp_path / f"{agent}.t.jsonl", tmp_path / f"{agent}.o.jsonl", tmp_path / f"{agent}.j",
                      CollectConfig(agent, 1, "faithful"), EnvConfig())
        outs = [json.loads(x) for x in (tmp_path / f"{agent}.o.jsonl").read_text().splitlines()]
        s = full_summary(agent, outs)
        assert s["overall"]["problems"] == 10 and set(s["by_error_type"]) == set("EFGHI")
        assert s["overall"]["exact"] is None and s["overall"]["root_cause_accuracy"] is None
        assert s["overall"]["faithful"] is not None and s["overall"]["feasible"] > 0
        summaries.append(s)
    heur = summaries[0]["overall"]
    assert heur["feasible"] >= 0.8  # relaxing by the measured violation, verified by SCIP
    text = external_markdown("odb", summaries, picked, [], source=str(ODB / "index.jsonl"))
    assert "| heuristic | 10 |" in text and "n/a" in text and "not found here" in text
    assert all(f"{p['rr5']:.3f}" in text for p in PUBLISHED)


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/external/real-infeasible is absent")
def test_import_real_infeasible_models(tmp_path: Path) -> None:
    res = import_dir(REAL, workers=2)
    assert not res.skipped and len(res.records) == 15
    recs = {r["source"]["file"]: r for r in res.records}
    assert recs["pang.mps"]["model_format"] == "mps" and recs["pang.mps"]["renamed"]  # `$0AICCB` etc.
    assert recs["bgdbg1.mps"]["renamed"] and recs["qual.mps"]["iis_certain"] is False
    assert all(set(r["unknown"]) >= {"spec", "original_objective", "ground_truth"} for r in res.records)
    env = RepairEnv(EnvConfig())
    for name in ("pang.mps", "itest2.mps", "test_infeasible.lp"):
        obs, info = env.reset(recs[name])
        assert NO_SPEC in obs and info["status"] == "INFEASIBLE"
        assert env.state is not None and env.state.iis is not None
        assert env.state.iis.to_json() == recs[name]["iis"]


def test_workflow_scores_every_agent_on_an_external_set(workflow_dir: Path, folder: Path) -> None:
    cfg = yaml.safe_load((workflow_dir / "config" / "config.yaml").read_text())
    cfg["eval"].update({"agents": ["heuristic", "drop_first_iis"], "teachers": False,
                        "external": {"mine": str(folder / "index.jsonl")}})
    (workflow_dir / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    run = subprocess.run([snakemake, "-j2", "external"], cwd=workflow_dir, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    report = (workflow_dir / "results" / "report" / "external_mine.md").read_text()
    assert "Imported 2 models, skipped 7." in report and "| drop_first_iis | 2 |" in report
    summary = json.loads((workflow_dir / "results" / "eval_external" / "mine" / "heuristic" / "summary.json")
                         .read_text())
    assert summary["overall"]["feasible"] == 1.0 and summary["overall"]["exact"] is None
    assert not (workflow_dir / "data" / "bench").exists()  # an external set needs no generated benchmark
    # a path that does not exist stops the run before any work, naming the key
    cfg["eval"]["external"] = {"gone": str(folder / "nowhere.jsonl")}
    (workflow_dir / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    run = subprocess.run([snakemake, "-n", "external"], cwd=workflow_dir, env=env, capture_output=True, text=True)
    assert run.returncode != 0 and "config key 'eval.external.gone'" in run.stdout + run.stderr
