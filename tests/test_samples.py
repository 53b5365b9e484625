"""Only good steps become samples: SUBMIT at the success level, no rejected, repeated or
after-repair steps, and what is left must replay to the same verdict."""

from __future__ import annotations

import pytest

from ordebug.agents.base import answer
from ordebug.agents.heuristic import HeuristicAgent
from ordebug.agents.view import parse_observation
from ordebug.collect.episode import run_episode
from ordebug.collect.samples import Lineage, good_steps, replay_samples, select_samples
from ordebug.env.environment import EnvConfig

LINEAGE = Lineage("clumsy", None, "p" * 12, "c" * 12)


@pytest.fixture(scope="module")
def solvable(sample) -> dict:
    """A problem the heuristic repairs exactly in a few steps."""
    for p in sample:
        ep = run_episode(HeuristicAgent(), p)
        if ep.outcome.get("exact") and ep.outcome["submitted"] and 2 <= len(ep.steps) <= 5:
            return p
    raise AssertionError("no exactly repaired problem in the sample")


class Clumsy:
    """The heuristic with detours: a rejected action, a repeated look-up, a step after the repair."""

    name = "clumsy"

    def __init__(self, detours: tuple[str, ...] = ("reject", "repeat", "after")) -> None:
        self.inner = HeuristicAgent()
        self.detours = detours

    def reset(self, seed: int = 0) -> None:
        self.inner.reset(seed)
        self.n = 0
        self.looked_after = False

    def act(self, observation: str) -> str:
        self.n += 1
        v = parse_observation(observation)
        row = v.iis_rows[0].name if v.iis_rows else None
        if self.n == 1 and "reject" in self.detours:
            return answer(["Drop the whole family."], "DROP_CONSTRAINT(output_definition)")
        if self.n in (2, 3) and "repeat" in self.detours and row:
            return answer([f"Look at {row}."], f"CHECK_SLACK({row})")
        text = self.inner.act(observation)
        if text.endswith("SUBMIT()") and "after" in self.detours and not self.looked_after:
            self.looked_after = True
            return answer(["One more look before submitting."], "GET_IIS()")
        return text


def test_rejected_repeated_and_after_repair_steps_are_dropped_and_the_rest_replays(solvable):
    ep = run_episode(Clumsy(), solvable)
    assert ep.outcome["exact"] and ep.outcome["submitted"]
    assert not ep.steps[0].valid and "output_definition" in ep.steps[0].reply
    samples, drops = select_samples(ep, "exact", LINEAGE, EnvConfig())
    assert drops == {"rejected step": 1, "repeated no-op step": 1, "step after the repair": 1}
    assert len(samples) == len(ep.steps) - 3
    actions = [s["output"].rsplit("Action: ", 1)[1] for s in samples]
    assert "GET_IIS()" not in actions and actions[-1] == "SUBMIT()"
    assert not any("output_definition" in s["input"] for s in samples)  # the replayed history has no detour
    assert replay_samples(samples, {solvable["problem_id"]: solvable}) == []
    assert samples[0]["metadata"]["config_hash"] == "c" * 12
    assert samples[0]["metadata"]["bench_version"] == solvable["bench_version"]


def test_a_clean_trajectory_keeps_every_step(solvable):
    ep = run_episode(HeuristicAgent(), solvable)
    steps, drops = good_steps(ep.steps)
    assert steps == ep.steps and not drops
    samples, _ = select_samples(ep, "exact", LINEAGE, EnvConfig())
    assert [s["input"] for s in samples] == [s.observation for s in ep.steps]


class Looker:
    name = "looker"

    def reset(self, seed: int = 0) -> None:
        pass

    def act(self, observation: str) -> str:
        return answer(["Look again."], "GET_IIS()")


def test_no_submit_no_samples_even_if_repaired(solvable):
    ep = run_episode(Looker(), solvable, EnvConfig(max_steps=3))
    assert not ep.outcome["submitted"]
    samples, drops = select_samples(ep, "feasible", LINEAGE, EnvConfig())
    assert samples == [] and drops == {"trajectory: no SUBMIT()": 1}


def test_replay_check_catches_a_forged_sample(solvable):
    ep = run_episode(HeuristicAgent(), solvable)
    samples, _ = select_samples(ep, "exact", LINEAGE, EnvConfig())
    forged = [dict(s) for s in samples]
    forged[0] = {**forged[0], "output": forged[0]["output"].rsplit("Action: ", 1)[0] + "Action: DROP_CONSTRAINT(zz)"}
    assert replay_samples(forged, {solvable["problem_id"]: solvable})


THINK = ("Step 1: The model is infeasible; the conflict (IIS) is committed(plant_2), meet_demand(store_1), "
         "carrier_contract(plant_3) and 5 more.\n"
         "Step 2: committed rows follow R6, which lists plant_1 only: committed(plant_2) is a rule the "
         "specification lacks.\n"
         "Step 3: Deleting it is the repair here.")


def test_trim_think_drops_the_restatement_before_the_diagnosis():
    """A short budget keeps the diagnosis and the decision (what the action follows from), not
    the opening restatement of the conflict, which small models learned to repeat forever."""
    from ordebug.answer import trim_think

    assert trim_think(THINK, None) == THINK and trim_think(THINK, len(THINK)) == THINK
    kept = trim_think(THINK, 200)
    assert kept.startswith("Step 1: committed rows follow R6")
    assert kept.endswith("Step 2: Deleting it is the repair here.")
    assert "meet_demand" not in kept and len(kept) <= 200
    cut = trim_think(THINK, 100)  # the last two lines never go: the diagnosis is cut at a word instead
    assert cut.startswith("Step 1: committed rows follow R6") and cut.endswith(" ...") and len(cut) <= 104
    prose = "I looked at every row. " * 20 + "\nThe bound of x is 5 in the sheet."
    assert trim_think(prose, 120).startswith("I looked")  # two paragraphs: both kept, the first cut
    assert trim_think("a\nb\nc\nd", 3) == "c\nd"


def test_format_output_trims_and_writes_the_canonical_action():
    from ordebug.actions import parse_action
    from ordebug.collect.sft import format_output

    out = format_output(f"<think>\n{THINK}\n</think>\nAction:  DROP_CONSTRAINT( committed(plant_2) )",
                        parse_action("DROP_CONSTRAINT(committed(plant_2))"), 200)
    assert out.startswith("<think>\nStep 1: committed rows") and "meet_demand" not in out
    assert out.endswith("</think>\n\nAction: DROP_CONSTRAINT(committed(plant_2))")
