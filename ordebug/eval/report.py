"""Comparison table (Markdown + CSV) and plots (PNG) of every evaluated agent."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ordebug.eval.metrics import FAILURE_KINDS, KS, paired, steps_before_submit

COLUMNS = [
    ("agent", "agent"),
    ("problems", "problems"),
    ("rr@1", "RR@1"), ("rr@3", "RR@3"), ("rr@5", "RR@5"), ("rr@10", "RR@10"),
    ("faithful_rr@1", "fRR@1"), ("faithful_rr@3", "fRR@3"), ("faithful_rr@5", "fRR@5"), ("faithful_rr@10", "fRR@10"),
    ("exact_rr@5", "eRR@5"), ("exact_rr@10", "eRR@10"),
    ("feasible", "feasible"), ("faithful", "faithful"), ("exact", "exact"),
    ("diagnosis_accuracy", "diagnosis recall"),
    ("iis_precision", "IIS precision"),
    ("root_cause_accuracy", "root-cause acc."),
    ("constraints_kept", "constraints kept"),
    ("objective_preservation", "obj. preservation"),
    ("avg_steps_solved", "steps (solved)"),
    ("avg_edits_solved", "edits (solved)"),
    ("invalid_action_rate", "invalid actions"),
    ("tokens_per_solved", "tokens/solved"),
    ("cost_per_solved_usd", "$/solved"),
]


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def _cell(r: dict, k: str) -> str:
    """A value, with its 95% bootstrap interval where it is a rate that has one."""
    ci = (r.get("ci") or {}).get(k)
    if ci is None or r.get(k) is None:
        return _fmt(r.get(k))
    return f"{_fmt(r.get(k))} ({ci[0]:.2f}–{ci[1]:.2f})"


def rows(summaries: list[dict]) -> list[dict]:
    return [{"agent": s["agent"], **s["overall"]} for s in summaries]


def markdown_table(summaries: list[dict]) -> str:
    """Every metric per agent; a rate is followed by its 95% bootstrap interval over problems."""
    head = "| " + " | ".join(h for _, h in COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(_cell(r, k) for k, _ in COLUMNS) + " |" for r in rows(summaries)]
    return "\n".join([head, sep, *body])


PAIRED_METRICS = (("exact", "exact"), ("faithful", "faithful"), ("valid_action_rate", "valid actions"))


def paired_table(outcomes: dict[str, list[dict]], metrics: tuple = PAIRED_METRICS) -> str:
    """Every pair of agents on the problems both were scored on: rates, difference with its
    paired 95% bootstrap interval, problems only one of them got, sign-test p-value."""
    agents = [a for a, outs in outcomes.items() if outs]
    head = ("| metric | agent a | agent b | problems | a | b | a − b (95% CI) | only a | only b | p (sign test) |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    body = []
    for key, label in metrics:
        for i, a in enumerate(agents):
            for b in agents[i + 1:]:
                c = paired(outcomes[a], outcomes[b], key)
                if c is None:
                    continue
                body.append(f"| {label} | {a} | {b} | {c['problems']} | {c['a']:.3f} | {c['b']:.3f} | "
                            f"{c['diff']:+.3f} ({c['ci'][0]:+.2f} to {c['ci'][1]:+.2f}) | "
                            f"{c.get('a_only', '–')} | {c.get('b_only', '–')} | "
                            + (f"{c['p_value']:.3g}" if "p_value" in c else "–") + " |")
    return "\n".join([head, *body]) if body else ""


def type_table(summaries: list[dict], level: str = "faithful") -> str:
    """Success per error type at one level (``feasible``, ``faithful`` or ``exact``)."""
    types = sorted({t for s in summaries for t in s["by_error_type"]})
    head = f"| agent ({level}) | " + " | ".join(types) + " |"
    sep = "|---|" + "|".join("---" for _ in types) + "|"
    body = ["| " + s["agent"] + " | " + " | ".join(
        _cell(s["by_error_type"].get(t, {}), level) for t in types) + " |" for s in summaries]
    return "\n".join([head, sep, *body])


def failure_table(summaries: list[dict]) -> str:
    """How each agent's episodes ended: exact, or why not (counts; see ``failure_kind``)."""
    kinds = ("exact", *FAILURE_KINDS)
    head = "| agent | problems | " + " | ".join(kinds) + " |"
    sep = "|---|---|" + "|".join("---" for _ in kinds) + "|"
    body = []
    for s in summaries:
        f = s["overall"].get("failures")
        if f:
            body.append(f"| {s['agent']} | {s['overall']['problems']} | " + " | ".join(str(f.get(k, 0)) for k in kinds)
                        + " |")
    return "\n".join([head, sep, *body]) if body else ""


