"""The repair environment (Gymnasium conventions): ``reset(problem)`` and ``step(text)``.

Every step is verified by the solver: after an edit the model's status is recomputed, and
the IIS only when the model changed. The episode ends at ``SUBMIT()`` or at the step
limit, where the solver decides: *feasible* (it solves), *faithful* (its optimum is
within ``faithful_tol`` relative of the original) and *exact* (faithful, and every element
the agent edited, and every element the model as given got wrong, now equals the
specification: nothing the specification contains was deleted or neutralised, and no fault
is left half repaired). ``SPEC(name)`` looks a row, variable, table or entity up in the
problem's data sheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ordebug.actions import Action, ActionError, apply_edit, parse_action
from ordebug.env import reward as rw
from ordebug.env.observation import (
    HistoryEntry,
    bound_text,
    hidden_members,
    render_observation,
    short_row,
    spec_members,
)
from ordebug.env.specview import SpecView
from ordebug.solver.iis import Iis, compute_iis
from ordebug.solver.lpformat import read_model_text
from ordebug.solver.solve import FAITHFUL_TOL, SolveResult, least_violation, solve, verdict
from ordebug.solver.spec import ModelSpec, differing, differs, fmt_num

REQUIRED_FIELDS = ("problem_id", "model", "original_objective")
OBSERVATIONS = ("full", "compact")


class ProblemError(ValueError):
    """A problem record that the environment cannot load."""


@dataclass
class EnvConfig:
    max_steps: int = 10
    faithful_tol: float = FAITHFUL_TOL
    inspect_max_terms: int = 60
    max_steps_large: int = 30  # large-tier problems: the data sheet is read through SPEC(name)
    # full: the whole data sheet and the model's families; compact: the rules, and what the
    # specification says about each IIS member (fewer tokens: small models, long sheets)
    observation: str = "full"

    def __post_init__(self) -> None:
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"env.observation must be one of {', '.join(OBSERVATIONS)}, not {self.observation!r}")

    @classmethod
    def from_config(cls, env: dict) -> EnvConfig:
        """From the config's ``env`` section."""
        return cls(max_steps=int(env["max_steps"]), faithful_tol=float(env["faithful_tol"]),
                   max_steps_large=int(env.get("max_steps_large", 30)),
                   observation=str(env.get("observation", "full")))

    def steps_for(self, problem: dict) -> int:
        return self.max_steps_large if problem.get("tier") == "large" else self.max_steps


@dataclass
class Outcome:
    """What the solver says about the submitted model."""

    feasible: bool
    faithful: bool
    exact: bool | None  # None: the record has no specification to compare with
    objective: float | None
    objective_preservation: float
    n_edits: int
    edit_kinds: list[str]
    root_cause_touched: bool
    steps: int
    invalid_actions: int
    submitted: bool
    status: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def touches(action: Action, root: dict) -> bool:
    """Whether an edit acts on a root-cause element."""
    if not action.is_edit:
        return False
    target = action.args[0]
    if root["kind"] == "constraint":
        return action.name not in ("UPDATE_BOUNDS", "SET_VAR_TYPE") and target == root["name"]
    if root["kind"] == "bound":
        return action.name == "UPDATE_BOUNDS" and target == root["name"]
    return action.name in ("SET_VAR_TYPE", "UPDATE_BOUNDS") and target == root["name"]


@dataclass
class _State:
    problem: dict
    broken: ModelSpec
    spec: ModelSpec
    original: ModelSpec | None = None
    specview: SpecView | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    edits: list[Action] = field(default_factory=list)
    step: int = 0
    invalid: int = 0
    version: int = 0
    iis_version: int = -1
    iis: Iis | None = None
    status: str = "INFEASIBLE"
    objective: float | None = None
    result: SolveResult | None = None  # the solver's last answer on the current model
    slack_version: int = -1
    slack: dict | None = None
    done: bool = False
    total_reward: float = 0.0


