"""Cluster placement without a cluster: a parked slurm.conf fails fast, and the rules'
resources agree with what the Slurm profiles ask for."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from ordebug.perf import _stopped_controller_conf

MINIMAL_CONF = """ClusterName=t
SlurmctldHost=localhost
AuthType=auth/munge
NodeName=localhost CPUs=1
PartitionName=cpu Nodes=localhost Default=YES
"""


def test_parked_slurm_conf_makes_scontrol_fail_at_once(tmp_path: Path):
    """What `slurm_cluster.sh stop` leaves: the plugin's import-time `scontrol show config`
    gets its answer (no controller) at once instead of after ~9 s of retries."""
    if shutil.which("scontrol") is None:
        pytest.skip("Slurm's tools are not installed")
    src = tmp_path / "slurm.conf"
    src.write_text(MINIMAL_CONF)
    conf = _stopped_controller_conf(src, tmp_path / "parked.conf", parked=True)
    text = conf.read_text()
    assert text.count("MessageTimeout=1") == 1 and "SlurmctldPort=" in text
    subprocess.run(["bash", str(ROOT / "scripts" / "ci" / "slurm_cluster.sh"), "park", str(conf)], check=True)
    assert conf.read_text().count("MessageTimeout=1") == 1  # parking twice changes nothing
    start = time.perf_counter()
    r = subprocess.run(["scontrol", "show", "config"], env={"SLURM_CONF": str(conf), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=30)
    assert time.perf_counter() - start < 3
    assert r.returncode != 0 and "Unable to contact slurm controller" in r.stdout + r.stderr


PLACEMENT_KEYS = {"slurm_partition", "gpu_model", "slurm_account", "slurm_qos", "slurm_reservation", "constraint"}
SUBMITTED = {"bench_pool", "collect", "evaluate", "evaluate_finetuned", "train"}


def _dry_run_jobs(workdir: Path, *args: str) -> dict[str, list[dict]]:
    """Rule name -> resources (plus threads) of every job in a dry run."""
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", *args], cwd=workdir, capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    jobs: dict[str, list[dict]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", r.stdout + r.stderr):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m:
            continue
        res = dict(re.findall(r"(\w+)=([^,\n]+)", (re.search(r"resources: (.*)", block) or ["", ""])[1]))
        t = re.search(r"threads: (\d+)", block)
        res["threads"] = t.group(1) if t else "1"
        jobs.setdefault(m.group(1), []).append(res)
    return jobs


def test_slurm_profile_only_places_and_the_rules_declare_what_jobs_need(workflow_dir: Path):
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    for rule, res in profile["set-resources"].items():
        assert set(res) <= PLACEMENT_KEYS, f"profiles/slurm sizes {rule}: {set(res) - PLACEMENT_KEYS}"
    assert set(profile["default-resources"]) <= PLACEMENT_KEYS
    cfg = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    cfg["eval"]["serve"]["gpus"] = 1
    cfg["eval"]["finetuned"], cfg["eval"]["rl"], cfg["eval"]["base"] = ["smoke_plain"], [], []  # one served agent
    cfg["training"]["runs"]["smoke_plain"]["gpus"] = 2
    (workflow_dir / "config" / "scale.yaml").write_text(yaml.safe_dump(cfg))
    # an external set (three small models in tests/data): its evaluations are jobs too
    cfg["eval"]["external"] = {"tiny": str(ROOT / "tests" / "data" / "external")}
    (workflow_dir / "config" / "scale.yaml").write_text(yaml.safe_dump(cfg))
    jobs = _dry_run_jobs(workflow_dir, "report", "train_all", "external", "--profile", "profiles/slurm",
                         "--configfile", "config/scale.yaml")
    assert set(jobs) >= SUBMITTED
    assert {j["slurm_partition"] for j in jobs["evaluate_external"]} == {"cpu"}
    assert [(j["slurm_partition"], j["gpu"]) for j in jobs["evaluate_external_finetuned"]] == [("gpu", "1")]
    train = {j["gpu"]: j for j in jobs["train"]}
    assert set(train) == {"0", "2"}  # each run's own GPU count
    t = train["2"]
    assert (t["slurm_partition"], t["gpu_model"], t["mem_mb"], t["runtime"], t["cpus_per_task"]) == \
        ("gpu", "a800", "131072", "720", "16")
    ft = jobs["evaluate_finetuned"]
    assert len(ft) == 1 and ft[0]["slurm_partition"] == "gpu" and ft[0]["gpu"] == "1"
    for rule in ("bench_pool", "collect", "evaluate"):
        for j in jobs[rule]:
            assert j["slurm_partition"] == "cpu" and int(j["mem_mb"]) >= 2048 and int(j["runtime"]) >= 10, (rule, j)
            assert j.get("gpu", "0") == "0"
    # the same DAG locally (profiles/default): nothing asks for a partition
    local = _dry_run_jobs(workflow_dir, "report", "--configfile", "config/scale.yaml", "--replace-workflow-config")
    assert all("slurm_partition" not in j for js in local.values() for j in js)


def test_finetuned_agent_is_evaluated_in_configured_parts(workflow_dir: Path):
    cfg = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    cfg["eval"]["finetuned_shards"] = 2
    cfg["eval"]["finetuned"], cfg["eval"]["rl"], cfg["eval"]["base"] = ["smoke_plain"], [], []  # one served agent
    cfg["bench"]["n_test"] = 27 * 3  # two test shards of 45 problems (the last shorter)
    (workflow_dir / "config" / "parts.yaml").write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "report", "--configfile", "config/parts.yaml",
                        "--replace-workflow-config"], cwd=workflow_dir, capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    out = r.stdout
    parts = sorted(set(re.findall(r"results/eval/ft_smoke_plain/part_(\d+)\.outcomes\.jsonl", out)))
    assert parts == ["000", "001"]
    assert "results/eval/ft_smoke_plain/shard_" not in out  # no per-shard job, one server per part
    blocks = [b for b in re.split(r"\n(?=rule )", out) if b.startswith("rule evaluate_finetuned:")]
    inputs = sorted(re.search(r"input: (.*)", b).group(1) for b in blocks)
    assert ["data/bench/test/shard_000.jsonl" in inputs[0], "data/bench/test/shard_001.jsonl" in inputs[1]] == \
        [True, True]


def test_serve_backend_choice_and_vllm_command(tmp_path: Path):
    import importlib.util

    from ordebug.eval.serve import ServeError, pick_backend, vllm_command

    have_vllm = importlib.util.find_spec("vllm") is not None
    assert pick_backend("auto") == ("vllm" if have_vllm else "llamafactory")
    assert pick_backend("llamafactory") == "llamafactory"
    with pytest.raises(ServeError, match="eval.serve.backend"):
        pick_backend("tgi")
    if not have_vllm:
        with pytest.raises(ServeError, match="vLLM is not installed"):
            pick_backend("vllm")
    cmd = vllm_command("Qwen/Qwen3-8B", tmp_path / "adapter", "ordebug-ft", 8123, gpus=2, lora_rank=32)
    i = cmd.index("--lora-modules")
    assert cmd[i + 1] == f"ordebug-ft={tmp_path / 'adapter'}"
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "2" and cmd[cmd.index("--max-lora-rank") + 1] == "32"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "--api-key" not in cmd  # the key stays off argv
    # vLLM accepts only some max_lora_rank values: an adapter's rank is rounded up to one
    for rank, expected in ((4, "8"), (8, "8"), (24, "32"), (300, "320")):
        cmd = vllm_command("m", tmp_path / "adapter", "ft", 8123, gpus=1, lora_rank=rank)
        assert cmd[cmd.index("--max-lora-rank") + 1] == expected
    with pytest.raises(ServeError, match="LoRA rank 1024"):
        vllm_command("m", tmp_path / "adapter", "ft", 8123, gpus=1, lora_rank=1024)


def test_config_is_validated_once_and_defaults_are_filled():
    from ordebug.config import ConfigError, validate_config

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    del cfg["eval"]["finetuned_shards"], cfg["eval"]["serve"]["backend"], cfg["eval"]["external"]
    validate_config(cfg)
    assert cfg["eval"]["finetuned_shards"] == 1 and cfg["eval"]["serve"]["backend"] == "auto"
    assert cfg["eval"]["external"] == {}
    cfg["eval"]["finetuned_shards"] = 0
    with pytest.raises(ConfigError, match="eval.finetuned_shards"):
        validate_config(cfg)
    named = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    named["teachers"]["ft_judge"] = named["teachers"].pop(next(iter(named["teachers"])))
    with pytest.raises(ConfigError, match="config key 'teachers.ft_judge'.*ft_, rl_ or base_"):
        validate_config(named)  # it would be taken for a fine-tuned run's agent
    # the cross-references the schema cannot check, in the same one call
    for key, change in (("rl.runs.bad.base_run", lambda c: c["rl"].setdefault("runs", {}).update(
                            bad={"base_run": "no_such_run"})),
                        ("eval.rl", lambda c: c["eval"].update(rl=["no_such_rl_run"])),
                        ("eval.external.gone", lambda c: c["eval"].update(external={"gone": "/no/such/index"})),
                        ("eval.base", lambda c: c["eval"].update(base=["no_such_run"])),
                        ("eval.finetuned", lambda c: c["eval"].update(finetuned=["no_such_run"]))):
        bad = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        change(bad)
        with pytest.raises(ConfigError, match=re.escape(f"config key '{key}'")):
            validate_config(bad)
    rules = {p.name: p.read_text() for p in (ROOT / "rules").glob("*.smk")}
    assert sum(t.count("validate_config(config)") for t in rules.values()) == 1
    assert "snakemake.utils import validate" not in rules["common.smk"]
    assert not any(re.search(r"check_\w+_config\(config\)", t) for t in rules.values())
    assert [n for n, t in rules.items() if "lambda" in t] == []  # get_* helpers instead


def _vllm_package(site: Path) -> None:
    """A ``vllm`` package whose OpenAI server is ordebug's stand-in (vLLM itself needs a GPU)."""
    pkg = site / "vllm" / "entrypoints" / "openai"
    pkg.mkdir(parents=True)
    for d in (site / "vllm", site / "vllm" / "entrypoints", pkg):
        (d / "__init__.py").write_text("")
    (pkg / "api_server.py").write_text("from ordebug.testing.vllm_standin import main\n\nmain()\n")


