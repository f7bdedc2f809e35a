#!/usr/bin/env bash
# Fault-tolerance smoke test of a Snakemake workflow on a real SLURM scheduler.
#
# Usage:
#   tests/slurm/run-smoke-on-slurm.sh [options] LOG_DIR -- SNAKEMAKE_COMMAND...
#
# Example (repository root, local test cluster from start-local-slurm.sh):
#   tests/slurm/run-smoke-on-slurm.sh slurm-smoke-logs -- \
#       snakemake --profile slurm --configfile config/smoke.yaml \
#       --slurm-status-command squeue --slurm-no-account all
#
# What it does (in the current directory):
#   1. Starts the command in the background (run 1).
#   2. Waits until at least one job of run 1 has finished AND one of its SLURM
#      jobs is RUNNING in squeue, then `scancel`s the running job that started
#      most recently (least likely to be about to finish) and confirms that
#      SLURM marked it CANCELLED.
#   3. Waits for run 1 to exit. Non-zero is expected (the cancelled job
#      failed); zero is accepted and reported (e.g. retries resubmitted it).
#      Checks that the cancelled job's outputs were not left behind.
#   4. Runs the very same command again (run 2), then the same command with
#      --dry-run.
#   5. Checks: (a) run 2 exits 0; (b) no job that finished in run 1 ran again
#      in run 2 (compares the "output:" lines of the "rule X:" job blocks of
#      both logs) and the cancelled job did run again; (c) the outputs exist:
#      the dry run reports "Nothing to be done" (output files the logs list but
#      that are absent are only a warning: temp() files are deleted on
#      purpose); (d) SLURM job ids appear in both logs ("Job N has been
#      submitted with SLURM jobid M").
#   6. Prints a compact report. LOG_DIR gets run1.log, run2.log, dryrun.log,
#      report.txt and the cancelled job's own SLURM log.
#
# Options:
#   --keep-retries        do NOT append `--retries 0` to the command. By
#                         default it is appended (to both runs, so they stay
#                         the same command) so that the cancelled job really
#                         fails run 1 instead of being resubmitted because of
#                         `retries:` in the profile.
#   --min-elapsed SEC     only cancel a job that has been RUNNING for at least
#                         SEC seconds, so its command has really started (5)
#   --wait-timeout SEC    max seconds to wait for the cancel moment (1800)
#   --run-timeout SEC     max seconds for each run (7200)
#   --poll SEC            polling interval (2)
#
# Exit status: 0 all checks passed; 1 a check failed; 2 usage/set-up error
# (e.g. the workflow finished before a job could be cancelled: remove its
# outputs first).
set -euo pipefail

KEEP_RETRIES=0
MIN_ELAPSED=5
WAIT_TIMEOUT=1800
RUN_TIMEOUT=7200
POLL=2

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}
say() { printf '[smoke-on-slurm] %s\n' "$*"; }
die() {
    printf '[smoke-on-slurm] ERROR: %s\n' "$*" >&2
    exit 2
}

while (($#)); do
    case "$1" in
    --keep-retries) KEEP_RETRIES=1; shift ;;
    --min-elapsed) MIN_ELAPSED=$2; shift 2 ;;
    --wait-timeout) WAIT_TIMEOUT=$2; shift 2 ;;
    --run-timeout) RUN_TIMEOUT=$2; shift 2 ;;
    --poll) POLL=$2; shift 2 ;;
    -h | --help) usage ;;
    --) die "LOG_DIR missing before --" ;;
    -*) die "unknown option $1" ;;
    *) break ;;
    esac
