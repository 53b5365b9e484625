"""GRPO after SFT with TRL's ``GRPOTrainer``; the environment, verified by SCIP, is the reward.

TRL 0.24 has no multi-turn rollout hook, so the episode runs inside the reward function, and
the GRPO algorithm (group-relative advantages, clipped objective, KL to the reference) stays
TRL's. A training prompt is one state of an episode on a *train* problem (the observation
under the system prompt). TRL samples ``group_size`` answers to it; each answer is stepped in
its own copy of the environment, then the current policy acts on (sampling, as in the group)
until ``SUBMIT()`` or the step limit, and the SCIP-verified return of that episode from the
state on is the answer's reward (see ``ordebug.rl.reward``). With ``states: policy`` the states
are every state the SFT policy visits when it plays each problem greedily, so decisions at
every depth of an episode are trained, not only the first.

The reference of the KL term is the SFT policy: its adapter is merged into the base weights
in memory and a fresh LoRA is trained on top (disabling it gives the reference). At the end
the SFT and RL adapters are concatenated into one LoRA over the base model (rank r_sft + r_rl),
so the result is served exactly like a fine-tuned adapter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ordebug.atomic import write_text_atomic
from ordebug.env.environment import EnvConfig
from ordebug.rl.reward import EpisodeReturn
from ordebug.rl.rollout import Episode, HFPolicy, Policy, advance, play, render_prompt, start_episode
from ordebug.rl.settings import RLError

log = logging.getLogger("ordebug")


def curve_row(step: int, results: Sequence[EpisodeReturn], depths: Sequence[int]) -> dict[str, Any]:
    """One line of the reward curve: means over the episodes of one GRPO step."""
    n = max(1, len(results))
    steps = sum(r.steps for r in results)
    return {"step": step, "episodes": len(results),
            "mean_return": round(sum(r.value for r in results) / n, 6),
            "success_rate": round(sum(r.success for r in results) / n, 6),
            "feasible_rate": round(sum(r.feasible for r in results) / n, 6),
            "invalid_rate": round(sum(r.invalid for r in results) / max(1, steps), 6),
            "mean_steps": round(steps / n, 4),
            "mean_start_depth": round(sum(depths) / n, 4)}


class EnvironmentReward:
    """TRL reward function: each completion is one step, the episode played on by the policy."""

    __name__ = "environment_return"

    def __init__(self, problems: dict[str, dict], env_cfg: EnvConfig, level: str, concurrency: int,
                 policy: Callable[[], contextlib.AbstractContextManager[Policy]]) -> None:
        self.problems, self.env_cfg, self.level = problems, env_cfg, level
        self.concurrency, self.policy = concurrency, policy
        self.curve: list[dict[str, Any]] = []

    def episodes(self, problem_id: Sequence[str], prefix: Sequence[str],
                 completions: Sequence[str]) -> list[Episode]:
        eps = []
        for pid, pre, completion in zip(problem_id, prefix, completions, strict=True):
            if pid not in self.problems:
                raise RLError(f"problem {pid} is not among the RL train problems")
            ep = start_episode(self.problems[pid], self.env_cfg, json.loads(pre))
            advance(ep, completion)
            eps.append(ep)
        return eps

    def __call__(self, prompts: list, completions: list, problem_id: list[str], prefix: list[str],
                 **kwargs: Any) -> list[float]:
        texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
        eps = self.episodes(problem_id, prefix, texts)
        with self.policy() as policy:
            play(policy, eps, self.concurrency)
        results = [e.result(self.level) for e in eps]
        state = kwargs.get("trainer_state")
        row = curve_row(len(self.curve) + 1 if state is None else state.global_step + 1, results,
                        [e.start_step for e in eps])
        self.curve.append(row)
        log.info("grpo step %d: %s", row["step"], json.dumps(row))
        return [r.value for r in results]


def load_train_problems(paths: Sequence[str | Path], limit: int | None) -> list[dict]:
    """Train problems only (sorted by id; the first ``limit``); a test problem is an error."""
    from ordebug.bench.shards import read_problems

    problems = sorted(read_problems(paths), key=lambda p: str(p["problem_id"]))
    bad = [p["problem_id"] for p in problems if p.get("split", "train") != "train"]
    if bad:
        raise RLError(f"{len(bad)} problems in the RL input are not train problems (e.g. {bad[0]}); "
                      "RL episodes run on train problems only")
    if not problems:
        raise RLError("no train problems to run episodes on")
    return problems[:limit] if limit else problems


def policy_states(policy: Policy, problems: Sequence[dict], env_cfg: EnvConfig,
                  concurrency: int) -> list[tuple[str, list[str]]]:
    """Every state (problem id, texts stepped so far) the policy visits playing each problem."""
    seen: list[tuple[str, list[str]]] = []
    eps = [start_episode(p, env_cfg) for p in problems]
    play(policy, eps, concurrency, on_state=lambda e: seen.append((str(e.problem["problem_id"]), list(e.actions))))
    return seen


def _dtype(bf16: bool) -> Any:
    import torch

    return torch.bfloat16 if bf16 else torch.float32


def load_sft_policy(base_model: str, sft_adapter: str | Path, bf16: bool) -> Any:
    """The base model with the SFT adapter merged in (in memory)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    if not (Path(sft_adapter) / "adapter_config.json").is_file():
        raise RLError(f"SFT adapter {sft_adapter} does not exist (no adapter_config.json); train the base run first")
    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=_dtype(bf16), trust_remote_code=True)
    merged = PeftModel.from_pretrained(base, str(sft_adapter)).merge_and_unload()
    if hasattr(merged, "peft_config"):  # a plain model now: the RL LoRA is its only adapter
        del merged.peft_config
    return merged