def failure_type_table(summaries: list[dict]) -> str:
    """Per error type and agent: exact repairs out of the type's problems, and the commonest
    way the others failed."""
    types = sorted({t for s in summaries for t in s["by_error_type"]})
    head = "| type | " + " | ".join(s["agent"] for s in summaries) + " |"
    sep = "|---|" + "|".join("---" for _ in summaries) + "|"
    body = []
    for t in types:
        cells = []
        for s in summaries:
            g = s["by_error_type"].get(t) or {}
            f = g.get("failures")
            if not f:
                cells.append("–")
                continue
            worst = max(FAILURE_KINDS, key=lambda k: f.get(k, 0))
            cell = f"{f.get('exact', 0)}/{g['problems']}"
            cells.append(cell + (f"; {worst} {f[worst]}" if f.get(worst) else ""))
        body.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *body])


def failed_answer_text(summaries: list[dict]) -> str:
    """The first answers each agent wrote instead of an action, quoted."""
    out = []
    for s in summaries:
        for ex in s.get("failed_answers") or []:
            text = ex["text"].replace("`", "'").replace("\n", "⏎")
            out.append(f"- **{s['agent']}**, {ex.get('error_type') or '?'} `{ex['problem_id']}` ({ex['kind']}): "
                       f"`{text}`")
    return "\n".join(out)


RUN_COLUMNS = ["agent", "dataset", "train / val samples", "model", "LoRA r / alpha", "lr", "epochs / steps",
               "eff. batch", "train loss", "eval loss", "resumed from", "faithful", "exact", "fRR@5",
               "base model faithful"]


def run_row(card: dict, summary: dict | None, base: dict | None = None) -> list[str]:
    """One fine-tuned run: its dataset, size and hyperparameters next to its scores, and the
    base model's (agent ``base_{run}``, "–" where ``eval.base`` does not list the run)."""
    hp, size, o = card["hyperparameters"], card["size"], (summary or {}).get("overall", {})
    b = (base or {}).get("overall", {})
    steps = f"{_fmt(hp.get('num_train_epochs'))} / {card.get('global_step')}"
    return [f"ft_{card['run']}", f"`{card['dataset']}` ({', '.join(card.get('used_sources', []))})",
            f"{size['train']['samples']} / {size['val']['samples']}", str(hp.get("model")),
            f"{hp.get('lora_rank')} / {_fmt(hp.get('lora_alpha'))}", f"{hp.get('learning_rate'):g}", steps,
            str(hp.get("effective_batch_size")), _fmt(card.get("train_loss")), _fmt(card.get("final_eval_loss")),
            card.get("resumed_from") or "–", _fmt(o.get("faithful")), _fmt(o.get("exact")),
            _fmt(o.get("faithful_rr@5")), _fmt(b.get("faithful")) if base else "–"]


def runs_table(cards: list[dict], summaries: list[dict]) -> str:
    """Markdown table of the fine-tuned runs (empty string without any)."""
    if not cards:
        return ""
    by_agent = {s["agent"]: s for s in summaries}
    head = "| " + " | ".join(RUN_COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in RUN_COLUMNS) + "|"
    body = ["| " + " | ".join(run_row(c, by_agent.get(f"ft_{c['run']}"), by_agent.get(f"base_{c['run']}"))) + " |"
            for c in cards]
    return "\n".join([head, sep, *body])


