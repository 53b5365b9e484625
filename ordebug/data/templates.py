"""How varied the reasoning of a set of samples is: ``<think>`` texts with names and numbers
masked, so that "Flip c(3) to >=" and "Flip d(7) to <=" count as one template."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from ordebug.answer import think_of

_QUOTED = re.compile(r"'[^'\n]*'")
_NAME = re.compile(r"[A-Za-z_][\w.]*(?:\([^()\s]*\)|\[[^\]\s]*\])+")  # row(i,j), table[key]
_IDENT = re.compile(r"\b(?=\w*[_\d])[A-Za-z_]\w*\b")  # identifiers with digits or underscores
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf\b")
_RULE = re.compile(r"\bR#: [^.;]*")  # the text of a cited rule (family-specific wording)


def mask(text: str) -> str:
    """The template of a text: quoted parts, names, numbers and cited rule texts masked."""
    text = _QUOTED.sub("'<q>'", text)
    text = _NAME.sub("<name>", text)
    text = _IDENT.sub("<name>", text)
    text = _NUMBER.sub("#", text)
    text = _RULE.sub("R#: <rule>", text)
    text = re.sub(r"<name>(?:(?:, | and |, and )(?:(?:upper|lower) bound of )?<name>)+", "<names>", text)  # lists
    text = re.sub(r"\(<name> = # ?\w*\)", "(<entry>)", text)  # a cited data entry with its unit
    return re.sub(r"\s+", " ", text).strip()


def template_stats(outputs: Iterable[str], top: int = 5) -> dict:
    """Distinct think texts and templates, the largest template's share and the most common ones."""
    thinks = [think_of(o) for o in outputs]
    if not thinks:
        return {"samples": 0, "distinct_thinks": 0, "distinct_templates": 0, "top_template_share": None,
                "top_templates": []}
    templates = Counter(mask(t) for t in thinks)
    n = len(thinks)
    return {
        "samples": n,
        "distinct_thinks": len(set(thinks)),
        "distinct_templates": len(templates),
        "top_template_share": round(templates.most_common(1)[0][1] / n, 4),
        "top_templates": [{"share": round(c / n, 4), "template": t[:300]} for t, c in templates.most_common(top)],
    }