def combine_adapters(base_model: str, sft_adapter: str | Path, rl_adapter: str | Path, out_dir: str | Path,
                     bf16: bool = False) -> None:
    """One LoRA over the base model equal to SFT then RL: the two concatenated (rank r_sft + r_rl)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=_dtype(bf16), trust_remote_code=True)
    model = PeftModel.from_pretrained(base, str(sft_adapter), adapter_name="sft")
    model.load_adapter(str(rl_adapter), adapter_name="rl")
    model.add_weighted_adapter(["sft", "rl"], [1.0, 1.0], "combined", combination_type="cat")
    with tempfile.TemporaryDirectory(dir=Path(out_dir).parent, prefix=".combine-") as tmp:
        model.save_pretrained(tmp, selected_adapters=["combined"])
        src = Path(tmp) / "combined"
        cfg = json.loads((src / "adapter_config.json").read_text())
        cfg["base_model_name_or_path"] = base_model
        (src / "adapter_config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        if Path(out_dir).exists():
            shutil.rmtree(out_dir)
        os.replace(src, out_dir)


def train_grpo(s: dict[str, Any], problem_paths: Sequence[str | Path], sft_adapter: str | Path, env: dict,
               adapter_out: str | Path, curve_out: str | Path, results_out: str | Path,
               job_out: str | Path) -> dict[str, Any]:
    """Run GRPO for the settings ``s`` (see ``rl_settings``); write the combined adapter, the
    reward curve (JSON lines), the results and where it ran."""
    if s.get("offline"):
        os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    os.environ.setdefault("WANDB_DISABLED", "true")
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer

    from ordebug.rl.trl_compat import add_warnings_issued, patch_trl_flags

    patch_trl_flags()
    from trl import GRPOConfig, GRPOTrainer
    from trl.models import unwrap_model_for_generation

    t0 = time.monotonic()
    env_cfg = EnvConfig.from_config(env)
    if s.get("max_episode_steps"):
        env_cfg.max_steps = int(s["max_episode_steps"])
    problems = load_train_problems(problem_paths, s.get("problems"))
    tok = AutoTokenizer.from_pretrained(s["model"], trust_remote_code=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    thinking = bool(s.get("enable_thinking", True))
    model = load_sft_policy(s["model"], sft_adapter, bool(s["bf16"]))
    use_cpu = not torch.cuda.is_available()
    if not use_cpu:
        model = model.to("cuda")

    if s["states"] == "policy":  # the SFT policy's own states, greedy, before any update
        greedy = HFPolicy(model, tok, s["max_new_tokens"], do_sample=False, enable_thinking=thinking)
        states = policy_states(greedy, problems, env_cfg, s["rollout_concurrency"])
    else:
        states = [(str(p["problem_id"]), []) for p in problems]
    by_id = {str(p["problem_id"]): p for p in problems}
    obs = {}
    rows = []
    for pid, prefix in states:
        key = (pid, tuple(prefix))
        if key not in obs:
            obs[key] = start_episode(by_id[pid], env_cfg, prefix).observation
            rows.append({"prompt": render_prompt(tok, obs[key], thinking), "problem_id": pid,
                         "prefix": json.dumps(prefix)})
    log.info("grpo: %d train problems, %d distinct states (%s), %d steps of %d states x %d answers",
             len(problems), len(rows), s["states"], s["steps"], s["problems_per_step"], s["group_size"])
    dataset = Dataset.from_list(rows)

    sft_cfg = json.loads((Path(sft_adapter) / "adapter_config.json").read_text())
    peft_config = LoraConfig(r=int(s["lora_rank"]), lora_alpha=int(s["lora_alpha"]),
                             lora_dropout=float(s["lora_dropout"]), target_modules=sft_cfg["target_modules"],
                             task_type="CAUSAL_LM")
    work = Path(adapter_out).parent / ".grpo-work"
    shutil.rmtree(work, ignore_errors=True)
    args = GRPOConfig(
        output_dir=str(work / "trainer"), max_steps=int(s["steps"]), learning_rate=float(s["learning_rate"]),
        beta=float(s["kl_coef"]), num_generations=int(s["group_size"]),
        per_device_train_batch_size=int(s["group_size"]), gradient_accumulation_steps=int(s["problems_per_step"]),
        max_completion_length=int(s["max_new_tokens"]), max_prompt_length=None, temperature=float(s["temperature"]),
        top_k=0, bf16=bool(s["bf16"]) and not use_cpu, use_cpu=use_cpu, seed=int(s["seed"]),
        logging_steps=1, save_strategy="no", report_to="none", remove_unused_columns=False,
        gradient_checkpointing=bool(s.get("gradient_checkpointing", False)), lr_scheduler_type="constant",
        warmup_steps=0, dataloader_num_workers=0,
    )
    held: dict[str, Any] = {}

    @contextlib.contextmanager
    def current_policy() -> Iterator[Policy]:
        t = held["trainer"]
        with unwrap_model_for_generation(t.model_wrapped, t.accelerator) as m:
            yield HFPolicy(m, tok, int(s["max_new_tokens"]), float(s["temperature"]), True, thinking)

    reward = EnvironmentReward(by_id, env_cfg, s["success_level"], int(s["rollout_concurrency"]), current_policy)
    add_warnings_issued(model)
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=dataset, processing_class=tok,
                          peft_config=peft_config)
    held["trainer"] = trainer
    train_out = trainer.train()
    rl_only = work / "rl_adapter"
    trainer.model.save_pretrained(str(rl_only))
    trl_logs = {h["step"]: h for h in trainer.state.log_history if "loss" in h}
    held.clear()
    del trainer, model
    combine_adapters(s["model"], sft_adapter, rl_only, adapter_out, bool(s["bf16"]) and not use_cpu)
    history = []
    for row in reward.curve:  # TRL's own numbers for the same step beside the environment's
        h = trl_logs.get(row["step"], {})
        history.append({**row, **{k: h[k] for k in ("loss", "kl", "entropy", "grad_norm") if k in h}})
    write_text_atomic(curve_out, "".join(json.dumps(r, sort_keys=True) + "\n" for r in history))
    results = {"steps": int(s["steps"]), "states": len(rows), "problems": len(problems),
               "train_loss": train_out.training_loss, "seconds": round(time.monotonic() - t0, 1),
               "first": history[0] if history else None, "last": history[-1] if history else None}
    write_text_atomic(results_out, json.dumps(results, indent=2) + "\n")
    job = {"host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
           "slurm_partition": os.environ.get("SLURM_JOB_PARTITION"),
           "device": "cpu" if use_cpu else torch.cuda.get_device_name(0), "base_run": s["base_run"],
           "sft_adapter": str(sft_adapter), "success_level": s["success_level"]}
    write_text_atomic(job_out, json.dumps(job, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return results