done
(($# >= 3)) || usage
LOG_DIR=$1
shift
[[ "$1" == "--" ]] || usage
shift
CMD=("$@")
((KEEP_RETRIES)) || CMD+=(--retries 0)

for tool in squeue scancel scontrol timeout; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found (is SLURM installed? see tests/slurm/start-local-slurm.sh)"
done
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
RUN1_LOG="$LOG_DIR/run1.log"
RUN2_LOG="$LOG_DIR/run2.log"
DRY_LOG="$LOG_DIR/dryrun.log"
REPORT="$LOG_DIR/report.txt"
rm -f "$RUN1_LOG" "$RUN2_LOG" "$DRY_LOG" "$REPORT" "$LOG_DIR"/cancelled-job-*.log

say "command: ${CMD[*]}"
say "working directory: $PWD"
say "logs: $LOG_DIR"

RUN1_PID=""
cleanup() {
    # Interrupted while run 1 is still going: stop it. SIGINT makes
    # snakemake scancel its own SLURM jobs.
    if [[ -n "$RUN1_PID" ]] && kill -0 "$RUN1_PID" 2>/dev/null; then
        say "stopping run 1 (pid $RUN1_PID)"
        kill -INT "$RUN1_PID" 2>/dev/null || true
        sleep 10
        kill -TERM "$RUN1_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------------------------
# log parsing helpers
# --------------------------------------------------------------------------
# Job blocks of a snakemake log, one line each: "jobid<TAB>rule<TAB>out1,out2".
job_blocks() {
    awk '
        function flush() {
            if (rule != "" && jobid != "") printf "%s\t%s\t%s\n", jobid, rule, outs
            rule = ""; jobid = ""; outs = ""
        }
        /^(local)?rule [A-Za-z0-9_]+:$/ { flush(); rule = $2; sub(/:$/, "", rule); next }
        rule != "" && /^    output: / { sub(/^    output: /, ""); gsub(/, /, ","); outs = $0; next }
        rule != "" && /^    jobid: / { jobid = $2; next }
        rule != "" && /^[^ ]/ { flush() }
        END { flush() }
    ' "$1"
}
# Snakemake job ids that finished successfully.
finished_jobids() { sed -n 's/^Finished jobid: \([0-9]*\).*/\1/p' "$1" | sort -u; }
# "snakemake-jobid<TAB>slurm-jobid" for every submission.
slurm_ids() { sed -n 's/^Job \([0-9]*\) has been submitted with SLURM jobid \([0-9]*\).*/\1\t\2/p' "$1"; }

# Running SLURM jobs of run $1 (job name == the plugin's SLURM run ID) that
# have run >= MIN_ELAPSED s, most recently started first: "jobid|comment".
running_candidates() {
    squeue -h -n "$1" -t RUNNING -o '%i|%k|%M' 2>/dev/null |
        awk -F'|' -v min="$MIN_ELAPSED" '{
            t = $3; d = 0
            if (index(t, "-")) { d = substr(t, 1, index(t, "-") - 1); t = substr(t, index(t, "-") + 1) }
            n = split(t, p, ":"); s = 0
            for (i = 1; i <= n; i++) s = s * 60 + p[i]
            s += d * 86400
            if (s >= min) print s "|" $1 "|" $2
        }' | sort -t'|' -k1,1n | cut -d'|' -f2-
}

job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n1; }

# --------------------------------------------------------------------------
# run 1 + scancel
# --------------------------------------------------------------------------
T1_START=$SECONDS
timeout --signal=INT --kill-after=60 "$RUN_TIMEOUT" "${CMD[@]}" >"$RUN1_LOG" 2>&1 &
RUN1_PID=$!
say "run 1 started (pid $RUN1_PID)"

run_id=""
cancel_id=""
cancel_comment=""
deadline=$((SECONDS + WAIT_TIMEOUT))
while [[ -z "$cancel_id" ]]; do
    if ! kill -0 "$RUN1_PID" 2>/dev/null; then
        rc=0
        wait "$RUN1_PID" || rc=$?
        RUN1_PID=""
        tail -n 30 "$RUN1_LOG" >&2 || true
        die "run 1 exited (status $rc) before a running job could be cancelled (workflow already complete? too short?)"
    fi
    ((SECONDS < deadline)) || die "no moment with one job finished and one running within ${WAIT_TIMEOUT}s"
    if [[ -z "$run_id" ]]; then
        run_id=$(sed -n 's/^SLURM run ID: *\([^ ]*\).*/\1/p' "$RUN1_LOG" | head -n1)
    fi
    n_finished=$(grep -c '^Finished jobid: ' "$RUN1_LOG" || true)
    if [[ -n "$run_id" ]] && ((n_finished >= 1)); then
        while IFS='|' read -r cid ccomment; do
            [[ -n "$cid" ]] || continue
            say "$n_finished job(s) finished; scancel running SLURM job $cid ($ccomment)"
            scancel "$cid" || true
            state=""
            for _ in $(seq 1 20); do
                state=$(job_state "$cid")
                case "$state" in CANCELLED | COMPLETED | FAILED | TIMEOUT | NODE_FAIL) break ;; esac
                sleep 1
            done
            if [[ "$state" == CANCELLED ]]; then
                cancel_id=$cid
                cancel_comment=$ccomment
                break
            fi
            say "job $cid ended as '${state:-?}', not CANCELLED (it was finishing); trying another one"
        done < <(running_candidates "$run_id" | head -n1)
    fi
    [[ -n "$cancel_id" ]] || sleep "$POLL"
done
T_CANCEL=$((SECONDS - T1_START))

say "waiting for run 1 to exit"
rc1=0
wait "$RUN1_PID" || rc1=$?
RUN1_PID=""
T1=$((SECONDS - T1_START))
say "run 1 exited with status $rc1 after ${T1}s"