def _standins(marker: Path) -> list[str]:
    """Stand-in servers of one test (``marker``, its tmp_path, is in their adapter path)."""
    r = subprocess.run(["pgrep", "-af", "vllm.entrypoints.openai.api_server"], capture_output=True, text=True)
    return [line for line in r.stdout.splitlines() if "pgrep" not in line and str(marker) in line]


def test_finetuned_evaluation_takes_the_vllm_path_where_vllm_is_installed(tmp_path: Path, sample, monkeypatch):
    """With a `vllm` importable, backend `auto` serves the adapter with vLLM's command line:
    the stand-in accepts exactly vLLM's options and checks (LoRA rank 4 -> max_lora_rank 8,
    key from VLLM_API_KEY, the adapter under its module name), every problem is answered
    over HTTP, and the server is stopped afterwards."""
    import jsonlines

    from ordebug.env.environment import EnvConfig
    from ordebug.eval.run import evaluate_shard
    from ordebug.eval.serve import served_model_name

    site = tmp_path / "site"
    _vllm_package(site)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 4, "peft_type": "LORA"}))
    problems = tmp_path / "shard.jsonl"
    picked = sample[::20][:4]
    with jsonlines.open(problems, "w") as w:
        w.write_all(picked)
    out = tmp_path / "out"
    ft = {"base_model": "Qwen/Qwen3-8B", "adapter": str(adapter), "backend": "auto", "startup_timeout_s": 60,
          "cache_path": str(out / "cache.sqlite"), "account_path": str(out / "accounts.sqlite"), "max_concurrency": 2}
    evaluate_shard("ft_vllm", "finetuned", problems, out / "outcomes.jsonl", out / "traj.jsonl", out / "journal",
                   EnvConfig(), workers=1, finetuned=ft, log_path=str(tmp_path / "serve.log"))
    log = (tmp_path / "serve.log").read_text()
    name = served_model_name("ft_vllm", adapter)
    assert f"vllm stand-in: Qwen/Qwen3-8B as {name}-base, {name}" in log
    outcomes = list(jsonlines.open(out / "outcomes.jsonl"))
    assert sorted(o["problem_id"] for o in outcomes) == sorted(p["problem_id"] for p in picked)
    assert all(o.get("prompt_tokens", 0) > 0 for o in outcomes)  # each one answered over HTTP
    assert sum(o["faithful"] for o in outcomes) >= 3  # the scripted teacher is the heuristic
    assert _standins(tmp_path) == []


