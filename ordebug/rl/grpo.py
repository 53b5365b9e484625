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

from ordebug.answer import answer_budget
from ordebug.atomic import write_text_atomic
from ordebug.env.environment import EnvConfig
from ordebug.rl.reward import EpisodeReturn
from ordebug.rl.rollout import Episode, HFPolicy, Policy, advance, play, render_prompt, start_episode
from ordebug.rl.settings import RLError

log = logging.getLogger("ordebug")


def zero_variance_groups(values: Sequence[float], group_size: int) -> int:
    """Groups (``group_size`` consecutive answers to one state, as TRL lays them out) whose
    answers all earned the same return: their advantages are all 0, they teach nothing."""
    groups = [values[i:i + group_size] for i in range(0, len(values), group_size)]
    return sum(1 for g in groups if max(g) - min(g) < 1e-9)


def curve_row(step: int, results: Sequence[EpisodeReturn], depths: Sequence[int],
              group_size: int | None = None) -> dict[str, Any]:
    """One line of the reward curve: means over the episodes of one GRPO step, the spread of
    the returns, the mean of each reward component, and the groups whose returns were all equal."""
    n = max(1, len(results))
    steps = sum(r.steps for r in results)
    mean = sum(r.value for r in results) / n
    comps = sorted({k for r in results for k in r.components})
    gs = group_size or n
    zero = zero_variance_groups([r.value for r in results], gs) if results else 0
    return {"step": step, "episodes": len(results),
            "mean_return": round(mean, 6),
            "return_std": round((sum((r.value - mean) ** 2 for r in results) / n) ** 0.5, 6),
            **{f"reward_{k}": round(sum(r.components.get(k, 0.0) for r in results) / n, 6) for k in comps},
            "groups": -(-len(results) // gs), "zero_variance_groups": zero,
            "success_rate": round(sum(r.success for r in results) / n, 6),
            "feasible_rate": round(sum(r.feasible for r in results) / n, 6),
            "invalid_rate": round(sum(r.invalid for r in results) / max(1, steps), 6),
            "mean_steps": round(steps / n, 4),
            "mean_start_depth": round(sum(depths) / n, 4)}


class EnvironmentReward:
    """TRL reward function: each completion is one step, the episode played on by the policy."""

    __name__ = "environment_return"

    def __init__(self, problems: dict[str, dict], env_cfg: EnvConfig, level: str, concurrency: int,
                 policy: Callable[[], contextlib.AbstractContextManager[Policy]], group_size: int | None = None,
                 curve: list[dict[str, Any]] | None = None, log_to: Path | None = None) -> None:
        self.problems, self.env_cfg, self.level = problems, env_cfg, level
        self.concurrency, self.policy, self.group_size = concurrency, policy, group_size
        self.curve: list[dict[str, Any]] = list(curve or [])  # rows of the steps before a resume
        self.log_to = log_to  # each row also appended here (kept beside the checkpoints for a resume)

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
                        [e.start_step for e in eps], self.group_size)
        self.curve.append(row)
        if self.log_to is not None:
            with open(self.log_to, "a") as fh:
                fh.write(json.dumps(row, sort_keys=True) + "\n")
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


DIFFICULTY = {"easy": 0, "medium": 1, "hard": 2}


def curriculum_order(rows: list[dict], problems: dict[str, dict]) -> list[dict]:
    """Easy problems first (by the record's difficulty), then medium, then hard; stable."""
    return sorted(rows, key=lambda r: DIFFICULTY.get(str(problems[r["problem_id"]].get("difficulty")), 1))


def read_partial_curve(path: Path, upto: int) -> list[dict]:
    """The curve rows a killed attempt logged for steps up to its checkpoint's."""
    if not path.is_file():
        return []
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [r for r in rows if r["step"] <= upto]


