"""The action grammar and the edits it makes: one strict parser, one set of constructors and
one ``apply_edit`` shared by the error injector, the environment, agents, SFT formatting and
evaluation. Nothing builds action text by hand: use the constructors below.

An action is written ``NAME(arg, ...)``. Arguments are split at top-level commas only,
because names such as ``ship(p1,store_4)`` carry commas inside parentheses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ordebug.solver.spec import INF, ModelSpec, fmt_num

# name -> argument kinds: n = element name, x = finite number, p = positive number,
# b = bound (number or +-inf), t = variable type
SIGNATURES: dict[str, tuple[str, ...]] = {
    "GET_IIS": (),
    "INSPECT": ("n",),
    "SPEC": ("n",),
    "CHECK_SLACK": ("n",),
    "RELAX_CONSTRAINT": ("n", "p"),
    "DROP_CONSTRAINT": ("n",),
    "UPDATE_RHS": ("n", "x"),
    "FLIP_SENSE": ("n",),
    "SET_COEF": ("n", "n", "x"),
    "UPDATE_BOUNDS": ("n", "b", "b"),
    "SET_VAR_TYPE": ("n", "t"),
    "RESET": (),
    "SUBMIT": (),
}
EDIT_ACTIONS = frozenset(
    {"RELAX_CONSTRAINT", "DROP_CONSTRAINT", "UPDATE_RHS", "FLIP_SENSE", "SET_COEF",
     "UPDATE_BOUNDS", "SET_VAR_TYPE"}
)
_ACTION_RE = re.compile(r"^([A-Z_]+)\((.*)\)$", re.S)
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_().,]*$")


class ActionError(ValueError):
    """An action that cannot be parsed or applied; the message is shown to the agent."""


@dataclass(frozen=True)
class Action:
    """A parsed action: its name and typed arguments."""

    name: str
    args: tuple[object, ...] = ()

    @property
    def text(self) -> str:
        """Canonical text, exactly as the grammar writes it."""
        parts = [fmt_num(a) if isinstance(a, float) else str(a) for a in self.args]
        return f"{self.name}({', '.join(parts)})"

    @property
    def is_edit(self) -> bool:
        return self.name in EDIT_ACTIONS

    def __str__(self) -> str:
        return self.text


def split_args(text: str) -> list[str]:
    """Split at commas that are not inside parentheses."""
    if not text.strip():
        return []
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ActionError("unbalanced parentheses")
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise ActionError("unbalanced parentheses")
    out.append("".join(cur).strip())
    return out


def _number(tok: str, kind: str) -> float:
    low = tok.lower()
    if kind == "b" and low in ("inf", "+inf", "infinity", "+infinity"):
        return INF
    if kind == "b" and low in ("-inf", "-infinity"):
        return -INF
    try:
        val = float(tok)
    except ValueError:
        raise ActionError(f"{tok!r} is not a number") from None
    if math.isnan(val) or math.isinf(val):
        raise ActionError(f"{tok!r} is not a finite number")
    if kind == "p" and val <= 0:
        raise ActionError(f"amount must be positive, got {tok}")
    return val


def parse_action(text: str) -> Action:
    """Parse one action; raises ActionError with a message meant for the agent."""
    text = text.strip().rstrip(".").strip().strip("`").strip()
    m = _ACTION_RE.match(text)
    if not m:
        raise ActionError(f"cannot parse {text[:80]!r}: expected NAME(arg, ...)")
    name, inner = m.group(1), m.group(2)
    if name not in SIGNATURES:
        raise ActionError(f"unknown action {name!r}; valid: {', '.join(SIGNATURES)}")
    sig = SIGNATURES[name]
    args = split_args(inner)
    if len(args) != len(sig):
        raise ActionError(f"{name} takes {len(sig)} argument(s), got {len(args)}")
    typed: list[object] = []
    for tok, kind in zip(args, sig, strict=False):
        if kind == "n":
            if not _NAME_RE.match(tok):
                raise ActionError(f"{tok!r} is not a valid constraint or variable name")
            typed.append(tok)
        elif kind == "t":
            if tok.upper() not in ("C", "I", "B"):
                raise ActionError(f"variable type must be C, I or B, got {tok!r}")
            typed.append(tok.upper())
        else:
            typed.append(_number(tok, kind))
    if name == "UPDATE_BOUNDS" and typed[1] > typed[2]:  # type: ignore[operator]
        raise ActionError(f"lower bound {args[1]} exceeds upper bound {args[2]}")
    return Action(name, tuple(typed))


_ACTION_LINE = re.compile(r"^\s*\**Action\**\s*:\s*(.+?)\s*$", re.M)


def extract_action(answer: str) -> Action:
    """The action on the last ``Action: ...`` line of an agent's answer."""
    found = _ACTION_LINE.findall(answer.split("</think>")[-1])
    if not found:
        raise ActionError("no 'Action: NAME(args)' line found in the answer")
    return parse_action(found[-1])


def _row(spec: ModelSpec, name: str):
    if name not in spec.rows:
        raise ActionError(f"unknown constraint {name!r}")
    return spec.rows[name]


