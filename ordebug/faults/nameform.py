"""The form of a row's name, as a name-only reader sees it: how many rows of the model share
its family name (capped at 6) and whether one of its index tokens occurs in no other name.
The name probe (:mod:`ordebug.bench.leak`) learns how often a faulty row has each form; since
benchmark v3 places a fault uniformly among the IIS members its type can hold, the forms of
faulty rows follow those of the rows around them without a correction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ordebug.solver.spec import family

NameForm = tuple[int, bool]
_ARGS_RE = re.compile(r"\(([^()]*)\)")
MAX_COUNT = 6



def name_form(name: str, all_names: Sequence[str]) -> NameForm:
    """(rows sharing ``name``'s family name, capped at :data:`MAX_COUNT`; whether an index
    token of ``name`` appears in no other name)."""
    prefix = family(name)
    count = sum(1 for n in all_names if family(n) == prefix)
    tokens = [t for m in _ARGS_RE.findall(name) for t in m.split(",") if t]
    others = " ".join(n for n in all_names if n != name)
    novel = any(t not in others for t in tokens)
    return (min(count, MAX_COUNT), novel)
