# Evaluation on the held-out test split: every agent, sharded; then metrics and the report.


rule evaluate:
    input:
        shard=get_eval_input,
        model=get_eval_model_inputs,
    output:
        outcomes="results/eval/{agent}/shard_{shard}.outcomes.jsonl",
        trajectories="results/eval/{agent}/shard_{shard}.trajectories.jsonl",
    log:
        "logs/eval/{agent}/shard_{shard}.log",
    benchmark:
        "benchmarks/eval/{agent}/shard_{shard}.tsv"
    conda:
        "../envs/training.yaml"
    threads: config["eval"]["workers"]
    resources:
        teacher_api=get_teacher_api,
    params:
        journal=lambda wildcards: f"data/journal/eval/{wildcards.agent}/shard_{wildcards.shard}.jsonl",
        kind=get_eval_kind,
        env=lambda wildcards: config["env"],
        teacher=get_teacher,
        finetuned=get_finetuned_settings,
    script:
        "../scripts/evaluate.py"


rule eval_summary:
    input:
        outcomes=get_eval_outcomes,
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
        outcomes=expand(
            "results/eval/{agent}/shard_{shard}.outcomes.jsonl",
            agent=get_eval_agents(),
            shard=get_test_shard_ids(),
        ),
        cards=expand("results/train/{run}/run.json", run=get_eval_runs()),
        losses=expand("results/train/{run}/loss.csv", run=get_eval_runs()),
        curves=expand("results/rl/{run}/reward_curve.jsonl", run=get_rl_eval_runs()),
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
    conda:
        "../envs/collect.yaml"
    params:
        agents=get_eval_agents(),
        rl_runs=get_rl_eval_runs(),
    script:
        "../scripts/report.py"
