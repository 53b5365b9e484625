"""LP-format text (CPLEX LP, as read by SCIP) for a :class:`ModelSpec`, and reading back."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pyscipopt as ps

from ordebug.solver.errors import ModelParseError
from ordebug.solver.solve import pooled_model
from ordebug.solver.spec import INF, ModelSpec, Row, Var, fmt_num

SCIP_INF = 1e20
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_().,]*$")


def check_name(name: str) -> str:
    """Names must round-trip through SCIP's LP reader (no brackets, spaces or signs)."""
    if not _NAME_OK.match(name):
        raise ValueError(f"name {name!r} is not valid in LP format")
    return name


def _terms(coefs: dict[str, float]) -> str:
    out = []
    for name, c in coefs.items():
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        out.append(f"{sign} {name}" if mag == 1 else f"{sign} {fmt_num(mag)} {name}")
    text = " ".join(out) if out else "0"
    return text[2:] if text.startswith("+ ") else text


def _wrap(text: str, width: int = 240) -> str:
    """Break long expressions at term boundaries (SCIP reads continuation lines)."""
    if len(text) <= width:
        return text
    lines, cur = [], ""
    for tok in re.split(r"(?= [+-] )", text):
        if len(cur) + len(tok) > width and cur:
            lines.append(cur)
            cur = "   " + tok.lstrip()
        else:
            cur += tok
    lines.append(cur)
    return "\n".join(lines)


def write_lp(spec: ModelSpec) -> str:
    """Deterministic LP text: same spec, same bytes."""
    lines = [f"\\ {spec.name}", "Minimize" if spec.sense == "minimize" else "Maximize"]
    obj = {v.name: v.obj for v in spec.vars.values() if v.obj != 0}
    lines.append(_wrap(f" obj: {_terms(obj)}"))
    lines.append("Subject To")
    for row in spec.rows.values():
        check_name(row.name)
        s = row.sense
        if s == "range":
            raise ValueError(f"ranged row {row.name!r} cannot be written as LP text")
        if not row.coefs:
            raise ValueError(f"row {row.name!r} has no terms")
        lines.append(_wrap(f" {row.name}: {_terms(row.coefs)} {s} {fmt_num(row.bound)}"))
    lines.append("Bounds")
    for v in spec.vars.values():
        check_name(v.name)
        if v.vtype == "B":
            continue
        if v.lb == -INF and v.ub == INF:
            lines.append(f" {v.name} free")
        elif v.lb != 0 or v.ub != INF:
            lb = "-inf" if v.lb == -INF else fmt_num(v.lb)
            ub = "+inf" if v.ub == INF else fmt_num(v.ub)
            lines.append(f" {lb} <= {v.name} <= {ub}")
    gens = [v.name for v in spec.vars.values() if v.vtype == "I"]
    bins = [v.name for v in spec.vars.values() if v.vtype == "B"]
    if gens:
        lines += ["Generals", *(f" {n}" for n in gens)]
    if bins:
        lines += ["Binaries", *(f" {n}" for n in bins)]
    # variables that appear nowhere else must still be declared
    lines.append("End")
    return "\n".join(lines) + "\n"


def _unscip(x: float) -> float:
    if x >= SCIP_INF:
        return INF
    if x <= -SCIP_INF:
        return -INF
    return float(x)


def spec_from_scip(model: ps.Model, name: str = "model") -> ModelSpec:
    """Extract a spec from a SCIP model that holds linear constraints only."""
    spec = ModelSpec(name=name, sense=model.getObjectiveSense())
    vtypes = {"CONTINUOUS": "C", "INTEGER": "I", "BINARY": "B", "IMPLINT": "C"}
    for v in model.getVars():
        spec.add_var(
            Var(
                v.name,
                _unscip(v.getLbOriginal()),
                _unscip(v.getUbOriginal()),
                vtypes.get(v.vtype(), "C"),
                float(v.getObj()),
            )
        )
    for c in model.getConss():
        if c.getConshdlrName() != "linear":
            raise ModelParseError(
                f"constraint {c.name!r} is of type {c.getConshdlrName()!r}; only linear rows are supported"
            )
        coefs = {k: float(val) for k, val in model.getValsLinear(c).items() if val != 0}
        if not coefs:
            raise ModelParseError(f"constraint {c.name!r} has no terms; the file looks truncated or malformed")
        spec.add_row(Row(c.name, coefs, _unscip(model.getLhs(c)), _unscip(model.getRhs(c))))
    return spec


def read_model_file(path: str | os.PathLike[str]) -> ModelSpec:
    """Read an ``.lp`` or ``.mps`` file; a file SCIP cannot parse raises ModelParseError."""
    path = Path(path)
    if not path.is_file():
        raise ModelParseError(f"{path}: no such file")
    if path.suffix.lower() not in (".lp", ".mps"):
        raise ModelParseError(f"{path}: unknown model format (expected .lp or .mps)")
    with pooled_model() as model:
        try:
            fd = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)  # SCIP's reader prints its own errors to stderr
            try:
                model.readProblem(str(path))
            finally:
                os.dup2(fd, 2)
                os.close(fd)
                os.close(devnull)
        except OSError as exc:
            raise ModelParseError(f"{path}: SCIP could not parse this {path.suffix} file") from exc
        spec = spec_from_scip(model, name=path.stem)
    if not spec.vars and not spec.rows:
        raise ModelParseError(f"{path}: no variables or constraints found; is this an {path.suffix} file?")
    return spec


def read_model_text(text: str, fmt: str = "lp", name: str = "model") -> ModelSpec:
    """Parse LP (or MPS) text through SCIP's reader."""
    with tempfile.TemporaryDirectory(prefix="ordebug-") as tmp:
        path = Path(tmp) / f"{name}.{fmt}"
        path.write_text(text)
        spec = read_model_file(path)
    spec.name = name
    return spec
