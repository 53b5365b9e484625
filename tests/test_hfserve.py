"""ordebug's batching CPU server (``eval.serve.backend: hf``), over real HTTP with the real
``openai`` client, on a tiny random Qwen3 and a random LoRA adapter built here."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("aiohttp")

TEXTS = ["Action: INSPECT(row) SUBMIT() FLIP_SENSE(cap) the model rows bounds specification"] * 40
PROMPTS = ["Which row is wrong?", "The IIS holds cap(m1) and demand(p2).", "SUBMIT when feasible.",
           "A much longer observation: " + "rows and bounds of the model, " * 12]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ordebug.training.tiny_model import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("hfserve") / "tiny", TEXTS, vocab_size=300)


@pytest.fixture(scope="module")
def adapter(tiny: Path) -> Path:
    """A LoRA adapter with random (non-zero) weights: it changes what the model says."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    model = AutoModelForCausalLM.from_pretrained(tiny, local_files_only=True)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))
    out = tiny.parent / "adapter"
    peft.save_pretrained(out)
    return out


@functools.cache
def _loaded(model_dir: Path, adapter: Path | None):
    from ordebug.eval.hfserve import load

    return load(str(model_dir), str(adapter) if adapter else None)


def _local_answer(model_dir: Path, adapter: Path | None, prompt: str, max_tokens: int) -> tuple[str, int]:
    """Greedy answer of the same model in this process, one prompt alone: (text, prompt tokens)."""
    from ordebug.eval.hfserve import Job, generate_batch, render

    model, tok = _loaded(model_dir, adapter)
    ids = render(tok, [{"role": "user", "content": prompt}], True)
    (out, _), = generate_batch(model, tok, [Job(ids, max_tokens, False, 0.0, 1.0, None)])  # type: ignore[arg-type]
    return tok.decode(out, skip_special_tokens=True), len(ids)


def _ask(srv, prompt: str, max_tokens: int = 6):
    from openai import OpenAI

    client = OpenAI(base_url=srv.base_url, api_key=srv.key, max_retries=0)
    return client.chat.completions.create(model=srv.model_name, messages=[{"role": "user", "content": prompt}],
                                          max_tokens=max_tokens, extra_body=srv.extra_body)


@pytest.mark.parametrize("with_adapter", [False, True])
def test_concurrent_requests_are_answered_in_one_batch_as_each_alone(tiny, adapter, with_adapter, tmp_path):
    """Four requests at once: one batched generate answers them (the server's log says so), and
    each answer and prompt length equals the same model's greedy answer to that prompt alone;
    the adapter is applied (its answers differ from the base model's)."""
    from ordebug.eval.serve import ServedModel

    ad = adapter if with_adapter else None
    log = tmp_path / "serve.log"
    # (a batch waits up to 2 s for more requests: under load four client threads' requests
    # arrived more than the default 50 ms apart and were answered in two batches)
    with ServedModel(str(tiny), ad, model_name="tiny-ft", backend="hf", max_batch=4, log_path=log,
                     startup_timeout=120, gather_s=2.0) as srv:
        _ask(srv, "warm up", 1)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda p: _ask(srv, p), PROMPTS))
    assert "batch of 4" in log.read_text() or "batch of 3" in log.read_text()
    differs = False
    for prompt, a in zip(PROMPTS, answers, strict=True):
        text, n_prompt = _local_answer(tiny, ad, prompt, 6)
        assert a.choices[0].message.content == text
        assert a.usage.prompt_tokens == n_prompt and 1 <= a.usage.completion_tokens <= 6
        assert a.choices[0].finish_reason in ("stop", "length") and a.model == "tiny-ft"
        differs |= text != _local_answer(tiny, None, prompt, 6)[0]
    assert differs == with_adapter


