# Training: render the LLaMA-Factory config (with the cutoff check), then the only GPU rule.


rule tiny_model:
    input:
        "data/training/sft_combined.train.jsonl",
    output:
        directory("data/models/tiny-qwen3"),
    log:
        "logs/train/tiny_model.log",
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/tiny_model.py"


rule train_config:
    input:
        train="data/training/sft_combined.train.jsonl",
        val="data/training/sft_combined.val.jsonl",
        info="data/training/dataset_info.json",
        model=get_local_model,
    output:
        config="results/train/{run}/train_config.yaml",
        lengths="results/train/{run}/token_lengths.json",
    log:
        "logs/train/{run}/train_config.log",
    benchmark:
        "benchmarks/train/{run}/train_config.tsv"
    conda:
        "../envs/training.yaml"
    params:
        settings=get_run_settings,
    script:
        "../scripts/train_config.py"


rule train:
    input:
        config="results/train/{run}/train_config.yaml",
        info="data/training/dataset_info.json",
        model=get_local_model,
    output:
        adapter=directory("results/train/{run}/adapter"),
        results="results/train/{run}/train_results.json",
        job="results/train/{run}/job.json",
    log:
        "logs/train/{run}/train.log",
    benchmark:
        "benchmarks/train/{run}/train.tsv"
    conda:
        "../envs/training.yaml"
    threads: 16
    resources:
        gpu=get_train_gpus,
        mem_mb=131072,
        runtime=720,
        cpus_per_task=16,  # threads are capped at the submit host's --cores; the job asks this many
    params:
        gpus=get_train_gpus,
        offline=get_run_offline,
    script:
        "../scripts/train.py"


rule train_all:
    input:
        expand("results/train/{run}/train_results.json", run=get_runs()),
