"""Benchmark records: the specification as the source of truth, determinism, opaque ids,
schema, stratified slots, split disjointness, the drop-first-IIS baseline and the name-only
leak probe."""

from __future__ import annotations

import hashlib
import re

import jsonlines
import pytest
from conftest import small_config

from ordebug.bench.generate import BenchSpec, content_id, generate_problem, problem_id, slot
from ordebug.bench.leak import probe
from ordebug.bench.shards import generate_problems, n_shards, pool_slots, shard_indices, write_jsonl_atomic
from ordebug.bench.summary import drop_first_iis, summarize
from ordebug.faults.taxonomy import ERROR_TYPES
from ordebug.models import FAMILIES, build_from_sheet
from ordebug.models.datasheet import DataSheet, parse_tables
from ordebug.solver import read_model_text
from ordebug.solver.lpformat import write_lp
from ordebug.solver.spec import canonical_order

RECORD_KEYS = {
    "problem_id", "split", "index", "family", "error_type", "difficulty", "objective_sense",
    "original_objective", "n_variables", "n_constraints", "is_mip", "model", "original_model",
    "ground_truth", "iis", "spec", "tier", "bench_version",
}


def test_record_schema(sample):
    for rec in sample:
        assert set(rec) >= RECORD_KEYS
        assert rec["error_type"] in ERROR_TYPES and rec["family"] in FAMILIES
        assert rec["difficulty"] in ("easy", "medium", "hard")
        assert rec["objective_sense"] in ("minimize", "maximize")
        gt = rec["ground_truth"]
        assert gt["fixes"] and len(gt["roots_per_fault"]) == len(gt["fault_kinds"]) == len(gt["spec_sources"])
        assert gt["root_cause"] == [r for group in gt["roots_per_fault"] for r in group]
        assert len(gt["fixes"]) >= len(gt["root_cause"])
        for fix in gt["fixes"]:
            assert re.match(r"^[A-Z_]+\(.*\)$", fix)
        assert rec["spec"]["text"] and rec["spec"]["tables"] and rec["spec"]["rules"]


def test_the_original_model_is_what_the_specification_says(sample):
    """The data sheet is the single source of truth: building from the stored sheet gives the
    original model exactly, and the printed sheet parses back to the same tables."""
    for rec in sample:
        sheet = DataSheet.from_json(rec["spec"])
        built = canonical_order(build_from_sheet(sheet).spec)
        built.name = rec["problem_id"]
        order = list(read_model_text(rec["original_model"]).rows)  # the record's family order
        assert sorted(order) == sorted(built.rows)
        built.rows = {r: built.rows[r] for r in order}
        assert write_lp(built) == rec["original_model"]
        printed = parse_tables(rec["spec"]["text"])
        assert {n: t.values for n, t in printed.items()} == {n: t.values for n, t in sheet.tables.items()}


def test_rows_are_grouped_by_family_in_an_order_drawn_per_problem(sample):
    """A record writes each family's rows together, families in an order drawn per problem, and
    lists its IIS rows in that order: no family name puts its rows first everywhere."""
    from ordebug.bench.leak import row_names

    firsts: dict[str, set[str]] = {}
    for rec in sample:
        names = row_names(rec["model"])
        fams = [n.split("(")[0] for n in names]
        runs = [f for i, f in enumerate(fams) if i == 0 or f != fams[i - 1]]
        assert len(runs) == len(set(runs)), rec["problem_id"]  # each family in one block
        position = {n: i for i, n in enumerate(names)}
        assert rec["iis"]["constraints"] == sorted(rec["iis"]["constraints"], key=position.__getitem__)
        firsts.setdefault(rec["family"], set()).add(runs[0])
    assert sum(len(f) > 1 for f in firsts.values()) >= len(firsts) // 2, firsts


def test_every_fix_value_is_stated_in_the_specification(sample):
    """A value fault's source entry holds the fix value; the wrong bound or right-hand side stays
    in its table's range."""
    checked = 0
    for rec in sample:
        sheet = DataSheet.from_json(rec["spec"])
        b = read_model_text(rec["model"])
        truth = rec["ground_truth"]
        for src, kind, roots in zip(truth["spec_sources"], truth["fault_kinds"], truth["roots_per_fault"], strict=True):
            if "[" not in src or kind.split(":")[0] not in ("rhs", "bound", "coef"):
                continue
            tname, key = src[:-1].split("[")
            table = sheet.tables[tname]
            want = table.num(*key.split(","))
            assert any(f"{want:g}" in fix or f", {int(want)})" in fix for fix in rec["ground_truth"]["fixes"]), rec
            vals = [float(v) for v in table.values.values()]
            root = roots[0]
            wrong = (b.vars[root["name"]].ub if root["kind"] == "bound"
                     else b.rows[root["name"]].bound if kind.split(":")[0] == "rhs" else None)
            if wrong is not None and len(vals) >= 3:
                assert min(vals) / 1.25 <= wrong <= max(vals) * 1.25
            checked += 1
    assert checked >= 10


