# External benchmarks (eval.external): import each set once, score every evaluated agent on
# it, and write one table per set beside the published figures.


wildcard_constraints:
    set=r"[A-Za-z0-9][A-Za-z0-9_-]*",


rule import_external:
    input:
        get_external_index,
    output:
        problems="data/external/{set}/problems.jsonl",
        skipped="data/external/{set}/skipped.jsonl",
    log:
        "logs/external/{set}/import.log",
    benchmark:
        "benchmarks/external/{set}/import.tsv"
    conda:
        "../envs/collect.yaml"
    threads: config["eval"]["workers"]
    script:
        "../scripts/import_external.py"


rule evaluate_external:
    # a built-in agent or a teacher on one external set
    input:
        shard="data/external/{set}/problems.jsonl",
    output:
        outcomes="results/eval_external/{set}/{agent}/outcomes.jsonl",
        trajectories="results/eval_external/{set}/{agent}/trajectories.jsonl",
    log:
        "logs/eval_external/{set}/{agent}.log",
    benchmark:
        "benchmarks/eval_external/{set}/{agent}.tsv"
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
        journal=get_external_journal,
        kind=get_eval_kind,
        env=get_env_config,
        teacher=get_teacher,
        finetuned={},
    script:
        "../scripts/evaluate.py"


rule evaluate_external_finetuned:
    # a fine-tuned or RL agent on one external set: one model server, eval.serve.gpus GPUs
    input:
        shard="data/external/{set}/problems.jsonl",
        model=get_eval_model_inputs,
    output:
        outcomes="results/eval_external/{set}/{agent}/outcomes.jsonl",
        trajectories="results/eval_external/{set}/{agent}/trajectories.jsonl",
    log:
        "logs/eval_external/{set}/{agent}.log",
    benchmark:
        "benchmarks/eval_external/{set}/{agent}.tsv"
    wildcard_constraints:
        agent=ONLY_SERVED,
    conda:
        "../envs/training.yaml"
    threads: config["eval"]["workers"]
    resources:
        gpu=get_eval_gpus,
        mem_mb=get_eval_mem_mb,
        runtime=get_eval_runtime,
    params:
        journal=get_external_journal,
        kind=get_eval_kind,
        env=get_env_config,
        teacher=get_teacher,
        finetuned=get_finetuned_settings,
    script:
        "../scripts/evaluate.py"


rule eval_external_summary:
    input:
        outcomes="results/eval_external/{set}/{agent}/outcomes.jsonl",
        problems="data/external/{set}/problems.jsonl",
    output:
        "results/eval_external/{set}/{agent}/summary.json",
    log:
        "logs/eval_external/{set}/{agent}.summary.log",
    conda:
        "../envs/collect.yaml"
    params:
        teacher=get_teacher,
    script:
        "../scripts/eval_external_summary.py"


rule report_external:
    input:
        summaries=get_external_summaries,
        problems="data/external/{set}/problems.jsonl",
        skipped="data/external/{set}/skipped.jsonl",
    output:
        report(
            "results/report/external_{set}.md",
            category="External benchmarks",
            labels={"set": "{set}"},
        ),
    log:
        "logs/report/external_{set}.log",
    conda:
        "../envs/collect.yaml"
    params:
        source=get_external_index,
    script:
        "../scripts/report_external.py"


rule external:
    input:
        get_external_reports(),