def test_served_name_changes_with_the_adapter(tmp_path: Path):
    """Responses are cached under the served model's name: a retrained adapter gets a new one."""
    from ordebug.eval.serve import served_model_name

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 8}')
    (adapter / "adapter_model.safetensors").write_bytes(b"weights-1")
    first = served_model_name("ft_a", adapter)
    assert first.startswith("ft_a-") and first == served_model_name("ft_a", adapter)
    assert served_model_name("ft_b", adapter) != first
    (adapter / "adapter_model.safetensors").write_bytes(b"weights-2")
    assert served_model_name("ft_a", adapter) != first


def test_sigterm_to_the_job_stops_its_model_server(tmp_path: Path):
    """The server runs in its own session; a job killed with SIGTERM (scancel, Snakemake
    stopping its jobs) must still take it down."""
    import os
    import signal

    site = tmp_path / "site"
    _vllm_package(site)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 8}')
    script = ("import time\nfrom ordebug.eval.serve import ServedModel\n"
              f"with ServedModel('base', {str(adapter)!r}, backend='vllm', startup_timeout=60):\n"
              "    print('ready', flush=True)\n    time.sleep(120)\n")
    job = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(site)),
                           stdout=subprocess.PIPE, text=True)
    try:
        assert job.stdout.readline().strip() == "ready"
        assert len(_standins(tmp_path)) == 1
        job.send_signal(signal.SIGTERM)
        job.send_signal(signal.SIGTERM)  # a second one (Slurm and Snakemake both) must not cut the shutdown short
        assert job.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        job.kill()
    assert _standins(tmp_path) == []