def test_ids_are_opaque_and_splits_disjoint(bench_spec, sample):
    train = {r["problem_id"] for r in sample[:9]}  # the sample is train[0..80] of bench_spec
    test = {generate_problem(bench_spec, "test", i)["problem_id"] for i in range(3)}
    assert not train & test
    for pid in train | test:
        assert re.fullmatch(r"odb_[0-9a-f]{12}", pid)


def test_ids_hash_the_content_and_types_are_stratified(sample, bench_spec):
    for rec in sample:
        assert rec["problem_id"] == content_id(rec["model"], rec["spec"]["text"])
        assert rec["problem_id"] in rec["model"].splitlines()[0]
    # every 9 slots hold each type once, in a seeded order; within a type the families that
    # can carry it take turns, so each (type, family) cell comes up equally often
    n = 9 * 9 * 8 * 7 * 5
    cells = [slot(bench_spec, "train", i)[:2] for i in range(0, n, 7)] + [
        slot(bench_spec, "train", i)[:2] for i in range(n) if i % 7]
    counts = {c: cells.count(c) for c in set(cells)}
    assert set(counts) == set(bench_spec.cells())
    for t in ERROR_TYPES:
        per_family = [v for (tt, _), v in counts.items() if tt == t]
        assert max(per_family) - min(per_family) <= 1 and sum(per_family) == n // 9
    types = [slot(bench_spec, "train", i)[0] for i in range(9)]
    assert sorted(types) == sorted(ERROR_TYPES) and types != list(ERROR_TYPES)
    assert [slot(bench_spec, "train", i) for i in range(20)] == [slot(bench_spec, "train", i) for i in range(20)]


def test_difficulty_mix_follows_the_weights():
    """Two-fault types are always hard; the one-fault slots make up for it so that the whole
    split follows the configured weights."""
    spec = BenchSpec(seed=3, difficulty_weights={"easy": 1.0, "medium": 1.0, "hard": 1.0})
    targets = [slot(spec, "test", i)[2] for i in range(900)]
    for d in ("easy", "medium", "hard"):
        assert abs(targets.count(d) / 900 - 1 / 3) < 0.05
    heavy = BenchSpec(seed=3, difficulty_weights={"easy": 0.0, "medium": 0.0, "hard": 1.0})
    assert {slot(heavy, "test", i)[2] for i in range(200)} == {"hard"}


def test_nothing_an_agent_sees_names_the_error(sample):
    words = ["saboteur", "error", "inject", "fault", "typeA", "wrong", "broken", *ERROR_TYPES.values()]
    for rec in sample:
        text = rec["model"].lower()
        assert not any(w.lower() in text for w in words)
        assert rec["family"] not in rec["problem_id"]


def test_same_seed_same_bytes(tmp_path, bench_spec, sample):
    """A shard made here is byte for byte the session's sample (made in another process, or
    another xdist worker); a problem does not depend on what was generated before it in the
    process; another seed gives other problems."""
    cfg = dict(small_config(shard_size=4, seed=bench_spec.seed)["bench"], n_train=len(sample))
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl_atomic(a, generate_problems(cfg, "train", 0))
    write_jsonl_atomic(b, sample[:4])
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    with jsonlines.open(a) as rows:
        assert list(rows)[3] == sample[3]
    assert generate_problem(bench_spec, "train", 7) == sample[7]  # out of order, in this process
    other = generate_problem(BenchSpec(seed=bench_spec.seed + 1), "train", 0)
    assert other["problem_id"] != sample[0]["problem_id"] and other["model"] != sample[0]["model"]


def test_shard_ranges():
    cfg = {"n_train": 10, "n_test": 4, "shard_size": 4, "seed": 1, "error_types": list(ERROR_TYPES),
           "families": list(FAMILIES), "difficulty_weights": {"easy": 1.0}}
    assert n_shards(cfg, "train") == 3
    assert list(shard_indices(cfg, "train", 2)) == [8, 9]
    with pytest.raises(ValueError):
        shard_indices(cfg, "train", 3)


