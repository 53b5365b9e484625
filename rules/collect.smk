# Collection: one job per (agent, train shard); a journal outside the outputs makes it resumable.


onstart:
    start_status_reporter()


rule collect:
    input:
        get_collect_input,
    output:
        samples="data/collect/{agent}/shard_{shard}.jsonl",
        outcomes="data/collect/{agent}/shard_{shard}.outcomes.jsonl",
        trajectories="data/collect/{agent}/shard_{shard}.trajectories.jsonl",
    log:
        "logs/collect/{agent}/shard_{shard}.log",
    benchmark:
        "benchmarks/collect/{agent}/shard_{shard}.tsv"
    conda:
        "../envs/collect.yaml"
    threads: config["collect"]["workers"]
    resources:
        teacher_api=get_teacher_api,
        mem_mb=get_collect_mem_mb,
        runtime=get_collect_runtime,
    params:
        journal=get_journal,
        collect=get_collect_config,
        env=get_env_config,
        teacher=get_teacher,
    script:
        "../scripts/collect_shard.py"


rule merge:
    input:
        samples=get_collect_samples,
        outcomes=get_collect_outcomes,
    output:
        sft="data/training/sft_{agent}.json",
        stats="data/training/stats_{agent}.json",
    log:
        "logs/merge/{agent}.log",
    benchmark:
        "benchmarks/merge/{agent}.tsv"
    conda:
        "../envs/collect.yaml"
    script:
        "../scripts/merge.py"


rule viewer:
    input:
        get_viewer_input,
    output:
        report(
            "results/viewer/{stage}_{agent}.html",
            category="Trajectories",
            labels={"stage": "{stage}", "agent": "{agent}"},
        ),
    log:
        "logs/viewer/{stage}_{agent}.log",
    conda:
        "../envs/collect.yaml"
    script:
        "../scripts/viewer.py"
