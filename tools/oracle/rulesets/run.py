#!/usr/bin/python3
"""run.py [--import DIR] [SET...] -- the published rule sets against this machine's kernel (issue 19).

For each set (default: all six of SETS) it loads tests/Filter.Tests/Data/rulesets/SET/published.rules into
the kernel, confined to the workload's own audit session, runs workload.py under it and saves what the
kernel logged: the whole events, and per event the key the kernel logged. Two passes: (1) the rules as
published, then a catch-all; (2) the same with each never rule as an always rule keyed never@LINE, so
that what the never rules drop is known. Then it records what ausearch answers on those logs. See
README.md for the files and the rewrites (rules.py), and for how to run it.

--import DIR first copies DIR/SET.rules (the published files, unedited) to the data folder.

Safety (binding for everything that adds kernel rules on a shared machine):
  * every rule gets -F sessionid=<the workload's session> and a key with this run's tag;
  * it refuses to start, and a pass is void, when rules that could decide for the session before ours
    are loaded (kernel.foreign_rules); it never flushes the rule list and never sets -e, -f, -b;
  * exactly the rules it added are deleted, newest first, on every exit path (finally, and SIGINT,
    SIGTERM, SIGHUP turned into exceptions); `auditctl -l` is checked afterwards;
  * files the workload creates carry the tag in their names and are removed afterwards in any case;
  * an auditd is started only if none runs (under .ci/run's lock) and then stopped again.
"""
import argparse
import datetime
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rules      # noqa: E402
import kernel     # noqa: E402
import logs       # noqa: E402
import ausearch   # noqa: E402
import targets    # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
DATA = os.path.join(REPO, "tests", "Filter.Tests", "Data", "rulesets")
SETS = ["au-30-stig", "au-30-ospp-v42", "au-30-pci-dss-v31", "gds-puppet-example", "bfuzzy1-auditd-attack", "neo23x0-audit"]
AUID = 4246
LOGDIR = os.environ.get("AUDIT_LOG_DIR", "/var/log/audit")
PY = "/usr/bin/python3"


I386 = True   # whether int $0x80 works here (set in main)


def i386_works():
    """syscall.i386_works() in a separate python, outside the session (a fault there is only a crash report)."""
    p = subprocess.run([PY, "-S", "-c", "import sys; sys.path.insert(0, %r); import syscall; sys.exit(0 if syscall.i386_works() else 1)" % HERE])
    return p.returncode == 0


class Stop(Exception):
    pass


def on_signal(signum, _frame):
    raise Stop("signal %d" % signum)


def fail(msg):
    raise RuntimeError(msg)


def remove_leftovers(tag):
    """Removes what the workload may have left: names containing the tag, in the directories it uses."""
    for d in targets.OWN_FILE_DIRS + ["/etc"]:
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            if tag in n:
                p = os.path.join(d, n)
                if os.path.isdir(p) and not os.path.islink(p):
                    os.rmdir(p)
                else:
                    os.unlink(p)
                print("run.py: removed leftover %s" % p, file=sys.stderr)


def load(planned, state, table):
    """Loads the planned lines; returns the rows of rules.passN.tsv and the counts."""
    rows, counts = [], {}
    for p in planned:
        note = list(p.notes)
        if p.rewrite:
            note.insert(0, p.rewrite)
        loaded = p.load
        if p.load is None:
            status = {"control": "not loaded (control line: never executed)",
                      "exclude": "not loaded (exclude list: cannot be confined)",
                      "user": "not loaded (user list: cannot be confined)"}.get(p.kind, "not loaded (%s)" % p.kind)
        else:
            ok, msg = state.add(p.load, rules.delete_argv(p.load))
            if not ok and "Syscall name unknown" in msg:
                numbered = rules.with_syscall_numbers(p.load, table)
                if numbered is not None:
                    note.append("as published: %s; loaded with the kernel's numbers for the names auditctl 3.0.9 lacks" % msg)
                    loaded = numbered
                    p.equivalent = rules.with_syscall_numbers(p.equivalent, table)
                    ok, msg = state.add(numbered, rules.delete_argv(numbered))
            status = "loaded" if ok else "rejected by " + ("the kernel" if kernel.rejection(msg) == "kernel" else "auditctl")
            if msg:
                note.append(msg)
            if p.check is not None:
                okc, msgc = state.add(p.check, rules.delete_argv(p.check))
                if ok and not okc and "Rule exists" in msgc:
                    note.append("the -w line as written is the same kernel rule (auditctl -w: Rule exists)")
                elif not ok and not okc and msgc == msg:
                    note.append("the -w line as written is refused the same way")
                else:
                    fail("line %d: the -w rewrite is not what auditctl -w makes (%s / %s)" % (p.line, msg, msgc))
        counts[status] = counts.get(status, 0) + 1
        rows.append("\t".join([str(p.line), p.kind, status, rules.escape(" ".join(p.equivalent)),
                               rules.escape(" ".join(loaded)) if loaded else "", rules.escape("; ".join(note))]))
    return rows, counts


