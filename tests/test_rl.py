"""GRPO after SFT: the return is the solver's verdict (an answer that only looks right earns no
success), episodes replay and play on through the strict parser, the reward function TRL calls,
the config checks, the combined adapter, and the reward-curve plot."""

from __future__ import annotations

import contextlib
import json

import pytest
import yaml
from conftest import ROOT

from ordebug.config import ConfigError, validate_config
from ordebug.env.environment import EnvConfig
from ordebug.rl.curve import plot_curves, read_curve
from ordebug.rl.grpo import EnvironmentReward
from ordebug.rl.reward import INFEASIBLE, is_success
from ordebug.rl.rollout import advance, start_episode, step_text
from ordebug.rl.settings import RLError, check_rl_config, rl_settings


def answer(action: str) -> str:
    return f"<think>\nlooking at the IIS\n</think>\n\nAction: {action}"


def submit_after(problem: dict, *actions: str, level: str = "exact", env: EnvConfig | None = None):
    ep = start_episode(problem, env or EnvConfig())
    for a in [*actions, "SUBMIT()"]:
        advance(ep, answer(a))
        if ep.done:
            break
    return ep, ep.result(level)


def drop_reversed_rule(rec: dict):
    """Episode and exact-level result of deleting every row the reversed rule (type A) wrote."""
    rows = [r["name"] for r in rec["ground_truth"]["root_cause"]]
    return submit_after(rec, *(f"DROP_CONSTRAINT({r})" for r in rows), env=EnvConfig(max_steps=30))


def wrong_element(rec: dict) -> str | None:
    """The recorded fix with its target swapped for another IIS row, where the environment
    accepts it as an edit: well-formed, applied, on the wrong element."""
    fix = rec["ground_truth"]["fixes"]
    root = {r["name"] for r in rec["ground_truth"]["root_cause"]}
    if len(fix) != 1 or not fix[0].startswith(("UPDATE_RHS(", "SET_COEF(", "FLIP_SENSE(", "RELAX_CONSTRAINT(")):
        return None
    name, rest = fix[0].split("(", 1)
    args = rest[:-1].split(", ") if ", " in rest else [rest[:-1]]
    if args[0] not in root:
        return None
    for other in (c for c in rec["iis"]["constraints"] if c not in root):
        action = f"{name}({', '.join([other, *args[1:]])})"
        ep = start_episode(rec, EnvConfig())
        advance(ep, answer(action))
        if ep.env.state.invalid == 0:
            return action
    return None


def test_right_fix_earns_success_and_wrong_element_earns_none(sample):
    checked = 0
    for rec in sample:
        wrong = wrong_element(rec)
        if wrong is None:
            continue
        ep, good = submit_after(rec, *rec["ground_truth"]["fixes"])
        assert good.success and good.value == pytest.approx(1.0 - 0.02)
        ep, bad = submit_after(rec, wrong)
        assert step_text(answer(wrong)) == (wrong, True)  # it parses: it only looks right
        assert ep.env.evaluate().n_edits == 1 and ep.env.state.invalid == 0
        assert not bad.success and bad.value <= 0.0, (wrong, ep.outcome)
        checked += 1
    assert checked >= 5


def test_a_faithful_deletion_is_no_success_at_the_exact_level(sample_by_type):
    """Where deleting a reversed rule (type A) restores the optimum, the repair is faithful but
    not exact: no success, and no more return than a submission that changed nothing."""
    kept = []
    for rec in sample_by_type["A"]:
        ep, exact = drop_reversed_rule(rec)
        if ep.outcome["faithful"]:
            n = len(rec["ground_truth"]["root_cause"])
            assert not ep.outcome["exact"] and not exact.success
            assert exact.value == pytest.approx(-0.01 * (n + 1)) and exact.value < 0
            kept.append(ep)
    assert kept, "no type-A problem in the sample whose rule's deletion restores the optimum"
    ep = kept[0]
    assert is_success(ep.outcome, "faithful")  # the switch: faithful counts where exact is not asked for
    assert is_success({"faithful": True, "exact": None}, "exact")  # no specification: faithful decides
    with pytest.raises(ValueError, match="success level"):
        is_success(ep.outcome, "feasible")


def test_strict_parser_and_invalid_steps(sample):
    rec = sample[0]
    ep = start_episode(rec, EnvConfig(max_steps=3))
    advance(ep, "SUBMIT()")  # no 'Action:' line: not executed, charged as invalid
    advance(ep, "<think>\nAction: SUBMIT()\n</think>\n\nI am not sure")  # an action inside <think> only
    assert not ep.done and ep.env.state.invalid == 2
    assert "malformed answer" in ep.observation
    advance(ep, answer("SUBMIT()"))
    r = ep.result("exact")
    assert ep.done and ep.outcome["submitted"] and r.invalid == 2 and r.steps == 3
    assert r.value == pytest.approx(INFEASIBLE - 3 * 0.01 - 2 * 0.05)


