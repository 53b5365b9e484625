# Shared helpers: config validation and the file lists the rules depend on.
import os
import re
import sys
from types import SimpleNamespace

from ordebug.config import ConfigError, agent_kind, validate_config
from ordebug.bench.shards import SPLITS, n_shards
from ordebug.data.mixes import datasets as mix_datasets

# Validated once against config/config.schema.yaml (the error names the key), defaults filled.
try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

# the interpreter running Snakemake (it imports ordebug above, so it can run the package's scripts);
# a bare `python` in a shell command is whatever PATH holds (not the venv's when Snakemake is
# called as .venv/bin/snakemake without activating it)
PYTHON = sys.executable

# every agent name the workflow knows (built in, teachers, fine-tuned and RL runs)
KNOWN_AGENTS = sorted(
    set(config["collect"]["agents"])
    | set(config["eval"]["agents"])
    | set(config.get("teachers") or {})
    | {f"ft_{r}" for r in config["eval"].get("finetuned", [])}
    | {f"base_{r}" for r in config["eval"].get("base", [])}
    | {f"rl_{r}" for r in config["eval"].get("rl", [])}
)


wildcard_constraints:
    split="train|test|train_large|test_large",
    stage="collect|eval",
    shard=r"(L)?\d\d\d+",  # three digits or more (1,000 shards and up)
    agent="|".join(re.escape(a) for a in KNOWN_AGENTS) or "(?!)",
    dataset="|".join(re.escape(d) for d in mix_datasets(config)),


def get_bench_shards(split):
    """All shard files of one split."""
    return [
        f"data/bench/{split}/shard_{i:03d}.jsonl"
        for i in range(n_shards(config["bench"], split))
    ]


def get_all_bench_shards(wildcards=None):
    """Train and test shards of both tiers."""
    return [f for split in SPLITS for f in get_bench_shards(split)]


def get_pool_shards(kind):
    """Every pool shard's problems (``kind`` "jsonl") or adversary tables ("adv.jsonl.gz")."""
    return [
        f"data/bench/pool/{split}/shard_{i:03d}.{kind}"
        for split in SPLITS
        for i in range(n_shards(config["bench"], split, pool=True))
    ]


def get_shard_ids(split):
    """Shard ids of a split and its large tier: ``000``, ... then ``L000``, ..."""
    small = [f"{i:03d}" for i in range(n_shards(config["bench"], split))]
    large = [f"L{i:03d}" for i in range(n_shards(config["bench"], f"{split}_large"))]
    return small + large


def get_shard_file(split, shard):
    """The bench shard behind a shard id (``L`` ids are the large tier's)."""
    if shard.startswith("L"):
        return f"data/bench/{split}_large/shard_{shard[1:]}.jsonl"
    return f"data/bench/{split}/shard_{shard}.jsonl"


def get_collect_input(wildcards):
    return get_shard_file("train", wildcards.shard)


def get_eval_input(wildcards):
    return get_shard_file("test", wildcards.shard)


def get_test_problems(wildcards=None):
    """Every test shard (both tiers): the ground truth and models the summary scores against."""
    return [get_shard_file("test", s) for s in get_test_shard_ids()]


def get_teachers():
    """Configured LLM teachers by name."""
    return config.get("teachers") or {}


def get_active_teachers():
    """Teachers whose API key is in the environment (the others are skipped, said once)."""
    active = []
    for name, t in get_teachers().items():
        env_var = t.get("api_key_env", "OPENAI_API_KEY")
        if os.environ.get(env_var, "").strip():
            active.append(name)
        elif not os.environ.get(f"_ORDEBUG_NOTICE_{name}"):
            # Snakemake may parse the workflow twice in one process: say it once
            os.environ[f"_ORDEBUG_NOTICE_{name}"] = "1"
            logger.warning(
                f"teacher '{name}' skipped: ${env_var} is not set. "
                f"Export {env_var}=... (and OPENAI_BASE_URL or teachers.{name}.base_url "
                "for a non-OpenAI endpoint) to collect its trajectories."
            )
    return active


def get_agents():
    """Agents whose trajectories are collected: built-in agents plus active teachers."""
    return list(config["collect"]["agents"]) + get_active_teachers()