def catch_alls(ses, tag):
    """The catch-all: every syscall of the workload's python and every execve of the session."""
    py = os.path.realpath(PY)   # exe= names the binary itself: a symlink would never match
    key = ["-k", tag + "-catchall"]
    return [["-a", "always,exit", "-F", "sessionid=%s" % ses, "-F", "exe=" + py] + key,
            ["-a", "always,exit", "-F", "sessionid=%s" % ses, "-F", "arch=b64", "-S", "execve,execveat"] + key,
            ["-a", "always,exit", "-F", "sessionid=%s" % ses, "-F", "arch=b32", "-S", "execve,execveat"] + key]


def run_pass(name, out, pas, tag, table):
    work = tempfile.mkdtemp(prefix="filterc_rulesets.", dir="/tmp")
    fifo, sesfile, actions = (os.path.join(work, n) for n in ("go", "ses", "actions.tsv"))
    os.mkfifo(fifo)
    state = kernel.Rules(os.path.join(work, "added.jsonl"))
    follower = logs.Follower(LOGDIR, os.path.join(work, "capture.log"))
    follower.start()
    holder = None
    try:
        holder = subprocess.Popen(["setpriv", "--clear-groups", PY, "-S", os.path.join(HERE, "workload.py"),
                                   work, tag, str(AUID), fifo, sesfile, actions],
                                  env=dict(os.environ, FILTERC_I386="1" if I386 else "0"),
                                  stdin=subprocess.DEVNULL, stdout=open(os.path.join(work, "workload.out"), "w"),
                                  stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(sesfile) or holder.poll() is not None:
                break
            time.sleep(0.05)
        ses = open(sesfile).read().strip() if os.path.exists(sesfile) else ""
        if not ses or ses == "4294967295":
            fail("pass %d: the workload did not start an audit session" % pas)
        foreign = kernel.foreign_rules(tag, AUID)
        if foreign:
            fail("rules that could decide before ours are loaded:\n  " + "\n  ".join(foreign))
        lost_before = kernel.status().get("lost")
        planned = rules.plan(os.path.join(out, "published.rules"), pas, tag, ses)
        rows, counts = load(planned, state, table)
        for c in catch_alls(ses, tag):
            ok, msg = state.add(c, rules.delete_argv(c))
            if not ok:
                fail("catch-all refused: %s" % msg)
        foreign = kernel.foreign_rules(tag, AUID)
        if foreign:
            fail("rules that could decide before ours appeared:\n  " + "\n  ".join(foreign))
        kernel.auditctl(["-m", "%s-start%d" % (tag, pas)])
        go(fifo, holder)
        rc = holder.wait(timeout=900)
        holder = None
        errors = state.remove_all()
        if errors:
            fail("\n".join(errors))
        if any(tag in l for l in kernel.listing()):
            fail("rules of this run are still loaded")
        foreign = kernel.foreign_rules(tag, AUID)
        if foreign:
            fail("pass void: rules that could decide before ours appeared during it:\n  " + "\n  ".join(foreign))
        if rc != 0:
            fail("pass %d: the workload exited %d: %s" % (pas, rc, open(os.path.join(work, "workload.out")).read()))
        end = "%s-end%d" % (tag, pas)
        kernel.auditctl(["-m", end])
        if not logs.wait_for(os.path.join(work, "capture.log"), end):
            fail("auditd did not log the end marker within 60 s")
        follower.stop()
        lost_after = kernel.status().get("lost")
        if lost_after != lost_before:
            return None   # the kernel lost records: run the pass again
        stats = logs.extract(os.path.join(work, "capture.log"), tag, ses, "%s-start%d" % (tag, pas), end,
                             os.path.join(out, "pass%d.log.gz" % pas), os.path.join(out, "pass%d.verdicts.tsv" % pas))
        with open(os.path.join(out, "rules.pass%d.tsv" % pas), "w") as f:
            f.write("line\tkind\tstatus\tequivalent\tloaded\tnote\n" + "".join(r + "\n" for r in rows))
        shutil.copy(actions, os.path.join(out, "workload.pass%d.tsv" % pas))
        return {"pass": pas, "session": int(ses), "lost_before": int(lost_before), "lost_after": int(lost_after),
                "rules": dict(sorted(counts.items())), "catch_all": [" ".join(c).replace(tag + "-", "") for c in catch_alls("S", tag)],
                **stats}
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait()
        errors = state.remove_all()
        for e in errors:
            print("run.py: " + e, file=sys.stderr)
        if follower.is_alive():
            follower.stopping.set()
            follower.join()
        remove_leftovers(tag)
        shutil.rmtree(work, ignore_errors=True)


def go(fifo, holder):
    """Writes "go" to the workload's fifo without blocking forever if the workload is gone."""
    for _ in range(200):
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:          # ENXIO: no reader yet
            if holder.poll() is not None:
                fail("the workload exited before it was started")
            time.sleep(0.05)
            continue
        os.write(fd, b"go\n")
        os.close(fd)
        return
    fail("the workload did not open its fifo")


def set_keys(out):
    """Every key the set's rules name (both passes' equivalents) -- the -k queries of ausearch.tsv."""
    keys = set()
    for pas in (1, 2):
        with open(os.path.join(out, "rules.pass%d.tsv" % pas)) as f:
            next(f)
            for row in f:
                words = rules.words_of(rules.unescape(row.split("\t")[3]))
                for i, o, a in rules.options(words):
                    if a is None:
                        continue
                    if o == "-k":
                        keys.add(rules.arg(words, a, i))
                    elif o == "-F" and words[a].startswith("key="):
                        keys.add(words[a][4:])
    return sorted(keys)


def run_set(name, tag, table, versions):
    out = os.path.join(DATA, name)
    published = os.path.join(out, "published.rules")
    passes = []
    for pas in (1, 2):
        for attempt in range(3):
            r = run_pass(name, out, pas, tag, table)
            if r is not None:
                break
            print("run.py: %s pass %d: the kernel lost records; again" % (name, pas), file=sys.stderr)
        else:
            fail("%s pass %d: the kernel lost records three times" % (name, pas))
        passes.append(r)
        print("run.py: %s pass %d: %d events, rules %s" % (name, pas, r["events"], r["rules"]), file=sys.stderr)
    keys = set_keys(out)
    with open(os.path.join(out, "ausearch.tsv"), "w") as f:
        f.write(ausearch.HEADER)
        for pas in (1, 2):
            f.write("".join(r + "\n" for r in ausearch.table(os.path.join(out, "pass%d.log.gz" % pas), keys, pas)))
    lines = list(rules.read_lines(published))
    kinds = {}
    for _, w in lines:
        k = rules.classify(w)
        kinds[k] = kinds.get(k, 0) + 1
    first_refused = None
    with open(os.path.join(out, "rules.pass1.tsv")) as f:
        next(f)
        for row in f:
            cols = row.split("\t")
            if cols[2].startswith("rejected") or "as published: " in cols[5]:
                first_refused = int(cols[0])
                break
    has_i = any(rules.classify(w) == "control" and "-i" in w for _, w in lines)
    summary = {
        "set": name, "published": "published.rules",
        "sha256": hashlib.sha256(open(published, "rb").read()).hexdigest(),
        "kernel": os.uname().release, **versions, "i386_entry": I386, "tag": tag, "auid": AUID, "unprivileged_uid": targets.UNPRIV,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lines": dict(sorted(kinds.items())),
        "auditctl_R_would_stop_at_line": None if has_i else first_refused,
        "passes": passes,
    }
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--import", dest="src", help="copy SRC/SET.rules into the data folder first")
    ap.add_argument("sets", nargs="*", default=SETS)
    a = ap.parse_args()
    if os.geteuid() != 0:
        fail("must run as root")
    for tool in ("auditctl", "ausearch", "setpriv", "/sbin/auditd"):
        if shutil.which(tool) is None:
            fail("%s is missing (apt-get install auditd util-linux)" % tool)
    for s in a.sets:
        if s not in SETS:
            fail("unknown set %s (one of %s)" % (s, ", ".join(SETS)))
        if a.src:
            os.makedirs(os.path.join(DATA, s), exist_ok=True)
            shutil.copyfile(os.path.join(a.src, s + ".rules"), os.path.join(DATA, s, "published.rules"))
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    tag = "fcrs%dx%d" % (os.getpid(), int.from_bytes(os.urandom(2), "little"))
    global I386
    I386 = i386_works()
    table = rules.load_syscall_table(os.path.join(HERE, "syscalls-newer.tsv"))
    before = kernel.listing()
    with kernel.Auditd():
        foreign = kernel.foreign_rules(tag, AUID)
        if foreign:
            fail("refusing to run: rules that could decide before ours are loaded (this script never flushes;"
                 " remove them yourself if they are yours):\n  " + "\n  ".join(foreign))
        versions = {"auditctl": subprocess.run(["auditctl", "-v"], stdout=subprocess.PIPE).stdout.decode().split()[-1],
                    "ausearch": ausearch.version()}
        for s in a.sets:
            run_set(s, tag, table, versions)
    after = kernel.listing()
    if any(tag in l for l in after):
        fail("rules of this run are still loaded")
    if after != before:
        print("run.py: note: someone else changed the rule list meanwhile", file=sys.stderr)
    print("run.py: done; data in %s" % DATA, file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, Stop) as e:
        print("run.py: %s" % e, file=sys.stderr)
        sys.exit(1)
