"""Snakemake entry point of rule evaluate: one agent on one test shard."""

import logging

from ordebug.env.environment import EnvConfig
from ordebug.eval.run import combine_shards, evaluate_shard
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
setup_logging(sm.log[0])
env = EnvConfig.from_config(sm.params.env)
# evaluate: one bench shard; evaluate_finetuned: a part of the split, several shards, one server
shards = [sm.input.shard] if isinstance(sm.input.shard, str) else list(sm.input.shard)
problems = shards[0] if len(shards) == 1 else combine_shards(shards, sm.params.problems)
evaluate_shard(sm.wildcards.agent, sm.params.kind, problems, sm.output.outcomes, sm.output.trajectories,
               sm.params.journal, env, workers=sm.threads, teacher=sm.params.teacher or None,
               finetuned=sm.params.finetuned or None, log_path=sm.log[0])
logging.shutdown()
