#!/usr/bin/env bash
# A real single-node Slurm cluster (munge + MariaDB + slurmdbd + slurmctld + slurmd) with `cpu`
# and `gpu` partitions and job accounting (`sacct`), for the tests and CI. Needs root.
# Usage: slurm_cluster.sh start|stop|status|park CONF
# MariaDB runs on its own data directory, socket and port under $STATE (not the system's); the
# database password is drawn fresh whenever slurmdbd starts and kept only in slurmdbd.conf
# (mode 600) and the database.
# `stop` parks slurm.conf (see park): with the daemons gone, Slurm's tools then fail at once
# instead of retrying for ~9 s, which every local `snakemake` call would otherwise wait for
# (the Slurm executor plugin runs `scontrol show config` when Snakemake imports it).
set -euo pipefail
STATE=${ORDEBUG_SLURM_DIR:-/tmp/ordebug-slurm}
CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf
DB_PORT=${ORDEBUG_SLURM_DB_PORT:-3307}
ACCOUNT=ordebug

install() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null \
      || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm slurmdbd munge mariadb-server >/dev/null
  fi
}

# The pid in $STATE/NAME.pid if that process is alive and is COMM (a stale file after a reboot
# must never make us signal an unrelated process).
our_pid() {  # our_pid NAME COMM
  local f=$STATE/$1.pid pid
  [ -f "$f" ] && pid=$(cat "$f") && [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] \
    && [ "$(cat "/proc/$pid/comm")" = "$2" ] && echo "$pid"
}

wait_for() {  # wait_for SECONDS CMD...: poll CMD every 0.5 s
  local n=$(( $1 * 2 )); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}

# The accounting database: a private MariaDB on 127.0.0.1:$DB_PORT, then slurmdbd on it.
start_accounting() {
  local db=$STATE/mysql sock=$STATE/mysql.sock pass
  if [ ! -f "$db/.ordebug-installed" ]; then  # (again, if an earlier install did not finish)
    rm -rf "$db" && mkdir -p "$db"
    mariadb-install-db --user=root --datadir="$db" --auth-root-authentication-method=socket \
      >"$STATE/log/mariadb-install.log" 2>&1
    touch "$db/.ordebug-installed"
  fi
  if ! mariadb-admin --socket="$sock" ping >/dev/null 2>&1; then
    mariadbd --user=root --datadir="$db" --socket="$sock" --port="$DB_PORT" --bind-address=127.0.0.1 \
      --pid-file="$STATE/mysql.pid" --log-error="$STATE/log/mariadb.log" \
      --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 >/dev/null 2>&1 &
    wait_for 60 mariadb-admin --socket="$sock" ping || { echo "MariaDB did not start" >&2; return 1; }
  fi
  if [ -n "$(our_pid slurmdbd slurmdbd)" ]; then  # running on the password it was started with
    wait_for 60 sacctmgr -n show cluster || { echo "slurmdbd does not answer" >&2; return 1; }
    return 0
  fi
  pass=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  mariadb --socket="$sock" <<SQL  # on stdin: the password stays off the process list
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
SQL
  install -m 600 /dev/null "$DBD_CONF"  # mode 600 before the password goes in (slurmdbd insists)
  ( umask 077; cat > "$DBD_CONF" <<DBD
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db
DBD
  )
  slurmdbd
  wait_for 60 sacctmgr -n show cluster || { echo "slurmdbd did not start; logs in $STATE/log" >&2; return 1; }
  sacctmgr -i add cluster ordebug >/dev/null 2>&1 || true
}

# An account for the profile's slurm_account, with root in it (after slurmctld registered).
add_account() {
  local have
  have=$(sacctmgr -n -P show account "$ACCOUNT" format=account)
  grep -qx "$ACCOUNT" <<<"$have" \
    || sacctmgr -i add account "$ACCOUNT" cluster=ordebug description=ordebug-tests >/dev/null
  have=$(sacctmgr -n -P show user root withassoc format=account)
  grep -qx "$ACCOUNT" <<<"$have" || sacctmgr -i add user root account="$ACCOUNT" cluster=ordebug >/dev/null
}

# Up, as this script starts it: the controller answers, with accounting through slurmdbd.
running() {
  sinfo -h >/dev/null 2>&1 && scontrol ping 2>/dev/null | grep -q UP \
    && grep -q '^AccountingStorageType=accounting_storage/slurmdbd' "$CONF" \
    && sacctmgr -n show cluster >/dev/null 2>&1
}

start() {
  install
  if running; then
    unpark "$CONF"
    echo "slurm already running"; return 0
  fi
  stop >/dev/null 2>&1 || true  # a part of it may be up (e.g. without accounting): start afresh
  mkdir -p "$STATE"/{spool,state,log} /run/munge /etc/slurm
  [ -f /etc/munge/munge.key ] || mungekey -c
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  pgrep -x munged >/dev/null || runuser -u munge -- munged
  local host cpus mem
  host=$(hostname -s)
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # the tests set OMP_NUM_THREADS=1, which nproc honours
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
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
MinJobAge=300
MpiDefault=none
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host Default=NO MaxTime=INFINITE State=UP
CONF
  start_accounting  # sacctmgr reads slurm.conf: it must name slurmdbd first
  slurmctld
  slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o "%P %a" 2>/dev/null | grep -q "gpu up"; then
      scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
      add_account
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
# slurmctld makes `scontrol show config` fail, and the Slurm plugin's status checks go wrong).
unpark() {
  [ -f "$1" ] && sed -i '/^MessageTimeout=1$/d; /^# parked by slurm_cluster.sh/d' "$1"
  return 0
}

stop() {
  # only our own cluster's daemons, by their pid files (checked against the process name)
  local pids=() name comm pid
  for name in slurmd:slurmd slurmctld:slurmctld slurmdbd:slurmdbd mysql:mariadbd; do
    comm=${name#*:}
    pid=$(our_pid "${name%%:*}" "$comm") || continue
    kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 1 60); do  # up to 15 s, until every one of them has exited
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
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