def test_replayed_prefix_reaches_the_same_state_and_counts_from_there(sample):
    rec = sample[1]
    ep = start_episode(rec, EnvConfig())
    for a in ["GET_IIS()", "bogus"]:
        advance(ep, answer(a) if a != "bogus" else a)
    again = start_episode(rec, EnvConfig(), ep.actions)
    assert again.observation == ep.observation and again.start_step == 2 and again.start_invalid == 1
    advance(again, answer("SUBMIT()"))
    assert again.result("exact").steps == 1 and again.result("exact").invalid == 0
    with pytest.raises(ValueError, match="ends the episode"):
        start_episode(rec, EnvConfig(), ["SUBMIT()"])


class ScriptedPolicy:
    """A policy that always answers the same action (real text through the real parser)."""

    def __init__(self, action: str) -> None:
        self.action, self.calls = action, 0

    def answers(self, observations):
        self.calls += 1
        return [answer(self.action) for _ in observations]


def test_reward_function_plays_each_answer_to_the_end_with_the_policy(sample):
    rec = next(r for r in sample if wrong_element(r))
    pid = str(rec["problem_id"])
    policy = ScriptedPolicy("SUBMIT()")

    @contextlib.contextmanager
    def current():
        yield policy

    reward = EnvironmentReward({pid: rec}, EnvConfig(), "exact", 4, current)
    completions = [answer(rec["ground_truth"]["fixes"][0]), answer(wrong_element(rec)), "no action at all"]
    values = reward(prompts=["p"] * 3, completions=completions, problem_id=[pid] * 3, prefix=["[]"] * 3)
    assert values[0] == pytest.approx(0.98)  # the fix, then the policy submits
    assert values[1] <= 0.0  # wrong element: the policy's SUBMIT ends it without success
    assert values[2] < values[1]  # invalid answer: charged, then still infeasible
    assert policy.calls == 1  # one batched call advanced all three episodes
    row = reward.curve[-1]
    assert row["episodes"] == 3 and row["success_rate"] == pytest.approx(1 / 3, abs=1e-5)
    assert row["invalid_rate"] == pytest.approx(1 / 6, abs=1e-5) and row["mean_steps"] == 2
    with pytest.raises(RLError, match="not among the RL train problems"):
        reward(prompts=["p"], completions=["x"], problem_id=["nope"], prefix=["[]"])


def test_test_problems_never_enter_rl(tmp_path, sample):
    from ordebug.rl.grpo import load_train_problems

    p = tmp_path / "mixed.jsonl"
    rows = [dict(r, split=s) for r, s in zip(sample[:2], ["train", "test"], strict=True)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(RLError, match="train problems only"):
        load_train_problems([p], None)


def _config() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_rl_settings_merge_and_cross_checks():
    cfg = _config()
    s = rl_settings(cfg["rl"], cfg["training"], "qwen3_8b_grpo")
    assert s["base_run"] == "qwen3_8b_lora" and s["model"] == "Qwen/Qwen3-8B" and s["group_size"] == 8
    with pytest.raises(RLError, match="unknown RL run"):
        rl_settings(cfg["rl"], cfg["training"], "nope")
    cfg["rl"]["runs"]["x"] = {"base_run": "missing"}
    with pytest.raises(RLError, match="config key 'rl.runs.x.base_run'"):
        check_rl_config(cfg)
    cfg = _config()
    cfg["eval"]["rl"] = ["missing"]
    with pytest.raises(RLError, match="config key 'eval.rl'"):
        check_rl_config(cfg)


@pytest.mark.parametrize(("edit", "key"), [
    (lambda c: c["rl"].update(group_size=1), "rl.group_size"),
    (lambda c: c["rl"].update(success_level="feasible"), "rl.success_level"),
    (lambda c: c["rl"]["runs"]["qwen3_8b_grpo"].pop("base_run"), "rl.runs.qwen3_8b_grpo.base_run"),
    (lambda c: c["rl"].update(kl=0.1), "rl.kl"),
])
def test_bad_rl_config_names_the_key(edit, key):
    cfg = _config()
    edit(cfg)
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        validate_config(cfg)


def test_reward_curve_plot(tmp_path):
    rows = [{"step": i, "mean_return": -0.5 + 0.1 * i, "success_rate": 0.1 * i, "invalid_rate": 0.5 - 0.1 * i}
            for i in (1, 2, 3)]
    p = tmp_path / "curve.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = plot_curves({"a": read_curve(p)}, tmp_path / "plot.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_curves({}, tmp_path / "empty.png").is_file()
    p.write_text(json.dumps({"step": 1}) + "\n")
    with pytest.raises(ValueError, match="lacks"):
        read_curve(p)


def test_combined_adapter_equals_sft_then_rl(tmp_path):
    """The served adapter (SFT and RL concatenated over the base) computes what training saw."""
    torch = pytest.importorskip("torch")
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    from ordebug.rl.grpo import combine_adapters, load_sft_policy
    from ordebug.training.tiny_model import build_tiny_qwen3

    base = str(build_tiny_qwen3(tmp_path / "base", ["Action: GET_IIS() model rows bounds"] * 50, vocab_size=300))
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    torch.manual_seed(1)
    sft = peft.get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                              peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False))
    sft.save_pretrained(tmp_path / "sft")
    merged = load_sft_policy(base, tmp_path / "sft", bf16=False)
    rl = peft.get_peft_model(merged, peft.LoraConfig(r=2, lora_alpha=4, target_modules=targets,
                                                     init_lora_weights=False))
    rl.save_pretrained(tmp_path / "rl")
    ids = torch.tensor([[1, 5, 9, 17, 33, 2]])
    with torch.no_grad():
        want = rl(input_ids=ids).logits
        sft_only = sft(input_ids=ids).logits
    combine_adapters(base, tmp_path / "sft", tmp_path / "rl", tmp_path / "combined")
    cfg = json.loads((tmp_path / "combined" / "adapter_config.json").read_text())
    assert cfg["r"] == 6 and cfg["base_model_name_or_path"] == base
    served = peft.PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), tmp_path / "combined")
    with torch.no_grad():
        got = served(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-4)
    assert not torch.allclose(got, sft_only, atol=1e-3)  # the RL part is really in it


