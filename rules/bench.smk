# OR-Debug-Bench: a pool of verified infeasible problems (one JSONL shard per job, with the
# adversary's tables), filtered by a learned spec-blind adversary into the benchmark's shards.


rule bench_pool:
    output:
        problems="data/bench/pool/{split}/shard_{shard}.jsonl",
        tables="data/bench/pool/{split}/shard_{shard}.adv.jsonl.gz",
    log:
        "logs/bench/pool/{split}/shard_{shard}.log",
    benchmark:
        "benchmarks/bench/pool/{split}/shard_{shard}.tsv"
    priority: get_pool_priority
    conda:
        "../envs/collect.yaml"
    threads: 1
    resources:
        mem_mb=2048,
        runtime=get_bench_runtime,
    params:
        bench=get_bench_config,
    script:
        "../scripts/bench_pool.py"


rule bench_filter:
    input:
        problems=get_pool_shards("jsonl"),
        tables=get_pool_shards("adv.jsonl.gz"),
    output:
        shards=get_all_bench_shards(),
        report="data/bench/filter.json",
    log:
        "logs/bench/filter.log",
    benchmark:
        "benchmarks/bench/filter.tsv"
    conda:
        "../envs/collect.yaml"
    params:
        bench=get_bench_config,
    script:
        "../scripts/bench_filter.py"


rule bench_summary:
    input:
        shards=get_all_bench_shards(),
        tables=get_pool_shards("adv.jsonl.gz"),
        report="data/bench/filter.json",
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
        get_all_bench_shards(),
        "data/bench/summary.json",


# An independent spec-blind adversary (built apart from ordebug/bench/adversary/, by other
# means): opt-in, ~8 min on the default benchmark; not part of `bench`.
rule bench_independent:
    input:
        shards=get_all_bench_shards(),
    output:
        "data/bench/independent_adversary.json",
    log:
        "logs/bench/independent_adversary.log",
    benchmark:
        "benchmarks/bench/independent_adversary.tsv"
    conda:
        "../envs/collect.yaml"
    threads: 2
    resources:
        mem_mb=4096,
        runtime=30,
    params:
        python=PYTHON,
    shell:
        "{params.python} scripts/independent_adversary.py 'data/bench/train/shard_*.jsonl'"
        " 'data/bench/test*/shard_*.jsonl' --jobs {threads} --out {output} > {log} 2>&1"
