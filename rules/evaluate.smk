# Evaluation on the held-out test split: every agent, sharded; then metrics and the report.


rule evaluate:
    # a built-in agent or a teacher on one test shard (fine-tuned and RL agents: evaluate_finetuned)
    input:
        shard=get_eval_input,
    output:
        outcomes="results/eval/{agent}/shard_{shard}.outcomes.jsonl",
        trajectories="results/eval/{agent}/shard_{shard}.trajectories.jsonl",
    log:
        "logs/eval/{agent}/shard_{shard}.log",
    benchmark:
        "benchmarks/eval/{agent}/shard_{shard}.tsv"
    wildcard_constraints:
        agent=NOT_SERVED,
    conda:
        "../envs/collect.yaml"
    threads: config["eval"]["workers"]
    resources:
        teacher_api=get_teacher_api,
        mem_mb=get_eval_mem_mb,
        runtime=get_eval_runtime,
    params:
        journal=get_eval_journal,
        kind=get_eval_kind,
        env=get_env_config,
        teacher=get_teacher,
        finetuned={},
    script:
        "../scripts/evaluate.py"


rule evaluate_finetuned:
    # a fine-tuned agent: one job per part of the test split (eval.finetuned_shards parts),
    # one model server per job; asks for eval.serve.gpus GPUs
    input:
        shard=get_ft_part_shards,
        model=get_eval_model_inputs,
    output:
        outcomes="results/eval/{agent}/part_{part}.outcomes.jsonl",
        trajectories="results/eval/{agent}/part_{part}.trajectories.jsonl",
    log:
        "logs/eval/{agent}/part_{part}.log",
    benchmark:
        "benchmarks/eval/{agent}/part_{part}.tsv"
    wildcard_constraints:
        agent=ONLY_SERVED,
        part=r"\d\d\d+",
    conda:
        "../envs/training.yaml"
    threads: config["eval"]["workers"]
    resources:
        gpu=get_eval_gpus,
        mem_mb=get_eval_mem_mb,
        runtime=get_eval_runtime,
    params:
        journal=get_eval_journal,
        problems=get_ft_part_problems,
        kind=get_eval_kind,
        env=get_env_config,
        teacher=get_teacher,
        finetuned=get_finetuned_settings,
    script:
        "../scripts/evaluate.py"


rule eval_summary:
    input:
        outcomes=get_eval_outcomes,
        problems=get_test_problems,
    output:
        "results/eval/{agent}/summary.json",
    log:
        "logs/eval/{agent}/summary.log",
    conda:
        "../envs/collect.yaml"
    params:
        teacher=get_teacher,
    script:
        "../scripts/eval_summary.py"


rule report:
    input:
        summaries=expand("results/eval/{agent}/summary.json", agent=get_eval_agents()),
        outcomes=get_report_outcomes,
        cards=expand("results/train/{run}/run.json", run=get_eval_runs()),
        losses=expand("results/train/{run}/loss.csv", run=get_eval_runs()),
        curves=expand("results/rl/{run}/reward_curve.jsonl", run=get_rl_eval_runs()),
        viewers=get_viewers(),  # marked for the HTML report: `snakemake --report` needs them built
    output:
        table=report(
            "results/report/comparison.md",
            category="Evaluation",
            labels={"figure": "comparison table"},
        ),
        csv="results/report/comparison.csv",
        by_type=report(
            "results/report/success_by_type.png",
            category="Evaluation",
            labels={"figure": "faithful recovery by error type"},
        ),
        rr=report(
            "results/report/rr_at_k.png",
            category="Evaluation",
            labels={"figure": "RR@k curves"},
        ),
        steps=report(
            "results/report/steps_hist.png",
            category="Evaluation",
            labels={"figure": "steps histogram"},
        ),
        losses=report(
            "results/report/loss_curves.png",
            category="Training",
            labels={"figure": "loss curves per run"},
        ),
        rl_curve=report(
            "results/report/rl_reward_curve.png",
            category="RL",
            labels={"figure": "GRPO reward curve"},
        ),
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../envs/collect.yaml"
    params:
        agents=get_eval_agents(),
        rl_runs=get_rl_eval_runs(),
    script:
        "../scripts/report.py"
