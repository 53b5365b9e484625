"""Generate verified benchmark problems, deterministically from explicit seeds.

Each slot of a split gets an (error type, family) cell from a seeded permutation of all
cells (so every type meets every family, and the type of problem i is not ``i % 9``) and a
target difficulty drawn so that the split's mix follows ``difficulty_weights``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from ordebug.faults.fault import Context
from ordebug.faults.inject import inject
from ordebug.faults.taxonomy import ERROR_TYPES, PAIR_KINDS, check_types
from ordebug.faults.verify import Injection, family_order
from ordebug.models import FAMILIES, build_family
from ordebug.solver.iis import Iis
from ordebug.solver.lpformat import lp_body, write_lp
from ordebug.solver.solve import is_solver_failure, solve
from ordebug.solver.spec import ModelSpec, canonical_order
from ordebug.solver.spec import family as row_family

DIFFICULTIES = ("easy", "medium", "hard")
SIZE_FOR = {"easy": (1,), "medium": (1, 2), "hard": (2, 3)}
# The large tier: families whose models reach hundreds of rows, and the size that does it.
LARGE_SIZE = {"production": 24, "transportation": 60, "inventory": 16, "network": 30}
TIERS = ("small", "large")
# base models per slot; a failed one costs ~0.2-1 s. A keeps about one draw in ten (diet 3 in 10,
# staffing and network fewer): 100 attempts left a default pool slot with none (train[355]).
MAX_ATTEMPTS = 200
BENCH_VERSION = "3"


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

    def cells(self) -> list[tuple[str, str]]:
        """Every (type, family) pair the family's models can carry (see :data:`SUPPORTED`)."""
        return [(t, f) for t in self.error_types for f in self.families if t in supported_types(f)]

    def single_fault_weights(self) -> dict[str, float]:
        """Difficulty weights for one-fault types, so that with the two-fault types (always
        hard) the whole split follows ``difficulty_weights``."""
        total = sum(self.difficulty_weights.values()) or 1.0
        w = {d: self.difficulty_weights.get(d, 0.0) / total for d in DIFFICULTIES}
        forced = sum(1 for t in self.error_types if t in PAIR_KINDS) / len(self.error_types)
        if forced >= 1:
            return w
        adj = {"easy": w["easy"], "medium": w["medium"], "hard": max(0.0, w["hard"] - forced)}
        s = sum(adj.values()) or 1.0
        return {d: v / s for d, v in adj.items()}


# Error types each family carries. A family's conflicts must have members a type can hold (a
# fixed total over several whole-lot quantities for B, a rule for listed entities for D, a
# bound from a data entry for H, a data coefficient for C) often enough: measured as the share
# of draws with a verified injection, kept where it is at least about one in four (C, F:
# rarer). B only where a fixed total spans several whole-lot routes (transportation, network):
# a quantity pinned alone (diet, inventory, production) makes its one integer the only
# candidate, which a spec-blind search finds every time; there those conflicts serve the other
# types, where relaxing the integer restores feasibility but not the specified optimum. A only
# where two rules stating their direction in words (a floor or a cap) bound the same quantity,
# enter conflicts together and can each be turned round with the model staying feasible often
# enough (diet, staffing, network; knapsack, production, assignment and inventory have one such
# rule: a second floor on a truck's load left base models with no packing, and the others gave
# 0 of 8 draws). Knapsack carries C, F and I instead (2-3 of 8 draws each; D, E, H: 0 of 8).
SUPPORTED: dict[str, str] = {
    "production": "CDEGHI",
    "transportation": "BDEGHI",
    "assignment": "CDEI",
    "facility": "CEFI",
    "knapsack": "CFI",
    "diet": "ACDEFGI",
    "staffing": "ADEGHI",
    "inventory": "DEFGHI",
    "network": "ABDEGHI",
}


# The large tier's families write each rule into dozens of rows, so no rule can be reversed
# row by row (A) and no coefficient entry is used few enough times to be wrong everywhere (C).
LARGE_TYPES = frozenset("BDEFGHI")


def supported_types(family: str, tier: str = "small") -> frozenset[str]:
    """Error types a family carries in the benchmark (see :data:`SUPPORTED`)."""
    types = frozenset(SUPPORTED.get(family, ""))
    return types & LARGE_TYPES if tier == "large" else types


def families_for(spec: BenchSpec, etype: str, tier: str) -> list[str]:
    """The configured families that carry ``etype`` (in the large tier: that have a large size)."""
    return [f for f in spec.families if etype in supported_types(f, tier) and (tier != "large" or f in LARGE_SIZE)]


