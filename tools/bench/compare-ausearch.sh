#!/usr/bin/env bash
# compare-ausearch.sh LOG [SMALL_LOG]
#
# Times, on the same file, one after the other, RUNS runs each (filterc and grep after one warm-up run):
#   filterc run --format auditd --filter 'syscall == execve' --count LOG   (BUILD below)
#   ausearch --input LOG -sc execve --raw                                   (output discarded)
#   ausearch --input LOG -sc execve -i                                      (interpreted, discarded)
#   grep -c 'syscall=59 ' LOG                                               (a pure scan)
# and prints the least wall time and the least CPU time (user + system, each run's own, from wait4) of
# the runs, the median CPU, MB/s (10^6 bytes per second) and the ratios. Checks that filterc counts as
# many events as ausearch finds, and measures filterc's peak RSS on LOG and on SMALL_LOG (default: a
# 50 MB log built with make-audit-log.sh) to show that memory does not grow with the file.
#
# Output goes through a pipe and is thrown away: GNU grep stops at the first match when its output is
# /dev/null.
# Environment: BUILD=which filterc to build and time (default build):
#   build  dotnet build src/Cli -c Release (JIT; what dotnet run and the tests use)
#   r2r    dotnet publish src/Cli -c Release -r linux-x64 (ReadyToRun, JIT)
#   aot    dotnet publish src/Cli -c Release -r linux-x64 -p:PublishAot=true (NativeAOT, interpreter)
# (each publish into src/Cli/bin/Release/BUILD/); FILTERC=path to time that filterc instead, built
# already; RUNS=how many timed runs (default 3).
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
log=$1
small=${2:-}
runs=${RUNS:-3}
[[ -f $log ]] || { echo "compare-ausearch.sh: no such log: $log" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
command -v ausearch > /dev/null || { echo "compare-ausearch.sh: ausearch not found (apt-get install auditd)" >&2; exit 1; }
for tool in python3 /usr/bin/time; do
    command -v "$tool" > /dev/null || { echo "compare-ausearch.sh: $tool not found" >&2; exit 1; }
done

build=${BUILD:-build}
[[ -z ${FILTERC:-} ]] || build="FILTERC=$FILTERC"
FILTERC=$("$here/build-filterc.sh" "${BUILD:-build}") || exit $?

work=$(mktemp -d /tmp/compare-ausearch.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [[ -z $small ]]; then
    small=$work/small.log
    "$here/make-audit-log.sh" "$small" 50 2> /dev/null
fi

bytes=$(stat -c %s "$log")
events=$("$FILTERC" run --format auditd --filter true --count "$log") # every event, SYSCALL or not
echo "== filterc: $build ($FILTERC)"
echo "== $log: $bytes bytes, $(wc -l < "$log") lines, $events events"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GB"
echo "== $(dotnet --version 2> /dev/null | sed 's/^/dotnet SDK /'), $(ausearch -v 2>&1 | head -1), $(grep --version | head -1)"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$log" "$small" > /dev/null # into the page cache: every tool reads from memory

names=(filterc ausearch_raw ausearch_i grep)
cmds=(
    "$FILTERC run --format auditd --filter 'syscall == execve' --count $log"
    "ausearch --input $log -sc execve --raw"
    "ausearch --input $log -sc execve -i"
    "grep -c 'syscall=59 ' $log"
)

# Each run is timed on its own (wall clock, and user + system CPU from wait4), its output read through a
# pipe and thrown away. Each line of $work/times: NAME MIN_WALL MIN_CPU MEDIAN_CPU (seconds). The least
# CPU of the runs is the steadiest figure on a shared machine: other processes add to it (cache misses,
# migrations) but never take from it.
for i in "${!names[@]}"; do
    warmup=1
    [[ ${names[$i]} == ausearch* ]] && warmup=0 # ~10 s a run, and the file is already cached
    python3 - "${names[$i]}" "$runs" "$warmup" "${cmds[$i]}" >> "$work/times" << 'EOF'
import os, shlex, statistics, subprocess, sys, time
name, runs, warmup, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), shlex.split(sys.argv[4])
walls, cpus = [], []
for r in range(warmup + runs):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while p.stdout.read(1 << 16):
        pass
    _, status, usage = os.wait4(p.pid, 0)
    wall, cpu = time.perf_counter() - start, usage.ru_utime + usage.ru_stime
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # grep -c: 1 when nothing matches
        sys.exit(f"compare-ausearch.sh: {name} failed: {cmd}")
    if r < warmup:
        continue
    walls.append(wall)
    cpus.append(cpu)
    print(f"  {name} run {len(walls)}: {wall:.3f} s wall, {cpu:.3f} s CPU", file=sys.stderr)
print(name, min(walls), min(cpus), statistics.median(cpus))
EOF
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== counts"
filterc_count=$(bash -c "${cmds[0]}")
ausearch_count=$(ausearch --input "$log" -sc execve --raw | grep -c '^type=SYSCALL' || true)
grep_count=$(grep -c 'syscall=59 ' "$log" || true)
echo "filterc --count:                          $filterc_count"
echo "ausearch -sc execve --raw, SYSCALL lines: $ausearch_count"
echo "grep -c 'syscall=59 ':                    $grep_count"
status=0
if [[ $filterc_count != "$ausearch_count" ]]; then
    echo "MISMATCH: filterc counted $filterc_count events, ausearch found $ausearch_count" >&2
    status=1
fi

echo
echo "== times (least of $runs runs, wall and CPU each; CPU = user + system)"
python3 - "$bytes" "$events" "$work/times" << 'EOF'
import sys
size, events = int(sys.argv[1]), int(sys.argv[2])
rows = {}
for line in open(sys.argv[3]):
    name, wall, cpu, median_cpu = line.split()
    rows[name] = (float(wall), float(cpu), float(median_cpu))
print(f"{'command':<14} {'wall s':>8} {'MB/s':>8} {'events/s':>10} {'CPU s':>8} {'MB/CPU s':>9} {'median CPU s':>13}")
for name, (wall, cpu, median_cpu) in rows.items():
    print(f"{name:<14} {wall:8.3f} {size / 1e6 / wall:8.0f} {events / wall:10.0f} {cpu:8.3f} {size / 1e6 / cpu:9.0f} {median_cpu:13.3f}")
f_wall, f_cpu, f_median = rows["filterc"]
print()
print("ratios (how many times faster filterc is; below 1: slower), least wall / least CPU / median CPU:")
for name in ("ausearch_raw", "ausearch_i", "grep"):
    wall, cpu, median_cpu = rows[name]
    print(f"  filterc vs {name:<13} {wall / f_wall:6.2f}x / {cpu / f_cpu:6.2f}x / {median_cpu / f_median:6.2f}x")
EOF

echo
echo "== filterc peak RSS (/usr/bin/time -v)"
for f in "$small" "$log"; do
    rss=$( { /usr/bin/time -v "$FILTERC" run --format auditd --filter 'syscall == execve' --count "$f" > /dev/null; } 2>&1 \
        | awk -F': ' '/Maximum resident set size/ {print $2}')
    echo "$(stat -c %s "$f") bytes: $rss KB"
done
rss=$( { /usr/bin/time -v ausearch --input "$log" -sc execve --raw > /dev/null; } 2>&1 | awk -F': ' '/Maximum resident set size/ {print $2}')
echo "(ausearch --raw on $log: $rss KB)"
exit $status
