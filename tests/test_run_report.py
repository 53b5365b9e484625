"""The report's view of training runs: run card, runs table next to scores, loss curves side by side."""

from __future__ import annotations

from ordebug.eval.report import loss_plot, runs_table
from ordebug.training.run_card import run_card

CFG = {"model_name_or_path": "Qwen/Qwen3-8B", "template": "qwen3", "lora_rank": 32, "lora_alpha": 64,
       "lora_dropout": 0.05, "learning_rate": 1e-4, "num_train_epochs": 3, "per_device_train_batch_size": 2,
       "gradient_accumulation_steps": 8, "cutoff_len": 4096, "deepspeed": "config/training/ds_config_zero2.json"}
STATS = {"train": {"gpt52chat": {"samples": 900, "problems_kept": 400}, "heuristic": {"samples": 1000,
                                                                                     "problems_kept": 450}},
         "val": {"gpt52chat": {"samples": 100, "problems_kept": 45}, "heuristic": {"samples": 110,
                                                                                 "problems_kept": 50}}}
STATE = {"global_step": 30, "log_history": [{"loss": 2.0, "step": 10}, {"eval_loss": 1.9, "step": 10},
                                            {"loss": 1.5, "step": 20}, {"eval_loss": 1.4, "step": 20},
                                            {"loss": 1.2, "step": 30}, {"train_loss": 1.6, "step": 30}]}


def card(run: str = "teacher_heur") -> dict:
    return run_card(run, CFG, "combined", {"gpt52chat": 1.0, "heuristic": 1.0}, STATS, {"train_loss": 1.6},
                    STATE, {"gpus": 2, "resumed_from": "checkpoint-20", "attempts": [{}, {}]})


def test_run_card_names_dataset_size_hyperparameters_and_losses():
    c = card()
    assert c["size"] == {"train": {"samples": 1900, "problems": 850}, "val": {"samples": 210, "problems": 95}}
    assert c["used_sources"] == ["gpt52chat", "heuristic"]
    assert c["hyperparameters"]["effective_batch_size"] == 2 * 8 * 2 and c["hyperparameters"]["deepspeed"] is True
    assert c["final_eval_loss"] == 1.4 and c["train_loss"] == 1.6 and c["global_step"] == 30
    assert c["resumed_from"] == "checkpoint-20" and c["attempts"] == 2


def test_run_card_counts_what_combine_kept_after_balancing():
    """combine's stats per part: {sources, balance, samples, problems}; the size is what was kept."""
    stats = {part: {"sources": STATS[part], "balance": {"by": ["error_type"]}, "samples": n, "problems": p}
             for part, n, p in (("train", 700, 300), ("val", 90, 40))}
    c = run_card("b", CFG, "combined", {"gpt52chat": 1.0, "heuristic": 1.0}, stats, {}, STATE, {"gpus": 1})
    assert c["size"] == {"train": {"samples": 700, "problems": 300}, "val": {"samples": 90, "problems": 40}}
    assert c["used_sources"] == ["gpt52chat", "heuristic"]


def test_runs_table_puts_the_run_next_to_its_scores():
    summaries = [{"agent": "ft_teacher_heur", "overall": {"faithful": 0.5, "exact": 0.25, "faithful_rr@5": 0.375}},
                 {"agent": "heuristic", "overall": {"faithful": 0.99}}]
    table = runs_table([card()], summaries)
    row = table.splitlines()[2]
    assert row == ("| ft_teacher_heur | `combined` (gpt52chat, heuristic) | 1900 / 210 | Qwen/Qwen3-8B | 32 / 64 | "
                   "0.0001 | 3 / 30 | 32 | 1.600 | 1.400 | checkpoint-20 | 0.500 | 0.250 | 0.375 | – |")
    assert runs_table([], summaries) == ""
    # with the base model evaluated too (eval.base): its score beside the fine-tuned one's
    summaries.append({"agent": "base_teacher_heur", "overall": {"faithful": 0.125}})
    assert runs_table([card()], summaries).splitlines()[2].endswith("| 0.500 | 0.250 | 0.375 | 0.125 |")


def test_loss_curves_one_panel_per_run_side_by_side(tmp_path):
    import matplotlib.image

    rows = [{"step": 1, "loss": 2.0, "eval_loss": None}, {"step": 2, "loss": 1.5, "eval_loss": 1.6}]
    one = matplotlib.image.imread(loss_plot({"a": rows}, {}, tmp_path / "one.png"))
    two = matplotlib.image.imread(loss_plot({"a": rows, "b": rows}, {"b": "ft_b"}, tmp_path / "two.png"))
    assert one.shape[0] == two.shape[0] and two.shape[1] > 1.8 * one.shape[1]
    empty = matplotlib.image.imread(loss_plot({}, {}, tmp_path / "none.png"))
    assert empty.shape[0] > 0