class RepairEnv:
    """Step-by-step repair of one infeasible problem."""

    def __init__(self, config: EnvConfig | None = None) -> None:
        self.config = config or EnvConfig()
        self.state: _State | None = None

    # -- Gymnasium API -------------------------------------------------------------
    def reset(self, problem: dict, *, seed: int | None = None) -> tuple[str, dict]:
        missing = [k for k in REQUIRED_FIELDS if k not in problem]
        if missing:
            raise ProblemError(f"problem record lacks field(s) {missing}")
        try:
            broken = read_model_text(problem["model"], problem.get("model_format", "lp"),
                                     name=str(problem["problem_id"]))
            original = (read_model_text(problem["original_model"], name=str(problem["problem_id"]))
                        if problem.get("original_model") else None)
            view = SpecView.from_record(problem)
        except Exception as exc:  # a broken record is a clear error, not a crash deep inside
            raise ProblemError(f"problem {problem['problem_id']}: {exc}") from exc
        self.state = _State(problem, broken, broken.copy(), original, view)
        self._refresh()
        return self._observation(), self._info()

    def step(self, action_text: str) -> tuple[str, float, bool, bool, dict]:
        st = self._require()
        if st.done:
            raise RuntimeError("episode is over; call reset()")
        st.step += 1
        valid = True
        terminated = False
        version = st.version
        try:
            action = parse_action(action_text)
            result = self._execute(action)
            shown = action.text
            if action.name == "SUBMIT":
                terminated = True
        except ActionError as exc:
            valid = False
            st.invalid += 1
            result = f"invalid action: {exc}"
            shown = action_text.strip().splitlines()[0][:120] if action_text.strip() else "(empty)"
        st.history.append(HistoryEntry(shown, result, valid))
        reward = rw.step_reward(valid)
        truncated = not terminated and st.step >= self.config.steps_for(st.problem)
        info = self._info()
        info.update(valid=valid, reply=result, changed=st.version != version)
        if terminated or truncated:
            st.done = True
            outcome = self.evaluate(submitted=terminated)
            needed = len(st.problem.get("ground_truth", {}).get("fixes", [])) or 1
            reward += rw.terminal_reward(
                outcome.feasible, outcome.faithful, outcome.objective_preservation, outcome.n_edits, needed
            )
            info["outcome"] = outcome.to_json()
        st.total_reward += reward
        info["return"] = rw.clip_return(st.total_reward)
        return self._observation(), reward, terminated, truncated, info

    # -- actions ---------------------------------------------------------------------
    def _execute(self, action: Action) -> str:
        st = self._require()
        n = action.name
        if n == "SUBMIT":
            return "submitted"
        if n == "GET_IIS":
            self._ensure_iis()
            if st.iis is None:
                return "feasible: no IIS"
            hidden = hidden_members(st.iis, str(st.problem.get("problem_id", "")))
            return f"IIS with {st.iis.size} members" + (f"; {hidden}" if hidden else " (shown above)")
        if n == "INSPECT":
            return self._inspect(str(action.args[0]))
        if n == "SPEC":
            if st.specview is None:
                return "this problem comes without a specification"
            return st.specview.lookup(str(action.args[0]))
        if n == "CHECK_SLACK":
            return self._check_slack(str(action.args[0]))
        if n == "RESET":
            if not st.edits:
                return "nothing to reset: no edits yet"
            count = len(st.edits)
            st.spec = st.broken.copy()
            st.edits = []
            st.version += 1
            self._refresh()
            return f"undid {count} edit(s); back to the model as given ({st.status})"
        msg = apply_edit(st.spec, action)  # raises ActionError before changing anything it rejects
        st.edits.append(action)
        st.version += 1
        self._refresh()
        tail = f"objective {fmt_num(round(st.objective, 6))}" if st.objective is not None else ""
        return f"{msg}; model is now {st.status}" + (f" ({tail})" if tail else "")

    def _inspect(self, name: str) -> str:
        st = self._require()
        if name in st.spec.rows:
            return short_row(st.spec.rows[name], self.config.inspect_max_terms)
        if name in st.spec.vars:
            v = st.spec.vars[name]
            rows = [r.name for r in st.spec.rows.values() if name in r.coefs]
            shown = ", ".join(rows[:12]) + (f" (+{len(rows) - 12} more)" if len(rows) > 12 else "")
            return f"{bound_text(st.spec, name)}; objective coefficient {fmt_num(v.obj)}; in {len(rows)} rows: {shown}"
        raise ActionError(f"unknown constraint or variable {name!r}")

    def _check_slack(self, name: str) -> str:
        st = self._require()
        if name not in st.spec.rows:
            raise ActionError(f"unknown constraint {name!r}")
        if st.slack_version != st.version:
            st.slack = least_violation(st.spec)
            st.slack_version = st.version
        if st.slack is None:
            return "no least-violation point found"
        act, viol = st.slack[name]
        row = st.spec.rows[name]
        head = f"{name}: activity {fmt_num(round(act, 6))} vs {row.sense} {fmt_num(row.bound)}"
        if viol > 1e-7:
            return f"{head}: violated by {fmt_num(round(viol, 6))} at the least-violation point"
        gap = abs(act - row.bound) if row.sense != "range" else 0.0
        return f"{head}: satisfied (slack {fmt_num(round(gap, 6))})"

    # -- solver state ----------------------------------------------------------------
    def _refresh(self) -> None:
        st = self._require()
        res = st.result = solve(st.spec)
        if res.optimal:
            st.status, st.objective = "FEASIBLE", res.objective
        elif res.status == "unbounded":
            st.status, st.objective = "UNBOUNDED", None
        elif res.status == "infeasible":
            st.status, st.objective = "INFEASIBLE", None
        else:
            st.status, st.objective = f"UNKNOWN ({res.status})", None

    def _ensure_iis(self) -> None:
        st = self._require()
        if st.iis_version == st.version:
            return
        st.iis = compute_iis(st.spec) if st.status == "INFEASIBLE" else None
        st.iis_version = st.version

    def evaluate(self, submitted: bool = True) -> Outcome:
        """Solver verdict on the current model."""
        st = self._require()
        raw = st.problem.get("original_objective")
        original = None if raw is None else float(raw)
        v = verdict(st.result or SolveResult("infeasible"), original, self.config.faithful_tol)
        feasible, faithful = v.feasible, v.faithful
        roots = st.problem.get("ground_truth", {}).get("root_cause", [])
        touched = any(touches(a, r) for a in st.edits for r in roots)
        exact = None if st.original is None else faithful and agrees_with(st.spec, st.original, st.edits, st.broken)
        return Outcome(
            feasible=feasible,
            faithful=faithful,
            exact=exact,
            objective=st.objective,
            objective_preservation=(rw.objective_preservation(st.objective, original)
                                    if feasible and original is not None else 0.0),
            n_edits=len(st.edits),
            edit_kinds=[a.name for a in st.edits],
            root_cause_touched=touched,
            steps=st.step,
            invalid_actions=st.invalid,
            submitted=submitted,
            status=st.status,
        )

    # -- helpers -----------------------------------------------------------------------
    def _require(self) -> _State:
        if self.state is None:
            raise RuntimeError("call reset(problem) first")
        return self.state

    def _observation(self) -> str:
        st = self._require()
        self._ensure_iis()
        pid = st.problem["problem_id"]
        answers = None
        if st.specview and self.config.observation == "compact":
            spec_text = st.specview.compact_text()
            answers = st.specview.answers(spec_members(st.spec, st.iis, pid))
        else:
            spec_text = st.specview.observation_text() if st.specview else None
        return render_observation(pid, st.spec, st.status, st.iis, st.history, st.step,
                                  self.config.steps_for(st.problem), spec_text=spec_text, answers=answers)

    def _info(self) -> dict:
        st = self._require()
        return {"status": st.status, "step": st.step, "edits": [a.text for a in st.edits], "objective": st.objective}

    @property
    def current_model(self) -> ModelSpec:
        return self._require().spec


def agrees_with(current: ModelSpec, original: ModelSpec, edits: list[Action], broken: ModelSpec | None = None) -> bool:
    """Whether every element the edits acted on, and every element where the model as given
    (``broken``) disagrees with the specified one, equals the specified model again.

    A row the specification has must be back exactly (terms, sense and sides); a row it does
    not have must be gone; a variable must have its specified bounds and type. Checking the
    faulted elements too means a partial repair (one row of a reversed family flipped back,
    a wrong entry corrected in one of the rows it enters) is not exact."""
    elements = {("v" if a.name in ("UPDATE_BOUNDS", "SET_VAR_TYPE") else "c", str(a.args[0])) for a in edits}
    if broken is not None:
        elements |= differing(broken, original)
    return not any(differs(current, original, el) for el in elements)
