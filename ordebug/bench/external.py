"""Import external infeasible models as benchmark records (``ordebug import DIR``).

A folder of ``.lp``/``.mps`` files (optionally compressed), with an optional
``index.jsonl`` of one JSON object per model (format of the public OR-Debug-Bench
instances, see docs/external.md): ``model_file`` (required, relative to the index's folder),
and optionally ``problem_id``, ``original_objective``, ``error_type``, ``fixes`` (the
ground-truth repair in the environment's action syntax), ``iis_constraints``,
``iis_bounds`` and ``iis_source`` (the IIS another solver reported). Without an index,
every model file under the folder is taken.

Each model is read with SCIP and must be infeasible; its IIS (rows and bounds) is our
own (:func:`ordebug.solver.iis.compute_iis`), its difficulty is computed from that IIS
as for generated problems, and what the source does not say is marked: the record lists
the missing fields under ``unknown`` and holds ``None`` (or nothing) for them. A model
that cannot be read, is feasible, whose feasibility SCIP cannot decide, or that repeats
another model of the set is *skipped* with its reason, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ordebug.actions import ActionError, parse_action
from ordebug.faults.verify import difficulty, members_to_check
from ordebug.solver.errors import FeasibleModelError, OrDebugError
from ordebug.solver.iis import IisUndecided, compute_iis
from ordebug.solver.lpformat import check_name, read_model_file, read_model_text, redirect_fds, write_lp
from ordebug.solver.solve import SolverTimeout, to_scip
from ordebug.solver.spec import ModelSpec

INDEX_NAME = "index.jsonl"
MODEL_SUFFIXES = (".lp", ".mps")
COMPRESSIONS = ("", ".gz", ".bz2", ".xz")
EXTERNAL_VERSION = "external-1"
SPLIT = "external"
#: fields a generated record has that an imported one may lack (listed under ``unknown``)
OPTIONAL_FIELDS = ("spec", "original_model", "family", "original_objective", "error_type", "ground_truth")


@dataclass
class Skipped:
    """A model (or index line) that was not imported, and why."""

    source: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}


@dataclass
class ImportResult:
    records: list[dict] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class SkipModel(Exception):
    """This model cannot become a record (the message says why)."""


def is_model_file(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s + c) for s in MODEL_SUFFIXES for c in COMPRESSIONS)


def read_index(index: Path) -> tuple[list[dict], list[Skipped]]:
    """Index entries (each with ``_source``, the model path relative to the index's
    folder) and the lines that are not usable entries."""
    entries: list[dict] = []
    bad: list[Skipped] = []
    for n, line in enumerate(index.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{index.name}:{n}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(Skipped(where, f"not a JSON object: {exc.msg}"))
            continue
        if not isinstance(entry, dict):
            bad.append(Skipped(where, "not a JSON object"))
            continue
        model = entry.get("model_file")
        if not isinstance(model, str) or not model.strip():
            bad.append(Skipped(where, "no 'model_file' (the model's path, relative to the index's folder)"))
            continue
        entries.append({**entry, "_source": model})
    return entries, bad


def scan_dir(folder: Path) -> list[dict]:
    """One entry per model file under ``folder`` (sorted by path)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_model_file(p))
    return [{"model_file": str(p.relative_to(folder)), "_source": str(p.relative_to(folder))} for p in files]


def lp_safe_names(spec: ModelSpec) -> tuple[ModelSpec, dict[str, str]]:
    """The model with every name that LP text (and SCIP's MPS reader: a leading ``$`` starts
    a comment) cannot carry replaced by a valid one; ``{new name: name in the file}``."""
    taken = set(spec.rows) | set(spec.vars)
    renamed: dict[str, str] = {}

    def fix(name: str) -> str:
        try:
            return check_name(name)
        except ValueError:
            pass
        base = re.sub(r"[^A-Za-z0-9_().,]", "_", name)
        base = base if re.match(r"[A-Za-z_]", base) else f"n_{base}"
        new, i = base, 2
        while new in taken:
            new, i = f"{base}_{i}", i + 1
        taken.add(new)
        renamed[new] = name
        return new

    vmap = {v: fix(v) for v in spec.vars}
    out = ModelSpec(spec.name, spec.sense)
    for v in spec.vars.values():
        out.vars[vmap[v.name]] = replace(v, name=vmap[v.name])
    for r in spec.rows.values():
        new = fix(r.name)
        out.rows[new] = replace(r, name=new, coefs={vmap[k]: c for k, c in r.coefs.items()})
    return out, renamed


