"""The table of one external set (``results/report/external_{set}.md``): every agent's
metrics on the imported models, beside the figures the OR-Debug-Bench paper publishes.

Metrics that do not apply to a set (exact repairs without a specification, root cause
without a ground truth, faithful repairs without an original objective) are shown as
``n/a``, never as 0.
"""

from __future__ import annotations

from collections import Counter

NA = "n/a"
PAPER = "arXiv 2601.21008 (Ao, Simchi-Levi, Wang: OR-Debug-Bench / ORLoopBench)"

#: Figures the paper publishes, as far as they could be read here: only its abstracts
#: (v1, "Solver-in-the-Loop", and v3, "ORLoopBench") were available; its results tables
#: were not. Nothing here is computed or estimated by us.
PUBLISHED: list[dict] = [
    {"system": "RLVR-trained 8B model (the paper's best)", "rr5": 0.953, "da": 0.624, "steps": 2.25,
     "source": "v1 abstract: recovery rate, diagnostic accuracy, steps to resolution"},
    {"system": "best frontier API (as the paper compares)", "rr5": 0.862, "da": 0.478, "steps": 3.78,
     "source": "v1 abstract: recovery rate, diagnostic accuracy, steps to resolution"},
    {"system": "RLVR-trained 8B model, LP repair", "rr5": 0.953, "da": None, "steps": None,
     "source": "v3 abstract: RR@5 on LP repair"},
    {"system": "frontier APIs, LP repair", "rr5": 0.924, "da": None, "steps": None,
     "source": "v3 abstract: RR@5 on LP repair"},
]

SETTINGS_DIFFER = [
    "Problems: the paper reports on its own test split (5,000+ generated problems, 9 error types); this table "
    "covers the models of this set only (the public OR-Debug-Bench instances here are types E-I).",
    "Solver and IIS: the paper uses Gurobi; here SCIP, with our own IIS over rows and bounds "
    "(it can differ from Gurobi's: IISs are not unique).",
    "Actions and budget: our action grammar, observation text and step limit (env.max_steps), not the paper's.",
    "Recovery: our RR@k counts a submitted model that SCIP solves within k steps; the paper's recovery rate "
    "(v1 abstract) may not use the same k. Our diagnosis accuracy is the share of edited elements in the "
    "initial IIS; the paper's diagnostic accuracy is its own definition.",
    "Error types are the source's labels (its taxonomy), not ordebug's A-I.",
    "The paper's per-model and per-type results tables could not be read here: the last column of the "
    "table above says so, and nothing was filled in from memory.",
]

OURS = [
    ("problems", "problems"), ("rr@1", "RR@1"), ("rr@3", "RR@3"), ("rr@5", "RR@5"), ("rr@10", "RR@10"),
    ("faithful_rr@5", "fRR@5"), ("feasible", "feasible"), ("faithful", "faithful"), ("exact", "exact"),
    ("diagnosis_accuracy", "diagnosis acc."), ("root_cause_accuracy", "root-cause acc."),
    ("objective_preservation", "obj. preservation"), ("avg_steps_solved", "steps (solved)"),
    ("invalid_action_rate", "invalid actions"),
]


def fmt(v: object) -> str:
    """A metric as printed: ``n/a`` where it does not apply."""
    if v is None:
        return NA
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def _table(head: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|",
            *("| " + " | ".join(r) + " |" for r in body)]


def import_lines(problems: list[dict], skipped: list[dict]) -> list[str]:
    """What the import kept, skipped and computed."""
    lines = [f"Imported {len(problems)} models, skipped {len(skipped)}."]
    for s in skipped[:20]:
        lines.append(f"- skipped `{s['source']}`: {s['reason']}")
    if len(skipped) > 20:
        lines.append(f"- ... and {len(skipped) - 20} more (see the skipped file)")
    diff = Counter(p.get("difficulty") for p in problems)
    lines.append("Difficulty (from our IIS): " + ", ".join(f"{d} {diff.get(d, 0)}" for d in ("easy", "medium", "hard")))
    unknown = Counter(k for p in problems for k in p.get("unknown", []))
    if unknown:
        shown = ", ".join(f"{k} {n}" for k, n in sorted(unknown.items()))
        lines.append(f"Unknown fields (records without them): {shown}")
    ref = [p for p in problems if p.get("reference_iis")]
    if ref:
        same = sum(1 for p in ref if _same_iis(p["iis"], p["reference_iis"]))
        src = Counter(str(p["reference_iis"].get("source")) for p in ref).most_common(1)[0][0]
        lines.append(f"Our IIS equals the index's ({src}) on {same} of {len(ref)} models "
                     "(IISs are not unique; both are infeasible subsystems).")
    uncertain = sum(1 for p in problems if p.get("iis_certain") is False)
    if uncertain:
        lines.append(f"{uncertain} models have an uncertain IIS (infeasible, maybe not irreducible).")
    return lines


def _same_iis(ours: dict, ref: dict) -> bool:
    return (set(ours.get("constraints", [])) == set(ref.get("constraints", []))
            and {b["variable"] for b in ours.get("bounds", [])} == set(ref.get("bounds", [])))


def external_markdown(name: str, summaries: list[dict], problems: list[dict], skipped: list[dict],
                      source: str = "") -> str:
    """The whole report of one set."""
    out = [f"# External set `{name}`", ""]
    if source:
        out += [f"Source: `{source}`", ""]
    out += ["## Import", "", *import_lines(problems, skipped), ""]
    out += ["## Our agents on this set", ""]
    out += _table(["agent", *(h for _, h in OURS)],
                  [[s["agent"], *(fmt(s["overall"].get(k)) for k, _ in OURS)] for s in summaries])
    types = sorted({t for s in summaries for t in s.get("by_error_type", {}) if t != "None"})
    if types:
        out += ["", "RR@5 by the source's error type (feasible within 5 steps; faithful in brackets):", ""]
        out += _table(["agent", *types], [[s["agent"], *(
            f"{fmt(s['by_error_type'].get(t, {}).get('rr@5'))} ({fmt(s['by_error_type'].get(t, {}).get('faithful'))})"
            for t in types)] for s in summaries])
    out += ["", "## Published figures", "", f"From {PAPER}.", ""]
    out += _table(["system (paper)", "RR@5 / recovery rate", "diagnostic accuracy", "steps", "taken from",
                   "paper's results table"],
                  [[p["system"], fmt(p["rr5"]), fmt(p["da"]), fmt(p["steps"]), p["source"],
                    "not found here"] for p in PUBLISHED])
    out += ["", "Where the settings differ:", "", *(f"- {s}" for s in SETTINGS_DIFFER), ""]
    return "\n".join(out)
