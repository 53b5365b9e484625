"""The only package that talks to pyscipopt: model spec, LP text, solve, IIS."""

from ordebug.solver.iis import Iis, compute_iis
from ordebug.solver.lpformat import read_model_file, read_model_text, write_lp
from ordebug.solver.solve import SolveResult, is_feasible, solve
from ordebug.solver.spec import INF, ModelSpec, Row, Var

__all__ = [
    "INF",
    "Iis",
    "ModelSpec",
    "Row",
    "SolveResult",
    "Var",
    "compute_iis",
    "is_feasible",
    "read_model_file",
    "read_model_text",
    "solve",
    "write_lp",
]