def get_teacher_api(wildcards):
    """One unit of the `teacher_api` resource per teacher shard job."""
    return 1 if wildcards.agent in get_teachers() else 0


def get_teacher(wildcards):
    """The teacher's settings, or {} for a built-in agent."""
    return get_teachers().get(wildcards.agent) or {}


def get_journal(wildcards):
    """Per-shard journal, outside the declared outputs (kept when a job fails)."""
    return f"data/journal/collect/{wildcards.agent}/shard_{wildcards.shard}.jsonl"


def get_collect_samples(wildcards):
    return [
        f"data/collect/{wildcards.agent}/shard_{s}.jsonl"
        for s in get_shard_ids("train")
    ]


def get_collect_outcomes(wildcards):
    return [
        f"data/collect/{wildcards.agent}/shard_{s}.outcomes.jsonl"
        for s in get_shard_ids("train")
    ]


def get_datasets():
    """Every combined dataset by name: ``combined`` and one per distinct run choice."""
    return mix_datasets(config)


def get_combine_agents(dataset):
    """Sources of one combined dataset that are active here (a skipped teacher is left out)."""
    active = set(get_agents())
    return [a for a in get_datasets()[dataset] if a in active]


def get_ready_datasets():
    """Combined datasets with at least one active source."""
    return [d for d in get_datasets() if get_combine_agents(d)]


def get_combine_inputs(part):
    def inputs(wildcards):
        agents = get_combine_agents(wildcards.dataset)
        if not agents:
            raise WorkflowError(
                f"combined dataset '{wildcards.dataset}' has no active source: "
                f"{', '.join(get_datasets()[wildcards.dataset])} (see the notices above)"
            )
        return [f"data/training/sft_qwen_chat_{a}.{part}.jsonl" for a in agents]

    return inputs


def get_combine_weights(wildcards):
    sources = get_datasets()[wildcards.dataset]
    return {a: sources[a] for a in get_combine_agents(wildcards.dataset)}


def get_dataset_sources(wildcards):
    """Source agent -> weight of one combined dataset."""
    return get_datasets()[wildcards.dataset]


def get_combine_skipped(wildcards):
    """Configured sources of the dataset left out because they are not active."""
    active = set(get_combine_agents(wildcards.dataset))
    return [a for a in get_datasets()[wildcards.dataset] if a not in active]


def get_dataset_files(wildcards=None):
    """Every chat file registered in dataset_info.json, by registered name."""
    from ordebug.data.mixes import registered_name

    files = {}
    for a in get_agents():
        for part in ("train", "val"):
            files[f"sft_qwen_chat_{a}_{part}"] = (
                f"data/training/sft_qwen_chat_{a}.{part}.jsonl"
            )
    for d in get_ready_datasets():
        for part in ("train", "val"):
            files[registered_name(d, part)] = f"data/training/sft_{d}.{part}.jsonl"
    return files


def get_runs():
    return list(config["training"]["runs"])


def get_run_dataset(wildcards):
    """The combined dataset a training run trains on."""
    from ordebug.data.mixes import run_dataset

    return run_dataset(config, wildcards.run)


def get_run_dataset_file(suffix):
    """A file of the run's combined dataset: ``train.jsonl``, ``val.jsonl``, ``stats.json``."""

    def get_file(wildcards):
        return f"data/training/sft_{get_run_dataset(wildcards)}.{suffix}"

    return get_file


def get_ready_runs():
    """Runs whose dataset has an active source; the others are skipped with one notice."""
    from ordebug.data.mixes import run_dataset

    ready = []
    for run in get_runs():
        dataset = run_dataset(config, run)
        if get_combine_agents(dataset):
            ready.append(run)
        elif not os.environ.get(f"_ORDEBUG_NOTICE_run_{run}"):
            os.environ[f"_ORDEBUG_NOTICE_run_{run}"] = "1"
            logger.warning(
                f"training run '{run}' skipped: none of its sources "
                f"({', '.join(get_datasets()[dataset])}) is active"
            )
    return ready


def get_run_settings(wildcards):
    from ordebug.training.llamafactory import run_settings

    return run_settings(config["training"], wildcards.run)


def get_gguf_sources():
    """The gguf: model sources of the training runs, by the name of their converted folder."""
    from ordebug.training.base_model import folder_name

    out = {}
    for run in get_runs():
        source = get_run_settings(SimpleNamespace(run=run)).get("model_source")
        if source:
            out[folder_name(source)] = source
    return out