def slot(spec: BenchSpec, split: str, index: int, tier: str = "small") -> tuple[str, str, str]:
    """(error type, family, target difficulty) of one slot.

    Types are stratified: every run of ``len(error_types)`` slots holds each type once, in a
    seeded order (in the large tier: each type its families carry). Within a type, families
    take turns in a seeded order over the families that can carry it, so every (type,
    family) cell is used equally often."""
    types = [t for t in spec.error_types if tier != "large" or families_for(spec, t, tier)] or list(spec.error_types)
    rnd, pos = divmod(index, len(types))
    perm = list(types)
    random.Random(f"{spec.seed}:{split}:{tier}:types:{rnd}").shuffle(perm)
    etype = perm[pos]
    pool = [f for f in spec.families if tier != "large" or f in LARGE_SIZE]
    fams = families_for(spec, etype, tier) or pool or list(spec.families)
    turn, k = divmod(rnd, len(fams))
    random.Random(f"{spec.seed}:{split}:{tier}:{etype}:families:{turn}").shuffle(fams)
    family = fams[k]
    if etype in PAIR_KINDS or tier == "large":
        return etype, family, "hard"
    w = spec.single_fault_weights()
    pick = random.Random(f"{spec.seed}:{split}:{tier}:{index}:difficulty")
    return etype, family, pick.choices(list(w), weights=list(w.values()))[0]


def problem_id(model_text: str, spec_text: str) -> str:
    """Opaque id: a hash of the problem's own content (never of seed, split or index)."""
    digest = hashlib.sha256(f"ordebug:{model_text}\n{spec_text}".encode()).hexdigest()
    return f"odb_{digest[:12]}"


def content_id(model_text: str, spec_text: str, own_id: str = "problem") -> str:
    """The id of a broken model's LP text and its specification; the text's first line (its
    name, which is the id itself once written) is left out."""
    body = lp_body(model_text)
    return problem_id(body, spec_text)


class GenerationError(RuntimeError):
    """No verified problem could be made for a slot after every attempt."""


def generate_problem(spec: BenchSpec, split: str, index: int, tier: str = "small") -> dict:
    """One verified problem record. Same (spec, split, index, tier) -> same record."""
    etype, family, target = slot(spec, split, index, tier)
    others = [f for f in families_for(spec, etype, tier) if f != family]
    random.Random(f"{spec.seed}:{split}:{tier}:{index}:families").shuffle(others)
    order = [family, family, family, *others]
    for attempt in range(MAX_ATTEMPTS):
        fam = order[attempt % len(order)]
        rng = random.Random(f"{spec.seed}:{split}:{tier}:{index}:{attempt}")
        if tier == "large":
            size = LARGE_SIZE[fam] + rng.randint(0, 2)
        else:
            size = rng.choice(SIZE_FOR[target]) if attempt < len(order) else rng.randint(1, 3)
        base = build_family(fam, rng, size)
        try:
            optimum = solve(base.spec, with_values=True)
            if not optimum.optimal:
                continue
            inj = inject(etype, Context(base, optimum, rng), target)
        except Exception as exc:
            if not is_solver_failure(exc):
                raise
            continue  # SCIP's LP solver gave up on this draw: draw again
        if inj is not None:
            return make_record(split, index, tier, base.family, inj)
    raise GenerationError(f"no verified type-{etype} problem for {split}[{index}] after {MAX_ATTEMPTS} attempts")


def make_record(split: str, index: int, tier: str, family: str, inj: Injection) -> dict:
    """The JSON record of one problem (schema in docs/benchmark.md)."""
    spec_text = inj.sheet.render()
    families = family_order(inj.broken)  # the order the IIS was computed on
    families += sorted({row_family(r) for r in inj.original.rows} - set(families))
    broken: ModelSpec = canonical_order(inj.broken.copy(), families)
    original: ModelSpec = canonical_order(inj.original.copy(), families)
    pid = content_id(write_lp(broken), spec_text)
    position = {r: i for i, r in enumerate(broken.rows)}
    iis = Iis(sorted(inj.iis.constraints, key=position.__getitem__), list(inj.iis.bounds), inj.iis.certain,
              list(inj.iis.reasons))
    broken.name = original.name = pid
    truth = {
        "fixes": [a for f in inj.faults for a in f.fixes],
        "fixes_per_fault": [list(f.fixes) for f in inj.faults],
        "root_cause": [dict(r) for f in inj.faults for r in f.roots],
        "roots_per_fault": [[dict(r) for r in f.roots] for f in inj.faults],
        "fault_kinds": [f.kind + (f":{f.note}" if f.note else "") for f in inj.faults],
        "spec_sources": [f.source for f in inj.faults],
    }
    if inj.alternatives:
        truth["alternatives"] = inj.alternatives
    return {
        "problem_id": pid,
        "bench_version": BENCH_VERSION,
        "split": split,
        "tier": tier,
        "index": index,
        "family": family,
        "error_type": inj.error_type,
        "difficulty": inj.difficulty,
        "objective_sense": broken.sense,
        "original_objective": inj.objective,
        "n_variables": len(broken.vars),
        "n_constraints": len(broken.rows),
        "is_mip": broken.is_mip,
        "spec": inj.sheet.to_json() | {"text": spec_text},
        "model": write_lp(broken),
        "original_model": write_lp(original),
        "ground_truth": truth,
        "iis": iis.to_json(),
    }
