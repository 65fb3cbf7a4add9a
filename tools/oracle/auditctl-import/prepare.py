#!/usr/bin/python3
"""Helpers for run.sh (the auditctl-import kernel differential).

  prepare.py load RULES PASS TAG SES OUT
      writes OUT: the -a/-A lines of RULES as they are loaded -- every key
      prefixed with TAG-, -F sessionid=SES appended -- one per line.  PASS 1 keeps
      the rules; PASS 2 turns each never rule into an always rule keyed
      never@LINE (LINE: its line in RULES).  Control lines (-D -b -f -e -r
      --backlog_wait_time ...), comments and blank lines are left out; any other
      line (a watch, -d ...) is refused.
  prepare.py never-pass RULES OUT
      writes OUT: RULES with each never rule turned into always,exit with
      -F key=never@LINE, untagged and unrestricted -- what the second pass loads,
      as the test imports it.
  prepare.py extract TAG SES MARKER LOGOUT VERDICTS LOG...
      copies every SYSCALL line of session SES with a serial after that of the
      user message MARKER (sent when the rules were loaded) from the audit logs (oldest first), byte for byte, to LOGOUT (gzip), and
      writes VERDICTS: serial, arch, syscall, and the key the kernel logged with
      TAG- removed from each of its parts (\\x01 shown as \\x01; (catch-all) for
      TAG-catchall).  Prints a JSON summary.
"""
import gzip, json, re, sys

CONTROL = ("-D", "-b", "-f", "-e", "-r", "--backlog_wait_time", "--loginuid-immutable", "--reset-lost", "-i", "-c")

def rule_lines(path):
    for n, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] in ("-a", "-A"):
            yield n, words
        elif words[0].split("=")[0] in CONTROL:
            continue
        else:
            sys.exit("prepare.py: line %d: refusing to load %r (only -a/-A rules and control lines)" % (n, line))

def is_never(words):
    return "never" in words[1].split(",")

def to_always(words, n, tag):
    key = ("%s-" % tag if tag else "") + "never@%d" % n
    lst = [p for p in words[1].split(",") if p != "never"][0]
    return [words[0], "always," + lst] + words[2:] + ["-F", "key=" + key]

def load(rules, pas, tag, ses, out):
    lines = []
    for n, words in rule_lines(rules):
        if pas == "2" and is_never(words):
            words = to_always(words, n, tag)
        else:
            w = []
            i = 0
            while i < len(words):
                if words[i] == "-k":
                    w += ["-k", "%s-%s" % (tag, words[i + 1])]; i += 2; continue
                if words[i] == "-F" and words[i + 1].startswith("key="):
                    w += ["-F", "key=%s-%s" % (tag, words[i + 1][4:])]; i += 2; continue
                w.append(words[i]); i += 1
            words = w
        lines.append(" ".join(words + ["-F", "sessionid=%s" % ses]))
    open(out, "w").write("\n".join(lines) + "\n")

def never_pass(rules, out):
    res = []
    for n, line in enumerate(open(rules, encoding="utf-8").read().split("\n"), 1):
        words = line.split()
        if words and words[0] in ("-a", "-A") and is_never(words):
            line = " ".join(to_always(words, n, ""))
        res.append(line)
    open(out, "w").write("\n".join(res))

MSG = re.compile(rb"msg=audit\((\d+)\.\d+:(\d+)\)")
KEY = re.compile(rb' key=("[^"]*"|\(null\)|[0-9A-F]+)')

def field(raw, name):
    m = re.search(rb"(?:^|[ :])" + name + rb"=(\S+)", raw)
    return m.group(1) if m else None

def extract(tag, ses, marker, logout, verdicts, logs):
    rows, out = [], []
    counts = {}
    lines = [l.rstrip(b"\n") for path in logs for l in open(path, "rb")]
    start = [int(MSG.search(l).group(2)) for l in lines if marker.encode() in l and MSG.search(l)]
    if not start:
        sys.exit("prepare.py: marker %s not found" % marker)
    for line in lines:
            if not line.startswith(b"type=SYSCALL "):
                continue
            raw = line.split(b"\x1d", 1)[0]
            m = MSG.search(raw)
            if not m or int(m.group(2)) <= start[0] or field(raw, b"ses") != ses.encode():
                continue
            k = KEY.search(raw).group(1)
            if k == b"(null)":
                key = ""
            elif k.startswith(b'"'):
                key = k[1:-1].decode()
            else:
                key = bytes.fromhex(k.decode()).decode()
            parts = key.split("\x01")
            if not all(p.startswith(tag + "-") for p in parts):
                sys.exit("prepare.py: event %s has a key that is not ours: %r" % (m.group(2).decode(), key))
            parts = [p[len(tag) + 1:] for p in parts]
            shown = "(catch-all)" if parts == ["catchall"] else "\\x01".join(parts)
            out.append(line)
            rows.append("%s\t%s\t%s\t%s" % (m.group(2).decode(), field(raw, b"arch").decode(), field(raw, b"syscall").decode(), shown))
            counts[shown] = counts.get(shown, 0) + 1
    with gzip.GzipFile(logout, "wb", mtime=0) as g:
        g.write(b"".join(l + b"\n" for l in out))
    open(verdicts, "w").write("serial\tarch\tsyscall\tkernel_key\n" + "".join(r + "\n" for r in rows))
    print(json.dumps({"events": len(rows), "keys": counts}, sort_keys=True))

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "load":
        load(*args)
    elif cmd == "never-pass":
        never_pass(*args)
    elif cmd == "extract":
        extract(args[0], args[1], args[2], args[3], args[4], args[5:])
    else:
        sys.exit("prepare.py: unknown command " + cmd)