def model_text(spec: ModelSpec) -> tuple[str, str]:
    """``(text, format)``: LP text where the model can be written as LP (no ranged or
    empty rows), else MPS as SCIP writes it. Checked by reading it back."""
    try:
        text, fmt = write_lp(spec), "lp"
    except ValueError:
        with tempfile.TemporaryDirectory(prefix="ordebug-") as tmp:
            path = Path(tmp) / "model.mps"
            with open(os.devnull, "w") as null, redirect_fds(null.fileno()):
                to_scip(spec).writeProblem(str(path), verbose=False)
            text, fmt = path.read_text(), "mps"
    try:
        back = read_model_text(text, fmt, name="check")
    except OrDebugError as exc:
        raise SkipModel(f"the model cannot be written back as {fmt.upper()} text that SCIP reads ({exc})") from None
    if (list(back.rows), sorted(back.vars)) != (list(spec.rows), sorted(spec.vars)):
        raise SkipModel(f"the model does not survive writing it as {fmt.upper()} text (names or rows change)")
    return text, fmt


def _number(value: Any, key: str) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SkipModel(f"index field {key!r} is not a number: {value!r}") from None
    if not math.isfinite(x):
        raise SkipModel(f"index field {key!r} is not finite: {value!r}")
    return x


def _ground_truth(fixes: Any, spec: ModelSpec) -> dict | None:
    """``ground_truth`` from an index's ``fixes`` (action texts), checked against the model."""
    if fixes is None:
        return None
    if isinstance(fixes, str):
        fixes = [fixes]
    if not isinstance(fixes, list) or not fixes:
        raise SkipModel("index field 'fixes' must be a non-empty list of actions")
    texts, roots = [], []
    for text in fixes:
        try:
            a = parse_action(str(text))
        except ActionError as exc:
            raise SkipModel(f"index field 'fixes': {exc}") from None
        if not a.is_edit:
            raise SkipModel(f"index field 'fixes': {a.text} is not an edit")
        target = str(a.args[0])
        kind = {"UPDATE_BOUNDS": "bound", "SET_VAR_TYPE": "variable"}.get(a.name, "constraint")
        if target not in (spec.vars if kind != "constraint" else spec.rows):
            raise SkipModel(f"index field 'fixes': {a.text} names no {kind} of the model")
        texts.append(a.text)
        roots.append({"kind": kind, "name": target})
    unique = [dict(t) for t in dict.fromkeys(tuple(r.items()) for r in roots)]
    return {"fixes": texts, "fixes_per_fault": [texts], "root_cause": unique}


def import_model(entry: dict, base: Path, time_limit: float | None = None) -> dict:
    """The benchmark record of one index entry; raises SkipModel with the reason."""
    rel = str(entry["model_file"])
    path = (base / rel).resolve()
    try:
        spec = read_model_file(path)
    except OrDebugError as exc:
        raise SkipModel(str(exc).replace(str(path), rel)) from None
    spec, renamed = lp_safe_names(spec)
    spec.name = "model"  # the file's name may tell the fault (lp_typeE_000): the text never carries it
    original = _number(entry.get("original_objective"), "original_objective")
    truth = _ground_truth(entry.get("fixes"), spec)
    try:
        iis = compute_iis(spec, time_limit=time_limit)
    except FeasibleModelError:
        raise SkipModel("the model is feasible: nothing to repair") from None
    except (IisUndecided, SolverTimeout) as exc:
        raise SkipModel(f"SCIP could not decide whether the model is feasible ({exc})") from None
    text, fmt = model_text(spec)
    digest = hashlib.sha256(f"ordebug-external:{fmt}:{text}".encode()).hexdigest()
    pid = f"ext_{digest[:12]}"
    etype = entry.get("error_type")
    rec: dict[str, Any] = {
        "problem_id": pid,
        "bench_version": EXTERNAL_VERSION,
        "split": SPLIT,
        "tier": "small",
        "source": {"file": rel, "id": str(entry.get("problem_id") or Path(rel).name)},
        "family": None,
        "error_type": None if etype in (None, "") else str(etype),
        "difficulty": difficulty(1, len(truth["fixes"]) if truth else 1, members_to_check(spec, iis)),
        "objective_sense": spec.sense,
        "original_objective": original,
        "n_variables": len(spec.vars),
        "n_constraints": len(spec.rows),
        "is_mip": spec.is_mip,
        "model": text,
        "model_format": fmt,
        "iis": iis.to_json(),
        "iis_certain": iis.certain,
    }
    if not iis.certain:
        rec["iis_reasons"] = list(iis.reasons)
    if renamed:
        rec["renamed"] = renamed
    if truth:
        rec["ground_truth"] = truth
    if entry.get("iis_constraints") is not None or entry.get("iis_bounds") is not None:
        rec["reference_iis"] = {"constraints": list(entry.get("iis_constraints") or []),
                                "bounds": list(entry.get("iis_bounds") or []),
                                "source": entry.get("iis_source")}
    rec["unknown"] = [k for k in OPTIONAL_FIELDS if rec.get(k) is None]
    return rec


