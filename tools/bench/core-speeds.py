#!/usr/bin/env python3
"""core-speeds.py: how fast each CPU this process may run on is now, relative to the fastest.

A short busy loop pinned to each CPU in turn, its wall time compared: on a virtual machine whose vCPUs
share physical cores with other guests, one vCPU can run at a fraction of another's speed, and then a
command's CPU time depends on where the scheduler put it, and two threads cannot halve one's wall time.
Prints one line: "cpu0 1.00, cpu1 0.36". Used by compare-grep.sh and compare-threads.sh.
"""
import os, time

def speed(cpu: int, rounds: int = 3) -> float:
    os.sched_setaffinity(0, {cpu})
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        n = 0
        for i in range(2_000_000):
            n += i
        best = min(best, time.perf_counter() - start)
    return 1 / best

cpus = sorted(os.sched_getaffinity(0))
speeds = {cpu: speed(cpu) for cpu in cpus}
fastest = max(speeds.values())
print(", ".join(f"cpu{cpu} {s / fastest:.2f}" for cpu, s in speeds.items()))
