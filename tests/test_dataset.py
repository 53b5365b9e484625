"""Training data: chat conversion, grouped split, combination, registration, bad inputs."""

from __future__ import annotations

import json

import pytest
from conftest import small_config

from ordebug.config import ConfigError, validate_config
from ordebug.data.chat import (
    DataError,
    balance,
    check_train_only,
    check_usable,
    combine,
    convert,
    dataset_info,
    split_by_problem,
    to_chat,
)
from ordebug.env.prompt import INSTRUCTION, SYSTEM_PROMPT


def sample(pid: str, step: int, split: str = "train", agent: str = "heuristic", out: str = "x") -> dict:
    return {"instruction": INSTRUCTION, "input": f"obs {pid} {step}",
            "output": f"<think>\n{out}\n</think>\n\nAction: SUBMIT()",
            "metadata": {"problem_id": pid, "step": step, "split": split, "agent": agent}}


def test_chat_uses_the_inference_system_prompt():
    chat = to_chat(sample("p1", 1))
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant"]
    assert chat["messages"][0]["content"] == SYSTEM_PROMPT
    bad = dict(sample("p1", 1), instruction="something else")
    with pytest.raises(DataError, match="another instruction"):
        to_chat(bad)


def test_split_keeps_every_problem_on_one_side_and_is_deterministic():
    recs = [to_chat(sample(f"p{i}", s)) for i in range(40) for s in range(1, 4)]
    train, val = split_by_problem(recs, 0.9, seed=3)
    ids_t = {r["metadata"]["problem_id"] for r in train}
    ids_v = {r["metadata"]["problem_id"] for r in val}
    assert not ids_t & ids_v and len(ids_t) == 36 and len(ids_v) == 4
    assert len(train) == 108 and len(val) == 12
    again = split_by_problem(recs, 0.9, seed=3)
    assert again == (train, val)
    assert split_by_problem(recs, 0.9, seed=4) != (train, val)


def test_test_problems_never_enter_sft_data(tmp_path):
    f = tmp_path / "sft.json"
    f.write_text(json.dumps([sample("p1", 1), sample("p2", 1, split="test")]))
    with pytest.raises(DataError, match="1 samples come from non-train problems"):
        convert(f)
    check_train_only([to_chat(sample("p1", 1))], "ok")


def test_combine_dedupes_and_weights():
    a = [to_chat(sample(f"p{i}", 1, agent="teacher")) for i in range(10)]
    b = [to_chat(sample(f"p{i}", 1, agent="heuristic")) for i in range(10)]  # identical texts
    c = [to_chat(sample(f"q{i}", 1, agent="heuristic", out="y")) for i in range(10)]
    out, stats = combine({"teacher": (a, 1.0), "heuristic": (b + c, 0.5)}, seed=1)
    assert stats["teacher"]["samples"] == 10
    assert stats["heuristic"]["problems_kept"] == 10
    # half of the 20 heuristic problems are kept; the p* ones duplicate the teacher's and are dropped
    assert stats["heuristic"]["duplicates_dropped"] + stats["heuristic"]["samples"] == 10
    assert all(r["metadata"]["problem_id"].startswith("q") for r in out if r["metadata"]["agent"] == "heuristic")
    kept_q = [r for r in out if r["metadata"]["problem_id"].startswith("q")]
    assert len(kept_q) == stats["heuristic"]["samples"]
    texts = [json.dumps(r["messages"]) for r in out]
    assert len(texts) == len(set(texts))
    assert len(out) == 10 + stats["heuristic"]["samples"]


def test_dataset_info_uses_sharegpt_role_tags():
    info = dataset_info({"sft_combined_train": "sft_combined.train.jsonl"})
    entry = info["sft_combined_train"]
    assert entry["formatting"] == "sharegpt" and entry["columns"] == {"messages": "messages"}
    assert entry["tags"] == {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                             "assistant_tag": "assistant", "system_tag": "system"}