def _run(args: tuple[dict, str, float | None]) -> dict | str:
    entry, base, limit = args
    with open(os.devnull, "w") as null, redirect_fds(null.fileno()):  # SCIP's own messages
        try:
            return import_model(entry, Path(base), limit)
        except SkipModel as exc:
            return str(exc)
        except Exception as exc:  # one odd model never takes the import down
            return f"internal error ({type(exc).__name__}: {exc})"


def _results(entries: list[dict], base: Path, workers: int, time_limit: float | None) -> Iterator[dict | str]:
    jobs = [(e, str(base), time_limit) for e in entries]
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_run, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_run, jobs)


def import_dir(folder: str | os.PathLike[str], index: str | os.PathLike[str] | None = None, *,
               workers: int = 1, time_limit: float | None = None) -> ImportResult:
    """Import every model of an index (``folder/index.jsonl`` when ``index`` is None and
    it exists; else every model file under ``folder``), in index order."""
    folder = Path(folder)
    if index is None and (folder / INDEX_NAME).is_file():
        index = folder / INDEX_NAME
    if index is not None:
        index = Path(index)
        if not index.is_file():
            raise OrDebugError(f"{index}: no such index file")
        base = index.parent
        entries, skipped = read_index(index)
    else:
        if not folder.is_dir():
            raise OrDebugError(f"{folder}: no such folder")
        base, entries, skipped = folder, scan_dir(folder), []
    out = ImportResult(skipped=list(skipped))
    seen: dict[str, str] = {}
    for entry, res in zip(entries, _results(entries, base, workers, time_limit), strict=True):
        src = entry["_source"]
        if isinstance(res, str):
            out.skipped.append(Skipped(src, res))
        elif res["problem_id"] in seen:
            out.skipped.append(Skipped(src, f"the same model as {seen[res['problem_id']]}"))
        else:
            seen[res["problem_id"]] = src
            out.records.append(res)
    return out


def summary_line(result: ImportResult) -> str:
    """One line: how many models were imported and skipped."""
    uncertain = sum(1 for r in result.records if not r["iis_certain"])
    tail = f"; {uncertain} with an uncertain IIS" if uncertain else ""
    return f"imported {len(result.records)} models, skipped {len(result.skipped)}{tail}"


def skipped_lines(skipped: Iterable[Skipped]) -> list[str]:
    return [f"skipped {s.source}: {s.reason}" for s in skipped]


def check_external_config(config: dict) -> dict[str, Path]:
    """The sets of ``eval.external`` with their index (or folder) paths; a path that does
    not exist is an error naming the key."""
    sets = (config.get("eval") or {}).get("external") or {}
    out = {}
    for name, raw in sets.items():
        path = Path(raw)
        if not path.exists():
            raise OrDebugError(f"config key 'eval.external.{name}': {raw} does not exist "
                               "(expected an index.jsonl or a folder of .lp/.mps models)")
        out[name] = path
    return out