def get_gguf_source(wildcards):
    return get_gguf_sources()[wildcards.name]


def _model_run(wildcards):
    """The training run whose base model a job loads (None: any run)."""
    agent = getattr(wildcards, "agent", None) if wildcards is not None else None
    run = getattr(wildcards, "run", None) if wildcards is not None else None
    if agent is not None:
        kind, _, run = agent.partition("_")
        if kind not in ("ft", "base", "rl"):
            return None
        if kind != "rl":
            return run
    if run in (config.get("rl") or {}).get("runs", {}) and run not in get_runs():
        return get_rl_settings(SimpleNamespace(run=run))["base_run"]
    return run


def get_local_model(wildcards):
    """Model folders built here: the tiny model the smoke config builds, and the converted
    folder of a run's gguf: model source (written by base_model)."""
    if config["training"].get("tiny_model"):
        return [config["training"]["model"]]
    run = _model_run(wildcards)
    runs = [run] if run in get_runs() else get_runs()
    models = [get_run_settings(SimpleNamespace(run=r)) for r in runs]
    return sorted({s["model"] for s in models if s.get("model_source")})


def get_eval_agents():
    """Built-in agents, active teachers (if enabled), served fine-tuned and RL runs."""
    e = config["eval"]
    agents = list(e["agents"])
    if e.get("teachers"):
        agents += get_active_teachers()
    return (
        agents
        + [f"base_{run}" for run in e.get("base", [])]
        + [f"ft_{run}" for run in e.get("finetuned", [])]
        + [f"rl_{run}" for run in e.get("rl", [])]
    )


def get_eval_runs():
    """Training runs whose fine-tuned model is evaluated (their loss curves go to the report)."""
    return list(config["eval"].get("finetuned", []))


def get_test_shard_ids():
    return get_shard_ids("test")


def get_ft_part_ids():
    """Parts of the test split a fine-tuned agent is evaluated in: eval.finetuned_shards
    jobs (default 1, the whole split in one GPU job), never more than there are shards.
    """
    n = min(config["eval"].get("finetuned_shards", 1), len(get_test_shard_ids()))
    return [f"{i:03d}" for i in range(max(n, 1))]


def get_ft_part_shards(wildcards):
    """Bench shards of one part: the test shards dealt out in contiguous runs."""
    ids, parts = get_test_shard_ids(), len(get_ft_part_ids())
    i = int(wildcards.part)
    lo, hi = i * len(ids) // parts, (i + 1) * len(ids) // parts
    return [get_shard_file("test", s) for s in ids[lo:hi]]


def get_ft_part_problems(wildcards):
    """Where a part's shards are concatenated (beside its journal, outside the outputs)."""
    return f"data/journal/eval/{wildcards.agent}/part_{wildcards.part}.problems.jsonl"


def get_eval_journal(wildcards):
    """Per-job journal of an evaluation, outside the declared outputs."""
    unit = getattr(wildcards, "shard", None)
    name = f"shard_{unit}" if unit is not None else f"part_{wildcards.part}"
    return f"data/journal/eval/{wildcards.agent}/{name}.jsonl"


# agent wildcard of the rules for agents a model server answers for (fine-tuned, RL, base
# model: ordebug.config.agent_kind) and of those for the others (built in, teachers)
ONLY_SERVED = (
    "|".join(re.escape(a) for a in KNOWN_AGENTS if agent_kind(a).served) or "(?!)"
)
NOT_SERVED = (
    "|".join(re.escape(a) for a in KNOWN_AGENTS if not agent_kind(a).served) or "(?!)"
)


def get_agent_kind(agent):
    """What an agent's name says (ordebug.config.AgentKind: kind, run, served)."""
    return agent_kind(agent, get_teachers())


def get_agent_outcomes(agent):
    """Outcome files of one evaluated agent: per test shard, or per part for a fine-tuned one."""
    if get_agent_kind(agent).served:
        return [
            f"results/eval/{agent}/part_{p}.outcomes.jsonl" for p in get_ft_part_ids()
        ]
    return [
        f"results/eval/{agent}/shard_{s}.outcomes.jsonl" for s in get_test_shard_ids()
    ]


