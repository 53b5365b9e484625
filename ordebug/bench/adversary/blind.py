"""What a spec-blind method sees of a problem, and the static features of each IIS member.

:class:`Blind` is built from the broken model and its IIS only (a record's ``model`` and
``iis``): no specification, no ground truth, no original model. Members are the IIS rows,
the variables of the IIS bounds, and the integer variables of the IIS rows, as the
structural probe counts them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from ordebug.bench.adversary.values import NAN, median, value_form
from ordebug.solver.iis import Iis
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.spec import INF, ModelSpec, family

Element = tuple[str, str]  # ("c", row) or ("v", variable)
SENSES = {"<=": 0.0, ">=": 1.0, "=": 2.0, "range": 3.0}


@dataclass
class Blind:
    """The broken model and its IIS; nothing else."""

    spec: ModelSpec
    iis_rows: list[str]
    iis_bounds: list[tuple[str, str]]
    pid: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_record(cls, rec: dict) -> Blind:
        """From a problem record, reading only its model and IIS."""
        iis = Iis.from_json(rec["iis"])
        return cls(read_model_text(rec["model"], name=rec["problem_id"]), iis.constraints, iis.bounds,
                   rec["problem_id"])

    @classmethod
    def of(cls, spec: ModelSpec, iis: Iis, pid: str = "") -> Blind:
        return cls(spec, list(iis.constraints), list(iis.bounds), pid)

    # -- members -----------------------------------------------------------------------
    @cached_property
    def int_vars(self) -> list[str]:
        return list(dict.fromkeys(v for r in self.iis_rows for v in self.spec.rows[r].coefs
                                  if self.spec.vars[v].vtype != "C"))

    @cached_property
    def members(self) -> list[Element]:
        out = [("c", r) for r in self.iis_rows] + [("v", v) for v, _ in self.iis_bounds]
        return list(dict.fromkeys(out + [("v", v) for v in self.int_vars]))

    # -- the whole model, grouped -------------------------------------------------------
    @cached_property
    def row_families(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for r in self.spec.rows:
            out[family(r)].append(r)
        return out

    @cached_property
    def var_families(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for v in self.spec.vars:
            out[family(v)].append(v)
        return out

    @cached_property
    def column_counts(self) -> Counter[str]:
        return Counter(v for r in self.spec.rows.values() for v in r.coefs)

    def colcount_rel(self, var: str) -> float:
        """How many rows ``var`` is in, against the median of its family."""
        counts = [self.column_counts[w] for w in self.var_families[family(var)]]
        return self.column_counts[var] - median(counts)

    def shape(self) -> dict[str, float]:
        """Features of the IIS as a whole (the same for every member)."""
        return {"iis_rows": float(len(self.iis_rows)), "iis_bounds": float(len(self.iis_bounds)),
                "iis_ints": float(len(self.int_vars)), "iis_fams": float(len({family(r) for r in self.iis_rows})),
                "n_rows": float(len(self.spec.rows)), "n_vars": float(len(self.spec.vars)),
                "mip": float(self.spec.is_mip)}

    # -- static member features ----------------------------------------------------------
    def member_features(self, el: Element) -> dict[str, float | str]:
        """What the model shows about one member, next to its siblings (no solver)."""
        f: dict[str, float | str] = dict(self.shape())
        kind, name = el
        if kind == "c":
            f.update(self._row_features(name))
        else:
            f.update(self._var_features(name))
        return f

    def _row_features(self, name: str) -> dict[str, float | str]:
        spec, row = self.spec, self.spec.rows[name]
        fam = self.row_families[family(name)]
        terms = [len(spec.rows[r].coefs) for r in fam]
        mags = [abs(c) for c in row.coefs.values()]
        senses = Counter(spec.rows[r].sense for r in fam)
        sibs = [spec.rows[r].bound for r in fam if r != name and spec.rows[r].sense != "range"]
        f: dict[str, float | str] = {
            "kind": 0.0, "fam": family(name), "sense": SENSES[row.sense],
            "n_terms": float(len(row.coefs)), "terms_rel": len(row.coefs) - median(terms),
            "terms_unique": float(terms.count(len(row.coefs)) == 1),
            "fam_size": float(len(fam)), "fam_in_iis": sum(1 for r in fam if r in self.iis_rows) / len(fam),
            "var_fams": float(len({family(v) for v in row.coefs})),
            "all_unit": float(all(m == 1 for m in mags)), "n_distinct": float(len(set(mags))),
            "unit_with_2": float(sorted(set(mags)) == [1.0, 2.0]),
            "sense_share": senses[row.sense] / len(fam),
            "colcount_min": min((self.colcount_rel(v) for v in row.coefs), default=NAN),
            "ints_in_row": float(sum(1 for v in row.coefs if spec.vars[v].vtype != "C")),
        }
        if row.sense != "range":
            f.update(value_form(row.bound, sibs, "v_"))
        return f

    def _var_features(self, name: str) -> dict[str, float | str]:
        spec, var = self.spec, self.spec.vars[name]
        fam = self.var_families[family(name)]
        bound_sides = [s for v, s in self.iis_bounds if v == name]
        f: dict[str, float | str] = {
            "kind": 1.0 if bound_sides else 2.0, "fam": family(name),
            "is_int": float(var.vtype != "C"),
            "int_share": sum(1 for w in fam if spec.vars[w].vtype != "C") / len(fam),
            "fam_size": float(len(fam)), "colcount_rel": self.colcount_rel(name),
            "side": 1.0 if "upper" in bound_sides else 0.0 if bound_sides else NAN,
            "in_int_list": float(name in self.int_vars),
        }
        side = "upper" if "upper" in bound_sides or not bound_sides else "lower"
        lb, ub = spec.var_bounds(name)
        value = ub if side == "upper" else lb
        if value not in (INF, -INF):
            sibs = [spec.var_bounds(w)[1 if side == "upper" else 0] for w in fam if w != name]
            f.update(value_form(value, [s for s in sibs if abs(s) != INF], "v_"))
        return f