def test_workflow_stops_on_a_bad_base_run_naming_the_key(workflow_dir):
    import subprocess
    import sys

    cfg_path = workflow_dir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["rl"]["runs"]["qwen3_8b_grpo"]["base_run"] = "nope"
    cfg_path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "rl_all"], cwd=workflow_dir, capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "config key 'rl.runs.qwen3_8b_grpo.base_run'" in r.stdout + r.stderr
    cfg["rl"]["runs"]["qwen3_8b_grpo"]["base_run"] = "qwen3_8b_lora"
    cfg_path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "rl_all"], cwd=workflow_dir, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "grpo" in r.stdout + r.stderr and "results/rl/qwen3_8b_grpo/adapter" in r.stdout + r.stderr


def test_zero_variance_groups_are_counted_and_masked_out_of_the_loss():
    torch = pytest.importorskip("torch")
    from ordebug.rl.grpo import curve_row, skip_zero_variance, zero_variance_groups
    from ordebug.rl.reward import EpisodeReturn

    assert zero_variance_groups([0.5, 0.5, 1.0, 0.0, -0.1, -0.1], 2) == 2
    rets = [EpisodeReturn(v, v > 0.5, True, 1, 0, {"outcome": v, "steps": -0.01}) for v in (1.0, 1.0, 1.0, 0.0)]
    row = curve_row(3, rets, [0] * 4, group_size=2)
    assert (row["groups"], row["zero_variance_groups"]) == (2, 1)
    assert row["reward_outcome"] == 0.75 and row["reward_steps"] == -0.01 and row["return_std"] > 0
    out = {"advantages": torch.tensor([0.0, 0.0, 0.7, -0.7, 0.0, 0.0]),
           "completion_mask": torch.ones(6, 3, dtype=torch.int64), "num_items_in_batch": torch.tensor(18)}
    assert skip_zero_variance(out, 2) == 2
    assert out["completion_mask"].sum(dim=1).tolist() == [0, 0, 3, 3, 0, 0]
    assert int(out["num_items_in_batch"]) == 6


def test_curriculum_puts_easy_problems_first():
    from ordebug.rl.grpo import curriculum_order

    probs = {"h": {"difficulty": "hard"}, "e": {"difficulty": "easy"}, "m": {"difficulty": "medium"},
             "e2": {"difficulty": "easy"}}
    rows = [{"problem_id": p} for p in ("h", "e", "m", "e2")]
    assert [r["problem_id"] for r in curriculum_order(rows, probs)] == ["e", "e2", "m", "h"]


def test_default_rl_learning_rate_moves_a_fresh_lora():
    assert _config()["rl"]["learning_rate"] >= 1e-5


