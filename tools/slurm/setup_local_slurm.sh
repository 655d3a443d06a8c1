#!/usr/bin/env bash
# Bring up a one-node SLURM cluster on this machine (Debian/Ubuntu, as root) so the
# pipeline's SLURM profile can be exercised for real: munge, slurmctld and slurmd on
# localhost. Idempotent: a second call with the cluster up returns in well under a second.
#
# Accounting: none (no slurmdbd, no MariaDB). Snakemake's SLURM executor plugin asks
# `sacct` for job status by default; without a database that never answers, so the
# runs against this cluster use the plugin's squeue status command
# (profiles/slurm-localhost) instead. squeue only sees finished jobs for MinJobAge
# seconds, and the plugin wants at least 3 x its first-check delay (3 x 40 s), so
# MinJobAge is 600 s here. Why not slurmdbd: it adds MariaDB (about 16 s of install and
# 8 s of initialisation measured here, plus one more daemon that can fail in CI) and
# would only prove what every production cluster already has. A durable per-job
# history is kept anyway by jobcomp/filetxt in $JOBCOMP_LOG (state, exit code, times).
#
# No systemd and no cgroups are assumed (containers, CI): daemons are started
# directly, with process tracking and task plugins that need neither.
#
# Usage: tools/slurm/setup_local_slurm.sh        (stop with tools/slurm/stop_local_slurm.sh)
set -euo pipefail

CONF=/etc/slurm/slurm.conf
JOBCOMP_LOG=/var/log/slurm/jobcomp.log
NODE=localhost
WAIT_SECONDS=${WAIT_SECONDS:-60}

say() { echo "setup_local_slurm: $*"; }
die() { echo "setup_local_slurm: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

node_up() {  # the node takes jobs: idle, or busy with jobs already
    case "$(node_state)" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

alive() {  # alive PIDFILE: the daemon recorded in PIDFILE is running
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v sinfo >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# The node gets this machine's CPUs and its memory less 1 GB for the system, but at
# least 2 CPUs and 4 GB: the profile's job groups ask for that much, and a request larger
# than every node stays PENDING forever without an error. slurmd takes the configured
# size as given (config_overrides); nothing is enforced here (no cgroups), so a small
# machine is only oversubscribed.
cpus=$(nproc)
cpus=$(( cpus < 2 ? 2 : cpus ))
mem_total_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
real_memory=$(( mem_total_mb - 1024 ))
real_memory=$(( real_memory < 4096 ? 4096 : real_memory ))

new_conf=$(cat <<CONF
# Written by tools/slurm/setup_local_slurm.sh: a one-node cluster on localhost.
ClusterName=trialmeta
SlurmctldHost=localhost
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
# No cgroups in containers and CI: track processes through /proc, bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
# No accounting database (see the script's header); finished jobs stay visible to
# squeue for MinJobAge seconds and are logged for good by jobcomp/filetxt.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$JOBCOMP_LOG
MinJobAge=600
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# The machine's host name is not localhost: slurmd is started with -N localhost.
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_memory State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
)

restart=false
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$new_conf" ]; then
    # a restart defers queued jobs by about two minutes and may lose running ones
    if alive /run/slurmctld.pid && [ -n "$(squeue -h 2>/dev/null)" ]; then
        die "configuration changed but jobs are queued or running (squeue); wait for them or scancel them, then rerun"
    fi
    mkdir -p /etc/slurm
    printf '%s\n' "$new_conf" > "$CONF"
    restart=true
fi

if ! $restart && alive /run/slurmctld.pid && alive /run/slurmd.pid && node_up; then
    say "already up: node $NODE $(node_state)"
    exit 0
fi

mkdir -p /var/log/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /run/munge
chown slurm:slurm /var/log/slurm /var/lib/slurm/slurmctld
chown munge:munge /run/munge

if [ ! -s /etc/munge/munge.key ]; then
    say "creating a munge key"
    install -d -o munge -g munge -m 0700 /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! alive /run/munge/munged.pid; then
    say "starting munged"
    runuser -u munge -- munged --force --pid-file=/run/munge/munged.pid
fi

if $restart; then
    for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
        if alive "$pidfile"; then
            say "configuration changed: stopping $(basename "$pidfile" .pid)"
            pid=$(cat "$pidfile")
            kill "$pid"
            while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
        fi
    done
fi
if ! alive /run/slurmctld.pid; then
    say "starting slurmctld"
    slurmctld
fi
if ! alive /run/slurmd.pid; then
    say "starting slurmd"
    slurmd -N "$NODE"
fi

say "waiting for node $NODE to take jobs (up to ${WAIT_SECONDS} s)"
for _ in $(seq $(( WAIT_SECONDS * 2 ))); do
    state=$(node_state || true)
    case "$state" in
        idle|mixed|allocated|completing) say "up: node $NODE $state, $cpus CPUs, $real_memory MB"; exit 0 ;;
        down*|drain*|fail*)
            # a node restarted while jobs ran comes back down; nothing of ours is lost
            scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
done
die "node $NODE not taking jobs after ${WAIT_SECONDS} s (state '${state:-none}'); see /var/log/slurm/slurmctld.log and slurmd.log"