def test_vllm_standin_refuses_what_vllm_refuses(tmp_path: Path):
    from ordebug.testing.vllm_standin import check_args, parse_args

    adapter = tmp_path / "a"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 16}')
    ok = ["--model", "m", "--enable-lora", "--max-lora-rank", "16", "--lora-modules", f"ft={adapter}"]
    assert check_args(parse_args(ok)) == {"ft": str(adapter)}
    with pytest.raises(SystemExit) as e:  # an option vLLM does not have: argparse's usage error
        parse_args(ok[:2] + ["--lora-path", str(adapter)])
    assert e.value.code == 2
    for argv, message in (
                          (ok[:2] + ok[5:], "needs --enable-lora"),
                          (ok[:4] + ["12"] + ok[5:], "must be one of"),
                          (ok[:4] + ["8"] + ok[5:], "greater than max_lora_rank")):
        with pytest.raises(SystemExit) as e:
            check_args(parse_args(argv))
        assert message in str(e.value.code)


@pytest.mark.parametrize("profile", ["slurm", "slurm-local"])
@pytest.mark.parametrize("flag", ["--profile", "--workflow-profile"])
def test_cluster_profile_settings_are_not_overridden_by_the_default_profile(workflow_dir: Path, monkeypatch,
                                                                             profile: str, flag: str):
    """Snakemake also loads profiles/default as the workflow profile under --profile, and a
    workflow profile wins key by key: every setting a cluster profile makes must still be
    in effect (a latency-wait of 5 s from the local defaults broke shared filesystems)."""
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="the cluster extra is not installed")
    from snakemake.cli import parse_args

    monkeypatch.chdir(workflow_dir)
    wanted = yaml.safe_load((workflow_dir / "profiles" / profile / "config.yaml").read_text())
    _, args = parse_args([flag, f"profiles/{profile}"])
    scalars = {k: v for k, v in wanted.items() if not isinstance(v, (dict, list))}
    assert len(scalars) >= 4
    for key, value in scalars.items():
        assert getattr(args, key.replace("-", "_")) == value, key
    assert {k: r.value for k, r in args.resources.items()} == dict(
        (k, int(v)) for k, v in (r.split("=") for r in wanted["resources"]))
    assert args.default_resources is not None
    assert set(wanted["default-resources"]) <= set(args.default_resources)  # partition (and account)
    assert set(wanted["set-resources"]) == set(args.set_resources)


