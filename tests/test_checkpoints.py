"""Resumable training without training: complete and incomplete checkpoints, fingerprints,
stale work kept aside, the loss curve across a resume, and the run card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ordebug.training import checkpoints as ckpt
from ordebug.training.curves import curve_csv, curve_rows, read_curve


def make_checkpoint(work: Path, step: int, complete: bool = True, state_step: int | None = None) -> Path:
    d = work / f"checkpoint-{step}"
    d.mkdir(parents=True)
    (d / "adapter_model.safetensors").write_bytes(b"w")
    (d / "optimizer.pt").write_bytes(b"o")
    if complete:
        (d / "trainer_state.json").write_text(json.dumps({"global_step": state_step or step}))
    return d


def test_newest_complete_checkpoint_skips_incomplete_and_inconsistent_ones(tmp_path):
    make_checkpoint(tmp_path, 4)
    make_checkpoint(tmp_path, 8)
    make_checkpoint(tmp_path, 12, complete=False)  # killed while saving: no trainer state yet
    make_checkpoint(tmp_path, 16, state_step=15)  # a state that is not this checkpoint's
    (tmp_path / "checkpoint-20").mkdir()
    (tmp_path / "checkpoint-20" / "trainer_state.json").write_text('{"global_st')  # cut mid-write
    assert ckpt.newest_complete(tmp_path).name == "checkpoint-8"
    assert ckpt.checkpoint_step(tmp_path / "checkpoint-12") is None
    assert ckpt.newest_complete(tmp_path / "none") is None


def test_prepare_resumes_same_fingerprint_and_sets_incomplete_aside(tmp_path):
    work = tmp_path / "checkpoints"
    assert ckpt.prepare(work, "fp1") == (None, [])
    make_checkpoint(work, 4)
    make_checkpoint(work, 8, complete=False)
    (work / "trainer_log.jsonl").write_text('{"current_steps": 5}\n')
    start, notes = ckpt.prepare(work, "fp1")
    assert start == work / "checkpoint-4"
    assert any("incomplete checkpoint-8" in n for n in notes)
    assert not (work / "checkpoint-8").exists()  # the Trainer would pick it up as the last one
    assert [p.name for p in work.glob("checkpoint-8.incomplete-*")]  # kept, not deleted
    assert (work / "trainer_log.jsonl").exists()  # the loss log continues


def test_other_settings_or_data_never_resume_and_nothing_is_deleted(tmp_path):
    work = tmp_path / "checkpoints"
    ckpt.prepare(work, "fp1")
    make_checkpoint(work, 4)
    start, notes = ckpt.prepare(work, "fp2")
    assert start is None and "settings or data changed (fp1 -> fp2)" in notes[0]
    stale = list(tmp_path.glob("checkpoints.stale-*"))
    assert len(stale) == 1 and (stale[0] / "checkpoint-4" / "trainer_state.json").is_file()
    assert json.loads((work / ckpt.FINGERPRINT).read_text())["fingerprint"] == "fp2"
    make_checkpoint(work, 4)
    start, notes = ckpt.prepare(work, "fp2", resume=False)
    assert start is None and "resume is off" in notes[0]
    assert len(list(tmp_path.glob("checkpoints.previous-*"))) == 1


def test_leftovers_without_a_checkpoint_are_moved_aside(tmp_path):
    """A first attempt killed before its first checkpoint: the Trainer must start in a clean folder."""
    work = tmp_path / "checkpoints"
    ckpt.prepare(work, "fp")
    ckpt.record_attempt(work, {"resumed_from": None})
    (work / "adapter_model.safetensors").write_bytes(b"half")
    start, notes = ckpt.prepare(work, "fp")
    assert start is None and "leftovers" in notes[0]
    assert sorted(p.name for p in work.iterdir()) == [ckpt.ATTEMPTS, ckpt.FINGERPRINT]
    assert len(list(tmp_path.glob("checkpoints.unfinished-*"))) == 1


def test_fingerprint_follows_settings_and_data_not_output_dir(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"a": 1}\n')
    cfg = {"learning_rate": 1e-4, "output_dir": "a"}
    fp = ckpt.fingerprint(cfg, [data])
    assert fp == ckpt.fingerprint({**cfg, "output_dir": "b", "resume_from_checkpoint": "x"}, [data])
    assert fp != ckpt.fingerprint({**cfg, "learning_rate": 2e-4}, [data])
    data.write_text('{"a": 2}\n')
    assert fp != ckpt.fingerprint(cfg, [data])


def test_completed_marker_is_per_fingerprint(tmp_path):
    ckpt.mark_completed(tmp_path, "fp", 12)
    assert ckpt.completed(tmp_path, "fp") and not ckpt.completed(tmp_path, "other")


def test_loss_curve_has_each_step_once_with_train_and_validation_loss(tmp_path):
    history = [{"loss": 6.9, "learning_rate": 1e-3, "epoch": 0.1, "step": 1},
               {"loss": 6.5, "epoch": 0.2, "step": 2},
               {"eval_loss": 6.4, "epoch": 0.2, "step": 2},
               {"train_runtime": 3.0, "step": 2}]
    rows = curve_rows(history)
    assert [r["step"] for r in rows] == [1, 2]
    assert rows[1]["loss"] == 6.5 and rows[1]["eval_loss"] == 6.4 and "eval_loss" not in rows[0]
    p = tmp_path / "loss.csv"
    p.write_text(curve_csv(rows))
    back = read_curve(p)
    assert back[0]["eval_loss"] is None and back[1]["eval_loss"] == pytest.approx(6.4) and back[1]["step"] == 2
