"""Training labels from the ground truth (never features): which member is a root cause,
and which edit moves the model toward the specified one.

An edit is *good* when the elements where the model differs from the specified (original)
model after it are a strict subset of those before it: it repairs at least one faulted
element and breaks none. It is *exact* when nothing differs any more, which is what the
environment's exact verdict means (the faulted and edited elements agree with the
specification, so the optimum is the original one).
"""

from __future__ import annotations

from ordebug.bench.probe import root_elements
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.spec import ModelSpec, differing, differs

Element = tuple[str, str]


class Truth:
    """The labels of one record."""

    def __init__(self, rec: dict) -> None:
        self.original = read_model_text(rec["original_model"], name=rec["problem_id"])
        self.roots = root_elements(rec)
        self._before: set[Element] | None = None

    def before(self, broken: ModelSpec) -> set[Element]:
        if self._before is None:
            self._before = differing(broken, self.original)
        return self._before

    def edit_label(self, broken: ModelSpec, after: ModelSpec | None, touched: set[Element]) -> tuple[bool, bool]:
        """(good, exact) of the model ``after`` an edit of ``broken`` that acted on ``touched``
        elements (only those and the faulted ones can differ from the original)."""
        if after is None:
            return False, False
        before = self.before(broken)
        now = {el for el in before | touched if differs(after, self.original, el)}
        return now < before, not now
