#!/usr/bin/env bash
# Start a single-node SLURM "cluster" on this Debian host, for testing
# `snakemake --profile slurm ...` against a real scheduler (locally and in CI).
#
# What it does (idempotent; safe to run again while the daemons are up):
#   1. apt-get installs slurm-wlm + munge if they are missing (noninteractive).
#   2. Writes /etc/slurm/slurm.conf (+ cgroup.conf) for THIS host: one node named
#      `hostname -s` with nproc CPUs and RealMemory from /proc/meminfo minus a
#      margin, one default partition, no accounting (no slurmdbd).
#   3. Creates the munge key if missing and starts munged (as user munge).
#   4. Starts slurmctld and slurmd as root in daemon mode (no systemd needed).
#   5. Waits (bounded) until `sinfo` shows the node usable (idle/mix/alloc).
#
# Requirements: Debian/Ubuntu, run as root.  No systemd required.
#
# Environment knobs:
#   SLURM_START_TIMEOUT   seconds to wait for the node to become idle (default 60)
#   SLURM_PARTITION       name of the default partition (default: debug)
#   SLURM_MEM_MARGIN_MB   memory kept back from RealMemory (default: 10% of RAM,
#                         clamped to [256, 2048] MB)
#   SLURM_FORCE_CONFIG=1  overwrite an /etc/slurm/slurm.conf NOT written by this
#                         script (a backup copy is kept next to it)
#
# Stop everything again with tests/slurm/stop-local-slurm.sh.
set -euo pipefail

TIMEOUT="${SLURM_START_TIMEOUT:-60}"
PARTITION="${SLURM_PARTITION:-debug}"
CONF_DIR=/etc/slurm
CONF="${CONF_DIR}/slurm.conf"
CGROUP_CONF="${CONF_DIR}/cgroup.conf"
MARKER="# Managed by condpdiff tests/slurm/start-local-slurm.sh"
LOG_DIR=/var/log/slurm
CTLD_LOG="${LOG_DIR}/slurmctld.log"
SLURMD_LOG="${LOG_DIR}/slurmd.log"
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
MUNGE_KEY=/etc/munge/munge.key
MUNGE_LOG=/var/log/munge/munged.log

log() { printf '[start-local-slurm] %s\n' "$*"; }
die() { printf '[start-local-slurm] ERROR: %s\n' "$*" >&2; exit 1; }

show_logs() {
    local f
    for f in "$CTLD_LOG" "$SLURMD_LOG" "$MUNGE_LOG"; do
        if [[ -r "$f" ]]; then
            printf '\n----- last 30 lines of %s -----\n' "$f" >&2
            tail -n 30 "$f" >&2 || true
        fi
    done
    if command -v sinfo >/dev/null 2>&1; then
        printf '\n----- sinfo -R / scontrol show node -----\n' >&2
        sinfo -R >&2 2>&1 || true
        scontrol show node >&2 2>&1 || true
    fi
}

fail() {
    printf '[start-local-slurm] ERROR: %s\n' "$*" >&2
    show_logs
    exit 1
}

# True if the process recorded in pid file $1 is alive and is called $2.
pid_alive() {
    local pidfile=$1 name=$2 pid
    [[ -r "$pidfile" ]] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == "$name" ]]
}

[[ "$(id -u)" -eq 0 ]] || die "must be run as root (it installs packages and starts daemons)"

