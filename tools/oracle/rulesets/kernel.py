"""The kernel side of run.py: auditctl, the rules this run adds (and only those removed), auditd.

Safety: every rule is added by one `auditctl` call with the argv planned in rules.py; before the call its
delete command is appended to an intent file, and its outcome after, so that remove_all() -- run on
every exit path -- deletes exactly what was added (in reverse order), even when this process was
interrupted between the two. Nothing here flushes (-D), or changes -e, -f, -b or the backlog wait time.
"""
import fcntl
import json
import os
import re
import subprocess
import time

LOCK = "/run/lock/filterc-ci-audit.lock"   # shared with .ci/run: the run that starts auditd stops it last


def auditctl(argv):
    """(exit status, stderr as one line) of `auditctl ARGV`."""
    p = subprocess.run(["auditctl"] + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    return p.returncode, " / ".join(l for l in p.stderr.decode("utf-8", "replace").splitlines() if l.strip())


def status():
    out = subprocess.run(["auditctl", "-s"], stdout=subprocess.PIPE, check=True).stdout.decode()
    return dict(l.split(" ", 1) for l in out.splitlines() if " " in l)


def listing():
    return subprocess.run(["auditctl", "-l"], stdout=subprocess.PIPE, check=True).stdout.decode().splitlines()


def rejection(message):
    """Who refused a rule: 'kernel' when auditctl sent it and the kernel answered an error, else 'auditctl'."""
    return "kernel" if "Error sending add rule data request" in message else "auditctl"


class Rules:
    """The rules this run added, with an intent file that survives an interruption of this process."""

    def __init__(self, intent_path):
        self.intent_path = intent_path
        open(intent_path, "a").close()

    def _log(self, entry):
        with open(self.intent_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def add(self, argv, delete):
        """Adds one rule; (True, warnings) or (False, auditctl's message)."""
        self._log({"delete": delete})
        rc, msg = auditctl(argv)
        self._log({"added": rc == 0})
        return rc == 0, msg

    def remove_all(self):
        """Deletes every rule whose add succeeded or whose outcome is unknown, newest first; errors as text."""
        entries, pending = [], None
        with open(self.intent_path) as f:
            for row in f:
                e = json.loads(row)
                if "delete" in e:
                    if pending is not None:
                        entries.append((pending, None))
                    pending = e["delete"]
                else:
                    entries.append((pending, e["added"]))
                    pending = None
        if pending is not None:
            entries.append((pending, None))
        errors = []
        for delete, added in reversed(entries):
            if added is False:
                continue
            rc, msg = auditctl(delete)
            if rc != 0 and added:   # an unknown outcome may just not have been added
                errors.append("could not delete %s: %s" % (" ".join(delete), msg))
        open(self.intent_path, "w").close()
        return errors


CONFINING = ("-F sessionid=", "-F pid=", "-F ppid=")
LOGIN_UID = re.compile(r"-F (?:auid|loginuid)=(\S+)")   # equality only: auid!=, auid>= do not confine


def foreign_rules(tag, auid):
    """Loaded rules that are not this run's and could decide for its session's events before its own rules:
    anything on the exit, exclude, task or filesystem list that is not confined to another session, process
    or login uid. User-list rules only filter user-space messages and are left alone."""
    bad = []
    for line in listing():
        if line == "No rules" or tag in line or line.startswith(("-a always,user", "-a never,user")):
            continue
        if any(c in line for c in CONFINING):
            continue
        m = LOGIN_UID.search(line)
        if m and m.group(1) != str(auid):
            continue
        bad.append(line)
    return bad


class Auditd:
    """An auditd that logs for the run: the one running, or one started (and later stopped) here, under the
    lock .ci/run uses, so that concurrent runs share it and the one that started it stops it last."""

    def __init__(self):
        self.lock = None
        self.started = None
        self.enabled_before = None

    def __enter__(self):
        self.lock = open(LOCK, "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        fcntl.flock(self.lock, fcntl.LOCK_SH)
        return self

    def _start(self):
        st = status()
        pid = st.get("pid", "0")
        if pid == "0" or not os.path.isdir("/proc/" + pid):
            enabled = st.get("enabled")
            subprocess.run(["/sbin/auditd"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, pass_fds=(), check=True)
            for _ in range(100):
                st = status()
                if st.get("pid", "0") != "0":
                    self.started = st["pid"]
                if st.get("enabled") != enabled:
                    self.enabled_before = enabled  # auditd enabled audit as it started: set back at the end
                if self.started and st.get("enabled") != "0":
                    break
                time.sleep(0.1)
        if status().get("pid", "0") == "0" or status().get("enabled") == "0":
            raise RuntimeError("no auditd logging with audit enabled (auditctl -s); not changing -e")

    def __exit__(self, *exc):
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            if self.started and os.path.isdir("/proc/" + self.started):
                os.kill(int(self.started), 15)
                for _ in range(100):
                    if not os.path.isdir("/proc/" + self.started):
                        break
                    time.sleep(0.1)
            if self.enabled_before is not None and status().get("enabled") != self.enabled_before:
                subprocess.run(["auditctl", "-e", self.enabled_before], stdout=subprocess.DEVNULL, check=True)
        finally:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
        return False
