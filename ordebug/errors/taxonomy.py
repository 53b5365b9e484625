"""Error types A-I: which faults each type injects and the property it must verify."""

from __future__ import annotations

ERROR_TYPES: dict[str, str] = {
    "A": "a constraint's sense flipped (<= vs >=)",
    "B": "a continuous variable declared integer",
    "C": "a wrong coefficient (a value typed wrong, a missing term, the wrong variable in a sum)",
    "D": "a business rule the specification does not contain",
    "E": "two independent errors; fixing either alone leaves the model infeasible",
    "F": "hidden root cause in a definition, balance or linking row, far from the symptom",
    "G": "cascading errors: a second conflict appears after the first is fixed",
    "H": "a wrong variable bound",
    "I": "a wrong right-hand side; several fixes restore feasibility, one the optimum",
}
# In A and D the faulty row is redundant in the original model (for A: a row whose flip
# is infeasible can never be violated by the other rows), so dropping it restores the
# optimum by necessity. For D that deletion is the exact repair (the specification has no
# such rule); for A it is faithful but not exact (it deletes a rule the specification has).
REDUNDANT_FAULT_TYPES = frozenset({"A", "D"})
SINGLE_FAULT_KINDS = {
    "A": ("sense",),
    "B": ("vtype",),
    "C": ("coef", "struct"),
    "D": ("rule",),
    "F": ("coef_def", "struct_def", "rhs_def"),
    "H": ("bound",),
    "I": ("rhs",),
}
# Pairs of fault kinds for the two-error types.
PAIR_KINDS = {
    "E": (("coef", "bound"), ("rhs", "bound"), ("coef", "rhs"), ("bound", "bound"), ("rhs", "rhs"),
          ("sense", "rhs"), ("rule", "rhs"), ("vtype", "rhs"), ("struct", "rhs")),
    "G": (("bound", "rhs"), ("coef", "bound"), ("rhs", "rhs"), ("bound", "bound"), ("coef", "coef"),
          ("struct", "rhs")),
}


def check_types(types: list[str]) -> None:
    """Raise ValueError naming an unknown error type."""
    for t in types:
        if t not in ERROR_TYPES:
            raise ValueError(f"unknown error type {t!r}; known: {', '.join(ERROR_TYPES)}")