def test_bad_requests_get_openai_errors(tiny):
    """A wrong key, an unknown model, streaming and a zero budget are refused with OpenAI's
    error shape (the client raises its own exceptions); the server keeps answering."""
    import openai

    from ordebug.eval.serve import ServedModel

    with ServedModel(str(tiny), None, model_name="tiny", backend="hf", startup_timeout=120) as srv:
        bad_key = openai.OpenAI(base_url=srv.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad_key.models.list()
        client = openai.OpenAI(base_url=srv.base_url, api_key=srv.key, max_retries=0)
        assert [m.id for m in client.models.list()] == ["tiny"]
        msgs = [{"role": "user", "content": "hi"}]
        with pytest.raises(openai.NotFoundError, match="not served here"):
            client.chat.completions.create(model="other", messages=msgs, max_tokens=2)
        with pytest.raises(openai.BadRequestError, match="stream"):
            client.chat.completions.create(model="tiny", messages=msgs, max_tokens=2, stream=True)
        with pytest.raises(openai.BadRequestError, match="max_tokens"):
            client.chat.completions.create(model="tiny", messages=msgs, max_tokens=0)
        with pytest.raises(openai.BadRequestError, match="messages"):
            client.chat.completions.create(model="tiny", messages=[{"role": "robot", "content": "x"}], max_tokens=2)
        assert _ask(srv, "still there?", 2).usage.completion_tokens >= 1


def test_sampling_settings_and_budget_are_read_from_the_body():
    from ordebug.eval.hfserve import BadRequest, max_tokens, sampling

    assert sampling({"temperature": 0.0}) == (False, 0.0, 1.0)
    assert sampling({"do_sample": False}) == (False, 1.0, 1.0)
    assert sampling({"temperature": 0.7, "top_p": 0.9}) == (True, 0.7, 0.9)
    assert max_tokens({"max_completion_tokens": 5, "max_tokens": 9}, 100) == 5
    assert max_tokens({}, 100) == 100
    with pytest.raises(BadRequest):
        max_tokens({"max_tokens": "many"}, 100)


def test_a_request_whose_client_left_is_not_generated(tiny):
    """A client that timed out (and would retry) no longer waits: its request is dropped before
    its batch instead of costing a generation; the others of the batch are answered."""
    import asyncio

    from ordebug.eval.hfserve import Batcher, Job, render

    model, tok = _loaded(tiny, None)
    ids = render(tok, [{"role": "user", "content": PROMPTS[0]}], True)

    async def go() -> tuple[Batcher, Job, Job]:
        loop = asyncio.get_running_loop()
        batcher = Batcher(model, tok, max_batch=4, gather_s=0.05)
        left = Job(ids, 4, False, 0.0, 1.0, loop.create_future(), alive=lambda: False)
        waits = Job(ids, 4, False, 0.0, 1.0, loop.create_future())
        for j in (left, waits):
            await batcher.queue.put(j)
        task = asyncio.create_task(batcher.run())
        await asyncio.wait_for(asyncio.shield(waits.done), 60)
        task.cancel()
        return batcher, left, waits

    batcher, left, waits = asyncio.run(go())
    assert left.done.cancelled() and batcher.skipped == 1
    assert batcher.batches == [1] and len(waits.done.result()[0]) >= 1


def test_the_served_budget_covers_the_longest_trained_answer(tmp_path: Path):
    """A served model is given at least 1.25x the longest answer it was trained to write: the
    demo's 128 tokens cut half of SmolLM2's answers before their Action line (trained answers
    up to 141 tokens). A budget already large enough, or no token lengths, is kept as is."""
    import json

    from ordebug.answer import answer_budget

    lengths = tmp_path / "token_lengths.json"
    lengths.write_text(json.dumps({"answer_tokens_max": 141, "samples": 3}))
    budget, why = answer_budget(128, lengths)
    assert budget == 177 and "141" in why and "128" in why
    assert answer_budget(512, lengths) == (512, None)
    assert answer_budget(128, tmp_path / "missing.json") == (128, None)
    assert answer_budget(128, None) == (128, None)
