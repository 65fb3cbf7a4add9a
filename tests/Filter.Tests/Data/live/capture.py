#!/usr/bin/env python3
"""Captures raw NETLINK_AUDIT multicast datagrams (AUDIT_NLGRP_READLOG) as hex, one datagram per line.

Made capture.hex (the unit tests' input, Live/LiveCaptureTests.cs): run as root,
    python3 capture.py > capture.hex
It adds two exit rules with its own unique key (execve; openat failing with ENOENT), runs a small
workload (/bin/true three times, cat of a missing file, a shell killed by SIGSEGV: ANOM_ABEND), then
deletes exactly those rules (also on failure) and prints only datagrams of the workload's events.
"""
import os, socket, subprocess, sys, time, random

key = f"filter-live-capture-{os.getpid()}-{random.randrange(1 << 32):08x}"
rules = [["-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-F", f"ppid={os.getpid()}", "-k", key],
         ["-a", "always,exit", "-F", "arch=b64", "-S", "openat", "-F", "exit=-ENOENT", "-F", f"ppid={os.getpid()}", "-k", key]]
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
s.bind((0, 0))
s.setsockopt(270, 1, 1)  # SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, AUDIT_NLGRP_READLOG
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: other activity must not overrun us
s.settimeout(0.5)
grams = []
def reader():
    while True:
        try:
            grams.append(s.recv(65536))
        except socket.timeout:
            if done:
                return
        except OSError:  # ENOBUFS: an overrun; the check below finds any event it cut
            pass
import threading
done = False
t = threading.Thread(target=reader)
t.start()
added = []
try:
    for r in rules:
        subprocess.run(["auditctl"] + r, check=True, stdout=subprocess.DEVNULL)
        added.append(r)
    for _ in range(3):
        subprocess.run(["/bin/true"])
    subprocess.run(["cat", "/nonexistent-filter-live-capture"], stderr=subprocess.DEVNULL)
    subprocess.run(["sh", "-c", "ulimit -c 0; kill -SEGV $$"])
    time.sleep(0.3)
finally:
    for r in added:
        subprocess.run(["auditctl", "-d"] + r[1:], check=True, stdout=subprocess.DEVNULL)
    done = True
    t.join()
# Keep the workload's events: serials of records that carry our key or come from our children, plus ANOM_ABEND of sh.
import re
def serial(g):
    m = re.search(rb"audit\(\d+\.\d+:(\d+)\)", g[16:])
    return m.group(1) if m else None
keep = {serial(g) for g in grams if key.encode() in g or (int.from_bytes(g[4:6], "little") == 1701 and b'comm="sh"' in g)}
for g in grams:
    if serial(g) in keep:
        print(g.hex())
