# ordebug: teach language models to debug infeasible optimization models.
# Thin entry point: configuration, validation and one include per stage.


# The default config, unless --configfile names others: those then replace it, on the submit
# host and in every cluster job alike (Snakemake passes --configfile on to the jobs it
# submits but not --replace-workflow-config, so a merge would differ between the two).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/bench.smk"
include: "rules/collect.smk"
include: "rules/dataset.smk"
include: "rules/train.smk"
include: "rules/rl.smk"
include: "rules/evaluate.smk"
include: "rules/external.smk"


# Aggregate and bookkeeping steps run where snakemake runs; the sharded rules (bench_pool,
# collect, evaluate, evaluate_finetuned), the external-set evaluations, train, grpo and
# export_model are jobs of their own, submitted under a cluster profile.
localrules:
    bench_filter,
    bench_summary,
    bench,
    merge,
    convert,
    split,
    combine,
    export_dataset,
    dataset_info,
    tiny_model,
    base_model,
    train_config,
    train_all,
    export_all,
    rl_all,
    eval_summary,
    report,
    import_external,
    eval_external_summary,
    report_external,
    external,
    viewer,


rule all:
    default_target: True
    input:
        get_bench_shards("train"),
        get_bench_shards("test"),
        "data/bench/summary.json",
        expand("data/training/sft_{agent}.json", agent=get_agents()),
        "data/training/dataset_info.json",
        expand("data/training/export/{dataset}/README.md", dataset=get_ready_datasets()),
        expand("results/train/{run}/train_config.yaml", run=get_ready_runs()),
        "results/report/comparison.md",
        get_external_reports(),
        get_viewers(),