def test_unusable_data_is_reported_before_training():
    with pytest.raises(DataError, match="no samples"):
        check_usable([], "sft_combined.train")
    broken = to_chat(sample("p1", 1))
    broken["messages"] = broken["messages"][1:]
    with pytest.raises(DataError, match="not system/user/assistant"):
        check_usable([broken], "x")
    empty = to_chat(sample("p1", 1))
    empty["messages"][2]["content"] = " "
    with pytest.raises(DataError, match="empty assistant answer"):
        check_usable([empty], "x")


def test_each_distinct_source_choice_is_one_named_dataset():
    from ordebug.data.mixes import datasets, mix_name, run_dataset

    cfg = {"dataset": {"combine": {"gpt52chat": 1.0, "heuristic": 1.0}},
           "training": {"runs": {"default": {"deepspeed": True},
                                 "teacher_only": {"sources": {"gpt52chat": 1.0}},
                                 "same_as_default": {"sources": {"heuristic": 1, "gpt52chat": 1.0}},
                                 "half": {"sources": {"heuristic": 0.5, "gpt52chat": 1.0}},
                                 "half_again": {"sources": {"gpt52chat": 1.0, "heuristic": 0.5}}}}}
    assert run_dataset(cfg, "default") == run_dataset(cfg, "same_as_default") == "combined"
    assert run_dataset(cfg, "teacher_only") == "mix-gpt52chat"
    assert run_dataset(cfg, "half") == run_dataset(cfg, "half_again") == "mix-gpt52chat+heuristic@0.5"
    assert datasets(cfg) == {"combined": {"gpt52chat": 1.0, "heuristic": 1.0}, "mix-gpt52chat": {"gpt52chat": 1.0},
                             "mix-gpt52chat+heuristic@0.5": {"heuristic": 0.5, "gpt52chat": 1.0}}
    # agent names hold no '+' or '@': different choices never share a name
    assert mix_name({"a_b": 1.0}, {}) != mix_name({"a": 1.0, "b": 1.0}, {})


def test_run_sources_are_validated_with_the_key_named():
    import yaml
    from conftest import ROOT

    from ordebug.config import ConfigError, validate_config

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["training"]["runs"]["qwen3_8b_lora"]["sources"] = {"heuristic": 0}
    with pytest.raises(ConfigError, match=r"config key 'training.runs.qwen3_8b_lora.sources.heuristic': 0 is less"):
        validate_config(cfg)
    cfg["training"]["runs"]["qwen3_8b_lora"]["sources"] = {}
    with pytest.raises(ConfigError, match=r"'training.runs.qwen3_8b_lora.sources'"):
        validate_config(cfg)


def test_export_loads_with_datasets_as_the_card_declares(tmp_path):
    datasets = pytest.importorskip("datasets")
    from ordebug.data.card import SPLIT_FILES, card_text, export_record

    train = [to_chat(sample(f"p{i}", s)) for i in range(6) for s in (1, 2)]
    val = [to_chat(sample("v1", 1))]
    for r in train + val:
        r["metadata"].update(error_type="C", difficulty="easy", family="diet", steps=2)
    stats = {"train": {"heuristic": {"samples": 12, "problems_kept": 6, "duplicates_dropped": 0}},
             "val": {"heuristic": {"samples": 1, "problems_kept": 1, "duplicates_dropped": 0}}}
    (tmp_path / "data").mkdir()
    for split, recs in (("train", train), ("validation", val)):
        (tmp_path / SPLIT_FILES[split]).write_text("".join(json.dumps(export_record(r)) + "\n" for r in recs))
    card = card_text("mix-gpt52chat+heuristic@0.5", {"gpt52chat": 1.0, "heuristic": 0.5}, ["gpt52chat"], stats,
                     train, val, {"val_ratio": 0.1, "seed": 7, "success_level": "exact"})
    (tmp_path / "README.md").write_text(card)
    assert "| gpt52chat | 1 | not active in this build (skipped) |" in card
    assert "| heuristic | 0.5 | 12 / 1 | 6 / 1 | 0 |" in card
    assert "| C | 12 | 1 |" in card  # composition by error type, train / validation
    ds = datasets.load_dataset(str(tmp_path), cache_dir=str(tmp_path / "cache"))
    assert set(ds) == {"train", "validation"}
    assert ds["train"].num_rows == 12 and ds["validation"].num_rows == 1
    declared = datasets.DatasetInfo._from_yaml_dict(
        yaml_header(card)["dataset_info"]).features
    assert ds["train"].features == declared
    row = ds["train"][0]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["metadata"]["problem_id"] == "p0" and row["metadata"]["step"] == 1


