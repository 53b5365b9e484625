"""HeuristicAgent: a deterministic diagnosis policy that reads only the observation.

Policy, in order of preference (edits that keep the model first, deletion last):

1. **Sense**: an IIS row whose sense is the minority in its family (``dock_limit: <= x2,
   >= x1``) is flipped back.
2. **Type**: if a variable family mixes types and an IIS row uses one of its variables,
   ``INSPECT`` reveals which one is of the odd type; it is set back to the majority type.
3. **Coefficient**: within an IIS row, variables of one family that share a coefficient
   except one (``-1, -1, -10``) get the shared value back.
4. **Constant**: an equality row with a non-zero right-hand side in a family whose
   right-hand sides are 0 gets 0 back.
5. **Right-hand side / bound**: a value off its family's median by a power of ten
   (a unit slip) is scaled back by that power.
6. **Drop**: otherwise, delete the IIS row from the smallest family (most rule-like).

After each edit: if the model is feasible it submits; if the edited element has left the
IIS it keeps the edit (the next conflict may be a second error); otherwise it undoes the
edit with its inverse and tries the next candidate. Its ``<think>`` text states what it
saw and why it chose the action.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from ordebug.agents.base import answer
from ordebug.agents.view import RowView, View, parse_observation
from ordebug.solver.spec import fmt_num

TYPE_LETTER = {"continuous": "C", "integer": "I", "binary": "B"}


@dataclass
class Candidate:
    score: float
    action: str
    inverse: str | None
    element: str  # the row or variable the edit acts on
    reason: str


def _family(name: str) -> str:
    return name.split("(")[0]


def _power_of_ten(ratio: float) -> int:
    return round(math.log10(ratio)) if ratio > 0 else 0


class HeuristicAgent:
    name = "heuristic"

    def __init__(self) -> None:
        self.reset()

    def reset(self, seed: int = 0) -> None:
        self.tried: set[str] = set()
        self.pending: Candidate | None = None
        self.types: dict[str, str] = {}
        self.inspecting: str | None = None

    # ---------------------------------------------------------------------------------
    def act(self, observation: str) -> str:
        v = parse_observation(observation)
        if self.inspecting is not None:
            self._read_inspect(v)
        if v.status in ("FEASIBLE", "UNBOUNDED"):
            done = f"after {self.pending.action}" if self.pending else "as it stands"
            return answer([f"The model is {v.status.lower()} {done}.", "Submit the repaired model."], "SUBMIT()")
        if v.steps_left <= 1:
            return answer(["Only one step is left; submit what I have."], "SUBMIT()")
        lead = self._describe_iis(v)
        if self.pending is not None:
            p, self.pending = self.pending, None
            if self._still_in_iis(p.element, v):
                self.tried.add(p.action)
                if p.inverse:
                    return answer(
                        [lead, f"{p.action} did not remove the conflict: {p.element} is still in the IIS.",
                         "Undo that edit before trying the next candidate."],
                        p.inverse,
                    )
            else:
                lead += (f" After {p.action}, {p.element} left the IIS, so that edit fixed one conflict;"
                         " this is another.")
        cands = [c for c in self._diagnose(v) if c.action not in self.tried]
        if not cands:
            return answer([lead, "No candidate edit is left to try; submit."], "SUBMIT()")
        best = cands[0]
        if best.action.startswith("INSPECT("):
            self.inspecting = best.element
            return answer([lead, best.reason], best.action)
        self.pending = best
        if best.action.startswith("DROP_CONSTRAINT("):
            self.tried.add(best.action)
        return answer([lead, best.reason, "This edit keeps the rest of the model unchanged."], best.action)

    # ---------------------------------------------------------------------------------
    def _read_inspect(self, v: View) -> None:
        var, self.inspecting = self.inspecting, None
        if not v.history:
            return
        last = v.history[-1]
        for word, letter in TYPE_LETTER.items():
            if f"({word})" in last:
                self.types[var] = letter

    @staticmethod
    def _still_in_iis(element: str, v: View) -> bool:
        """Whether a row or variable is still part of the conflict."""
        return (
            any(r.name == element for r in v.iis_rows)
            or any(b["var"] == element for b in v.iis_bounds)
            or any(element in r.coefs for r in v.iis_rows)
        )

    @staticmethod
    def _describe_iis(v: View) -> str:
        names = [r.name for r in v.iis_rows] + [f"{b['side']} bound of {b['var']}" for b in v.iis_bounds]
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        return f"The model is infeasible; the IIS has {len(v.iis_rows)} rows and {len(v.iis_bounds)} bounds: {shown}."

    def _diagnose(self, v: View) -> list[Candidate]:
        out: list[Candidate] = []
        for row in v.iis_rows:
            out += self._sense(row, v) + self._coef(row) + self._rhs(row, v)
        out += self._types(v) + self._bounds(v)
        drops = sorted(v.iis_rows, key=lambda r: (v.row_families.get(r.family, {}).get("n", 0), r.name))
        for r in drops:
            out.append(Candidate(0.1, f"DROP_CONSTRAINT({r.name})", None, r.name,
                                 f"No repair that keeps {r.name} is left; its family is the smallest in the IIS, "
                                 "so it looks like an added rule: delete it as a last resort."))
        out.sort(key=lambda c: -c.score)
        return out

    @staticmethod
    def _sense(row: RowView, v: View) -> list[Candidate]:
        fam = v.row_families.get(row.family)
        if not fam or len(fam["senses"]) < 2 or row.sense == "=":
            return []
        mine = fam["senses"].get(row.sense, 0)
        if mine >= max(fam["senses"].values()):
            return []
        counts = ", ".join(f"{n} rows {s}" for s, n in fam["senses"].items())
        return [Candidate(0.95, f"FLIP_SENSE({row.name})", f"FLIP_SENSE({row.name})", row.name,
                          f"Family {row.family} has {counts}; {row.name} is the odd one with {row.sense}, "
                          "so its sense is probably flipped.")]

    @staticmethod
    def _coef(row: RowView) -> list[Candidate]:
        if row.truncated:
            return []
        groups: dict[str, list[tuple[str, float]]] = {}
        for var, c in row.coefs.items():
            groups.setdefault(_family(var), []).append((var, c))
        out = []
        for fam, members in groups.items():
            if len(members) < 3:
                continue
            common, count = Counter(c for _, c in members).most_common(1)[0]
            odd = [(var, c) for var, c in members if c != common]
            if count >= 2 and len(odd) == 1:
                var, c = odd[0]
                out.append(Candidate(0.85, f"SET_COEF({row.name}, {var}, {fmt_num(common)})",
                                     f"SET_COEF({row.name}, {var}, {fmt_num(c)})", row.name,
                                     f"In {row.name} the {fam} terms have coefficient {fmt_num(common)} "
                                     f"except {var} with {fmt_num(c)}: a slipped coefficient."))
        return out

    @staticmethod
    def _rhs(row: RowView, v: View) -> list[Candidate]:
        fam = v.row_families.get(row.family)
        if not fam or fam["n"] < 2:
            return []
        med = fam["rhs_median"]
        inv = f"UPDATE_RHS({row.name}, {fmt_num(row.rhs)})"
        if med == 0 and row.rhs != 0 and row.sense == "=":
            return [Candidate(0.8, f"UPDATE_RHS({row.name}, 0)", inv, row.name,
                              f"The {row.family} rows have right-hand side 0 but {row.name} has {fmt_num(row.rhs)}: "
                              "a stray constant in a definition row.")]
        if med == 0 or row.rhs == 0 or fam["n"] < 3:
            return []
        k = _power_of_ten(row.rhs / med)
        if k == 0:
            return []
        new = row.rhs / 10**k
        return [Candidate(0.7, f"UPDATE_RHS({row.name}, {fmt_num(round(new, 6))})", inv, row.name,
                          f"{row.name} has right-hand side {fmt_num(row.rhs)}, about 10^{k} times its family's "
                          f"median {fmt_num(med)}: a unit slip.")]

    def _types(self, v: View) -> list[Candidate]:
        out = []
        for row in v.iis_rows:
            for var in row.coefs:
                fam = v.var_families.get(_family(var))
                if not fam or len(fam["types"]) < 2:
                    continue
                majority = max(fam["types"], key=fam["types"].get)
                if var not in self.types:
                    out.append(Candidate(0.9, f"INSPECT({var})", None, var,
                                         f"Family {_family(var)} mixes types ({fam['types']}) and {var} is in "
                                         f"{row.name}; inspect it to see its type."))
                elif self.types[var] != TYPE_LETTER[majority]:
                    out.append(Candidate(0.92, f"SET_VAR_TYPE({var}, {TYPE_LETTER[majority]})",
                                         f"SET_VAR_TYPE({var}, {self.types[var]})", var,
                                         f"{var} is of a different type than the rest of {_family(var)} "
                                         f"({majority}); integrality can make {row.name} impossible."))
        return out

    @staticmethod
    def _bounds(v: View) -> list[Candidate]:
        out = []
        for b in v.iis_bounds:
            fam = v.var_families.get(_family(b["var"]))
            if not fam:
                continue
            inv = f"UPDATE_BOUNDS({b['var']}, {fmt_num(b['lb'])}, {fmt_num(b['ub'])})"
            if b["side"] == "upper" and fam["ub_median"] and b["ub"] > 0:
                k = _power_of_ten(fam["ub_median"] / b["ub"])
                if k >= 1:
                    new = b["ub"] * 10**k
                    out.append(Candidate(0.75, f"UPDATE_BOUNDS({b['var']}, {fmt_num(b['lb'])}, {fmt_num(new)})",
                                         inv, b["var"],
                                         f"The upper bound {fmt_num(b['ub'])} of {b['var']} is about 10^{k} below its "
                                         f"family's median {fmt_num(fam['ub_median'])}: a unit slip."))
            if b["side"] == "lower" and fam["lb_median"] and b["lb"] > 0:
                k = _power_of_ten(b["lb"] / fam["lb_median"])
                if k >= 1:
                    new = b["lb"] / 10**k
                    out.append(Candidate(0.75, f"UPDATE_BOUNDS({b['var']}, {fmt_num(new)}, {fmt_num(b['ub'])})",
                                         inv, b["var"],
                                         f"The lower bound {fmt_num(b['lb'])} of {b['var']} is about 10^{k} above its "
                                         f"family's median {fmt_num(fam['lb_median'])}: a unit slip."))
        return out