@pytest.fixture(scope="module")
def grpo_inputs(tmp_path_factory, sample):
    """A tiny random Qwen3, a random SFT LoRA over it, and two train problems."""
    torch = pytest.importorskip("torch")
    peft = pytest.importorskip("peft")
    pytest.importorskip("trl")
    from transformers import AutoModelForCausalLM

    from ordebug.training.tiny_model import build_tiny_qwen3

    d = tmp_path_factory.mktemp("grpo")
    base = str(build_tiny_qwen3(d / "base", ["Action: GET_IIS() SUBMIT() model rows bounds"] * 50, vocab_size=300))
    torch.manual_seed(1)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    sft = peft.get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                              peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False))
    sft.save_pretrained(d / "sft")
    # the SFT run's token lengths beside its adapter, as the train rule writes them: the rollouts'
    # budget (6) is raised to cover 1.25x the longest trained answer (ceil(7.5) = 8)
    (d / "token_lengths.json").write_text(json.dumps({"answer_tokens_max": 6}))
    shard = d / "train.jsonl"
    shard.write_text("".join(json.dumps(r) + "\n" for r in sample[:2]))
    return base, d / "sft", shard


def _grpo_settings(base: str, **kw) -> dict:
    s = {"model": base, "base_run": "t", "enable_thinking": True, "success_level": "exact", "group_size": 2,
         "learning_rate": 1e-3, "kl_coef": 0.04, "steps": 4, "max_new_tokens": 6, "temperature": 1.0,
         "rollout_concurrency": 4, "problems_per_step": 1, "problems": 2, "states": "start",
         "max_episode_steps": 1, "lora_rank": 2, "lora_alpha": 4, "lora_dropout": 0.0, "bf16": False,
         "gradient_checkpointing": False, "seed": 11, "save_steps": 2, "curriculum": True, "report_to": "tensorboard"}
    return {**s, **kw}


def _run_grpo(s: dict, inputs, out):
    from ordebug.rl.grpo import train_grpo

    base, sft, shard = inputs
    return train_grpo(s, [shard], sft, {"max_steps": 3, "faithful_tol": 1e-4}, out / "adapter",
                      out / "reward_curve.jsonl", out / "rl_results.json", out / "job.json")


def test_grpo_killed_after_a_checkpoint_resumes_there(grpo_inputs, tmp_path, monkeypatch):
    """A run that dies after checkpoint-2 continues at step 3 on the rerun: one curve row per
    step, the attempts in job.json, TensorBoard events, zero-variance groups counted; the
    rollouts' budget covers the longest trained answer."""
    pytest.importorskip("tensorboard")
    from ordebug.rl import grpo

    s = _grpo_settings(grpo_inputs[0])
    real = grpo.EnvironmentReward.__call__

    def dies_at_step_3(self, *a, **kw):
        state = kw.get("trainer_state")
        if state is not None and state.global_step >= 2:
            raise KeyboardInterrupt("killed")  # what a preemption leaves: checkpoint-2 on disk
        return real(self, *a, **kw)

    monkeypatch.setattr(grpo.EnvironmentReward, "__call__", dies_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        _run_grpo(s, grpo_inputs, tmp_path)
    assert (tmp_path / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    assert not (tmp_path / "adapter").exists()
    monkeypatch.setattr(grpo.EnvironmentReward, "__call__", real)
    res = _run_grpo(s, grpo_inputs, tmp_path)
    assert res["resumed_from"] == "checkpoint-2"
    assert res["max_new_tokens"] == 8  # raised to cover the trained answers, the same in both attempts
    rows = [json.loads(x) for x in (tmp_path / "reward_curve.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all("kl" in r and "reward_outcome" in r and "zero_variance_groups" in r for r in rows[2:])
    job = json.loads((tmp_path / "job.json").read_text())
    assert job["resumed_from"] == "checkpoint-2" and [a.get("start_step") for a in job["attempts"][:2]] == [0, 2]
    assert res["groups"] == 4 and 0 <= res["zero_variance_share"] <= 1
    assert res["zero_variance_groups"] == sum(r["zero_variance_groups"] for r in rows)
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    assert not (tmp_path / "checkpoints").exists()  # spent once the outputs are whole
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))


def test_reward_curve_plot_has_kl_components_and_band(tmp_path):
    rows = [{"step": i, "mean_return": -0.5 + 0.1 * i, "return_std": 0.2, "success_rate": 0.1 * i,
             "invalid_rate": 0.5 - 0.1 * i, "kl": 0.01 * i, "reward_outcome": 0.1 * i, "reward_steps": -0.01}
            for i in (1, 2, 3)]
    p = tmp_path / "curve.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = plot_curves({"a": read_curve(p)}, tmp_path / "plot.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
