"""Snakemake entry point of rule report: comparison table (Markdown, CSV) and plots."""

import json
import logging
from pathlib import Path

from ordebug.atomic import write_text_atomic
from ordebug.bench.shards import read_problems
from ordebug.eval.report import (
    csv_text,
    failed_answer_text,
    failure_table,
    failure_type_table,
    loss_plot,
    markdown_table,
    paired_table,
    plots,
    runs_table,
    type_table,
)
from ordebug.logs import setup_logging
from ordebug.rl.curve import plot_curves
from ordebug.rl.curve import read_curve as read_reward_curve
from ordebug.training.curves import read_curve

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
summaries = [json.loads(Path(p).read_text()) for p in sm.input.summaries]
outcomes = {a: list(read_problems([p for p in sm.input.outcomes if f"/eval/{a}/" in p])) for a in sm.params.agents}
text = (f"{markdown_table(summaries)}\n\nFaithful repairs by error type:\n\n{type_table(summaries)}\n"
        f"\nExact repairs (every edit agrees with the specification) by error type:\n\n"
        f"{type_table(summaries, 'exact')}\n")
text = ("Rates are followed by their 95% bootstrap interval over problems (2,000 resamples); diagnosis recall: "
        "share of the injected root-cause elements the agent named or edited.\n\n" + text)
failures = failure_table(summaries)
if failures:
    text += (f"\nHow episodes ended (exact, or why not: an answer cut at its token limit, no Action line that "
             f"parses, no answer, the step limit, a submission that edited no root cause, or one that did "
             f"with the wrong value):\n\n{failures}\n\nBy error type (exact / problems; the commonest "
             f"failure):\n\n{failure_type_table(summaries)}\n")
examples = failed_answer_text(summaries)
if examples:
    text += f"\nWhat agents wrote instead of an action (first answers that ended an episode; ⏎ = newline):\n\n" \
            f"{examples}\n"
pairs = paired_table(outcomes)
if pairs:
    text += f"\nPaired comparisons (the same problems; interval of the difference by paired bootstrap):\n\n{pairs}\n"
cards = [json.loads(Path(p).read_text()) for p in sm.input.cards]
if cards:
    text += f"\nFine-tuned runs (dataset, size, hyperparameters; loss curves in loss_curves.png):\n\n" \
            f"{runs_table(cards, summaries)}\n"
write_text_atomic(sm.output.table, text)
write_text_atomic(sm.output.csv, csv_text(summaries))
paths = plots(summaries, outcomes, Path(sm.output.by_type).parent)
curves = {c["run"]: read_curve(p) for c, p in zip(cards, sm.input.losses, strict=True)}
titles = {c["run"]: f"ft_{c['run']}: {c['dataset']}, {c['size']['train']['samples']} samples, "
          f"lr {c['hyperparameters']['learning_rate']:g}" for c in cards}
paths["loss_curves"] = loss_plot(curves, titles, sm.output.losses)
plot_curves({run: read_reward_curve(p) for run, p in zip(sm.params.rl_runs, sm.input.curves, strict=True)},
            sm.output.rl_curve)
log.info("report for %s: %s", ", ".join(sm.params.agents), ", ".join(str(p) for p in paths.values()))
logging.shutdown()
