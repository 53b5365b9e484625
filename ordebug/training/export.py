"""Ship a run: base model + LoRA adapter merged into one Hugging Face model folder.

``llamafactory-cli export`` merges the adapter into the base weights and saves the model with
the tokenizer and its chat template (the training template), in the format ``transformers``
(``AutoModelForCausalLM.from_pretrained``) and vLLM (``vllm serve <folder>``) load. The folder
appears whole (written next to it, then renamed) and only when the export finished.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ordebug.training.llamafactory import TrainingError, check_model

log = logging.getLogger("ordebug")


def export_config(base_model: str, adapter: str | Path, template: str, out_dir: str | Path,
                  dtype: str = "bfloat16") -> dict:
    """The ``llamafactory-cli export`` YAML: merge on the CPU, in the dtype the run trained in."""
    return {"model_name_or_path": base_model, "adapter_name_or_path": str(adapter), "template": template,
            "finetuning_type": "lora", "trust_remote_code": True, "export_dir": str(out_dir), "export_size": 5,
            "export_device": "cpu", "export_legacy_format": False, "infer_dtype": dtype}


def export_merged(base_model: str, adapter: str | Path, template: str, out_dir: str | Path, dtype: str = "bfloat16",
                  offline: bool = False, log_path: str | Path | None = None) -> Path:
    """Merge ``adapter`` into ``base_model`` and save it at ``out_dir``."""
    check_model(base_model)
    adapter, out = Path(adapter), Path(out_dir)
    if not (adapter / "adapter_config.json").is_file():
        raise TrainingError(f"adapter {adapter} does not exist (no adapter_config.json); train the run first")
    if out.exists():
        raise TrainingError(f"{out} already exists; a finished export is never overwritten (remove it first)")
    exe = shutil.which("llamafactory-cli") or str(Path(sys.executable).with_name("llamafactory-cli"))
    if not Path(exe).exists():
        raise TrainingError("llamafactory-cli not found: install the training extra (pip install -e '.[train]')")
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    cfg_path = tmp.with_name(f".{out.name}.export.yaml")
    cfg_path.write_text(yaml.safe_dump(export_config(base_model, adapter, template, tmp, dtype), sort_keys=False))
    env = dict(os.environ)
    if offline:
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    log.info("llamafactory-cli export %s", cfg_path)
    with open(log_path, "a") if log_path else open(os.devnull, "w") as fh:
        rc = subprocess.run([exe, "export", str(cfg_path)], env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise TrainingError(f"llamafactory-cli export exited with {rc}; see the log above")
    if not (tmp / "config.json").is_file() or not list(tmp.glob("*.safetensors")):
        raise TrainingError(f"llamafactory-cli export left no config.json or safetensors in {tmp}")
    mask = os.umask(0)
    os.umask(mask)
    for f in tmp.iterdir():
        os.chmod(f, 0o666 & ~mask)  # safetensors writes 0600: a shared model folder should be readable
    os.replace(tmp, out)
    cfg_path.unlink(missing_ok=True)
    return out
