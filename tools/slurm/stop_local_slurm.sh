#!/usr/bin/env bash
# Stop the one-node cluster started by setup_local_slurm.sh: slurmd, slurmctld, munged,
# each by the process id in its pid file (nothing else is touched). Jobs still running
# are killed with slurmd. Configuration, state and logs stay for the next start.
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "stop_local_slurm: must run as root" >&2; exit 1; }

for pidfile in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop_local_slurm: stopping $(basename "$pidfile" .pid) ($pid)"
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
done
