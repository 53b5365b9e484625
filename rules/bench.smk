# OR-Debug-Bench: verified infeasible problems, one JSONL shard per job.


rule bench_shard:
    output:
        "data/bench/{split}/shard_{shard}.jsonl",
    log:
        "logs/bench/{split}/shard_{shard}.log",
    benchmark:
        "benchmarks/bench/{split}/shard_{shard}.tsv"
    conda:
        "../envs/collect.yaml"
    threads: 1
    resources:
        mem_mb=2048,
        runtime=get_bench_runtime,
    params:
        bench=get_bench_config,
    script:
        "../scripts/bench_shard.py"


rule bench_summary:
    input:
        get_all_bench_shards,
    output:
        "data/bench/summary.json",
    log:
        "logs/bench/summary.log",
    benchmark:
        "benchmarks/bench/summary.tsv"
    conda:
        "../envs/collect.yaml"
    script:
        "../scripts/bench_summary.py"


rule bench:
    input:
        get_all_bench_shards,
        "data/bench/summary.json",
