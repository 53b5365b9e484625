"""Token lengths of chat samples, measured with the model's own tokenizer, against cutoff_len."""

from __future__ import annotations

import logging
import math
import statistics

from ordebug.solver.errors import OrDebugError

log = logging.getLogger("ordebug")
CHARS_PER_TOKEN_ESTIMATE = 3.0


class CutoffError(OrDebugError):
    """cutoff_len would cut answers."""


def load_tokenizer(path: str):
    """The model's tokenizer, or None when it cannot be loaded here (no transformers, no files)."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None
    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=True, local_files_only=True)
    except Exception as exc:  # a hub id not in the local cache: never reach for the network here
        log.warning("tokenizer of %s not available here (%s)", path, type(exc).__name__)
        return None


def _chatml(messages: list[dict]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


def sample_lengths(records: list[dict], tokenizer) -> list[dict]:
    """Per sample: total and answer tokens (ChatML, as the qwen3 template lays it out)."""
    out = []
    for r in records:
        msgs = r["messages"]
        if tokenizer is None:
            total = math.ceil(len(_chatml(msgs)) / CHARS_PER_TOKEN_ESTIMATE)
            answer = math.ceil(len(msgs[-1]["content"]) / CHARS_PER_TOKEN_ESTIMATE)
        else:
            total = len(tokenizer(_chatml(msgs), add_special_tokens=False)["input_ids"])
            answer = len(tokenizer(msgs[-1]["content"], add_special_tokens=False)["input_ids"])
        out.append({"problem_id": r["metadata"].get("problem_id"), "step": r["metadata"].get("step"),
                    "total": total, "answer": answer})
    return out


def check_cutoff(records: list[dict], tokenizer_path: str, cutoff_len: int, auto_raise: bool) -> tuple[int, dict]:
    """The cutoff to use and a length summary; raises CutoffError if answers would be cut."""
    tok = load_tokenizer(tokenizer_path)
    lengths = sample_lengths(records, tok)
    totals = sorted(x["total"] for x in lengths) or [0]
    longest = max(lengths, key=lambda x: x["total"]) if lengths else None
    over = [x for x in lengths if x["total"] > cutoff_len]
    summary = {
        "tokenizer": tokenizer_path if tok is not None else None,
        "method": "tokenizer" if tok is not None else f"estimate ({CHARS_PER_TOKEN_ESTIMATE} chars/token)",
        "samples": len(lengths),
        "total_tokens": {"mean": statistics.fmean(totals), "p50": totals[len(totals) // 2],
                         "p95": totals[int(0.95 * (len(totals) - 1))], "max": totals[-1]},
        "answer_tokens_max": max((x["answer"] for x in lengths), default=0),
        "cutoff_len_requested": cutoff_len,
        "over_cutoff": len(over),
        "longest": longest,
    }
    cutoff = cutoff_len
    if over:
        if not auto_raise:
            raise CutoffError(
                f"cutoff_len {cutoff_len} would cut {len(over)} of {len(lengths)} samples; the longest is "
                f"{longest['total']} tokens ({longest['problem_id']}, step {longest['step']}). Raise "
                "training.cutoff_len or set training.auto_raise_cutoff: true"
            )
        cutoff = int(math.ceil(totals[-1] / 256) * 256)
        log.warning("raising cutoff_len from %d to %d so no answer is cut", cutoff_len, cutoff)
    summary["cutoff_len"] = cutoff
    return cutoff, summary