def skip_zero_variance(output: dict, group_size: int) -> int:
    """Mask out (no loss, no KL) the answers of groups whose advantages are all zero; return
    how many groups that was. The token count the loss is normalised by is recounted."""
    import torch

    adv = output["advantages"].view(-1, group_size)
    zero = adv.abs().amax(dim=1) < 1e-8
    if zero.any():
        mask = output["completion_mask"].view(-1, group_size, output["completion_mask"].shape[-1])
        mask[zero] = 0
        output["completion_mask"] = mask.view_as(output["completion_mask"])
        if "num_items_in_batch" in output:
            output["num_items_in_batch"] = torch.clamp(output["completion_mask"].sum(), min=1)
    return int(zero.sum())


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
    from ordebug.training import checkpoints as ckpt

    patch_trl_flags()
    from trl import GRPOConfig, GRPOTrainer
    from trl.models import unwrap_model_for_generation

    t0 = time.monotonic()
    s = dict(s)
    lengths = Path(sft_adapter).parent / "token_lengths.json" if s.get("cover_trained_answers", True) else None
    s["max_new_tokens"], why = answer_budget(int(s["max_new_tokens"]), lengths, "rl.max_new_tokens")
    if why:  # rollouts cut before their Action line all earn the same (malformed) return
        log.warning("%s", why)
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

    # checkpoints (not a rule output: a killed or preempted job keeps them) and resume, as for SFT
    out_root = Path(adapter_out).parent
    work = out_root / "checkpoints"
    fp_files = [Path(f) for f in problem_paths] + sorted(f for f in Path(sft_adapter).iterdir() if f.is_file())
    fp = ckpt.fingerprint({k: v for k, v in s.items() if k not in ("resume", "report_to")}, fp_files)
    start, notes = ckpt.prepare(work, fp, bool(s.get("resume", True)))
    for note in notes:
        log.warning("%s", note)
    start_step = ckpt.checkpoint_step(start) if start is not None else 0
    partial = work / "reward_curve.partial.jsonl"
    by_id = {str(p["problem_id"]): p for p in problems}
    greedy = HFPolicy(model, tok, s["max_new_tokens"], do_sample=False, enable_thinking=thinking)
    states = train_states(s, problems, env_cfg, work / "states.json", start is not None, greedy)
    curriculum = bool(s.get("curriculum", False))
    rows = state_prompts(states, by_id, env_cfg, tok, thinking)
    if curriculum:
        rows = curriculum_order(rows, by_id)
    log.info("grpo: %d train problems, %d distinct states (%s%s), %d steps of %d states x %d answers",
             len(problems), len(rows), s["states"], ", easy first" if curriculum else "", s["steps"],
             s["problems_per_step"], s["group_size"])
    dataset = Dataset.from_list(rows)

    sft_cfg = json.loads((Path(sft_adapter) / "adapter_config.json").read_text())
    peft_config = LoraConfig(r=int(s["lora_rank"]), lora_alpha=int(s["lora_alpha"]),
                             lora_dropout=float(s["lora_dropout"]), target_modules=sft_cfg["target_modules"],
                             task_type="CAUSAL_LM")
    args = GRPOConfig(**grpo_arguments(s, work, out_root / "tensorboard", use_cpu, curriculum))
    held: dict[str, Any] = {}

    @contextlib.contextmanager
    def current_policy() -> Iterator[Policy]:
        t = held["trainer"]
        with unwrap_model_for_generation(t.model_wrapped, t.accelerator) as m:
            yield HFPolicy(m, tok, int(s["max_new_tokens"]), float(s["temperature"]), True, thinking)

    group_size = int(s["group_size"])
    reward = EnvironmentReward(by_id, env_cfg, s["success_level"], int(s["rollout_concurrency"]), current_policy,
                               group_size, read_partial_curve(partial, start_step), partial)
    write_text_atomic(partial, "".join(json.dumps(r, sort_keys=True) + "\n" for r in reward.curve))
    skip = s.get("zero_variance", "skip") == "skip"
    skipped: dict[int, int] = {}

    class Trainer(GRPOTrainer):
        def _generate_and_score_completions(self, inputs: Any) -> dict:
            output = super()._generate_and_score_completions(inputs)
            if skip:
                skipped[self.state.global_step + 1] = skip_zero_variance(output, group_size)
            return output

    add_warnings_issued(model)
    trainer = Trainer(model=model, reward_funcs=reward, args=args, train_dataset=dataset, processing_class=tok,
                      peft_config=peft_config)
    held["trainer"] = trainer
    ckpt.record_attempt(work, {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "start_step": start_step,
                               "resumed_from": start.name if start is not None else None,
                               "host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID")})
    if start is not None:
        log.info("resuming GRPO from %s (step %d)", start, start_step)
    train_out = trainer.train(resume_from_checkpoint=str(start) if start is not None else None)
    rl_only = out_root / ".rl_adapter"
    shutil.rmtree(rl_only, ignore_errors=True)
    trainer.model.save_pretrained(str(rl_only))
    trl_logs = {h["step"]: h for h in trainer.state.log_history if "loss" in h}
    held.clear()
    del trainer, model
    combine_adapters(s["model"], sft_adapter, rl_only, adapter_out, bool(s["bf16"]) and not use_cpu)
    history = curve_with_trl(reward.curve, trl_logs, skipped)
    write_text_atomic(curve_out, "".join(json.dumps(r, sort_keys=True) + "\n" for r in history))
    groups = sum(r.get("groups", 0) for r in history)
    zero = sum(r.get("zero_variance_groups", 0) for r in history)
    results = {"steps": int(s["steps"]), "states": len(rows), "problems": len(problems),
               "max_new_tokens": int(s["max_new_tokens"]),
               "train_loss": train_out.training_loss, "seconds": round(time.monotonic() - t0, 1),
               "resumed_from": start.name if start is not None else None, "curriculum": curriculum,
               "zero_variance": "skip" if skip else "keep", "groups": groups, "zero_variance_groups": zero,
               "zero_variance_share": round(zero / groups, 4) if groups else None,
               "first": history[0] if history else None, "last": history[-1] if history else None}
    write_text_atomic(results_out, json.dumps(results, indent=2) + "\n")
    job = {"host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
           "slurm_partition": os.environ.get("SLURM_JOB_PARTITION"),
           "device": "cpu" if use_cpu else torch.cuda.get_device_name(0), "base_run": s["base_run"],
           "sft_adapter": str(sft_adapter), "success_level": s["success_level"],
           "resumed_from": results["resumed_from"], "attempts": ckpt.record_attempt(work, {"finished": True})}
    write_text_atomic(job_out, json.dumps(job, indent=2) + "\n")
    shutil.rmtree(rl_only, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)  # finished: the outputs are whole, the checkpoints are spent
    return results