# --------------------------------------------------------------------------
# 1. packages
# --------------------------------------------------------------------------
need_install=()
command -v slurmctld >/dev/null 2>&1 || need_install+=(slurm-wlm)
command -v slurmd >/dev/null 2>&1 || need_install+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need_install+=(munge)
if ((${#need_install[@]})); then
    command -v apt-get >/dev/null 2>&1 || die "slurm/munge missing and apt-get not available"
    log "installing: slurm-wlm munge (apt-get, noninteractive)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi
log "slurm: $(slurmctld -V 2>/dev/null || echo '?'), munge: $(munged -V 2>/dev/null | head -n1 || echo '?')"

# --------------------------------------------------------------------------
# 2. configuration
# --------------------------------------------------------------------------
NODE=$(hostname -s)
[[ -n "$NODE" ]] || die "hostname -s is empty"
CPUS=$(nproc)
MEM_TOTAL_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
if [[ -n "${SLURM_MEM_MARGIN_MB:-}" ]]; then
    MARGIN_MB=$SLURM_MEM_MARGIN_MB
else
    MARGIN_MB=$((MEM_TOTAL_MB / 10))
    if ((MARGIN_MB < 256)); then MARGIN_MB=256; fi
    if ((MARGIN_MB > 2048)); then MARGIN_MB=2048; fi
fi
REAL_MEM_MB=$((MEM_TOTAL_MB - MARGIN_MB))
((REAL_MEM_MB > 0)) || die "computed RealMemory <= 0 (MemTotal ${MEM_TOTAL_MB} MB, margin ${MARGIN_MB} MB)"

# slurmd/srun must be able to resolve the node name.
if ! getent hosts "$NODE" >/dev/null 2>&1; then
    log "'$NODE' does not resolve; adding '127.0.1.1 $NODE' to /etc/hosts"
    printf '127.0.1.1\t%s\n' "$NODE" >>/etc/hosts
fi

new_conf=$(mktemp)
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf" <<EOF
${MARKER}
# Single-node test cluster for host '${NODE}'. Regenerated on every run;
# edit the script, not this file.
ClusterName=condpdiff-local
SlurmctldHost=${NODE}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
ReturnToService=2
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldLogFile=${CTLD_LOG}
SlurmdLogFile=${SLURMD_LOG}
SlurmctldDebug=info
SlurmdDebug=info
# No slurmdbd: no accounting storage, no job accounting gathering.
# (sacct/sacctmgr will not work -> snakemake needs
#  --slurm-status-command squeue --slurm-no-account.)
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Keep finished jobs visible to squeue for 5 min; the snakemake slurm plugin
# only trusts squeue for status if MinJobAge >= 3 * its status interval (120 s).
MinJobAge=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Jobs that do not ask for memory get this much per CPU (instead of the
# whole node, which would serialise everything).
DefMemPerCPU=1024
# Trust the node definition below even if slurmd sees a different topology
# (containers, VMs): never DRAIN the node for "low socket*core*thread count".
SlurmdParameters=config_overrides
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
Waittime=0
# No mail server here; silences "Configured MailProg is invalid".
MailProg=/bin/true
NodeName=${NODE} CPUs=${CPUS} RealMemory=${REAL_MEM_MB} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
EOF

mkdir -p "$CONF_DIR" "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR"
conf_changed=0
if [[ -e "$CONF" ]] && ! grep -qxF "$MARKER" "$CONF"; then
    if [[ "${SLURM_FORCE_CONFIG:-0}" != 1 ]]; then
        die "$CONF exists and was not written by this script; refusing to overwrite it. Re-run with SLURM_FORCE_CONFIG=1 to replace it (a backup is kept)."
    fi
    backup="${CONF}.bak.$(date +%Y%m%d%H%M%S)"
    cp -p "$CONF" "$backup"
    log "backed up foreign $CONF to $backup"
fi
if ! cmp -s "$new_conf" "$CONF" 2>/dev/null; then
    install -m 0644 "$new_conf" "$CONF"
    conf_changed=1
    log "wrote $CONF (node $NODE: CPUs=$CPUS RealMemory=${REAL_MEM_MB}MB, partition $PARTITION)"
else
    log "$CONF is up to date"
fi
# cgroup.conf: not needed on cgroup-v1 hosts with this config, but slurmd
# (22.05) always initialises its cgroup plugin, and on cgroup-v2 hosts
# cgroup/v2 wants to create a slurmstepd.scope through systemd/dbus, which
# fails without systemd ("slurmd initialization failed").
# IgnoreSystemdOnFailure=yes makes it build the hierarchy by hand instead.
# No Constrain* option is used (ProctrackType=linuxproc, TaskPlugin=none).
if [[ ! -e "$CGROUP_CONF" ]] || grep -qxF "$MARKER" "$CGROUP_CONF"; then
    cat >"$new_conf" <<EOF
${MARKER}
CgroupPlugin=autodetect
IgnoreSystemdOnFailure=yes
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
    if ! cmp -s "$new_conf" "$CGROUP_CONF" 2>/dev/null; then
        install -m 0644 "$new_conf" "$CGROUP_CONF"
        conf_changed=1
        log "wrote $CGROUP_CONF"
    fi
else
    log "$CGROUP_CONF was not written by this script; leaving it alone"
fi

# --------------------------------------------------------------------------
# 3. munge
# --------------------------------------------------------------------------
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

if ! munge_ok; then
    MUNGE_USER=root
    getent passwd munge >/dev/null 2>&1 && MUNGE_USER=munge
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    if [[ ! -s "$MUNGE_KEY" ]]; then
        log "creating munge key $MUNGE_KEY"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$MUNGE_KEY"
        else
            dd if=/dev/urandom bs=1 count=1024 of="$MUNGE_KEY" status=none
        fi
    fi
    # munged insists: key owned by the user munged runs as, mode 0400/0600,
    # and its directories not writable by others.
    chown "$MUNGE_USER:$MUNGE_USER" /etc/munge "$MUNGE_KEY" /var/lib/munge /var/log/munge /run/munge
    chmod 0400 "$MUNGE_KEY"
    chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    # A stale socket/pid from a killed munged makes it refuse to start.
    if [[ -e /run/munge/munged.pid ]] && ! pid_alive /run/munge/munged.pid munged; then
        rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    fi
    log "starting munged (as $MUNGE_USER)"
    if [[ "$MUNGE_USER" == root ]]; then
        munged --force
    else
        runuser -u munge -- munged
    fi
    for _ in $(seq 1 20); do
        munge_ok && break
        sleep 0.5
    done
    munge_ok || fail "munged did not come up (munge -n | unmunge fails)"
else
    log "munged already running"
fi

# --------------------------------------------------------------------------
# 4. slurmctld + slurmd
# --------------------------------------------------------------------------
ctld_up() { pid_alive "$CTLD_PID" slurmctld; }
slurmd_up() { pid_alive "$SLURMD_PID" slurmd; }

stop_daemon() { # pidfile name
    local pidfile=$1 name=$2 pid
    pid_alive "$pidfile" "$name" || return 0
    pid=$(cat "$pidfile")
    log "stopping $name (pid $pid) to apply the new configuration"
    kill "$pid"
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
}

if ((conf_changed)) && { ctld_up || slurmd_up; }; then
    stop_daemon "$SLURMD_PID" slurmd
    stop_daemon "$CTLD_PID" slurmctld
fi

if ctld_up; then
    log "slurmctld already running (pid $(cat "$CTLD_PID"))"
else
    log "starting slurmctld"
    slurmctld || fail "slurmctld failed to start"
fi
for _ in $(seq 1 40); do
    scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.5
done
scontrol ping 2>/dev/null | grep -q 'is UP' || fail "slurmctld does not answer 'scontrol ping'"

if slurmd_up; then
    log "slurmd already running (pid $(cat "$SLURMD_PID"))"
else
    log "starting slurmd"
    slurmd || fail "slurmd failed to start"
fi

# --------------------------------------------------------------------------
# 5. wait for the node
# --------------------------------------------------------------------------
log "waiting up to ${TIMEOUT}s for node '$NODE' to become idle"
deadline=$((SECONDS + TIMEOUT))
resumed=0
state=""
while ((SECONDS < deadline)); do
    state=$(sinfo -h -n "$NODE" -o '%t' 2>/dev/null | head -n1 || true)
    case "$state" in
    idle | mix | alloc | comp)
        log "node '$NODE' is $state"
        sinfo
        exit 0
        ;;
    drain* | down | drng)
        # e.g. left DOWN/DRAINED in the saved state from an earlier run:
        # slurmd is up and registered, so try to resume it once.
        if ((!resumed)) && slurmd_up; then
            log "node is '$state' ($(sinfo -h -n "$NODE" -o '%E' 2>/dev/null || true)); trying to resume it"
            scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true
            resumed=1
        fi
        ;;
    esac
    slurmd_up || fail "slurmd died (see its log below)"
    ctld_up || fail "slurmctld died (see its log below)"
    sleep 1
done
fail "node '$NODE' did not become idle within ${TIMEOUT}s (last state: '${state:-unknown}')"