def test_teacher_plan_is_bound_by_the_jobs_that_may_run_at_once():
    """Scale on paper: one collect job per bench shard, at most `teacher_api` at once, and the
    wall time set by the slower of the key's limit and what those jobs can drive."""
    from ordebug.scale import size_teacher

    costs = {"steps": 2.0, "prompt_tokens": 1000, "answer_tokens": 100, "samples_per_problem": 2.0,
             "sample_bytes": 5000}
    teacher = {"max_tokens": 1000, "price_input_per_mtok": 1.0, "price_output_per_mtok": 10.0,
               "requests_per_minute": 500, "tokens_per_minute": 10**9, "max_concurrency": 64}
    two = size_teacher(costs, teacher, 10_000, 1000, latency_s=20.0, teacher_jobs=2)
    assert (two["jobs"], two["requests"], two["running_jobs"]) == (10, 20_000, 2)
    assert two["rate_rpm"] == 384  # 2 jobs x 64 in flight x 60 / 20 s, below the 500/min limit
    assert two["hours"] == (round(20_000 / 384 / 60, 1),) * 2  # tokens/min never binds here
    many = size_teacher(costs, teacher, 10_000, 1000, latency_s=20.0, teacher_jobs=8)
    assert many["rate_rpm"] == 500 and many["hours"][0] == round(20_000 / 500 / 60, 1)  # the key's limit binds
    slow = size_teacher(costs, {**teacher, "tokens_per_minute": 100_000}, 10_000, 1000, 20.0, teacher_jobs=8)
    # 20 M prompt + 2 M (short) or 20 M (long) completion tokens at 100,000 tokens/min
    assert slow["hours"] == (round(22_000_000 / 100_000 / 60, 1), round(40_000_000 / 100_000 / 60, 1))
    assert size_teacher(costs, teacher, 500, 1000, 20.0, teacher_jobs=8)["running_jobs"] == 1  # one shard
    assert two["usd"] == (round(20_000 * 1000 / 1e6 * 1 + 20_000 * 100 / 1e6 * 10),
                          round(20_000 * 1000 / 1e6 * 1 + 20_000 * 1000 / 1e6 * 10))


def test_only_aggregate_steps_are_local_rules():
    """What leaves the submit host under a cluster profile: every rule but the localrules."""
    text = (ROOT / "Snakefile").read_text()
    local = set(re.findall(r"^    (\w+),$", text.split("localrules:")[1].split("\n\n")[0], re.M))
    rules = {m for p in (ROOT / "rules").glob("*.smk") for m in re.findall(r"^rule (\w+):", p.read_text(), re.M)}
    assert local <= rules
    jobs = rules - local - {"all"}
    assert jobs == SUBMITTED | {"evaluate_external", "evaluate_external_finetuned", "grpo", "export_model",
                                "bench_independent"}


def test_a_config_file_replaces_the_default_on_the_submit_host_and_in_cluster_jobs(workflow_dir: Path):
    """A cluster job is started with `--configfiles FILE` and without --replace-workflow-config
    (Snakemake does not pass it on): it must still see exactly the config the submit host
    planned with, not the default merged under it."""
    def outputs(*args: str) -> set[str]:
        r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "report", "--forceall", *args], cwd=workflow_dir,
                           capture_output=True, text=True)
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
        return set(re.findall(r"^    output: (.*)$", r.stdout, re.M))

    default = yaml.safe_load((workflow_dir / "config" / "config.yaml").read_text())
    default["bench"]["large"].update(n_test=10)  # a large tier, which config/smoke.yaml has not
    (workflow_dir / "config" / "config.yaml").write_text(yaml.safe_dump(default))
    assert "large" not in yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())["bench"]
    plain = outputs("--configfile", "config/smoke.yaml")
    assert plain == outputs("--configfiles", "config/smoke.yaml")  # as a submitted job is started
    assert plain == outputs("--configfile", "config/smoke.yaml", "--replace-workflow-config")
    assert any("data/bench/test/shard_000.jsonl" in o for o in plain)
    assert not any("_large/" in o for o in plain)  # the default's large tier did not leak in
    assert any("_large/" in o for o in outputs())  # without --configfile: the default config


def test_per_problem_costs_come_from_real_generation_and_collection():
    """The scale plan's inputs: problems generated and solved by the heuristic, here."""
    from ordebug.scale import problem_costs

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    c = problem_costs(cfg, n=3)
    assert c["problems"] == 3 and c["generate_core_s"] > 0 and c["heuristic_core_s"] > 0
    assert c["samples_per_problem"] >= 1 and c["steps"] >= 1  # every problem repaired, with samples
    assert 200 < c["prompt_tokens"] < 10_000 and 10 < c["answer_tokens"] < c["prompt_tokens"]
    assert c["bench_bytes"] > 1000 and c["sample_bytes"] > 1000


def _sigterm_is_default() -> bool:
    import signal

    return signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_env_pool_workers_die_on_sigterm_whatever_the_parent_handles():
    """Workers are forked inside a served evaluation, whose SIGTERM handler must not be theirs."""
    import signal

    from ordebug.collect.envpool import EnvPool
    from ordebug.env.environment import EnvConfig

    old = signal.signal(signal.SIGTERM, lambda *a: None)
    try:
        pool = EnvPool(1, EnvConfig())
    finally:
        signal.signal(signal.SIGTERM, old)
    try:
        assert pool.pools[0].submit(_sigterm_is_default).result(timeout=30) is True
    finally:
        pool.shutdown()
