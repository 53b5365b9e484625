# Training: render the LLaMA-Factory config (with the cutoff check), the only GPU rule
# (resumable from its checkpoints), and the merged model to ship.


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


# A gguf: model source (training.model: gguf:<package>/<file>.gguf or gguf:/abs/path.gguf)
# converted once, offline, into a Hugging Face folder that training, GRPO and serving load.
rule base_model:
    output:
        directory("data/models/{name}"),
    log:
        "logs/train/base_model_{name}.log",
    benchmark:
        "benchmarks/train/base_model_{name}.tsv"
    wildcard_constraints:
        name="|".join(re.escape(n) for n in get_gguf_sources()) or "(?!)",
    conda:
        "../envs/training.yaml"
    params:
        source=get_gguf_source,
    script:
        "../scripts/base_model.py"


rule train_config:
    input:
        train=get_run_dataset_file("train.jsonl"),
        val=get_run_dataset_file("val.jsonl"),
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
        dataset=get_run_dataset,
    script:
        "../scripts/train_config.py"


# Checkpoints go to results/train/{run}/checkpoints (not an output: a failed or preempted
# job keeps them); a rerun or requeue resumes from the newest complete one. The outputs
# appear only when training finished.
rule train:
    input:
        config="results/train/{run}/train_config.yaml",
        info="data/training/dataset_info.json",
        stats=get_run_dataset_file("stats.json"),
        model=get_local_model,
    output:
        adapter=directory("results/train/{run}/adapter"),
        results="results/train/{run}/train_results.json",
        job="results/train/{run}/job.json",
        loss="results/train/{run}/loss.csv",
        card="results/train/{run}/run.json",
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
        resume=get_run_resume,
        dataset=get_run_dataset,
        sources=get_run_sources,
    script:
        "../scripts/train.py"


# Base model + adapter merged into one Hugging Face model folder (transformers, vLLM).
rule export_model:
    input:
        results="results/train/{run}/train_results.json",
        model=get_local_model,
    output:
        directory("results/train/{run}/merged"),
    log:
        "logs/train/{run}/export_model.log",
    benchmark:
        "benchmarks/train/{run}/export_model.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=65536,
        runtime=120,
    params:
        adapter=get_run_adapter,
        settings=get_run_settings,
    script:
        "../scripts/export_model.py"


rule train_all:
    input:
        expand("results/train/{run}/train_results.json", run=get_ready_runs()),


rule export_all:
    input:
        expand("results/train/{run}/merged", run=get_ready_runs()),
        expand(
            "data/training/export/{dataset}/README.md",
            dataset=get_ready_datasets(),
        ),
