"""The form of a row's name, as a name-only reader sees it, and how often a faulty row of each
form is kept.

A row name's form is how many rows of the model share its family name (capped at 6) and
whether one of its index tokens occurs in no other name. Faults land where a fault kind can
act (data rows used once, rows binding at the optimum), so without a correction a faulty
row's form is more often "a mid-sized family" than its conflict partners': a probe that
reads names only would beat chance. Generation therefore keeps a candidate fault on a row
of form ``f`` with probability :data:`ACCEPT` ``[f]`` (calibrated with
:func:`ordebug.bench.leak.acceptance` on a generated train split), which brings the forms of
faulty rows in line with the forms of the IIS rows around them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from ordebug.solver.spec import family

NameForm = tuple[int, bool]
_ARGS_RE = re.compile(r"\(([^()]*)\)")
MAX_COUNT = 6

# P(keep a candidate whose faulty row has this form): the overall rate at which an IIS row is
# the faulty one over this form's rate, capped at 1 (forms faults use less are always kept).
ACCEPT: dict[NameForm, float] = {
    (2, False): 0.737, (3, False): 0.518, (4, False): 0.404, (4, True): 0.933, (6, False): 0.437,
}


def name_form(name: str, all_names: Sequence[str]) -> NameForm:
    """(rows sharing ``name``'s family name, capped at :data:`MAX_COUNT`; whether an index
    token of ``name`` appears in no other name)."""
    prefix = family(name)
    count = sum(1 for n in all_names if family(n) == prefix)
    tokens = [t for m in _ARGS_RE.findall(name) for t in m.split(",") if t]
    others = " ".join(n for n in all_names if n != name)
    novel = any(t not in others for t in tokens)
    return (min(count, MAX_COUNT), novel)


def keep(name: str, all_names: Sequence[str], rng: random.Random) -> bool:
    """Whether to keep a candidate fault on row ``name`` (one draw of ``rng``)."""
    return rng.random() < ACCEPT.get(name_form(name, all_names), 1.0)
