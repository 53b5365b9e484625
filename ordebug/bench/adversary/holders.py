"""The chance of a spec-blind reader who knows the error type and the taxonomy's reach: a
pick among the IIS members that could hold a fault of that type (truth-side, for the report;
never a feature).

A wrong coefficient (C) can only sit in a row with a coefficient from the data sheet, an
added rule (D) only in a rule row, a wrong bound (H) only on a bound from the sheet. When a
type's holders are a small share of the conflict, a reader who can tell the type from the
conflict's shape (the independent adversary's first stage does, for most types) picks among
them and beats ``1/members`` by as much as ``1/holders - 1/members``: on the 226a11c pool
0.30 against 0.04 for C, 0.41 against 0.10 for D. No filter on who wins removes that; only
conflicts whose members can mostly hold the type do (docs/benchmark.md, "Where faults sit").
"""

from __future__ import annotations

from ordebug.bench.adversary.blind import Blind
from ordebug.bench.probe import root_elements
from ordebug.faults import labels as lb
from ordebug.faults.changes import build
from ordebug.faults.taxonomy import PAIR_KINDS
from ordebug.models.datasheet import DataSheet
from ordebug.solver.iis import Iis

Element = tuple[str, str]


def holders(record: dict, blind: Blind | None = None) -> set[Element]:
    """The IIS members of ``record`` that could hold a fault of its type (its roots always
    among them). The sheet is the specification: an added rule (D) or a variable the sheet
    does not list as whole lots (B) is not a holder there, so the roots are added."""
    b = blind or Blind.from_record(record)
    base = build(DataSheet.from_json(record["spec"]))
    base.spec = b.spec
    etype = record["error_type"]
    kinds = lb.PAIR_LABEL_KINDS if etype in PAIR_KINDS else lb.TYPE_KINDS[etype]
    members = set(b.members)
    found = set(lb.placements(kinds, base, Iis.from_json(record["iis"])))
    return (found | root_elements(record)) & members


def typed_chance(record: dict, blind: Blind | None = None) -> float:
    """The share of the type's holders among the IIS members that are root causes: what a
    uniform pick among the holders is credited."""
    b = blind or Blind.from_record(record)
    held = holders(record, b)
    if not held:
        return 0.0
    return len(held & root_elements(record)) / len(held)
