#!/usr/bin/env bash
# compare-threads.sh LOG [MB...]
#
# run's parallel chunks (spec/auditd.md, "Parallel runs"): times filterc run --threads 1 against
# --threads 2 on the auditd LOG (make it with tools/bench/make-audit-log.sh LOG 200), in two cases:
#   --filter 'syscall == execve' --count        (counting)
#   --filter 'syscall == openat'                (printing: every match's lines, through a pipe)
# in interleaved rounds (1, 2, 1, 2, ...: both see the same load), one warm-up round then RUNS (default 5),
# and prints the median wall and median CPU (user + system, from wait4) of each, and the ratio of the
# median walls (2 threads / 1 thread). Checks (in the warm-up round) that both print the same bytes. With MB arguments, also
# times the counting case on the first MB megabytes of LOG (cut at a line end) with the parallel run
# forced (--chunk-bytes 8388608, the smallest chunk, lifts the size threshold): where parallel starts to pay.
#
# Environment: BUILD=aot (default), build or r2r, FILTERC=a filterc built already (tools/bench/build-filterc.sh);
# RUNS=timed rounds.
set -euo pipefail
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
log=$1; shift
[[ -f $log ]] || { echo "compare-threads.sh: no such log: $log" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${RUNS:-5}
filterc=$("$repo/tools/bench/build-filterc.sh" "${BUILD:-aot}") || exit $?

echo "== $(basename "$log"): $(stat -c %s "$log") bytes; $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Two threads can at best take 1 / (1 + s) of one thread's wall, s the slower core's speed against the faster.
echo "== cores: $(python3 "$repo/tools/bench/core-speeds.py") (a busy loop's speed, pinned to each)"
python3 - "$runs" "$log" "$@" -- "$filterc" << 'PY'
import hashlib, os, statistics, subprocess, sys, tempfile, time
args = sys.argv[1:]
sep = args.index("--")
runs, log, sizes, filterc = int(args[0]), args[1], [int(a) for a in args[2:sep]], args[sep + 1:]

def timed(cmd, check):
    """Wall and CPU of one run, its output read through a pipe; and, if check, the output's digest."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    digest = hashlib.md5()
    while chunk := p.stdout.read(1 << 16):
        if check:  # only in the warm-up round: hashing would compete with the timed run for the cores
            digest.update(chunk)
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"compare-threads.sh: failed: {' '.join(cmd)}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, digest.hexdigest()

def compare(name, path, extra, forced=()):
    cmds = {t: filterc + ["run", "--format", "auditd", "--threads", str(t), *forced, *extra, path] for t in (1, 2)}
    walls, cpus, digests = {1: [], 2: []}, {1: [], 2: []}, set()
    for r in range(1 + runs):
        for t in (1, 2):
            wall, cpu, digest = timed(cmds[t], check=r == 0)
            if r == 0:
                digests.add(digest)
            if r > 0:
                walls[t].append(wall)
                cpus[t].append(cpu)
    if len(digests) != 1:
        sys.exit(f"compare-threads.sh: --threads 1 and 2 print different output for {name}")
    w1, w2 = statistics.median(walls[1]), statistics.median(walls[2])
    c1, c2 = statistics.median(cpus[1]), statistics.median(cpus[2])
    print(f"{name:<44} 1 thread: wall {w1:6.3f} s CPU {c1:6.3f} s | 2 threads: wall {w2:6.3f} s CPU {c2:6.3f} s | wall 2/1 {w2 / w1:5.2f}x")

print(f"medians of {runs} interleaved rounds (after one warm-up)")
compare("--filter 'syscall == execve' --count", log, ["--filter", "syscall == execve", "--count"])
compare("--filter 'syscall == openat' (printed)", log, ["--filter", "syscall == openat"])
for mb in sizes:
    with tempfile.NamedTemporaryFile(prefix="compare-threads-", suffix=".log") as part:
        with open(log, "rb") as src:
            data = src.read(mb * 1000000)
        part.write(data[: data.rfind(b"\n") + 1])
        part.flush()
        compare(f"first {mb} MB, count, parallel forced", part.name, ["--filter", "syscall == execve", "--count"],
                ["--chunk-bytes", str(8 << 20)])
PY
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