def loss_plot(curves: dict[str, list[dict]], titles: dict[str, str], path: str | Path) -> Path:
    """Train and validation loss per step, one panel per run, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    n = max(1, len(curves))
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.6), squeeze=False)
    if not curves:
        axes[0][0].text(0.5, 0.5, "no fine-tuned run evaluated\n(eval.finetuned is empty)", ha="center", va="center")
        axes[0][0].set_axis_off()
    for ax, (run, rows) in zip(axes[0], curves.items(), strict=False):
        train = [(r["step"], r["loss"]) for r in rows if r.get("loss") is not None]
        val = [(r["step"], r["eval_loss"]) for r in rows if r.get("eval_loss") is not None]
        if train:
            ax.plot(*zip(*train, strict=True), label="train loss")
        if val:
            ax.plot(*zip(*val, strict=True), marker="o", label="validation loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(titles.get(run, run), fontsize=9)
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def csv_text(summaries: list[dict]) -> str:
    """Every metric, and for each rate its 95% interval as ``{metric}_ci_lo`` / ``_ci_hi``."""
    rates = [k for k, _ in COLUMNS if any(k in (r.get("ci") or {}) for r in rows(summaries))]
    fields = [k for k, _ in COLUMNS] + [f"{k}_ci_{e}" for k in rates for e in ("lo", "hi")]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    for r in rows(summaries):
        ci = r.get("ci") or {}
        w.writerow({**r, **{f"{k}_ci_{e}": (ci.get(k) or [None, None])[i] for k in rates
                            for i, e in enumerate(("lo", "hi"))}})
    return buf.getvalue()


def _yerr(value: float, ci: list[float] | None) -> tuple[float, float]:
    """Error-bar lengths below and above a value from its interval (0 without one)."""
    if ci is None or value is None:
        return 0.0, 0.0
    return max(0.0, value - ci[0]), max(0.0, ci[1] - value)


def _save(plt: object, fig: object, path: Path) -> Path:
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, dpi=110)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[attr-defined]
    return path


def plots(summaries: list[dict], outcomes: dict[str, list[dict]], out_dir: str | Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    types = sorted({t for s in summaries for t in s["by_error_type"]})
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(summaries))
    for i, s in enumerate(summaries):
        cells = [s["by_error_type"].get(t, {}) for t in types]
        vals = [c.get("faithful") or 0.0 for c in cells]
        err = list(zip(*[_yerr(v, (c.get("ci") or {}).get("faithful")) for v, c in zip(vals, cells, strict=True)],
                       strict=True)) if cells else None
        ax.bar([x + i * width for x in range(len(types))], vals, width, label=s["agent"], yerr=err, capsize=2,
               error_kw={"elinewidth": 0.8})
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(types))], types)
    ax.set_ylabel("faithful repairs")
    ax.set_xlabel("error type")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Faithful recovery by error type (95% bootstrap CI)")
    paths["success_by_type"] = _save(plt, fig, out / "success_by_type.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in summaries:
        vals = [s["overall"].get(f"faithful_rr@{k}") or 0 for k in KS]
        err = list(zip(*[_yerr(v, (s["overall"].get("ci") or {}).get(f"faithful_rr@{k}"))
                         for v, k in zip(vals, KS, strict=True)], strict=True))
        ax.errorbar(KS, vals, yerr=err, marker="o", capsize=3, label=f"{s['agent']} faithful (95% CI)")
        ax.plot(KS, [s["overall"].get(f"rr@{k}", 0) for k in KS], marker=".", linestyle="--", alpha=0.6,
                label=f"{s['agent']} feasible")
    ax.set_xlabel("k (steps)")
    ax.set_ylabel("recovery rate")
    ax.set_ylim(0, 1)
    ax.set_xticks(KS)
    ax.legend(fontsize=7)
    ax.set_title("RR@k")
    paths["rr_at_k"] = _save(plt, fig, out / "rr_at_k.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, outs in outcomes.items():
        steps = [steps_before_submit(o) for o in outs]
        ax.hist(steps, bins=range(0, 13), alpha=0.5, label=name)
    ax.set_xlabel("steps per episode")
    ax.set_ylabel("problems")
    ax.legend(fontsize=8)
    ax.set_title("Steps per episode")
    paths["steps_hist"] = _save(plt, fig, out / "steps_hist.png")
    return paths
