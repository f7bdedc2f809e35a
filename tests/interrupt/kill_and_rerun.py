"""Interruption test without SLURM: kill -9 a running workflow, rerun it,
check nothing is lost or accepted half-done.

Usage (repository root; what .ci/run does with the smoke config):

    python tests/interrupt/kill_and_rerun.py LOG_DIR -- \\
        snakemake --cores 2 all --configfile config/smoke.yaml

1. Starts the command (run 1) in its own process group and follows its log.
2. Once at least --after jobs have finished and a job has been running for --min-running
   seconds, sends SIGKILL to the whole group (Snakemake and the job it runs), as a crash or
   an out-of-memory kill would.
3. Records the modification time of every output of the jobs run 1 finished.
4. Reruns with the documented recovery: ``snakemake --unlock <same arguments>``, then the same
   command with ``--rerun-incomplete`` (run 2), then the same command with ``--dry-run``.
5. Checks: run 2 exits 0; no job that finished in run 1 ran again and its outputs were not
   touched; every job that was running at the kill ran again (its partial output was not
   accepted); the dry run has nothing to do; no temporary file of an atomic write is left
   under results/.

Exit status 0: every check passed; 1: a check failed; 2: usage or set-up error (e.g. the
workflow finished before it could be killed: remove its outputs first).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

JOB_RE = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", re.M)
FINISHED_RE = re.compile(r"Finished jobid: (\d+)")


def jobs(log: str) -> dict[str, dict]:
    """jobid -> {rule, outputs} of every job block in a Snakemake log."""
    out = {}
    for m in JOB_RE.finditer(log):
        fields = dict(re.findall(r"^    (\w+): (.*)$", m.group(2), re.M))
        if "jobid" in fields:
            outputs = [o.strip() for o in fields.get("output", "").split(",") if o.strip()]
            out[fields["jobid"]] = {"rule": m.group(1), "outputs": outputs}
    return out


def finished(log: str) -> set[str]:
    return set(FINISHED_RE.findall(log))


def say(text: str) -> None:
    print(f"[kill-and-rerun] {text}", flush=True)


def main(argv: list[str]) -> int:
    after, min_running, timeout = 6, 3.0, 1800.0
    while argv and argv[0].startswith("--") and argv[0] != "--":
        flag, value = argv[0], argv[1]
        after = int(value) if flag == "--after" else after
        min_running = float(value) if flag == "--min-running" else min_running
        timeout = float(value) if flag == "--timeout" else timeout
        argv = argv[2:]
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__)
        return 2
    log_dir, cmd = Path(argv[0]), argv[2:]
    log_dir.mkdir(parents=True, exist_ok=True)

    run1_log = log_dir / "run1.log"
    with open(run1_log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    t0, running_since = time.time(), {}
    while True:
        time.sleep(0.5)
        text = run1_log.read_text()
        started, done = jobs(text), finished(text)
        for j in set(started) - done:
            running_since.setdefault(j, time.time())
        running = [j for j in set(started) - done if time.time() - running_since[j] >= min_running]
        if proc.poll() is not None:
            say(
                f"run 1 ended (exit {proc.returncode}) before it could be killed: remove its "
                "outputs first"
            )
            return 2
        if len(done) >= after and running:
            break
        if time.time() - t0 > timeout:
            say("timed out waiting for the kill moment")
            proc.kill()
            return 2
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1)
    text = run1_log.read_text()
    started, done = jobs(text), finished(text)
    killed = {j: started[j] for j in set(started) - done}
    kept = {
        o: Path(o).stat().st_mtime_ns
        for j in done
        for o in started[j]["outputs"]
        if Path(o).exists()
    }
    say(
        f"killed run 1 (SIGKILL to its process group) after {len(done)} finished jobs; running "
        "then: " + ", ".join(f"{v['rule']} (job {j})" for j, v in killed.items())
    )

    unlock = subprocess.run([*cmd, "--unlock"], capture_output=True, text=True)
    if unlock.returncode != 0:
        say(f"--unlock failed: {unlock.stdout[-2000:]}{unlock.stderr[-2000:]}")
        return 1
    run2_log = log_dir / "run2.log"
    with open(run2_log, "w") as fh:
        rc2 = subprocess.run(
            [*cmd, "--rerun-incomplete"], stdout=fh, stderr=subprocess.STDOUT
        ).returncode
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True)
    (log_dir / "dryrun.log").write_text(dry.stdout + dry.stderr)

    problems = []
    if rc2 != 0:
        problems.append(f"run 2 exited {rc2} (see {run2_log})")
    rerun_outputs = {o for v in jobs(run2_log.read_text()).values() for o in v["outputs"]}
    again = sorted(o for o in kept if o in rerun_outputs)
    if again:
        problems.append(f"outputs of jobs finished in run 1 were made again: {again[:5]}")
    touched = sorted(
        o for o, t in kept.items() if not Path(o).exists() or Path(o).stat().st_mtime_ns != t
    )
    if touched:
        problems.append(f"outputs of jobs finished in run 1 changed: {touched[:5]}")
    for j, v in killed.items():
        if not set(v["outputs"]) <= rerun_outputs:
            problems.append(
                f"job {j} ({v['rule']}) was running at the kill and did not run again: partial "
                "output accepted"
            )
    if "Nothing to be done" not in dry.stdout + dry.stderr:
        problems.append("the dry run after run 2 still has jobs to do")
    leftovers = (
        [str(p) for p in Path("results").rglob(".*.tmp")] if Path("results").is_dir() else []
    )
    if leftovers:
        problems.append(f"temporary files of atomic writes left behind: {leftovers[:5]}")
    report = [
        f"run 1: killed after {len(done)} finished jobs; {len(killed)} running at the kill: "
        + ", ".join(v["rule"] for v in killed.values()),
        f"run 2: exit {rc2}; {len(jobs(run2_log.read_text()))} jobs; reran {len(again)} finished "
        "outputs; the killed jobs ran again: "
        f"{all(set(v['outputs']) <= rerun_outputs for v in killed.values())}",
        "dry run: "
        + (
            "nothing to be done" if "Nothing to be done" in dry.stdout + dry.stderr else "jobs left"
        ),
        *(f"FAIL: {p}" for p in problems),
        "PASS" if not problems else "FAILED",
    ]
    (log_dir / "report.txt").write_text("\n".join(report) + "\n")
    for line in report:
        say(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
