#!/usr/bin/env bash
# Stop the single-node SLURM started by tests/slurm/start-local-slurm.sh:
# slurmd, slurmctld and munged, each by the pid in its pid file (nothing is
# killed by name).  Running/pending jobs are NOT cancelled first; slurmctld
# saves them in its state dir and they resume on the next start.  Pass
# --cancel-jobs to scancel all jobs first.
#
# Environment: KEEP_MUNGE=1 leaves munged running.
set -euo pipefail

log() { printf '[stop-local-slurm] %s\n' "$*"; }

[[ "$(id -u)" -eq 0 ]] || { log "ERROR: must be run as root" >&2; exit 1; }

if [[ "${1:-}" == "--cancel-jobs" ]] && command -v scancel >/dev/null 2>&1; then
    log "cancelling all jobs"
    squeue -h -o '%i' 2>/dev/null | xargs -r scancel 2>/dev/null || true
fi

stop_pidfile() { # pidfile expected-comm
    local pidfile=$1 name=$2 pid
    if [[ ! -r "$pidfile" ]]; then
        log "$name: no pid file ($pidfile), not running"
        return 0
    fi
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
        log "$name: not running (stale pid file $pidfile)"
        rm -f "$pidfile"
        return 0
    fi
    if [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" != "$name" ]]; then
        log "$name: pid $pid from $pidfile is not $name; leaving it alone"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name stopped"
            return 0
        fi
        sleep 0.25
    done
    log "$name did not stop after 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

stop_pidfile /run/slurmd.pid slurmd
stop_pidfile /run/slurmctld.pid slurmctld
if [[ "${KEEP_MUNGE:-0}" != 1 ]]; then
    stop_pidfile /run/munge/munged.pid munged
fi