def test_the_pool_draws_more_of_each_type():
    """The pool of a split holds every slot the split keeps and ``pool_factor`` (or the type's
    own factor) times as many of each type, in slot order, cut into shards."""
    cfg = {"n_train": 18, "n_test": 9, "shard_size": 10, "seed": 1, "error_types": list(ERROR_TYPES),
           "families": list(FAMILIES), "difficulty_weights": {"easy": 1.0},
           "filter": {"pool_factor": 2.0, "type_factor": {"B": 3.0}}}
    slots = pool_slots(cfg, "train")
    types = [slot(BenchSpec(seed=1), "train", i)[0] for i in slots]
    assert set(range(18)) <= set(slots) and slots == sorted(slots)
    assert types.count("B") == 6 and all(types.count(t) == 4 for t in ERROR_TYPES if t != "B")
    assert n_shards(cfg, "train", pool=True) == 4
    assert [i for s in range(4) for i in shard_indices(cfg, "train", s, pool=True)] == slots


def test_interrupted_write_leaves_nothing_behind(tmp_path):
    def records():
        yield {"a": 1}
        raise KeyboardInterrupt

    target = tmp_path / "shard_000.jsonl"
    with pytest.raises(KeyboardInterrupt):
        write_jsonl_atomic(target, records())
    assert list(tmp_path.iterdir()) == []
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        write_jsonl_atomic(target, records())
    assert target.read_text() == "old\n"


def test_drop_first_iis_rarely_faithful(sample):
    """The public benchmark's drop-first-IIS baseline recovers 99.5%; ours must stay <= 15%."""
    res = [drop_first_iis(r) for r in sample]
    faithful = sum(r["faithful"] for r in res) / len(res)
    assert faithful <= 0.15
    summary = summarize(sample)
    assert summary["drop_first_iis"]["faithful_rate"] == pytest.approx(faithful)
    assert summary["n"] == len(sample)


def test_opaque_ids_depend_only_on_content():
    assert problem_id("m", "s") == problem_id("m", "s")
    assert problem_id("m", "s") != problem_id("m2", "s") != problem_id("m", "s2")


def test_bench_spec_rejects_unknown_names():
    with pytest.raises(ValueError, match="'Z'"):
        BenchSpec(error_types=["A", "Z"])
    with pytest.raises(ValueError, match="warehouse"):
        BenchSpec(families=["warehouse"])


@pytest.fixture(scope="module")
def probe_sets(sample):
    """The session's sample in two halves that each hold every type (it is stratified by index):
    generating a set of its own cost more than any other fixture. Every build measures the same
    probe on its 1,000 train and 250 test problems (``data/bench/summary.json``)."""
    return sample[0::2], sample[1::2]


@pytest.mark.slow
def test_name_probe_is_no_better_than_chance(probe_sets):
    """A name-frequency model trained on train problems cannot pick the faulty IIS row
    of test problems better than chance (within sampling noise)."""
    result = probe(*probe_sets)
    assert result["problems"] >= 25
    assert result["accuracy"] <= result["chance"] + 0.17, result  # 25+ problems: two standard errors


@pytest.mark.slow
def test_probe_detects_a_leaky_naming_scheme(probe_sets):
    """The probe is not blind: rename every faulty row to a unique telltale name and it finds it."""
    def leaky(recs):
        out = []
        for r in recs:
            r = dict(r, ground_truth=dict(r["ground_truth"]), iis=dict(r["iis"]))
            for root in r["ground_truth"]["root_cause"]:
                if root["kind"] == "constraint" and root["name"] in r["iis"]["constraints"]:
                    new = "_saboteur_conflict_c3"
                    r["model"] = r["model"].replace(f" {root['name']}:", f" {new}:")
                    r["iis"]["constraints"] = [new if c == root["name"] else c for c in r["iis"]["constraints"]]
                    r["ground_truth"]["root_cause"] = [dict(root, name=new)]
            out.append(r)
        return out

    train, test = probe_sets
    result = probe(leaky(train), leaky(test))
    assert result["accuracy"] >= result["chance"] + 0.3, result


def test_pool_cost_accounts_time_by_type_and_tier():
    from ordebug.bench.summary import pool_cost

    tables = [{"error_type": "A", "tier": "small", "seconds": {"generate": 6.0, "table": 1.0}},
              {"error_type": "A", "tier": "small", "seconds": {"generate": 2.0, "table": 1.0}},
              {"error_type": "B", "tier": "large", "seconds": {"generate": 9.0, "table": 1.0}},
              {"error_type": "C", "tier": "small"}]  # (a table from before seconds were recorded)
    cost = pool_cost(tables)
    assert cost["A"] == {"problems": 2, "generate_s": 8.0, "table_s": 2.0, "per_problem_s": 5.0, "share": 0.5}
    assert cost["tier:large"]["problems"] == 1 and cost["all"]["share"] == 1.0 and "C" not in cost
    assert pool_cost([]) == {}
