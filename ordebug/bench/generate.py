"""Generate verified benchmark problems, deterministically from explicit seeds."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from ordebug.errors.faults import Context
from ordebug.errors.inject import Injection, inject
from ordebug.errors.taxonomy import ERROR_TYPES, check_types
from ordebug.models import FAMILIES, build_family
from ordebug.solver.lpformat import write_lp
from ordebug.solver.solve import solve

DIFFICULTIES = ("easy", "medium", "hard")
SCALE_FOR = {"easy": 1, "medium": 2, "hard": 3}
MAX_ATTEMPTS = 40


@dataclass
class BenchSpec:
    """What to generate: the mix of types, families and target difficulties."""

    seed: int = 20260101
    error_types: list[str] = field(default_factory=lambda: list(ERROR_TYPES))
    families: list[str] = field(default_factory=lambda: list(FAMILIES))
    difficulty_weights: dict[str, float] = field(
        default_factory=lambda: {"easy": 1.0, "medium": 1.0, "hard": 1.0}
    )

    def __post_init__(self) -> None:
        check_types(self.error_types)
        for f in self.families:
            if f not in FAMILIES:
                raise ValueError(f"unknown model family {f!r}; known: {', '.join(FAMILIES)}")
        for d in self.difficulty_weights:
            if d not in DIFFICULTIES:
                raise ValueError(f"unknown difficulty {d!r}; known: {', '.join(DIFFICULTIES)}")


def problem_id(seed: int, split: str, index: int) -> str:
    """Opaque id: a hash of seed, split and index (no type, family or difficulty)."""
    digest = hashlib.sha256(f"ordebug:{seed}:{split}:{index}".encode()).hexdigest()
    return f"odb_{digest[:12]}"


class GenerationError(RuntimeError):
    """No verified problem could be made for a slot after every attempt."""


def generate_problem(spec: BenchSpec, split: str, index: int) -> dict:
    """One verified problem record. Same (spec, split, index) -> same record."""
    etype = spec.error_types[index % len(spec.error_types)]
    slot = random.Random(f"{spec.seed}:{split}:{index}")
    diffs = list(spec.difficulty_weights)
    target = slot.choices(diffs, weights=[spec.difficulty_weights[d] for d in diffs])[0]
    if etype in ("E", "G"):
        target = "hard"
    families = list(spec.families)
    slot.shuffle(families)
    for attempt in range(MAX_ATTEMPTS):
        family = families[attempt % len(families)]
        rng = random.Random(f"{spec.seed}:{split}:{index}:{attempt}")
        scale = SCALE_FOR[target] if attempt < len(families) else rng.randint(1, 3)
        base = build_family(family, rng, scale)
        optimum = solve(base.spec, with_values=True)
        if not optimum.optimal:
            continue
        inj = inject(etype, Context(base, optimum, rng))
        if inj is not None:
            return make_record(spec, split, index, base.family, base.spec, optimum.objective, inj)
    raise GenerationError(f"no verified type-{etype} problem for {split}[{index}] after {MAX_ATTEMPTS} attempts")


def make_record(spec: BenchSpec, split: str, index: int, family: str, original, objective, inj: Injection) -> dict:
    """The JSON record of one problem (schema in the README)."""
    pid = problem_id(spec.seed, split, index)
    broken = inj.broken
    broken.name = pid
    original = original.copy()
    original.name = pid
    truth = {
        "fixes": [f.fix for f in inj.faults],
        "root_cause": [dict(f.root) for f in inj.faults],
        "fault_kinds": [f.kind + (f":{f.note}" if f.note else "") for f in inj.faults],
    }
    if inj.alternatives:
        truth["alternatives"] = inj.alternatives
    return {
        "problem_id": pid,
        "split": split,
        "index": index,
        "family": family,
        "error_type": inj.error_type,
        "difficulty": inj.difficulty,
        "objective_sense": broken.sense,
        "original_objective": objective,
        "n_variables": len(broken.vars),
        "n_constraints": len(broken.rows),
        "is_mip": broken.is_mip,
        "model": write_lp(broken),
        "original_model": write_lp(original),
        "ground_truth": truth,
        "iis": inj.iis.to_json(),
    }
