#!/usr/bin/env bash
# A real single-node Slurm cluster (munge + slurmctld + slurmd) with `cpu` and `gpu`
# partitions, for the tests and CI. Needs root. Usage: slurm_cluster.sh start|stop|status
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

stop() {
  pkill -x slurmd || true
  pkill -x slurmctld || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