def get_eval_outcomes(wildcards):
    return get_agent_outcomes(wildcards.agent)


def get_report_outcomes(wildcards=None):
    return [f for a in get_eval_agents() for f in get_agent_outcomes(a)]


def get_eval_kind(wildcards):
    """How an agent is evaluated: a served adapter, a teacher endpoint or built in."""
    kind = get_agent_kind(wildcards.agent)
    return "finetuned" if kind.served else kind.kind


def get_eval_model_inputs(wildcards):
    """A fine-tuned agent needs its trained adapter (and a locally built base model)."""
    kind = get_agent_kind(wildcards.agent)
    if kind.kind == "rl":
        return get_rl_eval_inputs(kind.run)
    if kind.kind == "base":
        return get_local_model(wildcards)
    if kind.kind != "ft":
        return []
    return [f"results/train/{kind.run}/train_results.json", *get_local_model(wildcards)]


def get_served_settings(settings, adapter):
    """eval.serve plus what serving needs of a run's settings: its base model, template and
    thinking switch; ``adapter`` None serves the base model alone."""
    return {
        **config["eval"].get("serve", {}),
        "base_model": settings["model"],
        "adapter": adapter,
        "template": settings["template"],
        "enable_thinking": settings.get("enable_thinking", True),
        "offline": settings.get("offline", False),
    }


def get_finetuned_settings(wildcards):
    """How a served agent's model is served: base model, adapter (none for base_), template,
    and for a trained one the token lengths of its training data (the answer budget covers
    the longest trained answer: :func:`ordebug.answer.answer_budget`)."""
    kind = get_agent_kind(wildcards.agent)
    run = SimpleNamespace(run=kind.run)
    if kind.kind == "rl":
        base_run = get_rl_settings(run)["base_run"]
        return {
            **get_rl_served_settings(kind.run),
            "answer_lengths": f"results/train/{base_run}/token_lengths.json",
        }
    if kind.kind == "ft":
        return {
            **get_served_settings(get_run_settings(run), get_run_adapter(run)),
            "answer_lengths": f"results/train/{kind.run}/token_lengths.json",
        }
    if kind.kind == "base":
        return get_served_settings(get_run_settings(run), None)
    return {}


# External sets (eval.external): imported models every evaluated agent is scored on (their
# paths were checked by validate_config).
def get_external_sets():
    """Names of the configured external sets (none by default)."""
    return list(config["eval"]["external"])


def get_external_index(wildcards):
    """The index file (or folder of models) of one external set."""
    return str(config["eval"]["external"][wildcards.set])


def get_external_summaries(wildcards):
    return [
        f"results/eval_external/{wildcards.set}/{a}/summary.json"
        for a in get_eval_agents()
    ]


def get_external_reports(wildcards=None):
    return [f"results/report/external_{s}.md" for s in get_external_sets()]


def get_viewer_input(wildcards):
    """Trajectories behind a viewer page: a collected agent's train shards or an evaluated agent's test shards."""
    if wildcards.stage == "collect":
        return [
            f"data/collect/{wildcards.agent}/shard_{s}.trajectories.jsonl"
            for s in get_shard_ids("train")
        ]
    return [
        f.replace(".outcomes.jsonl", ".trajectories.jsonl")
        for f in get_agent_outcomes(wildcards.agent)
    ]


def get_viewers():
    """One trajectory viewer per collected and per evaluated agent."""
    return [f"results/viewer/collect_{a}.html" for a in get_agents()] + [
        f"results/viewer/eval_{a}.html" for a in get_eval_agents()
    ]


def get_rl_runs():
    return list((config.get("rl") or {}).get("runs") or {})


def get_rl_eval_runs():
    """RL runs scored as agents ``rl_{run}``."""
    return list(config["eval"].get("rl", []))


def get_rl_settings(wildcards):
    from ordebug.rl.settings import rl_settings

    return rl_settings(config["rl"], config["training"], wildcards.run)


def get_rl_gpus(wildcards):
    """GPUs of an RL run's job."""
    return get_rl_settings(wildcards)["gpus"]


def get_rl_sft_adapter(wildcards):
    """The folder of the SFT adapter an RL run starts from."""
    return f"results/train/{get_rl_settings(wildcards)['base_run']}/adapter"


