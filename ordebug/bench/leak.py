"""A name-only leak probe: can the faulty row be picked from the IIS by its name alone?

The probe sees only names. Per IIS row it computes form features (how common the row's
prefix is in the model, whether its index tokens occur in other names) and
learns P(faulty | features) on one set of problems; on another set it picks the IIS row
with the highest score. A leak-free benchmark keeps its accuracy near chance (the mean of
1 / |IIS rows|). Ties count fractionally, as a random tie-break would.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from ordebug.faults.nameform import name_form

_ROW_RE = re.compile(r"^\s*([^:\s]+):", re.M)


def row_names(lp_text: str) -> list[str]:
    """Row names of an LP text (everything between ``Subject To`` and ``Bounds``)."""
    body = lp_text.split("Subject To", 1)[1].split("Bounds", 1)[0]
    return _ROW_RE.findall(body)


def _candidates(rec: dict) -> tuple[list[tuple], int] | None:
    roots = [r["name"] for r in rec["ground_truth"]["root_cause"] if r["kind"] == "constraint"]
    iis_rows = rec["iis"]["constraints"]
    hits = [i for i, r in enumerate(iis_rows) if r in roots]
    if len(iis_rows) < 2 or not hits:
        return None
    names = row_names(rec["model"])
    return [name_form(r, names) for r in iis_rows], hits[0]


def probe(train: Iterable[dict], test: Iterable[dict]) -> dict[str, float]:
    """Accuracy of the learned name probe on ``test`` against chance."""
    stats: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for rec in train:
        c = _candidates(rec)
        if c is None:
            continue
        feats, hit = c
        for i, f in enumerate(feats):
            stats[f][0] += int(i == hit)
            stats[f][1] += 1
    acc = chance = 0.0
    n = 0
    for rec in test:
        c = _candidates(rec)
        if c is None:
            continue
        feats, hit = c
        scores = [(stats[f][0] + 1) / (stats[f][1] + 2) for f in feats]
        best = max(scores)
        tied = [i for i, s in enumerate(scores) if s == best]
        acc += (1 / len(tied)) if hit in tied else 0.0
        chance += 1 / len(feats)
        n += 1
    n = max(n, 1)
    return {"problems": n, "accuracy": acc / n, "chance": chance / n}
