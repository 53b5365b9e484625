# ordebug: teach language models to debug infeasible optimization models.
# Thin entry point: configuration, validation and one include per stage.


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/bench.smk"
include: "rules/collect.smk"


rule all:
    default_target: True
    input:
        get_bench_shards("train"),
        get_bench_shards("test"),
        "data/bench/summary.json",
        expand("data/training/sft_{agent}.json", agent=get_agents()),
