"""Snakemake entry point of rule collect: one agent over one train shard."""

import logging

from ordebug.collect.shard import CollectConfig, collect_shard
from ordebug.env.environment import EnvConfig
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
setup_logging(sm.log[0])
c = sm.params.collect
cfg = CollectConfig(
    agent=sm.wildcards.agent,
    workers=sm.threads,
    success_level=c["success_level"],
    max_think_chars=c["max_think_chars"],
)
env = EnvConfig.from_config(sm.params.env)
args = (sm.input[0], sm.output.samples, sm.output.outcomes, sm.params.journal)
if not sm.params.teacher:
    collect_shard(*args, cfg, env, sm.output.trajectories)
else:
    from ordebug.collect.teacher import collect_teacher_shard
    from ordebug.llm.config import TeacherConfig

    teacher = TeacherConfig.from_dict(sm.wildcards.agent, sm.params.teacher)
    collect_teacher_shard(*args, teacher, cfg, env, sm.output.trajectories)
logging.shutdown()
