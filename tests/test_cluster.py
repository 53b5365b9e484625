"""Cluster placement without a cluster: a parked slurm.conf fails fast, and the rules'
resources agree with what the Slurm profiles ask for."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT

from ordebug.perf import _stopped_controller_conf

MINIMAL_CONF = """ClusterName=t
SlurmctldHost=localhost
AuthType=auth/munge
NodeName=localhost CPUs=1
PartitionName=cpu Nodes=localhost Default=YES
"""


def test_parked_slurm_conf_makes_scontrol_fail_at_once(tmp_path: Path):
    """What `slurm_cluster.sh stop` leaves: the plugin's import-time `scontrol show config`
    gets its answer (no controller) at once instead of after ~9 s of retries."""
    if shutil.which("scontrol") is None:
        pytest.skip("Slurm's tools are not installed")
    src = tmp_path / "slurm.conf"
    src.write_text(MINIMAL_CONF)
    conf = _stopped_controller_conf(src, tmp_path / "parked.conf", parked=True)
    text = conf.read_text()
    assert text.count("MessageTimeout=1") == 1 and "SlurmctldPort=" in text
    subprocess.run(["bash", str(ROOT / "scripts" / "ci" / "slurm_cluster.sh"), "park", str(conf)], check=True)
    assert conf.read_text().count("MessageTimeout=1") == 1  # parking twice changes nothing
    start = time.perf_counter()
    r = subprocess.run(["scontrol", "show", "config"], env={"SLURM_CONF": str(conf), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=30)
    assert time.perf_counter() - start < 3
    assert r.returncode != 0 and "Unable to contact slurm controller" in r.stdout + r.stderr
