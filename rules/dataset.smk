# Training data: Qwen chat conversion, grouped split, combination, LLaMA-Factory registration.


rule convert:
    input:
        "data/training/sft_{agent}.json",
    output:
        "data/training/sft_qwen_chat_{agent}.jsonl",
    log:
        "logs/dataset/convert_{agent}.log",
    benchmark:
        "benchmarks/dataset/convert_{agent}.tsv"
    conda:
        "../envs/collect.yaml"
    script:
        "../scripts/convert.py"


rule split:
    input:
        "data/training/sft_qwen_chat_{agent}.jsonl",
    output:
        train="data/training/sft_qwen_chat_{agent}.train.jsonl",
        val="data/training/sft_qwen_chat_{agent}.val.jsonl",
    log:
        "logs/dataset/split_{agent}.log",
    conda:
        "../envs/collect.yaml"
    params:
        ratio=1 - config["dataset"]["val_ratio"],
        seed=config["dataset"]["seed"],
    script:
        "../scripts/split.py"


rule combine:
    input:
        train=get_combine_inputs("train"),
        val=get_combine_inputs("val"),
    output:
        train="data/training/sft_{dataset}.train.jsonl",
        val="data/training/sft_{dataset}.val.jsonl",
        stats="data/training/sft_{dataset}.stats.json",
    log:
        "logs/dataset/combine_{dataset}.log",
    benchmark:
        "benchmarks/dataset/combine_{dataset}.tsv"
    conda:
        "../envs/collect.yaml"
    params:
        weights=get_combine_weights,
        seed=config["dataset"]["seed"],
        balance=config["dataset"].get("balance"),
    script:
        "../scripts/combine.py"


rule export_dataset:
    input:
        train="data/training/sft_{dataset}.train.jsonl",
        val="data/training/sft_{dataset}.val.jsonl",
        stats="data/training/sft_{dataset}.stats.json",
    output:
        train="data/training/export/{dataset}/data/train.jsonl",
        val="data/training/export/{dataset}/data/validation.jsonl",
        card="data/training/export/{dataset}/README.md",
    log:
        "logs/dataset/export_{dataset}.log",
    conda:
        "../envs/collect.yaml"
    params:
        sources=get_dataset_sources,
        skipped=get_combine_skipped,
        settings={
            "val_ratio": config["dataset"]["val_ratio"],
            "seed": config["dataset"]["seed"],
            "success_level": config["collect"]["success_level"],
        },
    script:
        "../scripts/export_dataset.py"


rule dataset_info:
    input:
        unpack(get_dataset_files),
    output:
        "data/training/dataset_info.json",
    log:
        "logs/dataset/dataset_info.log",
    conda:
        "../envs/collect.yaml"
    script:
        "../scripts/dataset_info.py"
