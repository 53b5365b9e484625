"""LP-format text (CPLEX LP, as read by SCIP) for a :class:`ModelSpec`, and reading back."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def lp_body(text: str) -> str:
    """An LP text without its first line when that is the name comment (``\\ name``): what
    the model says, whatever it is called."""
    return text.split("\n", 1)[1] if text.startswith("\\") else text


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


def unique_names(names: list[str], prefix: str) -> list[str]:
    """Names made unique and non-empty, stably: an unnamed item at position ``i`` gets
    ``{prefix}{i}`` (SCIP's generic names, ``c0``/``x0``), a repeated name gets ``_2``,
    ``_3``, ...; a generated name never takes one that the file uses."""
    taken = {n for n in names if n}
    out: list[str] = []
    seen: set[str] = set()
    for i, n in enumerate(names):
        base = n or f"{prefix}{i}"
        cand, k = base, 1
        while cand in seen or (cand != n and cand in taken):
            k += 1
            cand = f"{base}_{k}"
        seen.add(cand)
        out.append(cand)
    return out


def spec_from_scip(model: ps.Model, name: str = "model") -> ModelSpec:
    """Extract a spec from a SCIP model that holds linear constraints only.

    Rows without entries are kept (legal MPS; such a row alone may be infeasible);
    unnamed or repeated names get stable generated ones (see :func:`unique_names`)."""
    spec = ModelSpec(name=name, sense=model.getObjectiveSense())
    vtypes = {"CONTINUOUS": "C", "INTEGER": "I", "BINARY": "B", "IMPLINT": "C"}
    svars = model.getVars()
    vnames = unique_names([v.name for v in svars], "x")
    by_index = {v.getIndex(): n for v, n in zip(svars, vnames, strict=True)}
    for v, vname in zip(svars, vnames, strict=True):
        spec.add_var(
            Var(vname, _unscip(v.getLbOriginal()), _unscip(v.getUbOriginal()), vtypes.get(v.vtype(), "C"),
                float(v.getObj()))
        )
    conss = model.getConss()
    cnames = unique_names([c.name for c in conss], "c")
    for c, cname in zip(conss, cnames, strict=True):
        if c.getConshdlrName() != "linear":
            raise ModelParseError(
                f"constraint {cname!r} is of type {c.getConshdlrName()!r}; only linear rows are supported"
            )
        coefs: dict[str, float] = {}
        for v, val in zip(model.getConsVars(c), model.getConsVals(c), strict=True):
            if val != 0:
                key = by_index[v.getIndex()]
                coefs[key] = coefs.get(key, 0.0) + float(val)
        spec.add_row(Row(cname, coefs, _unscip(model.getLhs(c)), _unscip(model.getRhs(c))))
    return spec


_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SECTION = re.compile(
    r"^(subject\s+to|such\s+that|st|s\.t\.|bounds?|generals?|integers?|binary|binaries|bin|semi-continuous|"
    r"semis?|sos|end)$",
    re.IGNORECASE,
)


def _model_format(path: Path) -> tuple[str, str | None]:
    """(``.lp``/``.mps``, compression suffix or None) from the file name."""
    suffixes = [s.lower() for s in path.suffixes]
    comp = suffixes[-1] if suffixes and suffixes[-1] in _COMPRESSED else None
    fmt_suffixes = suffixes[:-1] if comp else suffixes
    fmt = fmt_suffixes[-1] if fmt_suffixes else ""
    return fmt, comp


def _lint_lp(text: str, path: Path) -> None:
    """What SCIP's LP reader lets through but a modeller would call malformed: a ``+``/``-``
    with no term after it before a section keyword (``obj: x +`` then ``Subject To``)."""
    prev: tuple[str, int] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("\\", 1)[0]
        stripped = line.strip()
        if not stripped:
            continue
        if _SECTION.match(stripped) and prev is not None and prev[0] in ("+", "-"):
            raise ModelParseError(f"{path}: line {prev[1]}: {prev[0]!r} with no term after it")
        prev = (stripped.split()[-1], lineno)


def _scip_message(log: str) -> str:
    """SCIP's first error line, without its source-file prefix."""
    for line in log.splitlines():
        if "ERROR:" in line and "Error <" not in line:
            return line.split("ERROR:", 1)[1].strip()
    return ""


def read_model_file(path: str | os.PathLike[str]) -> ModelSpec:
    """Read an ``.lp`` or ``.mps`` file (also ``.gz``/``.bz2``/``.xz`` compressed);
    a file SCIP cannot parse raises ModelParseError naming the file and, where SCIP
    reports it, the line."""
    path = Path(path)
    if not path.is_file():
        raise ModelParseError(f"{path}: no such file")
    fmt, comp = _model_format(path)
    if fmt not in (".lp", ".mps"):
        raise ModelParseError(f"{path}: unknown model format (expected .lp or .mps, optionally .gz/.bz2/.xz)")
    name = path.name[: -len("".join(path.suffixes[-2 if comp else -1:]))] or "model"
    with tempfile.TemporaryDirectory(prefix="ordebug-") as tmp:
        src = path
        if comp or fmt == ".lp":
            try:
                raw = _COMPRESSED[comp](path).read() if comp else path.read_bytes()
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise ModelParseError(f"{path}: cannot decompress: {exc}") from exc
            if fmt == ".lp":
                _lint_lp(raw.decode("latin-1"), path)
            if comp:
                src = Path(tmp) / f"model{fmt}"
                src.write_bytes(raw)
        log = Path(tmp) / "scip.log"
        with pooled_model() as model:
            try:
                with open(log, "w") as sink, redirect_fds(sink.fileno()):  # SCIP prints its own errors
                    model.readProblem(str(src))
            except Exception as exc:  # pyscipopt raises a bare Exception on a read error
                msg = _scip_message(log.read_text(errors="replace")) or f"SCIP could not parse this {fmt} file"
                raise ModelParseError(f"{path}: {msg}") from exc
            spec = spec_from_scip(model, name=name)
    if not spec.vars and not spec.rows:
        raise ModelParseError(f"{path}: no variables or constraints found; is this an {fmt} file?")
    return spec


@contextmanager
def redirect_fds(target: int, fds: tuple[int, ...] = (1, 2)) -> Iterator[None]:
    """Point the OS-level ``fds`` (stdout, stderr) at ``target`` meanwhile: SCIP and
    SoPlex print straight to them, past Python's ``sys.stdout``/``sys.stderr``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in fds]
    try:
        for fd in fds:
            os.dup2(target, fd)
        yield
    finally:
        for fd, old in zip(fds, saved, strict=True):
            os.dup2(old, fd)
            os.close(old)


def read_model_text(text: str, fmt: str = "lp", name: str = "model") -> ModelSpec:
    """Parse LP (or MPS) text through SCIP's reader."""
    with tempfile.TemporaryDirectory(prefix="ordebug-") as tmp:
        path = Path(tmp) / f"{name}.{fmt}"
        path.write_text(text)
        spec = read_model_file(path)
    spec.name = name
    return spec
