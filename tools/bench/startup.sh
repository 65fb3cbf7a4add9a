#!/usr/bin/env bash
# startup.sh [RUNS]
#
# How long filterc takes to start: filters a 1,000-line auditd log (real records: the first whole events
# of the oracle logs in tests/Filter.Tests/Data/oracle/logs, cut at an event boundary) with
#   filterc run --format auditd --filter 'syscall == execve' --count LOG
# RUNS times (default 21) for each build, the builds alternating run by run so that a change in the
# machine's load falls on all of them alike, after one warm-up run each, and prints each build's median
# and least wall time and median CPU time (user + system, from wait4). The builds:
#   aot     dotnet publish src/Cli -c Release -r RID -p:PublishAot=true (NativeAOT, into bin/Release/aot)
#   build   dotnet build src/Cli -c Release (the JIT build: src/Cli/bin/Release/net10.0/filterc)
#   dotnet  dotnet run --project src/Cli -c Release --no-build -- run ... (what a developer types; with
#           --no-build, so it is the start-up of dotnet run itself, not a build)
# Environment: NOBUILD=1 to time the builds already there (no publish, no build); AOT=path to the
# NativeAOT filterc to time instead of publishing it.
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
runs=${1:-21}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
command -v python3 > /dev/null || { echo "startup.sh: python3 not found" >&2; exit 1; }
aot=${AOT:-$repo/src/Cli/bin/Release/aot/filterc}
jit=$repo/src/Cli/bin/Release/net10.0/filterc

if [[ -z ${NOBUILD:-} ]]; then
    [[ -n ${AOT:-} ]] || aot=$("$here/build-filterc.sh" aot)
    jit=$("$here/build-filterc.sh" build)
fi
for f in "$aot" "$jit"; do
    [[ -x $f ]] || { echo "startup.sh: $f is not executable (run without NOBUILD)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
log=$work/1000.log
# The first 1,000 lines of the oracle logs, less the last event if line 1,001 goes on with it: every
# event whole, as auditd writes them.
cat "$repo"/tests/Filter.Tests/Data/oracle/logs/*.log | python3 -c '
import re, sys
lines = sys.stdin.readlines()
serial = lambda l: (re.search(r"msg=audit\([0-9.]+:([0-9]+)\)", l) or [None, l])[1]
n = 1000
while n > 0 and n < len(lines) and serial(lines[n]) == serial(lines[n - 1]):
    n -= 1
sys.stdout.writelines(lines[:n])
' > "$log"
lines=$(wc -l < "$log")
args=(run --format auditd --filter 'syscall == execve' --count "$log")
expected=$("$aot" "${args[@]}")

echo "== $lines lines ($(stat -c %s "$log") bytes, $expected execve events), $runs runs each after one warm-up"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$runs" "$expected" "$aot" "$jit" "$repo/src/Cli" "${args[@]}" << 'PY'
import os, statistics, subprocess, sys, time
runs, expected, aot, jit, project, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
builds = {
    "aot": [aot] + args,
    "build": [jit] + args,
    "dotnet run": ["dotnet", "run", "--project", project, "-c", "Release", "--no-build", "--"] + args,
}
times = {name: ([], []) for name in builds}
for r in range(1 + runs):
    for name, cmd in builds.items():
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0 or out.decode().strip() != expected:
            sys.exit(f"startup.sh: {name} failed or counted {out!r}, not {expected}: {cmd}")
        if r > 0:
            times[name][0].append(wall)
            times[name][1].append(usage.ru_utime + usage.ru_stime)
print(f"{'build':<11} {'median wall ms':>15} {'least wall ms':>14} {'median CPU ms':>14}")
for name, (walls, cpus) in times.items():
    print(f"{name:<11} {statistics.median(walls) * 1e3:15.1f} {min(walls) * 1e3:14.1f} {statistics.median(cpus) * 1e3:14.1f}")
PY
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