def _var(spec: ModelSpec, name: str):
    if name not in spec.vars:
        raise ActionError(f"unknown variable {name!r}")
    return spec.vars[name]


def apply_edit(spec: ModelSpec, action: Action) -> str:
    """Apply an edit action to ``spec`` in place; returns a one-line description."""
    n, a = action.name, action.args
    if n == "DROP_CONSTRAINT":
        _row(spec, a[0])  # type: ignore[arg-type]
        del spec.rows[a[0]]  # type: ignore[arg-type]
        return f"dropped {a[0]}"
    if n == "FLIP_SENSE":
        r = _row(spec, a[0])  # type: ignore[arg-type]
        if r.sense == "<=":
            r.lhs, r.rhs = r.rhs, INF
        elif r.sense == ">=":
            r.lhs, r.rhs = -INF, r.lhs
        else:
            raise ActionError(f"cannot flip the sense of {r.name} ({r.sense} row)")
        return f"{r.name} is now {r.sense} {fmt_num(r.bound)}"
    if n == "UPDATE_RHS":
        r = _row(spec, a[0])  # type: ignore[arg-type]
        v = float(a[1])  # type: ignore[arg-type]
        if r.sense == "<=":
            r.rhs = v
        elif r.sense == ">=":
            r.lhs = v
        elif r.sense == "=":
            r.lhs = r.rhs = v
        else:
            raise ActionError(f"{r.name} is a ranged row; use RELAX_CONSTRAINT")
        return f"{r.name} right-hand side set to {fmt_num(v)}"
    if n == "RELAX_CONSTRAINT":
        r = _row(spec, a[0])  # type: ignore[arg-type]
        amt = float(a[1])  # type: ignore[arg-type]
        if r.rhs != INF:
            r.rhs += amt
        if r.lhs != -INF:
            r.lhs -= amt
        return f"{r.name} relaxed by {fmt_num(amt)}"
    if n == "SET_COEF":
        r = _row(spec, a[0])  # type: ignore[arg-type]
        _var(spec, a[1])  # type: ignore[arg-type]
        val = float(a[2])  # type: ignore[arg-type]
        if val == 0:
            if set(r.coefs) <= {a[1]}:
                raise ActionError(f"removing the last term would leave {r.name} empty")
            r.coefs.pop(a[1], None)  # type: ignore[arg-type]
        else:
            r.coefs[a[1]] = val  # type: ignore[index]
        return f"coefficient of {a[1]} in {r.name} set to {fmt_num(val)}"
    if n == "UPDATE_BOUNDS":
        v = _var(spec, a[0])  # type: ignore[arg-type]
        v.lb, v.ub = float(a[1]), float(a[2])  # type: ignore[arg-type]
        if v.vtype == "B" and (v.lb < 0 or v.ub > 1):
            v.vtype = "I"
        return f"bounds of {v.name} set to [{fmt_num(v.lb)}, {fmt_num(v.ub)}]"
    if n == "SET_VAR_TYPE":
        v = _var(spec, a[0])  # type: ignore[arg-type]
        v.vtype = str(a[1])
        if v.vtype == "B":
            v.lb, v.ub = max(v.lb, 0.0), min(v.ub, 1.0)
            if v.lb > v.ub:
                raise ActionError(f"bounds of {v.name} are outside [0, 1]")
        return f"{v.name} is now of type {v.vtype}"
    raise ActionError(f"{n} is not an edit")


def apply_actions(spec: ModelSpec, actions: list[str]) -> ModelSpec:
    """A copy of ``spec`` with the edits applied (used to verify ground-truth fixes)."""
    out = spec.copy()
    for text in actions:
        apply_edit(out, parse_action(text))
    return out


# -- constructors: the only way code writes action text ------------------------------------


def _text(name: str, *args: object) -> str:
    return Action(name, tuple(float(a) if isinstance(a, int | float) else a for a in args)).text


def get_iis() -> str:
    return _text("GET_IIS")


def inspect(name: str) -> str:
    return _text("INSPECT", name)


def spec(name: str) -> str:
    return _text("SPEC", name)


def check_slack(row: str) -> str:
    return _text("CHECK_SLACK", row)


def relax(row: str, amount: float) -> str:
    return _text("RELAX_CONSTRAINT", row, amount)


def drop(row: str) -> str:
    return _text("DROP_CONSTRAINT", row)


def update_rhs(row: str, value: float) -> str:
    return _text("UPDATE_RHS", row, value)


def flip_sense(row: str) -> str:
    return _text("FLIP_SENSE", row)


def set_coef(row: str, var: str, value: float) -> str:
    return _text("SET_COEF", row, var, value)


def update_bounds(var: str, lb: float, ub: float) -> str:
    return _text("UPDATE_BOUNDS", var, lb, ub)


def set_var_type(var: str, vtype: str) -> str:
    return _text("SET_VAR_TYPE", var, vtype)


def reset() -> str:
    return _text("RESET")


def submit() -> str:
    return _text("SUBMIT")


def target(action: Action) -> str | None:
    """The row or variable an action names first (None for GET_IIS, RESET, SUBMIT)."""
    return str(action.args[0]) if action.args else None
