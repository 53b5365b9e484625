#!/usr/bin/env bash
# A real single-node Slurm cluster (munge + slurmctld + slurmd) with `cpu` and `gpu`
# partitions, for the tests and CI. Needs root. Usage: slurm_cluster.sh start|stop|status|park CONF
# `stop` parks slurm.conf (see park): with the daemons gone, Slurm's tools then fail at once
# instead of retrying for ~9 s, which every local `snakemake` call would otherwise wait for
# (the Slurm executor plugin runs `scontrol show config` when Snakemake imports it).
set -euo pipefail
STATE=${ORDEBUG_SLURM_DIR:-/tmp/ordebug-slurm}
CONF=/etc/slurm/slurm.conf

install() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
}

start() {
  install
  if sinfo -h >/dev/null 2>&1 && scontrol ping 2>/dev/null | grep -q UP; then
    unpark "$CONF"
    echo "slurm already running"; return 0
  fi
  mkdir -p "$STATE"/{spool,state,log} /run/munge /etc/slurm
  [ -f /etc/munge/munge.key ] || mungekey -c
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  pgrep -x munged >/dev/null || runuser -u munge -- munged
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  cat > "$CONF" <<CONF
ClusterName=ordebug
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmUser=root
SlurmdUser=root
ReturnToService=2
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
MinJobAge=3600
MpiDefault=none
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host Default=NO MaxTime=INFINITE State=UP
CONF
  slurmctld
  slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o "%P %a" 2>/dev/null | grep -q "gpu up"; then
      scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
      sinfo
      return 0
    fi
    sleep 0.5
  done
  echo "slurm did not come up; logs in $STATE/log" >&2
  return 1
}

# Rewrite a slurm.conf for a stopped controller: MessageTimeout=1 makes scontrol/squeue give up
# after one try ("Unable to contact slurm controller") instead of ~9 s of retries. `start`
# writes the full configuration again.
park() {
  local conf=$1
  [ -f "$conf" ] || return 0
  sed -i '/^MessageTimeout=/d; /^# parked by slurm_cluster.sh/d' "$conf"
  printf '# parked by slurm_cluster.sh stop: the controller is not running\nMessageTimeout=1\n' >> "$conf"
}

# Undo park: a running controller must get the default timeouts (with MessageTimeout=1 a busy
# slurmctld makes `scontrol show config` fail, and the Slurm plugin then falls back to sacct,
# which this cluster does not have, and waits forever).
unpark() {
  [ -f "$1" ] && sed -i '/^MessageTimeout=1$/d; /^# parked by slurm_cluster.sh/d' "$1"
  return 0
}

stop() {
  # only our own cluster's daemons, by their pid files
  local f pid
  for f in "$STATE/slurmd.pid" "$STATE/slurmctld.pid"; do
    if [ -f "$f" ] && pid=$(cat "$f") && [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  done
  for _ in $(seq 1 20); do
    pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
    sleep 0.25
  done
  if pgrep -x slurmctld >/dev/null; then
    echo "a slurmctld not started by this script is still running: slurm.conf left as it is" >&2
  else
    park "$CONF"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  park) park "${2:?usage: $0 park CONF}" ;;
  *) echo "usage: $0 start|stop|status|park CONF" >&2; exit 2 ;;
esac