# The cancelled job as snakemake saw it.
cancel_smk=$(slurm_ids "$RUN1_LOG" | awk -F'\t' -v id="$cancel_id" '$2 == id {print $1}' | head -n1)
cancel_rule=""
cancel_outs=""
if [[ -n "$cancel_smk" ]]; then
    cancel_rule=$(job_blocks "$RUN1_LOG" | awk -F'\t' -v j="$cancel_smk" '$1 == j {print $2}' | head -n1)
    cancel_outs=$(job_blocks "$RUN1_LOG" | awk -F'\t' -v j="$cancel_smk" '$1 == j {print $3}' | head -n1)
fi
cancel_out_arr=()
[[ -z "$cancel_outs" ]] || IFS=',' read -r -a cancel_out_arr <<<"$cancel_outs"

# Partial outputs left behind by run 1? (Look now, before run 2 re-makes them.)
partial_left=()
for f in "${cancel_out_arr[@]}"; do
    if [[ -e "$f" ]]; then partial_left+=("$f"); fi
done
cancel_slurm_log=$(grep -o "SLURM jobid ${cancel_id} (log: [^)]*)" "$RUN1_LOG" | sed 's/.*(log: \(.*\))$/\1/' | head -n1 || true)
cancel_log_copy=""
if [[ -n "$cancel_slurm_log" && -f "$cancel_slurm_log" ]]; then
    cancel_log_copy="$LOG_DIR/cancelled-job-${cancel_id}.log"
    cp "$cancel_slurm_log" "$cancel_log_copy"
fi

# Jobs that finished in run 1 and their outputs.
mapfile -t fin1 < <(finished_jobids "$RUN1_LOG")
done1_rules=()
done1_outputs=()
while IFS=$'\t' read -r jid rule outs; do
    if printf '%s\n' "${fin1[@]}" | grep -qx "$jid"; then
        done1_rules+=("$rule")
        if [[ -n "$outs" ]]; then
            IFS=',' read -r -a o <<<"$outs"
            done1_outputs+=("${o[@]}")
        fi
    fi
done < <(job_blocks "$RUN1_LOG")

# --------------------------------------------------------------------------
# run 2 + dry run
# --------------------------------------------------------------------------
say "run 2 (same command)"
T2_START=$SECONDS
rc2=0
timeout --signal=INT --kill-after=60 "$RUN_TIMEOUT" "${CMD[@]}" >"$RUN2_LOG" 2>&1 || rc2=$?
T2=$((SECONDS - T2_START))
say "run 2 exited with status $rc2 after ${T2}s"

say "dry run (same command + --dry-run)"
rc_dry=0
"${CMD[@]}" --dry-run >"$DRY_LOG" 2>&1 || rc_dry=$?

# --------------------------------------------------------------------------
# checks + report
# --------------------------------------------------------------------------
mapfile -t run2_blocks < <(job_blocks "$RUN2_LOG")
run2_outputs=()
run2_rules=()
for b in "${run2_blocks[@]}"; do
    IFS=$'\t' read -r _ rule outs <<<"$b"
    run2_rules+=("$rule")
    if [[ -n "$outs" ]]; then
        IFS=',' read -r -a o <<<"$outs"
        run2_outputs+=("${o[@]}")
    fi
done
rerun_done=()
for f in "${done1_outputs[@]}"; do
    if printf '%s\n' "${run2_outputs[@]}" | grep -qxF -- "$f"; then rerun_done+=("$f"); fi
done
cancel_in_run2=0
for f in "${cancel_out_arr[@]}"; do
    if printf '%s\n' "${run2_outputs[@]}" | grep -qxF -- "$f"; then cancel_in_run2=1; fi
done
missing=()
for f in "${done1_outputs[@]}" "${run2_outputs[@]}"; do
    if [[ -n "$f" && ! -e "$f" ]]; then missing+=("$f"); fi
done
n_ids1=$(slurm_ids "$RUN1_LOG" | wc -l)
n_ids2=$(slurm_ids "$RUN2_LOG" | wc -l)
rerun_smk=""
if [[ -n "$cancel_rule" ]]; then
    rerun_smk=$(job_blocks "$RUN2_LOG" |
        awk -F'\t' -v r="$cancel_rule" -v o="$cancel_outs" '$2 == r && $3 == o {print $1}' | head -n1)
fi

fails=0
out() { printf '%s\n' "$*" >>"$REPORT"; }
check() { # ok(1/0) name detail
    if [[ "$1" == 1 ]]; then
        out "  PASS  $2${3:+ -- $3}"
    else
        out "  FAIL  $2${3:+ -- $3}"
        fails=$((fails + 1))
    fi
}
ok() { if "$@"; then echo 1; else echo 0; fi; }