def yaml_header(card: str) -> dict:
    import yaml

    return yaml.safe_load(card.split("---\n")[1])
def test_balance_caps_each_type_and_reports_the_mix():
    recs = []
    for i in range(12):  # 8 of type A, 3 of B, 1 of C; two samples per problem
        t = "A" if i < 8 else "B" if i < 11 else "C"
        for step in (1, 2):
            r = to_chat(sample(f"p{i}", step, agent="heuristic", out=f"o{step}"))
            r["metadata"].update(error_type=t, difficulty="easy" if i % 2 else "hard")
            recs.append(r)
    out, stats = balance(recs, ["error_type"], cap=2, weights={"A": 1.5}, seed=3)
    after = stats["after"]["error_type"]
    assert after == {"A": {"problems": 3, "samples": 6}, "B": {"problems": 2, "samples": 4},
                     "C": {"problems": 1, "samples": 2}}
    assert stats["before"]["error_type"]["A"] == {"problems": 8, "samples": 16}
    assert sum(v["samples"] for v in stats["after"]["difficulty"].values()) == len(out) == 12
    kept = {r["metadata"]["problem_id"] for r in out}
    assert all(sum(r["metadata"]["problem_id"] == p for r in out) == 2 for p in kept)  # whole trajectories
    equal, s2 = balance(recs, ["error_type"], cap=None, weights=None, seed=3)  # as many as the rarest type
    assert {k: v["problems"] for k, v in s2["after"]["error_type"].items()} == {"A": 1, "B": 1, "C": 1}
    assert balance(recs, ["error_type"], 2, None, seed=3)[0] == balance(recs, ["error_type"], 2, None, seed=3)[0]


def test_balance_weights_must_name_values_of_the_balanced_key():
    cfg = small_config()
    cfg["dataset"]["balance"] = {"by": ["error_type"], "weights": {"easy": 2.0}}
    with pytest.raises(ConfigError, match=r"dataset.balance.weights.*'easy' is not a value of error_type"):
        validate_config(cfg)
    cfg["dataset"]["balance"] = {"by": ["kind"]}
    with pytest.raises(ConfigError, match="dataset.balance.by"):
        validate_config(cfg)


@pytest.mark.parametrize(("key", "edit"), [
    ("collect.agents", lambda c: c["collect"].update(agents=["heuristic", "nosuchagent"])),
    ("dataset.combine", lambda c: c["dataset"]["combine"].update(oracle=1.0)),
])
def test_unknown_agent_names_are_config_errors_with_the_known_names(key, edit):
    cfg = small_config()
    edit(cfg)
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    msg = str(info.value)
    assert f"config key '{key}'" in msg and "heuristic, random, drop_first_iis" in msg and "gpt52chat" in msg


def test_agent_kinds_are_read_from_the_name_in_one_place():
    """The workflow dispatches on agent_kind: served agents carry their run, a teacher is one
    configured under ``teachers``, anything else is built in."""
    from ordebug.config import agent_kind

    assert agent_kind("ft_smollm2_135m") == agent_kind("ft_smollm2_135m", ["x"])
    ft, rl, base = agent_kind("ft_q8b"), agent_kind("rl_q8b_grpo"), agent_kind("base_q8b")
    assert (ft.kind, ft.run, rl.kind, rl.run, base.kind, base.run) == ("ft", "q8b", "rl", "q8b_grpo", "base", "q8b")
    assert ft.served and rl.served and base.served
    assert agent_kind("gpt52chat", ["gpt52chat"]).kind == "teacher"
    assert agent_kind("heuristic", ["gpt52chat"]).kind == "builtin"
    assert not agent_kind("gpt52chat", ["gpt52chat"]).served and not agent_kind("heuristic").served
    cfg = small_config()
    cfg["teachers"] = {"ft_teacher": cfg["teachers"]["gpt52chat"]}
    with pytest.raises(ConfigError, match="teachers.ft_teacher"):
        validate_config(cfg)
