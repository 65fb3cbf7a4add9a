#!/usr/bin/env bash
# run-output.sh LOG BASE_DIR NEW_DIR
#
# run's file throughput before and after streaming output (issue 20: "throughput unchanged on files"):
# times, one after the other, RUNS runs each (default 5, after one warm-up), the filterc.dll in BASE_DIR
# (a build of the base commit) and in NEW_DIR on the same auditd LOG:
#   run --format auditd --filter 'syscall == execve' LOG    (few matches printed)
#   run --format auditd --filter true LOG                   (every line printed)
# output read through a pipe and thrown away, and prints each one's least and median CPU (user + system,
# from wait4) and least wall time. Checks that both builds print the same bytes.
set -euo pipefail
if [[ $# -ne 3 ]]; then sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
log=$1 base=$2/filterc.dll new=$3/filterc.dll runs=${RUNS:-5}
for dll in "$base" "$new"; do [[ -f $dll ]] || { echo "run-output.sh: no $dll" >&2; exit 2; }; done
echo "== $(basename "$log"): $(stat -c %s "$log") bytes; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for filter in 'syscall == execve' 'true'; do
    a=$(dotnet "$base" run --format auditd --filter "$filter" "$log" | md5sum)
    b=$(dotnet "$new" run --format auditd --filter "$filter" "$log" | md5sum)
    [[ $a == "$b" ]] || { echo "run-output.sh: the builds print different output for '$filter'" >&2; exit 1; }
    for build in base new; do
        dll=$base; [[ $build == new ]] && dll=$new
        python3 - "$build" "$filter" "$runs" dotnet "$dll" run --format auditd --filter "$filter" "$log" << 'PY'
import os, statistics, subprocess, sys, time
build, filt, runs, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
walls, cpus = [], []
for r in range(1 + runs):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while p.stdout.read(1 << 16):
        pass
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"run-output.sh: {build} failed")
    if r == 0:
        continue
    walls.append(time.perf_counter() - start)
    cpus.append(usage.ru_utime + usage.ru_stime)
print(f"{build:4}  --filter {filt!r:22} least CPU {min(cpus):.3f} s  median CPU {statistics.median(cpus):.3f} s  least wall {min(walls):.3f} s")
PY
    done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