def get_rl_base_adapter(wildcards):
    """The SFT adapter an RL run starts from (its base run's ``train`` output)."""
    return f"results/train/{get_rl_settings(wildcards)['base_run']}/train_results.json"


def get_rl_eval_inputs(run):
    return [
        f"results/rl/{run}/rl_results.json",
        *get_local_model(SimpleNamespace(agent=f"rl_{run}")),
    ]


def get_rl_served_settings(run):
    """Serving an RL adapter: exactly like a fine-tuned one, over its base run's model."""
    return get_served_settings(
        get_rl_settings(SimpleNamespace(run=run)), f"results/rl/{run}/adapter"
    )


# Resources of the sharded (cluster) rules. The rules declare what a job needs; where it runs
# (partition, GPU model, account) is only in profiles/. Runtimes are in minutes and generous:
# measured ~0.25 core-s per small problem, ~10 core-s per large one (performance table).
def get_bench_runtime(wildcards):
    """Minutes for one pool shard: 2 s per small problem, 60 s per large one, plus 10."""
    per = 60 if wildcards.split.endswith("_large") else 2
    size = (
        (config["bench"].get("large") or {}).get("shard_size", 10)
        if per == 60
        else config["bench"]["shard_size"]
    )
    return 10 + (per * size + 59) // 60


def get_pool_priority(wildcards):
    """Large-tier pool shards first: one of them takes ~10 min (a 460-row model), and started
    last it ran alone at the end of a -j2 build (docs/performance.md, the third build).
    """
    return 1 if wildcards.split.endswith("_large") else 0


def get_collect_runtime(wildcards):
    """Minutes for one collect shard: built-in agents are fast, teachers wait on an API."""
    return 720 if wildcards.agent in get_teachers() else 60


def get_collect_mem_mb(wildcards, threads):
    """Memory of one collect job: 2 GB per worker process."""
    return 2048 * threads


def get_eval_runtime(wildcards):
    """Minutes for one evaluate job (a fine-tuned agent also starts its model server)."""
    return 60 if get_agent_kind(wildcards.agent).kind == "builtin" else 720


def get_eval_gpus(wildcards):
    """GPUs of an evaluate job: eval.serve.gpus for a fine-tuned agent, none otherwise."""
    if not get_agent_kind(wildcards.agent).served:
        return 0
    return config["eval"].get("serve", {}).get("gpus", 0)


def get_eval_mem_mb(wildcards):
    """Memory of an evaluate job: a served model needs far more than the solver."""
    return (
        65536
        if get_agent_kind(wildcards.agent).served
        else 2048 * config["eval"]["workers"]
    )


def get_train_gpus(wildcards):
    """GPUs of one training run (training.gpus or the run's own `gpus`)."""
    return get_run_settings(wildcards).get("gpus", 0)


# Config sections handed to the rule scripts as params (re-run when they change).
def get_bench_config(wildcards):
    return config["bench"]


def get_collect_config(wildcards):
    return config["collect"]


def get_env_config(wildcards):
    return config["env"]


def get_run_adapter(wildcards):
    """The LoRA adapter folder a training run writes."""
    return f"results/train/{wildcards.run}/adapter"


def get_run_offline(wildcards):
    """Whether a training run sets HF_HUB_OFFLINE."""
    return get_run_settings(wildcards).get("offline", False)


def get_run_resume(wildcards):
    """Whether a training run resumes from its newest complete checkpoint (training.resume)."""
    return get_run_settings(wildcards).get("resume", True)


def get_run_sources(wildcards):
    """Sources and weights of a training run's combined dataset."""
    return get_datasets()[get_run_dataset(wildcards)]


def get_external_journal(wildcards):
    """Journal of one agent on one external set, outside the declared outputs."""
    return f"data/journal/eval_external/{wildcards.set}/{wildcards.agent}.jsonl"


def start_status_reporter():
    """One `ordebug status` line per running teacher collection every collect.status_every_s
    seconds in the Snakemake output (not only in the per-shard logs)."""
    every = config["collect"].get("status_every_s", 60)
    teachers = get_active_teachers()
    if every and teachers:
        from ordebug.collect.status import start_reporter

        start_reporter(config, teachers, every, logger.info)
