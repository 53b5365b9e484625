"""TRL 0.24 (the newest LLaMA-Factory 0.9.5 allows) under transformers 5.x.

transformers 5 made ``_is_package_available(name)`` return a ``(found, version)`` tuple; TRL
0.24 stores that tuple as its ``_<pkg>_available`` flag, and a tuple is always true, so
``import trl.GRPOTrainer`` tries to import absent optional packages (mergekit, ...) and fails.
``patch_trl_flags()`` turns each such flag back into the boolean it means, before the import.
"""

from __future__ import annotations


def patch_trl_flags() -> dict[str, bool]:
    """Coerce TRL's tuple-valued availability flags to booleans; returns what was changed."""
    import trl.import_utils as iu

    changed = {}
    for name, value in list(vars(iu).items()):
        if name.startswith("_") and name.endswith("_available") and isinstance(value, tuple):
            setattr(iu, name, bool(value[0]))
            changed[name] = bool(value[0])
    return changed


def add_warnings_issued(model: object) -> None:
    """transformers 5 dropped ``PreTrainedModel.warnings_issued``; GRPOTrainer 0.24 writes to it."""
    if not hasattr(model, "warnings_issued"):
        model.warnings_issued = {}  # type: ignore[attr-defined]
