#!/usr/bin/env bash
# compare-grep.sh LOG
#
# Issue 21's three cases against grep on one auditd log, in the same run, RUNS rounds (default 7) after a
# warm-up round, every command once per round, so that a change in the machine's load falls on all alike:
#   grep       grep -c 'syscall=59 ' LOG                          (a pure scan: the bar)
#   execve     filterc run --format auditd --filter 'syscall == execve' --count LOG
#   openat     filterc run --format auditd --filter 'syscall == openat && exe startswith "/usr/" && success == false' --count LOG
#   policy     filterc run --format auditd -f POLICY --keys LOG  (au-30-pci-dss-v31: 46 rules of a published
#              rule set, imported with the host facts of the test data; reads paths, so PATH records too)
#   wc, cat    wc -l LOG, cat LOG (the floor: reading the file)
# Prints, per command, the least and median CPU time (user + system, each run's own, from wait4) and the
# median wall time, and each filterc case's ratio to grep's CPU time (least to least, median to median:
# below 1.0, filterc used less CPU than grep). Every output goes through a pipe and is thrown away (GNU
# grep stops at the first match when its output is /dev/null). Also checks that the counts are those of
# a reader of the whole events (the execve count equals grep's, for the logs make-audit-log.sh makes).
# Environment: BUILD=build|r2r|aot (default aot: the published build; tools/bench/build-filterc.sh),
# FILTERC=path to time that filterc instead, built already; RUNS=how many rounds; THREADS=N to run
# filterc with --threads N (default: its own default, every core for a file this large; THREADS=1 times
# the one-core run, the CPU a run costs without the parallel run's overheads); CPU=N to pin every command
# to CPU N (taskset): on a virtual machine whose vCPUs run at different speeds (the "cores" line, from
# core-speeds.py), an unpinned command's CPU time depends on where the scheduler puts it.
# A log on a tmpfs (/dev/shm) stays in memory: on a machine that drops the page cache between rounds, a
# log on disk is partly read from the disk again, by whichever command comes first.
set -euo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
log=$1
runs=${RUNS:-7}
[[ -f $log ]] || { echo "compare-grep.sh: no such log: $log" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
command -v python3 > /dev/null || { echo "compare-grep.sh: python3 not found" >&2; exit 1; }
build=${BUILD:-aot}
[[ -z ${FILTERC:-} ]] || build="FILTERC=$FILTERC"
FILTERC=$("$here/build-filterc.sh" "${BUILD:-aot}") || exit $?

work=$(mktemp -d /tmp/compare-grep.XXXXXX)
trap 'rm -rf "$work"' EXIT
data=$repo/tests/Filter.Tests/Data
policy=$work/pci-dss.policy
"$FILTERC" import-auditctl "$data/rulesets/au-30-pci-dss-v31/published.rules" --host-map "$data/rulesets-host.tsv" -o "$policy" 2> /dev/null

echo "== filterc: $build ($FILTERC)"
echo "== $log: $(stat -c %s "$log") bytes, $(wc -l < "$log") lines"
echo "== threads: ${THREADS:-the default, $(nproc)}"
echo "== policy: au-30-pci-dss-v31, $(grep -c '^always' "$policy") always rules (and the importer's never rule)"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(grep --version | head -1)"
echo "== cores: $(python3 "$here/core-speeds.py") (a busy loop's speed, pinned to each)"
echo "== pinned: ${CPU:-no (CPU=N pins every command to CPU N)}"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$log" > /dev/null # into the page cache: every command reads from memory

python3 - "$runs" "$FILTERC" "$log" "$policy" "${THREADS:-}" "${CPU:-}" << 'PY'
import os, statistics, subprocess, sys, time
runs, filterc, log, policy, threads, cpu = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
if cpu: os.sched_setaffinity(0, {int(cpu)})  # inherited by every command started
run = [filterc, "run", "--format", "auditd"] + (["--threads", threads] if threads else [])
commands = {
    "grep": ["grep", "-c", "syscall=59 ", log],
    "execve": run + ["--filter", "syscall == execve", "--count", log],
    "openat": run + ["--filter", 'syscall == openat && exe startswith "/usr/" && success == false', "--count", log],
    "policy": run + ["-f", policy, "--keys", log],
    "wc": ["wc", "-l", log],
    "cat": ["cat", log],
}
times = {name: ([], []) for name in commands}
outputs = {}
for r in range(1 + runs):
    for name, cmd in commands.items():
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        size, head = 0, b""
        while chunk := p.stdout.read(1 << 16):
            size += len(chunk)
            if len(head) < 64: head += chunk[:64]
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"compare-grep.sh: {name} failed: {cmd}")
        outputs[name] = (head.decode(errors="replace").split("\n")[0], size)
        if r > 0:
            times[name][0].append(usage.ru_utime + usage.ru_stime)
            times[name][1].append(wall)
print(f"== load after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
print(f"== outputs: grep {outputs['grep'][0]}, execve {outputs['execve'][0]}, openat {outputs['openat'][0]}, policy {outputs['policy'][1]} bytes of keys")
if outputs["grep"][0] != outputs["execve"][0]:
    print("   (the execve count differs from grep's: expected only for logs with execve calls of other archs)")
print()
print(f"{'command':<8} {'least CPU s':>12} {'median CPU s':>13} {'median wall s':>14} {'vs grep CPU (least / median)':>30}")
g_least, g_median = min(times["grep"][0]), statistics.median(times["grep"][0])
for name, (cpus, walls) in times.items():
    ratio = f"{min(cpus) / g_least:.2f}x / {statistics.median(cpus) / g_median:.2f}x" if name in ("execve", "openat", "policy") else ""
    print(f"{name:<8} {min(cpus):12.3f} {statistics.median(cpus):13.3f} {statistics.median(walls):14.3f} {ratio:>30}")
PY