def train_states(s: dict[str, Any], problems: list[dict], env_cfg: EnvConfig, states_file: Path, resumed: bool,
                 greedy: Policy) -> list[tuple[str, list[str]]]:
    """The (problem, action prefix) states GRPO trains on, written to ``states_file``: on a
    resumed run the first attempt's (not played again); with ``states: policy`` the greedy
    SFT policy's own states before any update; else every problem's start."""
    if resumed and states_file.is_file():
        states = [(pid, list(prefix)) for pid, prefix in json.loads(states_file.read_text())]
    elif s["states"] == "policy":
        states = policy_states(greedy, problems, env_cfg, s["rollout_concurrency"])
    else:
        states = [(str(p["problem_id"]), []) for p in problems]
    write_text_atomic(states_file, json.dumps(states))
    return states


def state_prompts(states: list[tuple[str, list[str]]], by_id: dict[str, dict], env_cfg: EnvConfig, tok: Any,
                  thinking: bool) -> list[dict]:
    """One dataset row per distinct state: its rendered prompt, problem and prefix."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    rows = []
    for pid, prefix in states:
        key = (pid, tuple(prefix))
        if key not in seen:
            seen.add(key)
            observation = start_episode(by_id[pid], env_cfg, prefix).observation
            rows.append({"prompt": render_prompt(tok, observation, thinking), "problem_id": pid,
                         "prefix": json.dumps(prefix)})
    return rows


def grpo_arguments(s: dict[str, Any], work: Path, tensorboard: Path, use_cpu: bool, curriculum: bool) -> dict:
    """TRL's GRPOConfig arguments for the settings ``s`` (TensorBoard logs in ``tensorboard``
    when ``report_to`` is, or is ``auto`` and tensorboard is installed)."""
    report_to = s.get("report_to", "auto")
    if report_to == "auto":
        import importlib.util

        report_to = "tensorboard" if importlib.util.find_spec("tensorboard") else "none"
    if report_to == "tensorboard":  # transformers 5 reads the folder from the environment only
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(tensorboard)
    return dict(
        output_dir=str(work), max_steps=int(s["steps"]), learning_rate=float(s["learning_rate"]),
        beta=float(s["kl_coef"]), num_generations=int(s["group_size"]),
        per_device_train_batch_size=int(s["group_size"]), gradient_accumulation_steps=int(s["problems_per_step"]),
        max_completion_length=int(s["max_new_tokens"]), max_prompt_length=None, temperature=float(s["temperature"]),
        top_k=0, bf16=bool(s["bf16"]) and not use_cpu, use_cpu=use_cpu, seed=int(s["seed"]),
        logging_steps=1, save_strategy="steps", save_steps=int(s.get("save_steps", 50)),
        save_total_limit=int(s.get("save_total_limit", 2)), report_to=report_to, remove_unused_columns=False,
        gradient_checkpointing=bool(s.get("gradient_checkpointing", False)), lr_scheduler_type="constant",
        warmup_steps=0, dataloader_num_workers=0, shuffle_dataset=not curriculum,
    )


def curve_with_trl(curve: list[dict], trl_logs: dict[int, dict], skipped: dict[int, int]) -> list[dict]:
    """The environment's reward curve with TRL's own numbers for the same step beside it
    (loss, KL, entropy, gradient norm, learning rate) and the groups skipped at each step."""
    history = []
    for row in curve:
        h = trl_logs.get(row["step"], {})
        extra = {k: h[k] for k in ("loss", "kl", "entropy", "grad_norm", "learning_rate") if k in h}
        if row["step"] in skipped:
            extra["skipped_groups"] = skipped[row["step"]]
        history.append({**row, **extra})
    return history