out "== SLURM smoke test with a cancelled job =="
out "command:      ${CMD[*]}"
out "run 1:        exit $rc1, ${T1}s wall; scancel at ${T_CANCEL}s; SLURM run ID ${run_id}"
out "cancelled:    SLURM job ${cancel_id} (${cancel_comment}) = snakemake job ${cancel_smk:-?}, rule ${cancel_rule:-?}, output: ${cancel_outs:-?}"
out "run 1 done:   ${#done1_rules[@]} job(s): ${done1_rules[*]}"
out "run 2:        exit $rc2, ${T2}s wall; ran ${#run2_rules[@]} job(s): ${run2_rules[*]}"
out "SLURM jobids: run 1: $(slurm_ids "$RUN1_LOG" | cut -f2 | tr '\n' ' ')| run 2: $(slurm_ids "$RUN2_LOG" | cut -f2 | tr '\n' ' ')"
out "run 1, lines about the failure:"
grep -E "SLURM-job '${cancel_id}' failed|^Exiting because a job execution failed|^[0-9]+ of [0-9]+ steps" "$RUN1_LOG" |
    tail -n 4 | sed 's/^/    /' >>"$REPORT" || true
if [[ -n "$cancel_log_copy" ]]; then
    grep -E "CANCELLED AT|Removing output files of failed job" -A1 "$cancel_log_copy" | grep -v '^--$' |
        sed 's/^/    [job log] /' >>"$REPORT" || true
fi
out "run 2, lines re-running the cancelled job:"
if [[ -n "$rerun_smk" ]]; then
    job_blocks "$RUN2_LOG" | awk -F'\t' -v j="$rerun_smk" '$1 == j {print "    rule " $2 ": output: " $3 " (snakemake jobid " $1 ")"}' >>"$REPORT"
    grep -A1 -E "^    jobid: ${rerun_smk}$" "$RUN2_LOG" | grep -E "^    reason:" | head -n1 >>"$REPORT" || true
    grep -E "^Job ${rerun_smk} has been submitted with SLURM jobid|^Finished jobid: ${rerun_smk} " "$RUN2_LOG" |
        sed 's/^/    /' >>"$REPORT" || true
else
    out "    (none found)"
fi
out "checks:"
if ((rc1 == 0)); then
    check 1 "run 1 reported the cancelled job as failed" "exit 0 accepted: the workflow still completed (retries/keep-going)"
else
    check "$(ok grep -q "SLURM-job '${cancel_id}' failed" "$RUN1_LOG")" \
        "run 1 reported the cancelled job as failed" "exit $rc1"
fi
if ((rc1 != 0 && ${#partial_left[@]})); then
    check 0 "run 1 left no partial output of the cancelled job" "left behind: ${partial_left[*]}"
elif [[ -n "$cancel_log_copy" ]] && grep -q "Removing output files of failed job" "$cancel_log_copy"; then
    check 1 "run 1 left no partial output of the cancelled job" "the job's snakemake removed it on SIGTERM"
else
    check 1 "run 1 left no partial output of the cancelled job" "none present after run 1"
fi
check "$(ok test "$rc2" -eq 0)" "(a) run 2 exit status 0" "exit $rc2"
if ((${#rerun_done[@]})); then
    check 0 "(b) no job finished in run 1 was re-run in run 2" "re-made: ${rerun_done[*]}"
else
    check 1 "(b) no job finished in run 1 was re-run in run 2" \
        "${#done1_outputs[@]} output file(s) of ${#done1_rules[@]} finished job(s) not re-made"
fi
if ((rc1 == 0)); then
    check 1 "    the cancelled job was re-run in run 2" "not needed: run 1 completed"
else
    check "$cancel_in_run2" "    the cancelled job was re-run in run 2" "${cancel_outs:-?}"
fi
if ((rc_dry == 0)) && grep -q 'Nothing to be done' "$DRY_LOG"; then
    check 1 "(c) outputs exist: dry run says 'Nothing to be done'"
else
    check 0 "(c) outputs exist: dry run says 'Nothing to be done'" "dry-run exit $rc_dry, see $DRY_LOG"
fi
if ((${#missing[@]})); then
    out "  WARN  output files listed in the logs but absent now (temp()?): ${missing[*]}"
fi
check "$(ok test "$n_ids1" -gt 0 -a "$n_ids2" -gt 0)" "(d) SLURM job ids in the logs" \
    "run 1: $n_ids1 submission(s), run 2: $n_ids2"
if ((fails == 0)); then out "result: PASS"; else out "result: FAIL ($fails check(s))"; fi

cat "$REPORT"
((fails == 0)) || exit 1
