"""The trajectory viewer, rendered by a real headless Chromium (Debian's ``chromium``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import small_config

from ordebug.bench.shards import generate_problems, write_jsonl_atomic
from ordebug.collect.shard import CollectConfig, collect_shard
from ordebug.viewer.page import build_viewer, outcome_label

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Path, list[dict]]:
    d = tmp_path_factory.mktemp("viewer")
    shard = d / "shard.jsonl"
    write_jsonl_atomic(shard, generate_problems(small_config(n_train=9, shard_size=9, seed=5)["bench"], "train", 0))
    for agent in ("heuristic", "random"):
        collect_shard(shard, d / f"{agent}.s.jsonl", d / f"{agent}.o.jsonl", d / f"{agent}.j.jsonl",
                      CollectConfig(agent), trajectories_out=d / f"{agent}.t.jsonl")
    trajectories = [json.loads(x) for a in ("heuristic", "random")
                    for x in (d / f"{a}.t.jsonl").read_text().splitlines()]
    for t in trajectories:  # the two agents' records of one problem share an id: tell them apart
        t["problem_id"] = f"{t['problem_id']}-{t['agent']}"
    (d / "all.t.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trajectories))
    # a hostile string in a reply must be shown as text, never run
    trajectories[0]["steps"][0]["reply"] = "</script><img src=x onerror=alert(1)>"
    (d / "all.t.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trajectories))
    out = d / "viewer.html"
    assert build_viewer([d / "all.t.jsonl"], out, "mixed") == 18
    return out, trajectories


class Dom(HTMLParser):
    """Text by element id/class, and the list items' problem ids."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict] = []
        self.items: list[str] = []
        self.texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "li" and "data-problem" in a:
            self.items.append(a["data-problem"])
        if tag not in ("meta", "br", "img", "input"):
            self.stack.append(a)

    def handle_endtag(self, tag):
        if self.stack and tag not in ("meta", "br", "img", "input"):
            self.stack.pop()

    def handle_data(self, data):
        for a in self.stack:
            for key in (a.get("id"), *(a.get("class") or "").split()):
                if key:
                    self.texts.setdefault(key, []).append(data)


def render(path: Path, fragment: str) -> Dom:
    res = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          f"file://{path}#{fragment}"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    dom = Dom()
    dom.feed(res.stdout)
    return dom


def test_filters_list_exactly_the_matching_problems(page):
    path, trajs = page
    t = next(x for x in trajs if outcome_label(x) == "exact")
    want = [x["problem_id"] for x in trajs if x["error_type"] == t["error_type"] and outcome_label(x) == "exact"]
    dom = render(path, f"error_type={t['error_type']}&outcome=exact")
    assert dom.items == want
    assert "".join(dom.texts["count"]) == f"{len(want)} of 18 problems"
    everything = render(path, "")
    assert everything.items == [x["problem_id"] for x in trajs]


def test_a_problem_shows_each_step_and_the_verdict(page):
    path, trajs = page
    t = max(trajs, key=lambda x: len(x["steps"]))
    dom = render(path, f"family={t['family']}&problem={t['problem_id']}")
    assert "".join(dom.texts["problem-title"]) == t["problem_id"]
    assert dom.texts["action"] == [s["action"] for s in t["steps"]]
    thinks = "".join(dom.texts["think"])
    assert all(re.sub(r"\s+", " ", s["answer"].split("</think>")[0][8:].strip())[:60] in re.sub(r"\s+", " ", thinks)
               for s in t["steps"])
    assert "".join(dom.texts["reply"]).startswith(t["steps"][0]["reply"][:20])
    assert len(dom.texts["observation"]) >= len(t["steps"])  # one (collapsed) observation per step
    verdict = "".join(dom.texts["verdict"])
    assert verdict.startswith(f"Verdict: {outcome_label(t)}")
    assert (t["failure_reason"] or "") in verdict


def test_trajectory_text_cannot_inject_markup(page):
    path, trajs = page
    dom = render(path, f"problem={trajs[0]['problem_id']}")
    assert "</script><img src=x onerror=alert(1)>" in "".join(dom.texts["reply"])
    assert "img" not in {tag for tag in re.findall(r"<(\w+)", path.read_text().split('id="data">')[0])}
