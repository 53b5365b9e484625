# GRPO / RLVR after SFT: episodes on train problems in the repair environment, reward verified
# by SCIP. One GPU rule per RL run; the Slurm profiles place it like `train`.


rule grpo:
    input:
        problems=get_bench_shards("train"),
        sft=get_rl_base_adapter,
        model=get_local_model,
    output:
        adapter=directory("results/rl/{run}/adapter"),
        curve="results/rl/{run}/reward_curve.jsonl",
        results="results/rl/{run}/rl_results.json",
        job="results/rl/{run}/job.json",
        config="results/rl/{run}/rl_config.json",
    log:
        "logs/rl/{run}/grpo.log",
    benchmark:
        "benchmarks/rl/{run}/grpo.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        gpu=get_rl_gpus,
        mem_mb=98304,
        runtime=1440,
        cpus_per_task=2,
    params:
        settings=get_rl_settings,
        sft_adapter=get_rl_sft_adapter,
        env=get_env_config,
    script:
        "../scripts/grpo.py"


rule rl_all:
    input:
        expand("results/rl/{run}/rl_results.json", run=get_rl_runs()),
