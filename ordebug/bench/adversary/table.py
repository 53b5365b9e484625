"""One problem's adversary table: its members and candidate edits with their features
(spec-blind) and their labels (from the ground truth), compact enough to store per shard."""

from __future__ import annotations

import math

from ordebug.actions import parse_action, target
from ordebug.bench.adversary.blind import Blind
from ordebug.bench.adversary.edits import edited, extract
from ordebug.bench.adversary.truth import Truth

# record fields kept for reporting (never features)
META = ("problem_id", "split", "tier", "index", "error_type", "family", "difficulty")


def _compact(f: dict) -> dict:
    """Features rounded to 6 digits, missing ones (NaN) left out."""
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in f.items()
            if not (isinstance(v, float) and not math.isfinite(v))}


def blind_table(b: Blind) -> dict:
    """Members and edits of what a spec-blind method sees, with their features (no labels):
    what the search agent scores on a problem, at its start or after an edit."""
    edits, members = extract(b)
    return {"members": [{"el": list(el), "f": _compact(f)} for el, f in members.items()],
            "edits": [{"el": list(e.element), "actions": e.actions,
                       "f": _compact({k: v for k, v in e.features.items() if not k.startswith("m_")})}
                      for e in edits]}


def problem_table(rec: dict) -> dict:
    """Members and edits of ``rec`` with features and labels."""
    b = Blind.from_record(rec)
    table = blind_table(b)
    truth = Truth(rec)
    for m in table["members"]:
        m["root"] = tuple(m["el"]) in truth.roots
    for e in table["edits"]:
        touched = set()
        for a in e["actions"]:
            name = target(parse_action(a))
            touched.add(("v", name) if name in b.spec.vars else ("c", name))
        e["good"], e["exact"] = truth.edit_label(b.spec, edited(b.spec, e["actions"]), touched)
    return {k: rec.get(k) for k in META} | table
