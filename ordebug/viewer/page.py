"""Build the trajectory viewer: a single HTML file (no network, no external files) that
lists an agent's problems, filters them by error type, family, difficulty and outcome,
and shows each step: the observation, the ``<think>``, the action, the environment's reply,
and the final verdict.

The trajectories are embedded as JSON in a ``<script type="application/json">`` block and
rendered with ``textContent`` only, so nothing in a trajectory can inject markup. The
state (filters and the open problem) lives in the URL's fragment, e.g.
``sft_viewer.html#error_type=A&outcome=exact&problem=odb_123``, so a view can be linked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ordebug.answer import think_of
from ordebug.atomic import write_text_atomic
from ordebug.jsonl import iter_jsonl

FILTERS = ("error_type", "family", "difficulty", "outcome")


def outcome_label(t: dict) -> str:
    """exact > faithful > feasible > failed, for the outcome filter."""
    if t.get("exact"):
        return "exact"
    if t.get("faithful"):
        return "faithful"
    if t.get("feasible"):
        return "feasible"
    return "failed"


def _step(s: dict) -> dict:
    return {"observation": s.get("observation", ""), "think": think_of(s.get("answer", "")),
            "action": s.get("action", ""), "valid": bool(s.get("valid", True)), "reply": s.get("reply", "")}


def viewer_data(trajectories: Iterable[dict]) -> list[dict]:
    out = []
    for t in trajectories:
        out.append({**{k: t.get(k) for k in ("problem_id", "error_type", "family", "difficulty", "tier",
                                               "failure_reason", "objective", "original_objective", "submitted",
                                               "root_cause", "dropped")},
                    "outcome": outcome_label(t), "steps": [_step(s) for s in t.get("steps") or []]})
    return out


def render(agent: str, data: list[dict]) -> str:
    payload = json.dumps({"agent": agent, "filters": FILTERS, "problems": data}, ensure_ascii=False,
                         sort_keys=True).replace("</", "<\\/")
    return TEMPLATE.replace("__TITLE__", f"ordebug trajectories: {_esc(agent)}").replace("__DATA__", payload)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_viewer(files: Iterable[str | os.PathLike[str]], out: str | Path, agent: str) -> int:
    """Write the page for the trajectories in ``files``; returns how many problems it shows."""
    data = viewer_data(iter_jsonl(files))
    write_text_atomic(out, render(agent, data))
    return len(data)


TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; display: flex; height: 100vh; color: #222; }
#side { width: 26em; border-right: 1px solid #ccc; display: flex; flex-direction: column; }
#filters { padding: .5em; background: #f4f4f4; display: grid; grid-template-columns: auto 1fr; gap: .2em .5em; }
#count { padding: .3em .5em; font-size: .9em; color: #555; }
#list { overflow: auto; flex: 1; margin: 0; padding: 0; list-style: none; }
#list li { padding: .3em .5em; border-bottom: 1px solid #eee; cursor: pointer; font-size: .9em; }
#list li:hover, #list li.sel { background: #e8f0fe; }
#main { flex: 1; overflow: auto; padding: 1em; }
.tag { display: inline-block; padding: 0 .4em; border-radius: .3em; font-size: .8em; margin-right: .3em; }
.exact { background: #c8f7c5; } .faithful { background: #e3f7c5; } .feasible { background: #f7efc5; }
.failed { background: #f7c5c5; }
.step { border: 1px solid #ddd; border-radius: .4em; margin: .8em 0; padding: .5em .8em; }
.step.rejected { border-color: #d33; }
pre { white-space: pre-wrap; background: #fafafa; padding: .5em; margin: .3em 0; font-size: .85em; }
.action { font-family: monospace; font-weight: bold; }
.reply { font-family: monospace; }
.verdict { padding: .6em; border-radius: .4em; margin-top: 1em; }
</style>
</head>
<body>
<div id="side">
  <div id="filters"></div>
  <div id="count"></div>
  <ul id="list"></ul>
</div>
<div id="main"><p>Choose a problem on the left.</p></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const state = {};
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  for (const f of DATA.filters) state[f] = h.get(f) || "";
  state.problem = h.get("problem") || "";
}
function writeHash() {
  const h = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v) h.set(k, v);
  history.replaceState(null, "", "#" + h.toString());
}
function buildFilters() {
  const box = document.getElementById("filters");
  box.replaceChildren();
  document.title = "ordebug trajectories: " + DATA.agent;
  for (const f of DATA.filters) {
    const values = [...new Set(DATA.problems.map(p => String(p[f])))].sort();
    box.appendChild(el("label", {for: "f_" + f}, f.replace("_", " ")));
    const sel = el("select", {id: "f_" + f, "data-filter": f});
    sel.appendChild(el("option", {value: ""}, "all"));
    for (const v of values) {
      const n = DATA.problems.filter(p => String(p[f]) === v).length;
      const o = el("option", {value: v}, v + " (" + n + ")");
      if (v === state[f]) o.selected = true;
      sel.appendChild(o);
    }
    sel.addEventListener("change", () => { state[f] = sel.value; writeHash(); renderList(); });
    box.appendChild(sel);
  }
}
function visible() {
  return DATA.problems.filter(p => DATA.filters.every(f => !state[f] || String(p[f]) === state[f]));
}
function renderList() {
  const list = document.getElementById("list");
  list.replaceChildren();
  const shown = visible();
  document.getElementById("count").textContent = shown.length + " of " + DATA.problems.length + " problems";
  for (const p of shown) {
    const li = el("li", {"data-problem": p.problem_id});
    li.appendChild(el("span", {class: "tag " + p.outcome}, p.outcome));
    li.appendChild(document.createTextNode(p.problem_id + " \u00b7 " + p.error_type + " \u00b7 " + p.family +
                                           " \u00b7 " + p.difficulty + " \u00b7 " + p.steps.length + " steps"));
    if (p.problem_id === state.problem) li.classList.add("sel");
    li.addEventListener("click", () => { state.problem = p.problem_id; writeHash(); renderList(); renderProblem(); });
    list.appendChild(li);
  }
}
function renderProblem() {
  const main = document.getElementById("main");
  const p = DATA.problems.find(x => x.problem_id === state.problem);
  if (!p) { main.replaceChildren(el("p", {}, "Choose a problem on the left.")); return; }
  main.replaceChildren();
  main.appendChild(el("h2", {id: "problem-title"}, p.problem_id));
  main.appendChild(el("p", {}, "type " + p.error_type + ", family " + p.family + ", difficulty " + p.difficulty +
                                ", tier " + p.tier + (p.root_cause ? "; injected fault repaired by " +
                                p.root_cause.join(", ") : "")));
  p.steps.forEach((s, i) => {
    const box = el("div", {class: "step" + (s.valid ? "" : " rejected"), "data-step": i + 1});
    box.appendChild(el("h3", {}, "Step " + (i + 1)));
    const obs = el("details", {class: "observation"});
    obs.appendChild(el("summary", {}, "Observation"));
    obs.appendChild(el("pre", {}, s.observation));
    box.appendChild(obs);
    box.appendChild(el("div", {}, "Think"));
    box.appendChild(el("pre", {class: "think"}, s.think));
    const a = el("div", {}, "Action: ");
    a.appendChild(el("span", {class: "action"}, s.action));
    box.appendChild(a);
    const r = el("div", {}, (s.valid ? "Environment: " : "Environment (rejected): "));
    r.appendChild(el("span", {class: "reply"}, s.reply));
    box.appendChild(r);
    main.appendChild(box);
  });
  const v = el("div", {class: "verdict " + p.outcome, id: "verdict"});
  const obj = p.objective === null || p.objective === undefined ? "none" : p.objective;
  v.textContent = "Verdict: " + p.outcome + (p.submitted ? " (submitted)" : " (not submitted)") +
                  "; objective " + obj + " vs original " + p.original_objective +
                  (p.failure_reason ? "; " + p.failure_reason : "");
  main.appendChild(v);
}
readHash();
buildFilters();
renderList();
renderProblem();
window.addEventListener("hashchange", () => { readHash(); buildFilters(); renderList(); renderProblem(); });
</script>
</body>
</html>
"""
