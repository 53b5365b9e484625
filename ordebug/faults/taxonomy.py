"""Error types A-I: which faults each type injects and the property it must verify."""

from __future__ import annotations

ERROR_TYPES: dict[str, str] = {
    "A": "a constraint's sense flipped (<= vs >=)",
    "B": "a continuous variable declared integer",
    "C": "a wrong coefficient (a data entry with another value, in every row it enters)",
    "D": "a business rule the specification does not contain",
    "E": "two independent errors; fixing either alone leaves the model infeasible",
    "F": "hidden root cause in a definition, balance or linking row, far from the symptom",
    "G": "cascading errors: a second conflict appears after the first is fixed",
    "H": "a wrong variable bound",
    "I": "a wrong right-hand side; several fixes restore feasibility, one the optimum",
}
# In A and D the faulty row is redundant in the specified model (for A: a row whose reversal
# is infeasible can never be violated by the other rows), so dropping it restores the
# optimum by necessity. For D that deletion is the exact repair (the specification has no
# such rule); for A it is faithful but not exact (it deletes a rule the specification has).
REDUNDANT_FAULT_TYPES = frozenset({"A", "D"})
# In H the fault's own deletion may restore the optimum too (the specified bound is slack
# there). Rejecting those kept only faults on bounds that bind at the optimum, and "the bound
# whose deletion gives the best objective" then named the fault to a spec-blind ranker (build of
# a8320cd, train: 0.41 top-1 against chance 0.16; on the next build the independent ranker's H
# fell from 0.34 to 0.17, chance 0.19). Deleting the bound is faithful, never exact. Tried for I
# too and taken back: the independent ranker's I rose from 0.23 to 0.43 (chance 0.26), the
# row that needs the least right-hand-side move to restore feasibility naming the fault.
OWN_DELETION_TYPES = frozenset({"H"})
# The two-fault types (the kinds of fault each single-fault type holds are in
# :data:`ordebug.faults.labels.TYPE_KINDS`).
PAIR_KINDS = frozenset({"E", "G"})


def check_types(types: list[str]) -> None:
    """Raise ValueError naming an unknown error type."""
    for t in types:
        if t not in ERROR_TYPES:
            raise ValueError(f"unknown error type {t!r}; known: {', '.join(ERROR_TYPES)}")
